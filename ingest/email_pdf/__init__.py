"""E-mails (.eml) as one PDF document for the case file.

parse      whether a file is an e-mail; headers, body text, attachments (stdlib `email`)
html_text  an HTML body as readable text (inscriptis on lxml)
layout     text wrapped and paginated on A4
images     attached images encoded as page images (Pillow)
plan       what goes on which page, within the page and time budget (limits)
render     the PDF drawn from the plan (fpdf2 for text pages, pikepdf for the document)
convert    email_to_pdf: the whole conversion
"""

from ingest.email_pdf.convert import Attachment, EmailSummary, email_to_pdf
from ingest.email_pdf.limits import EmailTooLarge, NotAnEmail
from ingest.email_pdf.parse import looks_like_email, sender_address
from ingest.email_pdf.plan import NOT_CONVERTED

__all__ = [
    "NOT_CONVERTED",
    "Attachment",
    "EmailSummary",
    "EmailTooLarge",
    "NotAnEmail",
    "email_to_pdf",
    "looks_like_email",
    "sender_address",
]
