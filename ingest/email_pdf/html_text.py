"""The readable text of an HTML mail body, through inscriptis (HTML to text: blocks, line
breaks, numbered and nested lists, quotes) on a tree parsed by lxml.

Safe against hostile markup: lxml's HTML parser never loads anything from the network or disk
(no DTDs, no external entities), scripts are never run, and what a reader does not see
(scripts, styles, the head, templates, embedded objects) gives no text. Links show their text,
images their alt text; nothing is fetched. Inline styles are not applied: hidden text shows,
as before, and no style can blow a line up to millions of spaces. Table rows are lines with
their cells in order (the pages use a proportional font, so padding cells into columns would
align nothing, and one long cell would pad every row to its width). Markup too deep or too
large for a layout in reasonable time gives its plain text without layout, never an error.
"""

from __future__ import annotations

import html
import re

import lxml.etree
import lxml.html
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_engine import Inscriptis
from inscriptis.html_properties import Display, WhiteSpace
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_document_state import HtmlDocumentState
from inscriptis.model.html_element import HtmlElement
from inscriptis.model.tag import CustomHtmlTagHandlerMapping

MAX_ELEMENTS = 200_000  # some 2 s of layout; more gives the plain text
MAX_DEPTH = 100  # elements within elements; real mail (table layouts) stays far below
CELL_SEPARATOR = "    "
_HIDDEN = ("script", "style", "head", "title", "template", "svg", "object", "iframe", "canvas")
_TABLE_TAGS = ("table", "tr", "td", "th")
_CELL_GAP = "eakte-cell-gap"  # put between the cells of a row, drawn as CELL_SEPARATOR


def _image(state: HtmlDocumentState, attrs: dict) -> None:
    alt = (attrs.get("alt") or "").strip()
    if alt:
        state.tags[-1].write(f"[Bild: {alt}]")


def _plain(state: HtmlDocumentState, *attrs: dict) -> None:
    """Table tags without inscriptis' column layout: the CSS below makes rows lines."""


def _config() -> ParserConfig:
    css = CSS_PROFILES["strict"].copy()
    for tag in _HIDDEN:
        css[tag] = HtmlElement(display=Display.none)
    css["blockquote"] = HtmlElement(
        display=Display.block, margin_before=1, margin_after=1, padding_inline=4
    )
    css["table"] = HtmlElement(display=Display.block)
    css["caption"] = HtmlElement(display=Display.block)
    css["tr"] = HtmlElement(display=Display.block)
    css[_CELL_GAP] = HtmlElement(whitespace=WhiteSpace.pre)
    start = dict.fromkeys(_TABLE_TAGS, _plain) | {"img": _image}
    end = dict.fromkeys(_TABLE_TAGS, _plain)
    return ParserConfig(
        css=css,
        display_links=False,  # the link's text; its address is no part of what the mail says
        display_images=True,
        custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping(start, end),
    )


_CONFIG = _config()
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


def html_to_text(markup: str) -> str:
    """Paragraphs and line breaks, lists, table rows as lines, quotes indented."""
    markup = _XML_DECLARATION.sub("", markup.replace("\x00", ""), count=1)
    parser = lxml.html.HTMLParser(
        huge_tree=True,  # long texts in one element are kept whole
        no_network=True,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        tree = lxml.html.document_fromstring(markup, parser=parser)
    except (lxml.etree.LxmlError, ValueError):  # no element at all
        return _tidy(_plain_text(markup))
    truncated = any(error.level_name == "FATAL" for error in parser.error_log)
    if truncated or not _fits(tree):
        return _tidy(_plain_text(markup))
    lxml.etree.strip_attributes(tree, "style")
    for cell in list(tree.iter("td", "th")):
        previous = cell.getprevious()
        if previous is not None and previous.tag in ("td", "th"):
            gap = lxml.html.Element(_CELL_GAP)
            gap.text = CELL_SEPARATOR
            cell.addprevious(gap)
    return _tidy(Inscriptis(tree, _CONFIG).get_text())


def _fits(tree: lxml.html.HtmlElement) -> bool:
    """Whether the tree is small and shallow enough for a layout."""
    depth = count = 0
    for event, _ in lxml.etree.iterwalk(tree, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        count += 1
        if depth > MAX_DEPTH or count > MAX_ELEMENTS:
            return False
    return True


def _tidy(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


_HIDDEN_BLOCK = re.compile(
    rf"<({'|'.join(_HIDDEN)})\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|tr|h[1-6]|table|ul|ol|blockquote|pre)\b[^>]*>", re.I)
_CELL_TAG = re.compile(r"<t[dh]\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")


def _plain_text(markup: str) -> str:
    """The text of markup no layout can be made of: without hidden blocks and tags, block
    elements as line breaks. Linear in the markup's length."""
    text = _HIDDEN_BLOCK.sub(" ", markup)
    text = _CELL_TAG.sub(" ", _BLOCK_TAG.sub("\n", text))
    text = re.sub(r"[ \t\r\f]+", " ", html.unescape(_TAG.sub("", text)))
    return "\n".join(line.strip() for line in text.split("\n"))
