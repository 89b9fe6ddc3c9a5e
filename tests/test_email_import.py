"""E-mails (.eml) become one PDF: the e-mail's own pages, then its attachments."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.email_pdf.convert import email_to_pdf
from ingest.email_pdf.html_text import html_to_text
from ingest.email_pdf.limits import Deadline, EmailTooLarge, NotAnEmail
from ingest.email_pdf.parse import decode_text, looks_like_email, unflow
from ingest.email_pdf.plan import NOT_CONVERTED, plan_email
from ingest.prepare import pdf_page_scans
from ingest.textlayer import page_contents

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SUBJECT = "Widerspruch gegen Bescheid – Müller"
SENTENCE = "hiermit lege ich Widerspruch gegen den Bescheid vom 12.02.2026 ein."
BERLIN = timezone(timedelta(hours=1))


def letter_pdf(pages: int, *, user: str | None = None, owner: str | None = None) -> bytes:
    images = []
    for number in range(1, pages + 1):
        image = Image.new("L", (1240, 1754), 255)
        ImageDraw.Draw(image).text(
            (120, 160), f"Anlage Seite {number}", font=ImageFont.truetype(FONT, 40), fill=0
        )
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=150, save_all=True, append_images=images[1:])
    if user is None and owner is None:
        return buffer.getvalue()
    encrypted = io.BytesIO()
    with pikepdf.open(io.BytesIO(buffer.getvalue())) as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(user=user or "", owner=owner or ""))
    return encrypted.getvalue()


def png(size: tuple[int, int] = (800, 600), dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 220, 255)).save(buffer, "PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def base_message(subject: str = SUBJECT) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Jürgen Müller <j.mueller@example.de>"
    message["To"] = "Jobcenter Musterstadt <post@jobcenter.example>"
    message["Cc"] = "Anna Schmidt <anna.schmidt@example.de>"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 3, 3, 14, 5, tzinfo=BERLIN))
    message["Message-ID"] = "<123@example.de>"
    return message


def plain_message() -> EmailMessage:
    message = base_message()
    message.set_content(
        f"Sehr geehrte Damen und Herren,\n\n{SENTENCE}\nDie Größe der Wohnung ist falsch "
        "berücksichtigt.\n\nMit freundlichen Grüßen\nJürgen Müller\n",
        charset="iso-8859-1",
        cte="quoted-printable",
    )
    return message


def write(tmp_path: Path, message: EmailMessage, name: str = "mail.eml") -> Path:
    path = tmp_path / name
    path.write_bytes(bytes(message))
    return path


def convert(tmp_path: Path, message: EmailMessage, **options: int):
    target = tmp_path / "mail.pdf"
    summary = email_to_pdf(write(tmp_path, message), target, **options)
    return summary, target


def drawn_text(message: EmailMessage) -> list[str]:
    """The text drawn on each rendered page, without rendering: the layout the pages show."""
    parsed = BytesParser(policy=policy.default).parsebytes(bytes(message))
    document = plan_email(parsed, 500, Deadline(60), 100_000_000)
    for opened in document.planner.opened:
        opened.close()
    return [
        "\n".join(" ".join(text for _, text, _ in line.segments) for _, line in page)
        for chunk in document.chunks
        if chunk.kind == "text"
        for page in chunk.pages
    ]


def page_count(pdf: Path) -> int:
    with pikepdf.open(pdf) as document:
        return len(document.pages)


def test_plain_latin1_quoted_printable_becomes_one_page(tmp_path: Path) -> None:
    message = plain_message()
    raw = bytes(message)
    assert b"=FC" in raw and b"=?utf-8?" in raw.lower()  # QP body, RFC 2047 subject

    summary, target = convert(tmp_path, message)

    assert summary.subject == SUBJECT
    assert summary.sender == "Jürgen Müller <j.mueller@example.de>"
    assert summary.recipients == [
        "Jobcenter Musterstadt <post@jobcenter.example>",
        "Anna Schmidt <anna.schmidt@example.de>",
    ]
    assert summary.sent_at == datetime(2026, 3, 3, 13, 5, tzinfo=UTC)
    assert summary.attachments == []
    assert summary.pages == 1 == page_count(target)
    # an A4 page with real text in an embedded font: the pipeline takes its text as it is
    with pikepdf.open(target) as pdf:
        assert [round(float(v), 1) for v in pdf.pages[0].mediabox] == [0, 0, 595.4, 842.0]
    assert [content.digital for content in page_contents(target)] == [True]
    assert target.stat().st_size < 60_000
    (page,) = drawn_text(message)
    for expected in (
        "E-Mail",
        "Von: Jürgen Müller <j.mueller@example.de>",
        "An: Jobcenter Musterstadt <post@jobcenter.example>",
        "Cc: Anna Schmidt <anna.schmidt@example.de>",
        "Datum: Di, 03.03.2026, 14:05 Uhr (UTC+01:00)",
        f"Betreff: {SUBJECT}",
        "Anhänge: keine",
        SENTENCE,
        "Die Größe der Wohnung ist falsch berücksichtigt.",
        "Mit freundlichen Grüßen",
    ):
        assert expected in page


def test_attachments_in_order_with_pages_and_notes(tmp_path: Path) -> None:
    message = plain_message()
    message.add_attachment(
        letter_pdf(2), maintype="application", subtype="pdf", filename="bescheid.pdf"
    )
    message.add_attachment(png(), maintype="image", subtype="png", filename="foto.png")
    message.add_attachment(
        b"PK\x03\x04" + bytes(range(256)) * 20,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="antrag.docx",
    )
    message.add_attachment(
        letter_pdf(1, user="geheim", owner="geheim"),
        maintype="application",
        subtype="pdf",
        filename="kontoauszug.pdf",
    )
    message.add_attachment("Monat;Miete\nJanuar;500\n", subtype="csv", filename="miete.csv")

    summary, target = convert(tmp_path, message)

    assert [(a.filename, a.converted, a.pages) for a in summary.attachments] == [
        ("bescheid.pdf", True, 2),
        ("foto.png", True, 1),
        ("antrag.docx", False, 0),
        ("kontoauszug.pdf", False, 0),
        ("miete.csv", True, 1),
    ]
    notes = [a.note for a in summary.attachments]
    assert notes[0] == "2 Seiten"
    assert notes[2] == "nicht umgewandelt (Original bleibt in der E-Mail erhalten)"
    assert notes[3].startswith("verschlüsselt") and "nicht umgewandelt" in notes[3]
    assert summary.attachments[1].content_type == "image/png"
    assert summary.attachments[2].size == 4 + 256 * 20
    assert summary.pages == 1 + 2 + 1 + 1 == page_count(target)

    with pikepdf.open(target) as pdf:
        # the PNG keeps its resolution: 800 x 600 pixels at 150 dpi
        assert [round(float(v)) for v in pdf.pages[3].mediabox] == [0, 0, 384, 288]
    scans = pdf_page_scans(target, 30)
    assert [scan.dpi for scan in scans][1:4] == [150, 150, 150]
    # the e-mail's page and the CSV are text; the PDF's and the PNG's pages are scans
    assert [c.digital for c in page_contents(target)] == [True, False, False, False, True]

    first, csv_page = drawn_text(message)
    assert "Anhänge: 1. bescheid.pdf (PDF, " in first
    assert "KB) – 2 Seiten, Seiten 2–3" in first
    assert "2. foto.png (PNG-Bild, 3 KB) – 1 Seite, Seite 4" in first
    listed = " ".join(first.split())
    assert f"3. antrag.docx (Word-Dokument, 5 KB) – {NOT_CONVERTED}" in listed
    assert "4. kontoauszug.pdf (PDF, " in listed and "verschlüsselt (Kennwort nötig)" in listed
    assert "5. miete.csv (CSV-Tabelle, 23 Byte) – 1 Seite, Seite 5" in first
    assert csv_page.startswith("Anhang 5: miete.csv\n")
    assert "Monat;Miete\nJanuar;500" in csv_page


def test_html_only_body_and_inline_image(tmp_path: Path) -> None:
    message = base_message("Unterlagen")
    message.set_content(
        "<html><head><style>p {color: red}</style><script>alert('x')</script></head><body>"
        "<p>Sehr geehrte Damen und Herren,</p><p>anbei die Unterlagen f&uuml;r "
        "M&auml;rz.<br>Zweite Zeile</p><img src='cid:logo@example'></body></html>",
        subtype="html",
    )
    message.add_related(png((300, 100)), "image", "png", cid="<logo@example>")

    summary, target = convert(tmp_path, message)

    assert [(a.content_type, a.converted, a.pages) for a in summary.attachments] == [
        ("image/png", True, 1)
    ]
    assert summary.pages == 2 == page_count(target)
    (page,) = drawn_text(message)
    assert "Sehr geehrte Damen und Herren,\n\nanbei die Unterlagen für März.\nZweite Zeile" in page
    assert "alert" not in page and "color" not in page
    assert "1. Anhang 1.png (PNG-Bild, " in page


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    text = html_to_text(
        "<html><head><title>T</title><style>p{}</style></head><body><script>evil()</script>"
        "<p>Erster&nbsp;Absatz  mit\n Umbruch &amp; Entit&auml;t &#8364;</p><p>Zweiter<br>"
        "Zeile</p><ul><li>eins</li><li>zwei</li></ul><blockquote>zitiert</blockquote>"
        "<table><tr><td>Miete</td><td>500</td></tr></table></body></html>"
    )
    assert text == (
        "Erster Absatz mit Umbruch & Entität €\n\nZweiter\nZeile\n\n  * eins\n  * zwei\n\n"
        "    zitiert\n\nMiete    500"
    )


def test_charsets() -> None:
    assert decode_text("Grüße".encode("cp1252"), "iso-8859-1") == "Grüße"
    assert decode_text("„Müller“ 5 €".encode("cp1252"), "iso-8859-1") == "„Müller“ 5 €"
    assert decode_text("Grüße".encode(), None) == "Grüße"
    assert decode_text("Grüße".encode("cp1252"), "utf-8") == "Gr\ufffd\ufffde"
    assert decode_text("Grüße".encode("cp1252"), None) == "Grüße"
    assert decode_text("Grüße".encode("cp1252"), "x-unbekannt") == "Grüße"
    assert decode_text("Grüße".encode("utf-16"), None) == "Grüße"


def test_jpeg_goes_in_unchanged_and_turned_photos_upright(tmp_path: Path) -> None:
    upright = io.BytesIO()
    Image.new("RGB", (640, 480), (250, 240, 230)).save(upright, "JPEG", dpi=(300, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held upright: turn 90 degrees clockwise to view
    turned = io.BytesIO()
    Image.new("L", (640, 480), 200).save(turned, "JPEG", exif=exif, dpi=(300, 300))
    message = plain_message()
    message.add_attachment(upright.getvalue(), maintype="image", subtype="jpeg", filename="a.jpg")
    message.add_attachment(turned.getvalue(), maintype="image", subtype="jpeg", filename="b.jpg")

    _, target = convert(tmp_path, message)

    with pikepdf.open(target) as pdf:
        first = pdf.pages[1].Resources.XObject.Im0
        assert first.read_raw_bytes() == upright.getvalue()
        assert [round(float(v)) for v in pdf.pages[1].mediabox] == [0, 0, 154, 115]
        second = pdf.pages[2].Resources.XObject.Im0
        assert (int(second.Width), int(second.Height)) == (480, 640)
        assert [round(float(v)) for v in pdf.pages[2].mediabox] == [0, 0, 115, 154]


def test_format_flowed_is_joined() -> None:
    flowed = "Ein langer Satz, der \numbrochen wurde.\n> zitierter \n> Satz\n-- \nSignatur"
    assert unflow(flowed, delsp=False) == (
        "Ein langer Satz, der umbrochen wurde.\n> zitierter Satz\n-- \nSignatur"
    )


def test_windows_1252_base64_body(tmp_path: Path) -> None:
    message = base_message("Kosten")
    message.set_content(
        "Die Nebenkosten betragen 120 € – „Nachzahlung“.", charset="cp1252", cte="base64"
    )
    assert b"Content-Transfer-Encoding: base64" in bytes(message)
    summary, _ = convert(tmp_path, message)
    assert summary.subject == "Kosten" and summary.pages == 1
    assert "Die Nebenkosten betragen 120 € – „Nachzahlung“." in drawn_text(message)[0]


def test_forwarded_message_with_its_own_attachment(tmp_path: Path) -> None:
    inner = base_message("Nebenkostenabrechnung 2025")
    inner.replace_header("From", "Hausverwaltung <hv@example.de>")
    inner.set_content("Anbei die Abrechnung für 2025.")
    inner.add_attachment(letter_pdf(1), maintype="application", subtype="pdf", filename="nk.pdf")
    inner.add_attachment(b"\x00\x01binary", maintype="application", subtype="zip", filename="a.zip")
    message = plain_message()
    message.add_attachment(inner)

    summary, target = convert(tmp_path, message)

    assert [(a.filename, a.content_type, a.converted, a.pages) for a in summary.attachments] == [
        ("Nebenkostenabrechnung 2025.eml", "message/rfc822", True, 1),
        ("Nebenkostenabrechnung 2025.eml / nk.pdf", "application/pdf", True, 1),
        ("Nebenkostenabrechnung 2025.eml / a.zip", "application/zip", False, 0),
    ]
    assert summary.attachments[0].note == "angehängte E-Mail, 1 Seite"
    assert summary.pages == 3 == page_count(target)
    first, forwarded = drawn_text(message)
    assert "1. Nebenkostenabrechnung 2025.eml (E-Mail, " in first
    assert "angehängte E-Mail, Seiten 2–3" in " ".join(first.split())
    assert "1.1. nk.pdf (PDF, " in first and "1.2. a.zip (ZIP-Archiv, 8 Byte) – nicht" in first
    assert forwarded.startswith(
        "Angehängte E-Mail (Anhang 1)\n\nVon: Hausverwaltung <hv@example.de>"
    )
    assert "Betreff: Nebenkostenabrechnung 2025" in forwarded
    assert "Anbei die Abrechnung für 2025." in forwarded
    assert "1.1. nk.pdf (PDF, " in forwarded and "1 Seite, Seite 3" in forwarded


def test_multipage_tiff_and_owner_only_protected_pdf_are_converted(tmp_path: Path) -> None:
    frames = [Image.new("1", (1700, 2200), 1) for _ in range(3)]
    tiff = io.BytesIO()
    frames[0].save(
        tiff, "TIFF", save_all=True, append_images=frames[1:], compression="group4", dpi=(200, 200)
    )
    message = plain_message()
    message.add_attachment(tiff.getvalue(), maintype="image", subtype="tiff", filename="scan.tif")
    message.add_attachment(
        letter_pdf(2, owner="nur-rechte"),
        maintype="application",
        subtype="octet-stream",  # the declared type is often wrong; the content decides
        filename="abrechnung",
    )

    summary, target = convert(tmp_path, message)

    assert [(a.content_type, a.converted, a.pages) for a in summary.attachments] == [
        ("image/tiff", True, 3),
        ("application/pdf", True, 2),
    ]
    assert page_count(target) == 6
    with pikepdf.open(target) as pdf:
        assert not pdf.is_encrypted


def test_damaged_and_empty_attachments_are_listed_not_fatal(tmp_path: Path) -> None:
    damaged = letter_pdf(1)
    damaged = damaged[:200] + b"\x00" * 100
    message = plain_message()
    message.add_attachment(damaged, maintype="application", subtype="pdf", filename="kaputt.pdf")
    jpeg = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 200, 30)).save(jpeg, "JPEG")
    message.add_attachment(
        jpeg.getvalue()[:300], maintype="image", subtype="jpeg", filename="halb.jpg"
    )
    message.add_attachment(b"", maintype="application", subtype="pdf", filename="leer.pdf")
    message.add_attachment(png((1, 1)), maintype="image", subtype="png", filename="pixel.png")

    summary, target = convert(tmp_path, message)

    assert [a.converted for a in summary.attachments] == [False, False, False, False]
    notes = [a.note.split(",")[0] for a in summary.attachments]
    assert notes == ["beschädigt", "beschädigt", "leer", "Bild zu klein (1×1 Bildpunkte)"]
    assert summary.pages == 1 == page_count(target)


def test_attachment_names_are_never_paths(tmp_path: Path) -> None:
    message = plain_message()
    message.add_attachment(
        png(), maintype="image", subtype="png", filename="../../../etc/\u202eevil\x07.png"
    )
    work = tmp_path / "work"
    work.mkdir()
    summary = email_to_pdf(write(tmp_path, message), work / "out.pdf")
    assert summary.attachments[0].filename == "evil.png"
    assert sorted(p.name for p in work.iterdir()) == ["out.pdf"]


def test_long_body_breaks_into_numbered_pages(tmp_path: Path) -> None:
    message = base_message("Lang")
    paragraph = "Ein Absatz mit vielen Wörtern, der umbrochen werden muss. " * 8
    message.set_content((paragraph + "\n\n") * 40 + "x" * 3000)  # and one very long word
    summary, target = convert(tmp_path, message)
    assert summary.pages == page_count(target) >= 3
    pages = drawn_text(message)
    assert len(pages) == summary.pages
    assert pages[-1].endswith("x" * 20)
    assert sum(page.count("Ein Absatz") for page in pages) == 8 * 40


def test_output_is_deterministic(tmp_path: Path) -> None:
    message = plain_message()
    message.add_attachment(letter_pdf(1), maintype="application", subtype="pdf", filename="a.pdf")
    message.add_attachment(png(), maintype="image", subtype="png", filename="b.png")
    eml = write(tmp_path, message)
    first, second = tmp_path / "1.pdf", tmp_path / "2.pdf"
    email_to_pdf(eml, first)
    email_to_pdf(eml, second)
    assert (
        hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    )


def test_too_many_pages_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    message = plain_message()
    message.add_attachment(letter_pdf(3), maintype="application", subtype="pdf", filename="a.pdf")
    target = tmp_path / "mail.pdf"
    eml = write(tmp_path, message)
    with pytest.raises(EmailTooLarge) as refused:
        email_to_pdf(eml, target, max_pages=3)
    assert isinstance(refused.value, ValueError)
    assert "mehr als 3 Seiten" in str(refused.value)
    assert refused.value.code == "email_too_large"
    assert not target.exists()
    assert email_to_pdf(eml, target, max_pages=4).pages == 4
    with pytest.raises(EmailTooLarge):
        email_to_pdf(eml, target, timeout=0)


def test_not_an_email(tmp_path: Path) -> None:
    cases = {
        "random.bin": os.urandom(4096),
        "letter.pdf": letter_pdf(1),
        "empty.eml": b"",
        "text.txt": b"Sehr geehrte Damen und Herren,\nich schreibe Ihnen ...\n",
        "outlook.msg": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(NotAnEmail) as refused:
            email_to_pdf(path, tmp_path / "out.pdf")
        assert refused.value.code == "not_an_email"
    assert not (tmp_path / "out.pdf").exists()
    path = tmp_path / "letter.pdf"
    with pytest.raises(NotAnEmail, match="keine E-Mail im .eml-Format"):
        email_to_pdf(path, tmp_path / "out.pdf")


def test_looks_like_email() -> None:
    assert looks_like_email(bytes(plain_message())[:4096])
    assert looks_like_email(
        b"Received: from mx.example.de by mail.example.de\r\n\tfor <a@b.de>; Tue, 3 Mar 2026\r\n"
        b"Return-Path: <a@b.de>\r\n"
    )
    assert looks_like_email(b"From a@b.de Tue Mar  3 10:00:00 2026\nFrom: a@b.de\nDate: x\n\n")
    received = b"Received: from relay.example.de by mx.example.de; Tue, 3 Mar 2026\r\n" * 80
    assert looks_like_email(received[:4096])
    assert not looks_like_email(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    assert not looks_like_email(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert not looks_like_email(b"Subject: nur ein Betreff\n\nText")
    assert not looks_like_email(b"Name: Test\nDatum: 1.1.2026\n\n")
    assert not looks_like_email(b"Hallo,\nFrom: a@b.de\nDate: x\n")
    assert not looks_like_email(b"")


@pytest.mark.slow
def test_rendered_first_page_reads_back_with_tesseract(tmp_path: Path) -> None:
    message = plain_message()
    message.add_attachment(
        b"PK\x03\x04" + bytes(300), maintype="application", subtype="msword", filename="antrag.doc"
    )
    _, target = convert(tmp_path, message)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "200",
            "-gray",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(target),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    ocr = subprocess.run(
        ["tesseract", str(tmp_path / "page.pgm"), "stdout", "-l", "deu", "--dpi", "200"],
        check=True,
        capture_output=True,
        timeout=120,
        env=dict(os.environ, OMP_THREAD_LIMIT="1"),
    ).stdout.decode()
    text = " ".join(ocr.split()).replace("—", "-").replace("–", "-")
    assert "Widerspruch gegen Bescheid - Müller" in text
    assert SENTENCE in text
    assert "Betreff:" in text and "Anhänge:" in text
    assert "antrag.doc (Word-Dokument, 304 Byte) - nicht umgewandelt (Original bleibt" in text
