"""Reading an e-mail: whether a file is one, its headers, its body text and its attachments.

MIME is parsed by the standard library's `email` package with `policy.default`; what is added
here is what real mail needs beyond it: wrong or missing charset labels, raw 8-bit header
bytes, format=flowed bodies, and attachments recognised by their bytes, not by their label.
Everything is untrusted: names are only for display, nothing is fetched or executed.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import Address, AddressHeader
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from ingest.validation import safe_source_name

MAX_MIME_DEPTH = 30  # multiparts within multiparts; deeper ones are listed, not opened
MAX_HEADER_BYTES = 256 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Outlook .msg and old Office files


def parse_message(data: bytes) -> Message:
    return BytesParser(policy=policy.default).parsebytes(data)


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
    if not head or b"\x00" in head or head.startswith(OLE_MAGIC):
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
            found = [address.addr_spec for address in _strict_addresses(header)]
        except Exception:  # malformed list: the lenient classic parser
            found = [address for _, address in getaddresses([str(header)])]
        for address in found:
            normalised = clean_line(address).strip("<>").lower()
            if _ADDRESS.fullmatch(normalised):
                return normalised
    return None


_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+")


# --- decoding ---------------------------------------------------------------------------------

_LATIN1_NAMES = {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "cp819"}
_ASCII_NAMES = {"", "us-ascii", "ascii", "unknown-8bit", "x-unknown", "unknown", "default"}


def decode_text(payload: bytes, charset: str | None) -> str:
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


def unsurrogate(text: str) -> str:
    """Raw 8-bit bytes in headers arrive as surrogate escapes; read them as UTF-8 or cp1252."""
    return _ESCAPED.sub(lambda match: decode_text(_escaped_bytes(match.group()), None), text)


_ESCAPED = re.compile("[\udc80-\udcff]+")


def _escaped_bytes(run: str) -> bytes:
    return bytes(ord(ch) - 0xDC00 for ch in run)


def clean_line(text: str) -> str:
    """One line of header text: no control characters, folded whitespace joined."""
    text = unsurrogate(text)
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return re.sub(r" {2,}", " ", text).strip()


# control and invisible format characters (soft hyphen, zero-width, bidi overrides, BOM)
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def clean_text(text: str) -> str:
    """Body text for drawing: unified line ends, tabs as spaces, no control characters."""
    text = unsurrogate(text).replace("\r\n", "\n").replace("\r", "\n")
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
        text = unsurrogate(re.sub(r"[\r\n]", "", str(value)))
        try:
            found.append(policy.default.header_factory(key, text))
        except Exception:  # the header parser raises on some malformed headers
            found.append(_decode_raw_header(text))
    return found


def _strict_addresses(parsed: object) -> tuple[Address, ...]:
    """The addresses of a header the email package parsed; raises for one it could not."""
    if not isinstance(parsed, AddressHeader):
        raise TypeError("the header was not parsed as an address list")
    return parsed.addresses


def header(message: Message, name: str) -> str:
    return ", ".join(clean_line(str(value)) for value in _parsed_headers(message, name))


def _decode_raw_header(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # undecodable encoded words: show the header as it was written
        return value


def addresses(message: Message, name: str) -> list[str]:
    found: list[str] = []
    for parsed in _parsed_headers(message, name):
        try:
            found.extend(clean_line(str(address)) for address in _strict_addresses(parsed))
        except Exception:  # malformed address list: the lenient classic parser
            pairs = getaddresses([str(parsed)])
            found.extend(
                clean_line(f"{real} <{address}>" if real else address)
                for real, address in pairs
                if address
            )
    return found


def sent_at(message: Message) -> datetime | None:
    for parsed in _parsed_headers(message, "Date"):
        moment = getattr(parsed, "datetime", None)
        if moment is None:
            try:
                moment = parsedate_to_datetime(str(parsed))
            except (TypeError, ValueError, IndexError):
                moment = None
        return moment
    return None


# --- the body ---------------------------------------------------------------------------------


def unflow(text: str, delsp: bool) -> str:
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


def _meta_charset(payload: bytes) -> str | None:
    match = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", payload[:4096], re.I)
    return match.group(1).decode("ascii") if match else None


def part_text(part: Message) -> str:
    """The text of a text/plain or text/html part (HTML as its readable text)."""
    payload = part.get_payload(decode=True) or b""
    if not isinstance(payload, bytes):
        payload = str(payload).encode("utf-8", "surrogateescape")
    charset = part.get_content_charset()
    if part.get_content_type() == "text/html":
        from ingest.email_pdf.html_text import html_to_text  # lxml only when a mail has HTML

        return html_to_text(decode_text(payload, charset or _meta_charset(payload)))
    text = decode_text(payload, charset)
    if str(part.get_param("format", "") or "").lower() == "flowed":
        delsp = str(part.get_param("delsp", "") or "").lower() == "yes"
        text = unflow(text.replace("\r\n", "\n"), delsp)
    return text


def body_and_attachments(message: Message) -> tuple[str, list[Message]]:
    """The body text (the text parts shown, joined; of alternatives the one chosen) and the
    other parts in MIME order: attachments, inline images, attached e-mails."""
    bodies: list[Message] = []
    parts: list[Message] = []
    _walk(message, bodies, parts, want_text=True, level=0)
    texts = [part_text(part) for part in bodies]
    return "\n\n".join(text.strip("\n") for text in texts if text.strip()), parts


def _walk(
    part: Message, bodies: list[Message], parts: list[Message], want_text: bool, level: int
) -> None:
    """Body text parts into `bodies`, everything else into `parts`, in MIME order."""
    maintype = part.get_content_maintype()
    if maintype == "multipart" and part.is_multipart() and level < MAX_MIME_DEPTH:
        children = [child for child in part.get_payload() if isinstance(child, Message)]
        alternative = part.get_content_subtype() == "alternative"
        chosen = _choose_alternative(children) if alternative else None
        for index, child in enumerate(children):
            keep = want_text and (chosen is None or index == chosen)
            _walk(child, bodies, parts, keep, level + 1)
        return
    if maintype == "message" and part.get_content_subtype() == "rfc822":
        parts.append(part)
        return
    if _is_body_text(part):
        if want_text:
            bodies.append(part)
        return  # a text alternative not shown: the chosen one says the same
    parts.append(part)


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
        if child.get_content_type() == "text/plain" and part_text(child).strip():
            return index
    for index, child in enumerate(children):
        if child.get_content_type() == "text/html" or child.get_content_maintype() == "multipart":
            return index
    return len(children) - 1


# --- attachments ------------------------------------------------------------------------------

_IMAGE_MAGIC = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
_BMP_TYPES = {"image/bmp", "image/x-bmp", "image/x-ms-bmp"}
_TEXT_TYPES = {"text/plain", "text/csv", "text/comma-separated-values"}
_TEXT_EXTENSIONS = {".txt", ".csv"}
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


@dataclass(frozen=True, eq=False)
class AttachedPart:
    """One attachment as read: its bytes and what they are (by their content, not the label)."""

    filename: str  # for display only, never a path
    declared: str  # the content type the e-mail gives
    content_type: str  # the one its bytes show, where known
    kind: str | None  # "message", "pdf", "image", "text" or None (only listed)
    data: bytes  # after transfer decoding (an attached e-mail: the message re-serialised)
    inner: Message | None  # an attached e-mail
    charset: str | None  # as labelled, for text


def read_attachment(part: Message, number: str) -> AttachedPart:
    declared = part.get_content_type()
    try:
        name = part.get_filename()
    except Exception:  # a malformed filename parameter: treat the part as unnamed
        name = None
    extension = Path(safe_source_name(name)).suffix.lower() if name else ""
    inner: Message | None = None
    if declared == "message/rfc822":
        payload = part.get_payload()
        first = payload[0] if isinstance(payload, list) and payload else None
        inner = first if isinstance(first, Message) else None
        data = _message_bytes(inner) if inner is not None else b""
    else:
        try:
            raw = part.get_payload(decode=True)
        except Exception:  # undecodable transfer encoding: listed as damaged by the caller
            raw = None
        data = raw if isinstance(raw, bytes) else b""
        if extension == ".eml" and looks_like_email(data[:4096]):
            inner = parse_message(data)
    kind = "message" if inner is not None else _sniff(data, declared, extension)
    if kind == "message":
        content_type = "message/rfc822"
    elif kind == "pdf":
        content_type = "application/pdf"
    elif kind == "image":
        content_type = _image_type(data) or declared
    else:
        content_type = declared
    if name:
        filename = safe_source_name(unsurrogate(name))
    elif inner is not None:
        subject = header(inner, "Subject")
        filename = safe_source_name(f"{subject[:80]}.eml") if subject else "E-Mail.eml"
    else:
        filename = f"Anhang {number}{_EXTENSIONS.get(content_type, '')}"
    charset = part.get_content_charset()
    return AttachedPart(filename, declared, content_type, kind, data, inner, charset)


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes()
    except Exception:  # only for the size shown; a message that cannot be re-serialised
        return b""


def _sniff(data: bytes, declared: str, extension: str) -> str | None:
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(tuple(_IMAGE_MAGIC)):
        return "image"
    if data.startswith(b"BM") and (declared in _BMP_TYPES or extension == ".bmp"):
        return "image"
    if declared in _TEXT_TYPES or extension in _TEXT_EXTENSIONS:
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        if utf16 or b"\x00" not in data[:65536]:
            return "text"
    return None


def _image_type(data: bytes) -> str | None:
    for magic, content_type in _IMAGE_MAGIC.items():
        if data.startswith(magic):
            return content_type
    return "image/bmp" if data.startswith(b"BM") else None
