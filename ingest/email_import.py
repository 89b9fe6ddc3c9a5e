"""E-mails from clients (.eml) as one PDF document for the case file.

The e-mail becomes pages: first the e-mail itself (sender, recipients, date, subject, the list
of attachments and the body text; an HTML body as its text, without scripts, styles or anything
fetched), then every attachment that can be shown as pages (PDF pages as they are, images one
page per frame, text files laid out like the body, attached e-mails with their own
attachments). Anything else is only listed; the caller keeps the original .eml byte for byte,
so nothing is lost.

Text is drawn as text: the e-mail's pages and text attachments are PDF pages with DejaVu
embedded (fpdf2, with a ToUnicode map), so the pipeline takes their words from the text layer
and never rasterises and OCRs what the e-mail already says (ingest/textlayer.py). Images stay
image pages and are read by OCR like scans. A long text attachment shows its first pages and a
note how much was left out; the attachment itself is handed to the caller to keep whole.

Everything in an e-mail is untrusted: attachment names are only shown, never used as paths;
nothing is fetched, nothing is executed. Output is the same for the same input.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import math
import os
import re
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import pikepdf
from PIL import Image, ImageFont, ImageOps, UnidentifiedImageError, features

from ingest.validation import safe_source_name
from records.errors import UploadRejected

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian package fonts-dejavu-core

DPI = 200
PAGE_WIDTH = 1654  # A4 at 200 dpi: 210 mm x 297 mm
PAGE_HEIGHT = 2339


def _mm(value: float) -> int:
    return round(value / 25.4 * DPI)


LEFT = _mm(20)
RIGHT = PAGE_WIDTH - _mm(20)
TOP = _mm(18)
BOTTOM = PAGE_HEIGHT - _mm(22)
FOOTER_Y = PAGE_HEIGHT - _mm(15)
FONT_PX = {"regular": 30, "bold": 30, "heading": 38, "footer": 28}  # 30 px = 10.8 pt
LINE_PX = 42
HEADING_PX = 58
INK_THRESHOLD = 160  # anti-aliased gray to black and white: keeps strokes whole at 10-11 pt
_BILEVEL = [0 if value < INK_THRESHOLD else 255 for value in range(256)]

MAX_NESTING = 5  # e-mails attached to e-mails attached to ...
MAX_MIME_DEPTH = 30  # multiparts within multiparts; deeper ones are listed, not opened
MIN_IMAGE_SIDE = 16  # tracking pixels and spacers are listed, not turned into pages
JPEG_QUALITY = 85
MAX_COUNTED_PAGES = 2_000  # a longer text attachment is "more than" this many pages
MAX_PAGE_INCHES = 200  # the largest page a PDF can describe (14 400 points)
NOT_CONVERTED = "nicht umgewandelt (Original bleibt in der E-Mail erhalten)"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Outlook .msg and old Office files
_IMAGE_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"II*\x00",
    b"MM\x00*",
    b"GIF87a",
    b"GIF89a",
)
_ENCRYPTED_TYPES = {
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
    "application/pgp-encrypted",
    "multipart/encrypted",
}
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "text/html": ".html",
}
_BMP_TYPES = {"image/bmp", "image/x-bmp", "image/x-ms-bmp"}
_TEXT_TYPES = {"text/plain", "text/csv", "text/comma-separated-values"}
_TEXT_EXTENSIONS = {".txt", ".csv"}
_TYPE_LABELS = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG-Bild",
    "image/png": "PNG-Bild",
    "image/tiff": "TIFF-Bild",
    "image/gif": "GIF-Bild",
    "image/bmp": "BMP-Bild",
    "text/plain": "Text",
    "text/csv": "CSV-Tabelle",
    "text/html": "HTML-Seite",
    "message/rfc822": "E-Mail",
    "application/msword": "Word-Dokument",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word-Dokument",
    "application/vnd.ms-excel": "Excel-Tabelle",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel-Tabelle",
    "application/vnd.oasis.opendocument.text": "OpenDocument-Text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument-Tabelle",
    "application/zip": "ZIP-Archiv",
    "application/x-zip-compressed": "ZIP-Archiv",
    "application/pkcs7-signature": "digitale Signatur",
    "application/x-pkcs7-signature": "digitale Signatur",
    "application/pgp-signature": "digitale Signatur",
}


class NotAnEmail(UploadRejected):
    """The file is no e-mail in .eml format (RFC 822 / MIME)."""

    code = "not_an_email"

    def __init__(
        self, message: str = "Die Datei ist keine E-Mail im .eml-Format.", **details: object
    ) -> None:
        super().__init__(message, **details)


class EmailTooLarge(UploadRejected, ValueError):
    """The e-mail would give more pages than allowed, or takes too long to convert."""

    code = "email_too_large"


@dataclass(frozen=True)
class Attachment:
    filename: str  # for display only, never a path
    content_type: str
    size: int  # bytes after transfer decoding
    converted: bool
    pages: int  # pages of its own in the PDF (an attached e-mail: without its attachments)
    note: str  # German, e.g. "2 Seiten" or "verschlüsselt, nicht umgewandelt (...)"
    # A long text shown only by its first pages: the attachment's SHA-256; it is kept whole
    # (email_to_pdf's keep_dir, the blob store's originals/) and named on its last page.
    sha256: str | None = None


@dataclass(frozen=True)
class EmailSummary:
    subject: str
    sender: str
    recipients: list[str]  # To and Cc
    sent_at: datetime | None
    attachments: list[Attachment]  # attachments of attached e-mails follow their e-mail
    pages: int


# --- recognising an e-mail --------------------------------------------------------------------

_FIELD_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")
_KNOWN_FIELDS = {
    b"from",
    b"to",
    b"cc",
    b"bcc",
    b"date",
    b"subject",
    b"sender",
    b"reply-to",
    b"message-id",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"received",
    b"return-path",
    b"delivered-to",
    b"x-mailer",
    b"user-agent",
    b"dkim-signature",
    b"authentication-results",
    b"thread-topic",
    b"thread-index",
}
_STRONG_FIELDS = {b"from", b"date", b"received", b"message-id", b"mime-version", b"return-path"}


def looks_like_email(head: bytes) -> bool:
    """Whether the first few KB of a file read like the header of an RFC 822 message."""
    head = head[:8192]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head or b"\x00" in head or head.startswith(_OLE_MAGIC):
        return False
    lines = head.split(b"\n")
    truncated = lines.pop()  # the last piece may be cut off in the middle of a line
    if lines and lines[0].startswith(b"From "):  # one message saved from an mbox file
        lines.pop(0)
    known: set[bytes] = set()
    fields = 0
    ended = False
    for raw in lines:
        line = raw.rstrip(b"\r")
        if not line:
            ended = True
            break
        if line[:1] in (b" ", b"\t"):
            if not fields:
                return False
            continue
        match = _FIELD_NAME.match(line)
        if not match:
            return False
        fields += 1
        name = match.group(1).lower()
        if name in _KNOWN_FIELDS:
            known.add(name)
    else:
        match = _FIELD_NAME.match(truncated)
        if match and match.group(1).lower() in _KNOWN_FIELDS:
            known.add(match.group(1).lower())
    if not known & _STRONG_FIELDS:
        return False
    # a header longer than the head (long Received chains) may show only one known field
    return len(known) >= 2 or (not ended and fields >= 3)


def sender_address(path: Path) -> str | None:
    """The address in the e-mail's From header, lower-case; None for no e-mail, no From
    header or no usable address. Only the header is read; it counts as evidence of who wrote
    (the master data may hold a client's address), never as proof."""
    with path.open("rb") as handle:
        head = handle.read(MAX_HEADER_BYTES)
    if not looks_like_email(head[:8192]):
        return None
    end = re.search(rb"\r?\n\r?\n", head)
    message = BytesParser(policy=policy.default).parsebytes(
        head[: end.end()] if end else head, headersonly=True
    )
    for header in _parsed_headers(message, "From"):
        try:
            found = [address.addr_spec for address in header.addresses]  # type: ignore[attr-defined]
        except Exception:  # malformed list: the lenient classic parser
            found = [address for _, address in getaddresses([str(header)])]
        for address in found:
            normalised = _clean_line(address).strip("<>").lower()
            if _ADDRESS.fullmatch(normalised):
                return normalised
    return None


MAX_HEADER_BYTES = 256 * 1024
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+")


# --- decoding ---------------------------------------------------------------------------------

_LATIN1_NAMES = {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819"}
_ASCII_NAMES = {"", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "default"}


def _decode_text(payload: bytes, charset: str | None) -> str:
    """Text of a MIME part. Labels are often wrong: latin-1 is read as its superset
    Windows-1252 (German quotes, the euro sign), unlabelled text as UTF-8, else Windows-1252."""
    if payload.startswith(codecs.BOM_UTF8):
        return payload[3:].decode("utf-8", "replace")
    if payload.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return payload.decode("utf-16", "replace")
    name = (charset or "").strip().strip('"').lower()
    if name in _ASCII_NAMES:
        candidates = ["utf-8", "cp1252"]
    elif name in _LATIN1_NAMES:
        candidates = ["cp1252"]
    else:
        try:
            info = codecs.lookup(name)
        except LookupError:
            info = None
        if info is None or not getattr(info, "_is_text_encoding", True):
            candidates = ["utf-8", "cp1252"]
        elif info.name == "utf-8":
            return payload.decode("utf-8", "replace")
        else:
            candidates = [info.name, "utf-8", "cp1252"]
    for candidate in candidates:
        try:
            return payload.decode(candidate)
        except (UnicodeDecodeError, ValueError):
            continue
    return payload.decode("latin-1")


def _unsurrogate(text: str) -> str:
    """Raw 8-bit bytes in headers arrive as surrogate escapes; read them as UTF-8 or cp1252."""
    return _ESCAPED.sub(lambda match: _decode_text(_escaped_bytes(match.group()), None), text)


_ESCAPED = re.compile("[\udc80-\udcff]+")


def _escaped_bytes(run: str) -> bytes:
    return bytes(ord(ch) - 0xDC00 for ch in run)


def _clean_line(text: str) -> str:
    """One line of header text: no control characters, folded whitespace joined."""
    text = _unsurrogate(text)
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return re.sub(r" {2,}", " ", text).strip()


# control and invisible format characters (soft hyphen, zero-width, bidi overrides, BOM)
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _clean_text(text: str) -> str:
    """Body text for drawing: unified line ends, tabs as spaces, no control characters."""
    text = _unsurrogate(text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\t", "    ")
    return _INVISIBLE.sub("", text)


def _parsed_headers(message: Message, name: str) -> list[object]:
    """The message's `name` headers, decoded (RFC 2047, raw 8-bit bytes as UTF-8 or cp1252).

    Parsed from the raw lines: the email package itself turns raw 8-bit bytes into U+FFFD.
    """
    found: list[object] = []
    for key, value in message.raw_items():
        if key.lower() != name.lower():
            continue
        text = _unsurrogate(re.sub(r"[\r\n]", "", str(value)))
        try:
            found.append(policy.default.header_factory(key, text))
        except Exception:  # the header parser raises on some malformed headers
            found.append(_decode_raw_header(text))
    return found


def _header(message: Message, name: str) -> str:
    return ", ".join(_clean_line(str(value)) for value in _parsed_headers(message, name))


def _decode_raw_header(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # undecodable encoded words: show the header as it was written
        return value


def _addresses(message: Message, name: str) -> list[str]:
    found: list[str] = []
    for header in _parsed_headers(message, name):
        try:
            found.extend(_clean_line(str(address)) for address in header.addresses)  # type: ignore[attr-defined]
        except Exception:  # malformed address list: the lenient classic parser
            pairs = getaddresses([str(header)])
            found.extend(
                _clean_line(f"{real} <{address}>" if real else address)
                for real, address in pairs
                if address
            )
    return found


def _sent_at(message: Message) -> datetime | None:
    for header in _parsed_headers(message, "Date"):
        moment = getattr(header, "datetime", None)
        if moment is None:
            try:
                moment = parsedate_to_datetime(str(header))
            except (TypeError, ValueError, IndexError):
                moment = None
        return moment
    return None


_WEEKDAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


def _format_date(moment: datetime | None, raw: str) -> str:
    if moment is None:
        return raw or "(ohne Datum)"
    text = f"{_WEEKDAYS[moment.weekday()]}, {moment:%d.%m.%Y, %H:%M} Uhr"
    offset = moment.utcoffset()
    if offset is not None:
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        text += f" (UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"
    return text


def _format_size(size: int) -> str:
    if size < 1024:
        return f"{size} Byte"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1048576:.1f} MB".replace(".", ",")


def _pages_word(count: int) -> str:
    return "1 Seite" if count == 1 else f"{count} Seiten"


def _unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of format=flowed text (RFC 3676)."""
    out: list[str] = []
    pending: tuple[int, str] | None = None
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):
            body = body[1:]  # space-stuffing
        if pending is not None and pending[0] != depth:
            out.append("> " * pending[0] + pending[1])
            pending = None
        if body.endswith(" ") and body != "-- ":
            piece = body[:-1] if delsp else body
            pending = (depth, (pending[1] if pending else "") + piece)
            continue
        joined = (pending[1] if pending else "") + body
        out.append("> " * depth + joined)
        pending = None
    if pending is not None:
        out.append("> " * pending[0] + pending[1])
    return "\n".join(out)


class _HtmlText(HTMLParser):
    """Plain text of an HTML mail body: paragraphs, line breaks, lists, quotes; no scripts,
    no styles, nothing fetched."""

    _SKIP = {"script", "style", "head", "title", "template", "svg", "object", "iframe", "canvas"}
    _PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "pre"}
    _PARAGRAPH |= {"blockquote", "figure"}
    _LINE = {"div", "section", "article", "header", "footer", "main", "aside", "nav", "tr"}
    _LINE |= {"address", "form", "fieldset", "center", "dt", "dd", "caption", "figcaption"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line = ""
        self.prefix = ""
        self.breaks = 0
        self.skip: list[str] = []
        self.pre = 0
        self.quote = 0
        self.lists: list[int | None] = []
        self.cells = 0

    def _break(self, count: int) -> None:
        self.breaks = max(self.breaks, count)

    def _write(self, text: str) -> None:
        if self.breaks:
            self._end_line()
            self.lines.extend([""] * (self.breaks - 1))
            self.breaks = 0
        if not self.line:
            self.prefix = "> " * self.quote
        self.line += text

    def _end_line(self) -> None:
        if self.line.strip():
            self.lines.append(self.prefix + self.line.rstrip())
        self.line = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and "head" in self.skip:
            self.skip.clear()  # <head> left open: the body starts anyway
        if tag in self._SKIP:
            self.skip.append(tag)
            return
        if self.skip:
            return
        if tag == "br":
            self._write("")
            self.lines.append(self.prefix + self.line.rstrip())
            self.line = ""
        elif tag == "hr":
            self._break(1)
            self._write("-" * 40)
            self._break(1)
        elif tag == "li":
            self._break(1)
            counter = self.lists[-1] if self.lists else None
            indent = "  " * max(0, len(self.lists) - 1)
            if counter is None:
                self._write(f"{indent}• ")
            else:
                self.lists[-1] = counter + 1
                self._write(f"{indent}{counter + 1}. ")
        elif tag in ("ul", "ol"):
            self._break(2 if not self.lists else 1)
            self.lists.append(0 if tag == "ol" else None)
        elif tag in ("td", "th"):
            if self.cells:
                self._write("    ")
            self.cells += 1
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self._write(f"[Bild: {alt}]")
        elif tag == "blockquote":
            self._break(2)
            self.quote += 1
        elif tag == "pre":
            self._break(2)
            self.pre += 1
        elif tag in self._PARAGRAPH:
            self._break(2)
        elif tag in self._LINE:
            self._break(1)
        if tag == "tr":
            self.cells = 0

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._break(2 if not self.lists else 1)
        elif tag == "blockquote":
            self._break(2)
            self.quote = max(0, self.quote - 1)
        elif tag == "pre":
            self._break(2)
            self.pre = max(0, self.pre - 1)
        elif tag in self._PARAGRAPH:
            self._break(2)
        elif tag in self._LINE or tag == "li":
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            for number, piece in enumerate(data.split("\n")):
                if number:
                    self._write("")
                    self.lines.append(self.prefix + self.line.rstrip())
                    self.line = ""
                if piece:
                    self._write(piece)
            return
        text = re.sub(r"[ \t\r\n\f]+", " ", data)
        if not self.line or self.breaks or self.line.endswith(" "):
            text = text.lstrip(" ")
        if text:
            self._write(text)

    def text(self) -> str:
        self._end_line()
        joined = "\n".join(line.rstrip() for line in self.lines)
        return re.sub(r"\n{3,}", "\n\n", joined).strip("\n")


def _html_to_text(markup: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
        return parser.text()
    except Exception:  # HTMLParser is lenient, but a body must never stop the import
        return re.sub(r"<[^>]*>", " ", markup)


def _meta_charset(payload: bytes) -> str | None:
    match = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", payload[:4096], re.I)
    return match.group(1).decode("ascii") if match else None


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    if not isinstance(payload, bytes):
        payload = str(payload).encode("utf-8", "surrogateescape")
    charset = part.get_content_charset()
    if part.get_content_type() == "text/html":
        return _html_to_text(_decode_text(payload, charset or _meta_charset(payload)))
    text = _decode_text(payload, charset)
    if str(part.get_param("format", "") or "").lower() == "flowed":
        delsp = str(part.get_param("delsp", "") or "").lower() == "yes"
        text = _unflow(text.replace("\r\n", "\n"), delsp)
    return text


# --- page layout ------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _font(role: str) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans.ttf" if role in ("regular", "footer") else "DejaVuSans-Bold.ttf"
    path = FONT_DIR / name
    if not path.exists():
        raise RuntimeError(f"Schrift {path} fehlt (Debian-Paket fonts-dejavu-core).")
    return ImageFont.truetype(str(path), FONT_PX[role])


@lru_cache(maxsize=65536)
def _width(role: str, text: str) -> float:
    return _font(role).getlength(text)


@dataclass(frozen=True)
class _Line:
    segments: tuple[tuple[int, str, str], ...] = ()  # (x, text, font role)
    height: int = LINE_PX
    rule: bool = False


_MAX_TOKEN = 200  # longer "words" (URLs, base64) are cut first; no line holds that many


def _wrap(text: str, role: str, width: float) -> Iterator[str]:
    width *= 0.98  # the sum of word widths ignores kerning
    for raw in text.split("\n"):
        if not raw.strip():
            yield ""
            continue
        line = ""
        used = 0.0
        for token in re.findall(r" *\S+", raw):
            pieces = [token[i : i + _MAX_TOKEN] for i in range(0, len(token), _MAX_TOKEN)]
            for piece in pieces:
                if line and used + _width(role, piece) <= width:
                    line += piece
                    used += _width(role, piece)
                    continue
                if line:
                    yield line.rstrip()
                    piece = piece.lstrip(" ")
                    line, used = "", 0.0
                piece_width = _width(role, piece)
                if piece_width <= width:
                    line, used = piece, piece_width
                    continue
                for ch in piece:  # a word wider than the line: break it anywhere
                    char_width = _width(role, ch)
                    if line and used + char_width > width:
                        yield line
                        line, used = "", 0.0
                    line += ch
                    used += char_width
        if line.strip():
            yield line.rstrip()


_LABELS = ("Von:", "An:", "Cc:", "Datum:", "Betreff:", "Anhänge:")


@lru_cache(maxsize=1)
def _value_x() -> int:
    """Left edge of the value column beside the labels."""
    return LEFT + round(max(_width("bold", label) for label in _LABELS)) + _mm(4)


class _Writer:
    """Collects the lines of one text section; gives up once they exceed the page budget."""

    def __init__(self, max_pages: int, deadline: _Deadline) -> None:
        self.lines: list[_Line] = []
        self.max_lines = (max_pages + 1) * ((BOTTOM - TOP) // LINE_PX)
        self.deadline = deadline

    def add(self, line: _Line) -> None:
        self.lines.append(line)
        if len(self.lines) > self.max_lines:
            raise _OverBudget
        if len(self.lines) % 2000 == 0:
            self.deadline.check()

    def heading(self, text: str) -> None:
        for piece in _wrap(_clean_line(text), "heading", RIGHT - LEFT):
            self.add(_Line(((LEFT, piece, "heading"),), HEADING_PX))

    def field(self, label: str, values: Iterable[tuple[str, int]]) -> None:
        """A labelled row; every value is (text, extra indent) wrapped in the value column."""
        first = True
        for value, indent in values:
            x = _value_x() + indent
            for piece in list(_wrap(_clean_line(value), "regular", RIGHT - x)) or [""]:
                segments = [(x, piece, "regular")]
                if first:
                    segments.insert(0, (LEFT, label, "bold"))
                    first = False
                self.add(_Line(tuple(segments)))

    def text(self, text: str) -> None:
        for piece in _wrap(_clean_text(text), "regular", RIGHT - LEFT):
            self.add(_Line(((LEFT, piece, "regular"),) if piece else ()))

    def blank(self) -> None:
        self.add(_Line(height=LINE_PX // 2))

    def rule(self) -> None:
        self.add(_Line(height=LINE_PX, rule=True))


def _paginate(lines: list[_Line]) -> list[list[tuple[int, _Line]]]:
    pages: list[list[tuple[int, _Line]]] = [[]]
    y = TOP
    for line in lines:
        if y + line.height > BOTTOM and pages[-1]:
            pages.append([])
            y = TOP
        if not pages[-1] and not line.segments and not line.rule:
            continue  # no empty lines at the top of a page
        pages[-1].append((y, line))
        y += line.height
    return pages


class _OverBudget(Exception):
    pass


class _Deadline:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise EmailTooLarge(
                f"Die E-Mail ist zu umfangreich: die Umwandlung hat länger als {self.seconds} "
                "Sekunden gedauert. Bitte die Anhänge einzeln einreichen.",
                code="email_too_large",
            )


# --- images for the PDF -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Encoded:
    """One page image ready to be placed in the PDF."""

    data: bytes
    width: int
    height: int
    dpi_x: float
    dpi_y: float
    colour: str  # "/DeviceGray" or "/DeviceRGB"
    bits: int
    filter: str
    parms: dict[str, object] | None = None


def _encode_bilevel(image: Image.Image, dpi_x: float, dpi_y: float) -> _Encoded:
    """CCITT G4: a text page in some 50 KB, and the pipeline takes it out of the PDF as is."""
    width, height = image.size
    if features.check("libtiff"):
        buffer = io.BytesIO()
        image.save(buffer, "TIFF", compression="group4", strip_size=math.ceil(width / 8) * height)
        raw = buffer.getvalue()
        with Image.open(io.BytesIO(raw)) as tiff:
            offsets = tiff.tag_v2.get(273)
            counts = tiff.tag_v2.get(279)
        if offsets is not None and counts is not None and len(offsets) == len(counts) == 1:
            start, length = int(offsets[0]), int(counts[0])
            parms = {"/K": -1, "/BlackIs1": True, "/Columns": width, "/Rows": height}
            return _Encoded(
                raw[start : start + length],
                width,
                height,
                dpi_x,
                dpi_y,
                "/DeviceGray",
                1,
                "/CCITTFaxDecode",
                parms,
            )
    # without libtiff: the packed bits themselves (1 = white, as in /DeviceGray)
    data = zlib.compress(image.tobytes(), 9)
    return _Encoded(data, width, height, dpi_x, dpi_y, "/DeviceGray", 1, "/FlateDecode")


def _encode_jpeg(image: Image.Image, dpi_x: float, dpi_y: float) -> _Encoded:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    colour = "/DeviceGray" if image.mode == "L" else "/DeviceRGB"
    width, height = image.size
    return _Encoded(buffer.getvalue(), width, height, dpi_x, dpi_y, colour, 8, "/DCTDecode")


def _page_dpi(image: Image.Image) -> tuple[float, float]:
    """The image's own resolution if it is plausible, else one that fits it on A4."""
    width, height = image.size
    try:
        dpi_x, dpi_y = (float(v) for v in image.info.get("dpi", (0, 0)))
    except (TypeError, ValueError):
        dpi_x = dpi_y = 0.0
    if not (96 <= dpi_x <= 1200 and 96 <= dpi_y <= 1200):
        fit = max(150.0, max(width, height) / 11.69, min(width, height) / 8.27)
        dpi_x = dpi_y = float(math.ceil(fit))
    least = max(width / MAX_PAGE_INCHES / dpi_x, height / MAX_PAGE_INCHES / dpi_y, 1.0)
    return dpi_x * least, dpi_y * least


def _flatten(image: Image.Image) -> Image.Image:
    """L, RGB or 1: transparency on white paper, 16-bit and odd colour models reduced."""
    if image.mode in ("1", "L", "RGB"):
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        paper = Image.new("RGB", image.size, (255, 255, 255))
        paper.paste(image, mask=image.getchannel("A"))
        return paper
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


def _encode_frame(frame: Image.Image, source: bytes | None) -> _Encoded:
    """`source`: the JPEG file itself when it can go into the PDF unchanged."""
    dpi_x, dpi_y = _page_dpi(frame)
    orientation = frame.getexif().get(0x0112, 1)
    if source is not None and frame.mode in ("L", "RGB") and orientation in (1, None):
        colour = "/DeviceGray" if frame.mode == "L" else "/DeviceRGB"
        width, height = frame.size
        return _Encoded(source, width, height, dpi_x, dpi_y, colour, 8, "/DCTDecode")
    if orientation not in (1, None):
        frame = ImageOps.exif_transpose(frame)
        if orientation in (5, 6, 7, 8):  # turned by 90 degrees
            dpi_x, dpi_y = dpi_y, dpi_x
    image = _flatten(frame)
    if image.mode == "L":
        colours = image.getcolors(2)
        if colours is not None and {value for _, value in colours} <= {0, 255}:
            image = image.point(_BILEVEL, "1")  # a black-and-white scan stored as gray
    if image.mode == "1":
        return _encode_bilevel(image, dpi_x, dpi_y)
    return _encode_jpeg(image, dpi_x, dpi_y)


def _add_image_page(pdf: pikepdf.Pdf, page_image: _Encoded) -> None:
    width = round(page_image.width * 72 / page_image.dpi_x, 4)
    height = round(page_image.height * 72 / page_image.dpi_y, 4)
    xobject = pikepdf.Stream(pdf, page_image.data)
    xobject.Type = pikepdf.Name.XObject
    xobject.Subtype = pikepdf.Name.Image
    xobject.Width = page_image.width
    xobject.Height = page_image.height
    xobject.ColorSpace = pikepdf.Name(page_image.colour)
    xobject.BitsPerComponent = page_image.bits
    xobject.Filter = pikepdf.Name(page_image.filter)
    if page_image.parms:
        xobject.DecodeParms = pikepdf.Dictionary(page_image.parms)
    content = pikepdf.Stream(pdf, f"q {width} 0 0 {height} 0 0 cm /Im0 Do Q\n".encode())
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=pikepdf.Array([0, 0, width, height]),
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject)),
        Contents=content,
    )
    pdf.pages.append(pikepdf.Page(page))


PT_PER_PX = 72 / DPI  # the layout is measured in pixels at DPI; PDF pages in points
_FONT_FAMILY = "DejaVu"
_FONT_STYLES = {"regular": "", "footer": "", "bold": "B", "heading": "B"}
_CREATED = datetime(2000, 1, 1, tzinfo=UTC)  # the text pages' own PDF is never kept as such


@lru_cache(maxsize=2)
def _covered(style: str) -> frozenset[int]:
    """The code points the font has glyphs for (DejaVu covers Latin, Greek, Cyrillic)."""
    from fontTools.ttLib import TTFont

    name = "DejaVuSans.ttf" if style == "" else "DejaVuSans-Bold.ttf"
    with TTFont(str(FONT_DIR / name), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _drawable(text: str, style: str) -> str:
    """Characters the font lacks become U+FFFD: visibly missing, never silently dropped."""
    covered = _covered(style)
    return "".join(ch if ord(ch) in covered or ch == " " else "\ufffd" for ch in text)


def _text_pages(pages: list[tuple[list[tuple[int, _Line]], int, int]]) -> bytes:
    """The laid-out text pages as a PDF with real text: DejaVu embedded (subset, with a
    ToUnicode map), drawn where the layout put it, so the text is selectable and is taken
    from the page as it is, never by rasterising and OCR. Same input, same bytes."""
    from fpdf import FPDF

    width, height = PAGE_WIDTH * PT_PER_PX, PAGE_HEIGHT * PT_PER_PX
    pdf = FPDF(unit="pt", format=(width, height))
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creation_date(_CREATED)
    pdf.set_producer("E-Akte E-Mail-Import")
    for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
        path = FONT_DIR / name
        if not path.exists():
            raise RuntimeError(f"Schrift {path} fehlt (Debian-Paket fonts-dejavu-core).")
        pdf.add_font(_FONT_FAMILY, style, str(path))
    pdf.set_line_width(2 * PT_PER_PX)

    def draw(x: float, top: float, text: str, role: str) -> None:
        style = _FONT_STYLES[role]
        pdf.set_font(_FONT_FAMILY, style, FONT_PX[role] * PT_PER_PX)
        baseline = top + _font(role).getmetrics()[0]  # PIL's layout: top at the ascender
        pdf.text(x * PT_PER_PX, baseline * PT_PER_PX, _drawable(text, style))

    for page, number, total in pages:
        pdf.add_page()
        for y, line in page:
            if line.rule:
                middle = (y + line.height // 2) * PT_PER_PX
                pdf.line(LEFT * PT_PER_PX, middle, RIGHT * PT_PER_PX, middle)
            for x, text, role in line.segments:
                if text.strip():
                    draw(x, y, text, role)
        footer = f"Seite {number} von {total}"
        draw((PAGE_WIDTH - _width("footer", footer)) / 2, FOOTER_Y, footer, "footer")
    return bytes(pdf.output())


# --- the plan: what goes on which page ----------------------------------------------------------


@dataclass(eq=False)
class _Chunk:
    """Consecutive pages of the PDF from one source."""

    kind: str  # "text", "pdf" or "image"
    count: int = 1
    pdf: pikepdf.Pdf | None = None
    image: _Encoded | None = None
    produce: Callable[[], list[_Line]] | None = None
    fixed: bool = True  # False: the lines mention page numbers and are laid out again
    pages: list[list[tuple[int, _Line]]] = field(default_factory=list)


@dataclass(eq=False)
class _Entry:
    """An attachment: listed on the e-mail's page and in the summary."""

    number: str
    filename: str
    content_type: str
    size: int
    converted: bool = False
    note: str = ""
    label: str = ""
    chunks: list[_Chunk] = field(default_factory=list)
    children: list[_Entry] = field(default_factory=list)
    sha256: str | None = None  # set when the pages show only part of it

    def all_chunks(self) -> Iterator[_Chunk]:
        yield from self.chunks
        for child in self.children:
            yield from child.all_chunks()

    def flat(self, prefix: str = "") -> Iterator[tuple[str, _Entry]]:
        name = f"{prefix}{self.filename}"
        yield name, self
        for child in self.children:
            yield from child.flat(f"{name} / ")


@dataclass(eq=False)
class _MessagePlan:
    title: str
    fields: list[tuple[str, str]]
    body: str
    entries: list[_Entry]
    subject: str
    sender: str
    recipients: list[str]
    sent_at: datetime | None


class _Planner:
    def __init__(
        self,
        max_pages: int,
        deadline: _Deadline,
        max_image_pixels: int,
        text_pages: int | None = None,
    ) -> None:
        self.max_pages = max_pages
        self.text_pages = text_pages  # longer text attachments are summarised
        self.kept: dict[str, bytes] = {}  # summarised attachments by SHA-256, kept whole
        self.deadline = deadline
        self.max_image_pixels = max_image_pixels
        self.fixed_pages = 0  # pages known so far, from PDFs, images and text attachments
        self.starts: dict[int, int] = {}
        self.opened: list[pikepdf.Pdf] = []

    # numbering, once the chunks are in order

    def span(self, entry: _Entry) -> tuple[int, int] | None:
        chunks = [chunk for chunk in entry.all_chunks() if chunk.count]
        if not chunks:
            return None
        first = self.starts[id(chunks[0])]
        return first, self.starts[id(chunks[-1])] + chunks[-1].count - 1

    def _afford(self, pages: int) -> None:
        if self.fixed_pages + pages > self.max_pages:
            raise _OverBudget

    # the e-mail

    def message(self, message: Message, depth: int, title: str, number: str) -> _MessagePlan:
        bodies: list[Message] = []
        parts: list[Message] = []
        self._walk(message, bodies, parts, want_text=True, level=0)
        texts = [_part_text(part) for part in bodies]
        body = "\n\n".join(text.strip("\n") for text in texts if text.strip())
        entries = []
        for index, part in enumerate(parts, start=1):
            self.deadline.check()
            entries.append(self._attachment(part, depth, f"{number}{index}"))
        subject = _header(message, "Subject")
        sent_at = _sent_at(message)
        fields = [("Von:", _header(message, "From") or "(unbekannt)")]
        fields.append(("An:", _header(message, "To") or "(keine Angabe)"))
        cc = _header(message, "Cc")
        if cc:
            fields.append(("Cc:", cc))
        fields.append(("Datum:", _format_date(sent_at, _header(message, "Date"))))
        fields.append(("Betreff:", subject or "(ohne Betreff)"))
        return _MessagePlan(
            title=title,
            fields=fields,
            body=body or "(Die E-Mail enthält keinen Text.)",
            entries=entries,
            subject=subject,
            sender=_header(message, "From"),
            recipients=_addresses(message, "To") + _addresses(message, "Cc"),
            sent_at=sent_at,
        )

    def _walk(
        self,
        part: Message,
        bodies: list[Message],
        parts: list[Message],
        want_text: bool,
        level: int,
    ) -> None:
        """Body text parts into `bodies`, everything else into `parts`, in MIME order."""
        maintype = part.get_content_maintype()
        if maintype == "multipart" and part.is_multipart() and level < MAX_MIME_DEPTH:
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            alternative = part.get_content_subtype() == "alternative"
            chosen = _choose_alternative(children) if alternative else None
            for index, child in enumerate(children):
                keep = want_text and (chosen is None or index == chosen)
                self._walk(child, bodies, parts, keep, level + 1)
            return
        if maintype == "message" and part.get_content_subtype() == "rfc822":
            parts.append(part)
            return
        if _is_body_text(part):
            if want_text:
                bodies.append(part)
            return  # a text alternative not shown: the chosen one says the same
        parts.append(part)

    def _attachment(self, part: Message, depth: int, number: str) -> _Entry:
        declared = part.get_content_type()
        if part.get_content_maintype() == "multipart":
            return self._refuse(
                _Entry(number, "Anhang " + number, declared, 0), "zu tief verschachtelt"
            )
        try:
            name = part.get_filename()
        except Exception:  # a malformed filename parameter: treat the part as unnamed
            name = None
        extension = Path(safe_source_name(name)).suffix.lower() if name else ""
        if declared == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            data = _message_bytes(inner) if isinstance(inner, Message) else b""
        else:
            try:
                raw = part.get_payload(decode=True)
            except Exception:  # undecodable transfer encoding: listed as damaged below
                raw = None
            data = raw if isinstance(raw, bytes) else b""
            inner = None
            if extension == ".eml" and looks_like_email(data[:4096]):
                inner = BytesParser(policy=policy.default).parsebytes(data)
        kind = "message" if inner is not None else _sniff(data, declared, extension)
        content_type = {
            "pdf": "application/pdf",
            "message": "message/rfc822",
        }.get(kind, declared)
        if kind == "image":
            content_type = _image_type(data) or declared
        if name:
            filename = safe_source_name(_unsurrogate(name))
        else:
            guessed = _EXTENSIONS.get(content_type, "")
            if kind == "message" and isinstance(inner, Message):
                subject = _header(inner, "Subject")
                filename = safe_source_name(f"{subject[:80]}.eml") if subject else "E-Mail.eml"
            else:
                filename = f"Anhang {number}{guessed}"
        entry = _Entry(number, filename, content_type, len(data))
        entry.label = _TYPE_LABELS.get(content_type, "")
        if not data and inner is None:
            return self._refuse(entry, "leer")
        if kind == "message":
            return self._attached_message(entry, inner, depth, number)
        if kind == "pdf":
            return self._pdf(entry, data)
        if kind == "image":
            return self._image(entry, data, source_is_jpeg=data.startswith(b"\xff\xd8\xff"))
        if kind == "text":
            return self._text(entry, part, data)
        if declared in _ENCRYPTED_TYPES:
            return self._refuse(entry, "verschlüsselt")
        return self._refuse(entry, "")

    def _refuse(self, entry: _Entry, reason: str) -> _Entry:
        entry.converted = False
        entry.note = f"{reason}, {NOT_CONVERTED}" if reason else NOT_CONVERTED
        return entry

    def _accept(self, entry: _Entry, chunks: list[_Chunk]) -> _Entry:
        self.fixed_pages += sum(chunk.count for chunk in chunks)
        entry.converted = True
        entry.chunks = chunks
        entry.note = _pages_word(sum(chunk.count for chunk in chunks))
        return entry

    def _attached_message(
        self, entry: _Entry, inner: Message | None, depth: int, number: str
    ) -> _Entry:
        if inner is None:
            return self._refuse(entry, "leer")
        if depth + 1 > MAX_NESTING:
            return self._refuse(entry, "zu tief verschachtelt")
        plan = self.message(inner, depth + 1, f"Angehängte E-Mail (Anhang {number})", f"{number}.")
        chunk = _Chunk("text", fixed=False, produce=lambda: self.message_lines(plan))
        entry.converted = True
        entry.chunks = [chunk]
        entry.children = plan.entries
        entry.note = "angehängte E-Mail"
        entry.label = "E-Mail"
        return entry

    def _pdf(self, entry: _Entry, data: bytes) -> _Entry:
        try:
            source = pikepdf.open(io.BytesIO(data))
        except pikepdf.PasswordError:
            return self._refuse(entry, "verschlüsselt (Kennwort nötig)")
        except (pikepdf.PdfError, ValueError, OSError, RuntimeError):
            return self._refuse(entry, "beschädigt")
        try:
            count = len(source.pages)
            if count == 0:
                return self._refuse(entry, "enthält keine Seiten")
            self._afford(count)
            # A copy written once proves every object can be read (a damaged file fails here,
            # not in the middle of the e-mail's PDF) and drops a protection that needs no
            # password; streams are copied as they are, never inflated.
            buffer = io.BytesIO()
            source.save(buffer, stream_decode_level=pikepdf.StreamDecodeLevel.none)
        except _OverBudget:
            raise
        except (pikepdf.PdfError, ValueError, OSError, RuntimeError, KeyError, TypeError):
            return self._refuse(entry, "beschädigt")
        finally:
            source.close()
        clean = pikepdf.open(io.BytesIO(buffer.getvalue()))
        self.opened.append(clean)
        return self._accept(entry, [_Chunk("pdf", count=count, pdf=clean)])

    def _image(self, entry: _Entry, data: bytes, source_is_jpeg: bool) -> _Entry:
        chunks: list[_Chunk] = []
        try:
            with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "TIFF", "GIF", "BMP"]) as im:
                frames = getattr(im, "n_frames", 1) if im.format == "TIFF" else 1
                self._afford(frames)
                for index in range(frames):  # an animated GIF is shown by its first frame
                    self.deadline.check()
                    im.seek(index)
                    width, height = im.size
                    if width * height > self.max_image_pixels:
                        return self._refuse(entry, f"Bild zu groß ({width}×{height} Bildpunkte)")
                    if min(width, height) < MIN_IMAGE_SIDE:
                        return self._refuse(entry, f"Bild zu klein ({width}×{height} Bildpunkte)")
                    im.load()
                    source = data if source_is_jpeg and frames == 1 else None
                    chunks.append(_Chunk("image", image=_encode_frame(im, source)))
        except (_OverBudget, EmailTooLarge):
            raise
        except Image.DecompressionBombError:
            return self._refuse(entry, "Bild zu groß")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError):
            return self._refuse(entry, "beschädigt")
        return self._accept(entry, chunks)

    def _text(self, entry: _Entry, part: Message, data: bytes) -> _Entry:
        text = _decode_text(data, part.get_content_charset())
        limit = self.text_pages
        # With a limit, the whole text is laid out only to count its pages.
        budget = self.max_pages - self.fixed_pages if limit is None else MAX_COUNTED_PAGES
        writer = _Writer(budget, self.deadline)
        writer.heading(f"Anhang {entry.number}: {entry.filename}")
        writer.rule()
        head = len(writer.lines)
        try:
            writer.text(text)
            pages = _paginate(writer.lines)
            counted = len(pages)
        except _OverBudget:
            if limit is None:
                raise
            pages, counted = _paginate(writer.lines), None
        if limit is not None and (counted is None or counted > limit):
            pages = self._summarised(entry, writer.lines, head, limit, counted, data)
            self._afford(len(pages))
            chunk = _Chunk("text", count=len(pages), pages=pages)
            self._accept(entry, [chunk])
            total = f"{counted}" if counted is not None else f"mehr als {MAX_COUNTED_PAGES}"
            entry.note = f"gekürzt: {len(pages)} von {total} Seiten dargestellt"
            return entry
        self._afford(len(pages))
        chunk = _Chunk("text", count=len(pages), pages=pages)
        return self._accept(entry, [chunk])

    def _summarised(
        self,
        entry: _Entry,
        lines: list[_Line],
        head: int,
        limit: int,
        counted: int | None,
        data: bytes,
    ) -> list[list[tuple[int, _Line]]]:
        """The first `limit` pages of a long text, ending with a note how much was left out;
        the attachment itself is kept whole (`self.kept`) and named by its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        self.kept[sha256] = data
        entry.sha256 = sha256
        left_out = (
            f"weitere {counted - limit} Seiten"
            if counted is not None
            else f"mehr als {MAX_COUNTED_PAGES - limit} weitere Seiten"
        )
        note = _Writer(limit, self.deadline)
        note.rule()
        note.text(
            f"… {left_out} nicht dargestellt; das Original liegt als Anlage bei "
            f"(Anhang {entry.number}: {entry.filename}, {_format_size(len(data))}, "
            f"SHA-256 {sha256})."
        )
        pages = _paginate(lines)
        keep = sum(len(page) for page in pages[:limit])
        while True:
            shown = _paginate(lines[: max(keep, head)] + note.lines)
            if len(shown) <= limit or keep <= head:
                return shown
            keep -= 1

    # the e-mail's own pages

    def message_lines(self, plan: _MessagePlan) -> list[_Line]:
        writer = _Writer(self.max_pages, self.deadline)
        writer.heading(plan.title)
        writer.blank()
        for label, value in plan.fields:
            writer.field(label, [(value, 0)])
        if plan.entries:
            writer.field("Anhänge:", self._listing(plan.entries, 0))
        else:
            writer.field("Anhänge:", [("keine", 0)])
        writer.rule()
        writer.text(plan.body)
        return writer.lines

    def _listing(self, entries: list[_Entry], indent: int) -> Iterator[tuple[str, int]]:
        for entry in entries:
            details = ", ".join(part for part in (entry.label, _format_size(entry.size)) if part)
            text = f"{entry.number}. {entry.filename} ({details})"
            if entry.converted:
                span = self.span(entry)
                if span is not None:
                    first, last = span
                    where = f"Seite {first}" if first == last else f"Seiten {first}–{last}"
                    text += f" – {entry.note}, {where}"
            else:
                text += f" – {entry.note}"
            yield text, indent
            yield from self._listing(entry.children, indent + _mm(5))


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes()
    except Exception:  # only for the size shown; a message that cannot be re-serialised
        return b""


def _is_body_text(part: Message) -> bool:
    if part.get_content_type() not in ("text/plain", "text/html"):
        return False
    if part.get_content_disposition() == "attachment":
        return False
    try:
        return not part.get_filename()
    except Exception:  # a malformed filename parameter: still named, so an attachment
        return False


def _choose_alternative(children: list[Message]) -> int | None:
    """Plain text is preferred; an empty plain part gives way to the HTML one."""
    if not children:
        return None
    for index, child in enumerate(children):
        if child.get_content_type() == "text/plain" and _part_text(child).strip():
            return index
    for index, child in enumerate(children):
        if child.get_content_type() == "text/html" or child.get_content_maintype() == "multipart":
            return index
    return len(children) - 1


def _sniff(data: bytes, declared: str, extension: str) -> str | None:
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(_IMAGE_MAGIC):
        return "image"
    if data.startswith(b"BM") and (declared in _BMP_TYPES or extension == ".bmp"):
        return "image"
    if declared in _TEXT_TYPES or extension in _TEXT_EXTENSIONS:
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        if utf16 or b"\x00" not in data[:65536]:
            return "text"
    return None


def _image_type(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if data.startswith(b"GIF8"):
        return "image/gif"
    if data.startswith(b"BM"):
        return "image/bmp"
    return None


# --- the whole e-mail ---------------------------------------------------------------------------


def email_to_pdf(
    eml: Path,
    target: Path,
    *,
    max_pages: int = 500,
    timeout: int = 60,
    max_image_pixels: int = 100_000_000,
    text_attachment_pages: int | None = None,
    keep_dir: Path | None = None,
) -> EmailSummary:
    """Write the e-mail `eml` with its attachments as one PDF to `target`.

    The e-mail's own pages and text attachments are pages with real text (an embedded font);
    images are image pages and PDF attachments their own pages. A text attachment longer than
    `text_attachment_pages` pages shows only its first pages and a note how much was left out;
    such attachments are written whole to `keep_dir` (named by their SHA-256), for the caller
    to keep.

    Raises NotAnEmail for anything that is no .eml file and EmailTooLarge when the document
    would have more than `max_pages` pages or takes longer than `timeout` seconds; `target` is
    then left untouched.
    """
    deadline = _Deadline(timeout)
    data = eml.read_bytes()
    if not data.strip():
        raise NotAnEmail("Die Datei ist leer und keine E-Mail.")
    if data.startswith(_OLE_MAGIC):
        raise NotAnEmail(
            "Die Datei ist eine Outlook-Nachricht (.msg), keine E-Mail im .eml-Format. Bitte die "
            "E-Mail im .eml-Format speichern oder als Anhang weiterleiten."
        )
    if not looks_like_email(data[:4096]):
        raise NotAnEmail()
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        document = _plan(message, max_pages, deadline, max_image_pixels, text_attachment_pages)
    except RecursionError:
        raise EmailTooLarge(
            "Die E-Mail ist zu tief verschachtelt und kann nicht gelesen werden.",
            code="email_too_large",
        ) from None
    planner, plan, chunks, total = document.planner, document.plan, document.chunks, document.pages
    try:
        output = pikepdf.new()
        text_pdf = pikepdf.open(io.BytesIO(_text_pages(_numbered(chunks, total))))
        planner.opened.append(text_pdf)
        text_pages = iter(text_pdf.pages)
        number = 0
        for chunk in chunks:
            if chunk.kind == "text":
                for _page in chunk.pages:
                    deadline.check()
                    number += 1
                    output.pages.append(next(text_pages))
            elif chunk.kind == "image" and chunk.image is not None:
                number += 1
                _add_image_page(output, chunk.image)
            elif chunk.pdf is not None:
                for page in chunk.pdf.pages:
                    deadline.check()
                    number += 1
                    output.pages.append(page)
        output.docinfo["/Title"] = plan.subject or "E-Mail"
        output.docinfo["/Creator"] = "E-Akte E-Mail-Import"
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            output.save(
                temporary,
                deterministic_id=True,
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
            )
            if keep_dir is not None:
                for sha256, data in planner.kept.items():
                    (keep_dir / sha256).write_bytes(data)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
            output.close()
    finally:
        for opened in planner.opened:
            opened.close()

    attachments = []
    for top in plan.entries:
        for name, entry in top.flat():
            pages = sum(chunk.count for chunk in entry.chunks)
            note = entry.note
            if entry.converted and entry.content_type == "message/rfc822":
                note = f"{note}, {_pages_word(pages)}"
            attachments.append(
                Attachment(
                    name, entry.content_type, entry.size, entry.converted, pages, note, entry.sha256
                )
            )
    return EmailSummary(
        subject=plan.subject,
        sender=plan.sender,
        recipients=plan.recipients,
        sent_at=plan.sent_at,
        attachments=attachments,
        pages=total,
    )


def _numbered(chunks: list[_Chunk], total: int) -> list[tuple[list[tuple[int, _Line]], int, int]]:
    """The text pages in page order, each with its page number in the whole document."""
    numbered = []
    number = 0
    for chunk in chunks:
        if chunk.kind == "text":
            for page in chunk.pages:
                number += 1
                numbered.append((page, number, total))
        else:
            number += chunk.count
    return numbered


@dataclass(eq=False)
class _Document:
    planner: _Planner
    plan: _MessagePlan
    chunks: list[_Chunk]  # in page order; text chunks laid out, page numbers final
    pages: int


def _plan(
    message: Message,
    max_pages: int,
    deadline: _Deadline,
    max_image_pixels: int,
    text_pages: int | None = None,
) -> _Document:
    """Everything but the drawing: attachments read and checked, text laid out, pages counted.
    The caller closes `planner.opened`; on an error they are closed here."""
    planner = _Planner(max_pages, deadline, max_image_pixels, text_pages)
    too_large = EmailTooLarge(
        f"Die E-Mail mit ihren Anhängen ergibt mehr als {max_pages} Seiten und kann nicht als "
        "ein Dokument abgelegt werden. Bitte die Anhänge einzeln einreichen.",
        code="email_too_large",
    )
    try:
        try:
            plan = planner.message(message, 0, "E-Mail", "")
        except _OverBudget:
            raise too_large from None
        head = _Chunk("text", fixed=False, produce=lambda: planner.message_lines(plan))
        chunks = [head]
        for entry in plan.entries:
            chunks.extend(entry.all_chunks())
        total = _number_pages(planner, chunks, too_large)
    except BaseException:
        for opened in planner.opened:
            opened.close()
        raise
    return _Document(planner, plan, chunks, total)


def _number_pages(planner: _Planner, chunks: list[_Chunk], too_large: EmailTooLarge) -> int:
    """Lay out the e-mail pages until the page numbers they list no longer move them."""
    for _ in range(6):
        start = 1
        for chunk in chunks:
            planner.starts[id(chunk)] = start
            start += chunk.count
        changed = False
        for chunk in chunks:
            if chunk.fixed or chunk.produce is None:
                continue
            try:
                pages = _paginate(chunk.produce())
            except _OverBudget:
                raise too_large from None
            changed = changed or len(pages) != chunk.count
            chunk.pages, chunk.count = pages, len(pages)
        total = sum(chunk.count for chunk in chunks)
        if total > planner.max_pages:
            raise too_large
        if not changed:
            return total
    raise RuntimeError("Seitenzählung der E-Mail kommt nicht zur Ruhe")
