"""E-mails from clients (.eml) as one PDF document for the case file: parse, plan, render.

The e-mail becomes pages: first the e-mail itself (sender, recipients, date, subject, the list
of attachments and the body text; an HTML body as its text, without scripts, styles or anything
fetched), then every attachment that can be shown as pages. Anything else is only listed; the
caller keeps the original .eml byte for byte, so nothing is lost.

Text is drawn as text: the e-mail's pages and text attachments are PDF pages with DejaVu
embedded (fpdf2, with a ToUnicode map), so the pipeline takes their words from the text layer
and never rasterises and OCRs what the e-mail already says (ingest/textlayer.py). Images stay
image pages and are read by OCR like scans. A long text attachment shows its first pages and a
note how much was left out; the attachment itself is handed to the caller to keep whole.

Everything in an e-mail is untrusted: attachment names are only shown, never used as paths;
nothing is fetched, nothing is executed. Output is the same for the same input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest.email_pdf.limits import Deadline, EmailTooLarge, NotAnEmail
from ingest.email_pdf.parse import OLE_MAGIC, looks_like_email, parse_message
from ingest.email_pdf.plan import pages_word, plan_email
from ingest.email_pdf.render import write_pdf


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
    deadline = Deadline(timeout)
    data = eml.read_bytes()
    if not data.strip():
        raise NotAnEmail("Die Datei ist leer und keine E-Mail.")
    if data.startswith(OLE_MAGIC):
        raise NotAnEmail(
            "Die Datei ist eine Outlook-Nachricht (.msg), keine E-Mail im .eml-Format. Bitte die "
            "E-Mail im .eml-Format speichern oder als Anhang weiterleiten."
        )
    if not looks_like_email(data[:4096]):
        raise NotAnEmail()
    try:
        message = parse_message(data)
        document = plan_email(message, max_pages, deadline, max_image_pixels, text_attachment_pages)
    except RecursionError:
        raise EmailTooLarge(
            "Die E-Mail ist zu tief verschachtelt und kann nicht gelesen werden.",
            code="email_too_large",
        ) from None
    try:
        write_pdf(document, target, deadline, keep_dir)
    finally:
        for opened in document.planner.opened:
            opened.close()

    attachments = []
    for top in document.plan.entries:
        for name, entry in top.flat():
            pages = sum(chunk.count for chunk in entry.chunks)
            note = entry.note
            if entry.converted and entry.content_type == "message/rfc822":
                note = f"{note}, {pages_word(pages)}"
            attachments.append(
                Attachment(
                    name, entry.content_type, entry.size, entry.converted, pages, note, entry.sha256
                )
            )
    plan = document.plan
    return EmailSummary(
        subject=plan.subject,
        sender=plan.sender,
        recipients=plan.recipients,
        sent_at=plan.sent_at,
        attachments=attachments,
        pages=document.pages,
    )
