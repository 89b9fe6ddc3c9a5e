"""What goes on which page: the e-mail's own pages, then every attachment that can be shown as
pages (PDF pages as they are, images one page per frame, text files laid out like the body,
attached e-mails with their own attachments); anything else is only listed. Pages are counted
against the budget as they are planned, and the e-mail's pages, which list the page numbers of
the attachments, are laid out again until those numbers hold."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message

import pikepdf
from PIL import Image, UnidentifiedImageError

from ingest.email_pdf.images import Encoded, encode_frame
from ingest.email_pdf.layout import Line, Page, Writer, mm, paginate
from ingest.email_pdf.limits import Deadline, EmailTooLarge, OverBudget
from ingest.email_pdf.parse import (
    AttachedPart,
    addresses,
    body_and_attachments,
    decode_text,
    header,
    read_attachment,
    sent_at,
)

MAX_NESTING = 5  # e-mails attached to e-mails attached to ...
MIN_IMAGE_SIDE = 16  # tracking pixels and spacers are listed, not turned into pages
MAX_COUNTED_PAGES = 2_000  # a longer text attachment is "more than" this many pages
NOT_CONVERTED = "nicht umgewandelt (Original bleibt in der E-Mail erhalten)"

_ENCRYPTED_TYPES = {
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
    "application/pgp-encrypted",
    "multipart/encrypted",
}

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


def pages_word(count: int) -> str:
    return "1 Seite" if count == 1 else f"{count} Seiten"


@dataclass(eq=False)
class Chunk:
    """Consecutive pages of the PDF from one source."""

    kind: str  # "text", "pdf" or "image"
    count: int = 1
    pdf: pikepdf.Pdf | None = None
    image: Encoded | None = None
    produce: Callable[[], list[Line]] | None = None
    fixed: bool = True  # False: the lines mention page numbers and are laid out again
    pages: list[Page] = field(default_factory=list)


@dataclass(eq=False)
class Entry:
    """An attachment: listed on the e-mail's page and in the summary."""

    number: str
    filename: str
    content_type: str
    size: int
    converted: bool = False
    note: str = ""
    label: str = ""
    chunks: list[Chunk] = field(default_factory=list)
    children: list[Entry] = field(default_factory=list)
    sha256: str | None = None  # set when the pages show only part of it

    def all_chunks(self) -> Iterator[Chunk]:
        yield from self.chunks
        for child in self.children:
            yield from child.all_chunks()

    def flat(self, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        name = f"{prefix}{self.filename}"
        yield name, self
        for child in self.children:
            yield from child.flat(f"{name} / ")


@dataclass(eq=False)
class MessagePlan:
    title: str
    fields: list[tuple[str, str]]
    body: str
    entries: list[Entry]
    subject: str
    sender: str
    recipients: list[str]
    sent_at: datetime | None


class Planner:
    def __init__(
        self,
        max_pages: int,
        deadline: Deadline,
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

    def span(self, entry: Entry) -> tuple[int, int] | None:
        chunks = [chunk for chunk in entry.all_chunks() if chunk.count]
        if not chunks:
            return None
        first = self.starts[id(chunks[0])]
        return first, self.starts[id(chunks[-1])] + chunks[-1].count - 1

    def _afford(self, pages: int) -> None:
        if self.fixed_pages + pages > self.max_pages:
            raise OverBudget

    # the e-mail

    def message(self, message: Message, depth: int, title: str, number: str) -> MessagePlan:
        body, parts = body_and_attachments(message)
        entries = []
        for index, part in enumerate(parts, start=1):
            self.deadline.check()
            entries.append(self._attachment(part, depth, f"{number}{index}"))
        subject = header(message, "Subject")
        moment = sent_at(message)
        fields = [("Von:", header(message, "From") or "(unbekannt)")]
        fields.append(("An:", header(message, "To") or "(keine Angabe)"))
        cc = header(message, "Cc")
        if cc:
            fields.append(("Cc:", cc))
        fields.append(("Datum:", _format_date(moment, header(message, "Date"))))
        fields.append(("Betreff:", subject or "(ohne Betreff)"))
        return MessagePlan(
            title=title,
            fields=fields,
            body=body or "(Die E-Mail enthält keinen Text.)",
            entries=entries,
            subject=subject,
            sender=header(message, "From"),
            recipients=addresses(message, "To") + addresses(message, "Cc"),
            sent_at=moment,
        )

    def _attachment(self, part: Message, depth: int, number: str) -> Entry:
        if part.get_content_maintype() == "multipart":
            entry = Entry(number, "Anhang " + number, part.get_content_type(), 0)
            return self._refuse(entry, "zu tief verschachtelt")
        attached = read_attachment(part, number)
        data, kind = attached.data, attached.kind
        entry = Entry(number, attached.filename, attached.content_type, len(data))
        entry.label = _TYPE_LABELS.get(attached.content_type, "")
        if not data and attached.inner is None:
            return self._refuse(entry, "leer")
        if kind == "message":
            return self._attached_message(entry, attached.inner, depth, number)
        if kind == "pdf":
            return self._pdf(entry, data)
        if kind == "image":
            return self._image(entry, data, source_is_jpeg=data.startswith(b"\xff\xd8\xff"))
        if kind == "text":
            return self._text(entry, attached)
        if attached.declared in _ENCRYPTED_TYPES:
            return self._refuse(entry, "verschlüsselt")
        return self._refuse(entry, "")

    def _refuse(self, entry: Entry, reason: str) -> Entry:
        entry.converted = False
        entry.note = f"{reason}, {NOT_CONVERTED}" if reason else NOT_CONVERTED
        return entry

    def _accept(self, entry: Entry, chunks: list[Chunk]) -> Entry:
        self.fixed_pages += sum(chunk.count for chunk in chunks)
        entry.converted = True
        entry.chunks = chunks
        entry.note = pages_word(sum(chunk.count for chunk in chunks))
        return entry

    def _attached_message(
        self, entry: Entry, inner: Message | None, depth: int, number: str
    ) -> Entry:
        if inner is None:
            return self._refuse(entry, "leer")
        if depth + 1 > MAX_NESTING:
            return self._refuse(entry, "zu tief verschachtelt")
        plan = self.message(inner, depth + 1, f"Angehängte E-Mail (Anhang {number})", f"{number}.")
        chunk = Chunk("text", fixed=False, produce=lambda: self.message_lines(plan))
        entry.converted = True
        entry.chunks = [chunk]
        entry.children = plan.entries
        entry.note = "angehängte E-Mail"
        entry.label = "E-Mail"
        return entry

    def _pdf(self, entry: Entry, data: bytes) -> Entry:
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
        except OverBudget:
            raise
        except (pikepdf.PdfError, ValueError, OSError, RuntimeError, KeyError, TypeError):
            return self._refuse(entry, "beschädigt")
        finally:
            source.close()
        clean = pikepdf.open(io.BytesIO(buffer.getvalue()))
        self.opened.append(clean)
        return self._accept(entry, [Chunk("pdf", count=count, pdf=clean)])

    def _image(self, entry: Entry, data: bytes, source_is_jpeg: bool) -> Entry:
        chunks: list[Chunk] = []
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
                    chunks.append(Chunk("image", image=encode_frame(im, source)))
        except (OverBudget, EmailTooLarge):
            raise
        except Image.DecompressionBombError:
            return self._refuse(entry, "Bild zu groß")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError):
            return self._refuse(entry, "beschädigt")
        return self._accept(entry, chunks)

    def _text(self, entry: Entry, attached: AttachedPart) -> Entry:
        data = attached.data
        text = decode_text(data, attached.charset)
        limit = self.text_pages
        # With a limit, the whole text is laid out only to count its pages.
        budget = self.max_pages - self.fixed_pages if limit is None else MAX_COUNTED_PAGES
        writer = Writer(budget, self.deadline)
        writer.heading(f"Anhang {entry.number}: {entry.filename}")
        writer.rule()
        head = len(writer.lines)
        try:
            writer.text(text)
            pages = paginate(writer.lines)
            counted = len(pages)
        except OverBudget:
            if limit is None:
                raise
            pages, counted = paginate(writer.lines), None
        if limit is not None and (counted is None or counted > limit):
            pages = self._summarised(entry, writer.lines, head, limit, counted, data)
            self._afford(len(pages))
            chunk = Chunk("text", count=len(pages), pages=pages)
            self._accept(entry, [chunk])
            total = f"{counted}" if counted is not None else f"mehr als {MAX_COUNTED_PAGES}"
            entry.note = f"gekürzt: {len(pages)} von {total} Seiten dargestellt"
            return entry
        self._afford(len(pages))
        chunk = Chunk("text", count=len(pages), pages=pages)
        return self._accept(entry, [chunk])

    def _summarised(
        self,
        entry: Entry,
        lines: list[Line],
        head: int,
        limit: int,
        counted: int | None,
        data: bytes,
    ) -> list[Page]:
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
        note = Writer(limit, self.deadline)
        note.rule()
        note.text(
            f"… {left_out} nicht dargestellt; das Original liegt als Anlage bei "
            f"(Anhang {entry.number}: {entry.filename}, {_format_size(len(data))}, "
            f"SHA-256 {sha256})."
        )
        pages = paginate(lines)
        keep = sum(len(page) for page in pages[:limit])
        while True:
            shown = paginate(lines[: max(keep, head)] + note.lines)
            if len(shown) <= limit or keep <= head:
                return shown
            keep -= 1

    # the e-mail's own pages

    def message_lines(self, plan: MessagePlan) -> list[Line]:
        writer = Writer(self.max_pages, self.deadline)
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

    def _listing(self, entries: list[Entry], indent: int) -> Iterator[tuple[str, int]]:
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
            yield from self._listing(entry.children, indent + mm(5))


@dataclass(eq=False)
class Document:
    planner: Planner
    plan: MessagePlan
    chunks: list[Chunk]  # in page order; text chunks laid out, page numbers final
    pages: int


def plan_email(
    message: Message,
    max_pages: int,
    deadline: Deadline,
    max_image_pixels: int,
    text_pages: int | None = None,
) -> Document:
    """Everything but the drawing: attachments read and checked, text laid out, pages counted.
    The caller closes `planner.opened`; on an error they are closed here."""
    planner = Planner(max_pages, deadline, max_image_pixels, text_pages)
    too_large = EmailTooLarge(
        f"Die E-Mail mit ihren Anhängen ergibt mehr als {max_pages} Seiten und kann nicht als "
        "ein Dokument abgelegt werden. Bitte die Anhänge einzeln einreichen.",
        code="email_too_large",
    )
    try:
        try:
            top = planner.message(message, 0, "E-Mail", "")
        except OverBudget:
            raise too_large from None
        head = Chunk("text", fixed=False, produce=lambda: planner.message_lines(top))
        chunks = [head]
        for entry in top.entries:
            chunks.extend(entry.all_chunks())
        total = _number_pages(planner, chunks, too_large)
    except BaseException:
        for opened in planner.opened:
            opened.close()
        raise
    return Document(planner, top, chunks, total)


def _number_pages(planner: Planner, chunks: list[Chunk], too_large: EmailTooLarge) -> int:
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
                pages = paginate(chunk.produce())
            except OverBudget:
                raise too_large from None
            changed = changed or len(pages) != chunk.count
            chunk.pages, chunk.count = pages, len(pages)
        total = sum(chunk.count for chunk in chunks)
        if total > planner.max_pages:
            raise too_large
        if not changed:
            return total
    raise RuntimeError("Seitenzählung der E-Mail kommt nicht zur Ruhe")
