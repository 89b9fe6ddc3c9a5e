"""The readable text of an HTML mail body, through inscriptis (HTML to text with tables laid
out as columns, lists with bullets and numbers) on a tree parsed by lxml.

Safe against hostile markup: lxml's HTML parser never loads anything from the network or disk
(no DTDs, no external entities), scripts are never run, and what a reader does not see
(scripts, styles, the head, templates, embedded objects) gives no text. Links show their text,
images their alt text; nothing is fetched. Markup too deep or too large for a layout within
the conversion's time (hostile nesting, hundreds of thousands of elements) gives its plain
text without layout, never an error.
"""

from __future__ import annotations

import html
import re

import lxml.etree
import lxml.html
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_engine import Inscriptis
from inscriptis.html_properties import Display
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_document_state import HtmlDocumentState
from inscriptis.model.html_element import HtmlElement
from inscriptis.model.tag import CustomHtmlTagHandlerMapping

MAX_ELEMENTS = 200_000  # some 2 s of layout; more gives the plain text
_HIDDEN = ("script", "style", "head", "title", "template", "svg", "object", "iframe", "canvas")


def _image(state: HtmlDocumentState, attrs: dict) -> None:
    alt = (attrs.get("alt") or "").strip()
    if alt:
        state.tags[-1].write(f"[Bild: {alt}]")


def _config() -> ParserConfig:
    css = CSS_PROFILES["strict"].copy()
    for tag in _HIDDEN:
        css[tag] = HtmlElement(display=Display.none)
    css["blockquote"] = HtmlElement(
        display=Display.block, margin_before=1, margin_after=1, padding_inline=4
    )
    css["table"] = HtmlElement(display=Display.block, margin_before=1, margin_after=1)
    return ParserConfig(
        css=css,
        display_links=False,  # the link's text; its address is no part of what the mail says
        display_images=True,
        table_cell_separator="    ",
        custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping({"img": _image}, {}),
    )


_CONFIG = _config()


def html_to_text(markup: str) -> str:
    """Paragraphs and line breaks, lists, tables as aligned columns, quotes indented."""
    parser = lxml.html.HTMLParser(
        huge_tree=True,  # long texts in one element are kept whole
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    markup = markup.replace("\x00", "")  # lxml reads it as U+FFFD
    try:
        tree = lxml.html.document_fromstring(markup, parser=parser)
    except (lxml.etree.ParserError, ValueError):  # no element at all, or not text
        return _tidy(_plain_text(markup))
    truncated = any(error.level_name == "FATAL" for error in parser.error_log)
    if truncated or sum(1 for _ in tree.iter()) > MAX_ELEMENTS:
        return _tidy(_plain_text(markup))
    try:
        text = Inscriptis(tree, _CONFIG).get_text()
    except RecursionError:  # nesting deeper than Python's stack: the text without layout
        text = _plain_text(markup)
    return _tidy(text)


def _tidy(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


_HIDDEN_BLOCK = re.compile(
    rf"<({'|'.join(_HIDDEN)})\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|tr|h[1-6]|table|ul|ol|blockquote|pre)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")


def _plain_text(markup: str) -> str:
    """The text of markup no layout can be made of: without hidden blocks and tags, block
    elements as line breaks. Linear in the markup's length."""
    text = _HIDDEN_BLOCK.sub(" ", markup)
    text = _TAG.sub("", _BLOCK_TAG.sub("\n", text))
    text = re.sub(r"[ \t\r\f]+", " ", html.unescape(text))
    return "\n".join(line.strip() for line in text.split("\n"))
