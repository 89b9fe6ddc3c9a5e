"""Test helpers of replies19 (issue 19): requests made straight from the models (until
request19's records/requests.py is merged) and return sheets and cover sheets rendered as
scans, as a client's printer and the desk's scanner leave them."""

from __future__ import annotations

import io
import random
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import Session

from pdf.barcodes import code128_image, qr_image
from records.models import DocumentRequest, FollowUp, Household, RequestItem, User
from records.request_catalogue import load_request_catalogue

A4_MM = (210.0, 297.0)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def make_request(
    session: Session,
    bg_number: str,
    requester_login: str,
    codes: list[str],
    *,
    dispatch_date: date = date(2026, 11, 2),
) -> DocumentRequest:
    """An open request with its items and its deadline follow-up, as request19 writes one."""
    catalogue = load_request_catalogue()
    household = session.scalar(select(Household).where(Household.bg_number == bg_number))
    requester = session.scalar(select(User).where(User.login == requester_login))
    assert household is not None and requester is not None
    due = dispatch_date + timedelta(days=14)
    request = DocumentRequest(
        household=household,
        requested_by=requester,
        person_name="Natalia Huber",
        due_on=due,
        dispatch_date=dispatch_date,
        items=[RequestItem(code=code, label=catalogue[code].label) for code in codes],
    )
    session.add(request)
    session.flush()
    session.add(
        FollowUp(
            kind="request",
            household=household,
            request_id=request.id,
            due_on=due,
            note="Frist der Anforderung",
            user_id=requester.id,
            created_by_login=requester.login,
        )
    )
    session.flush()
    return request


def sheet_page(code: str, dpi: int = 200, title: str = "Rücksendeblatt") -> Image.Image:
    """A page like a request letter's last page: a title, a few lines, the code as QR code
    and as Code 128 (module sizes as the letter prints them: 0.75 mm and 0.4 mm)."""
    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, round(dpi * 0.22))
    draw.text((round(dpi * 0.9), round(dpi * 0.9)), title, fill=0, font=font)
    small = ImageFont.truetype(FONT, round(dpi * 0.14))
    for line, text in enumerate(
        ["Bitte legen Sie dieses Blatt oben auf Ihre Unterlagen.", "Jobcenter Nordfriesland"]
    ):
        draw.text((round(dpi * 0.9), round(dpi * (1.4 + 0.25 * line))), text, fill=0, font=small)
    qr = qr_image(code, scale=1)
    qr = qr.resize((qr.width * round(dpi * 0.75 / 25.4),) * 2, Image.Resampling.NEAREST)
    page.paste(qr, (round(dpi * 0.9), round(dpi * 2.4)))
    bars = code128_image(code, scale=1)
    module = max(2, round(dpi * 0.4 / 25.4))
    bars = bars.resize((bars.width * module, round(dpi * 0.6)), Image.Resampling.NEAREST)
    page.paste(bars, (round(dpi * 0.9), round(dpi * 2.4) + qr.height + round(dpi * 0.3)))
    return page


def scanned(
    page: Image.Image,
    rng: random.Random,
    *,
    skew: float = 0.0,
    upside_down: bool = False,
    noise: bool = True,
) -> Image.Image:
    """The page as a scanner returns it: turned by `skew` degrees (and 180° when upside down),
    grey speckles, JPEG artefacts."""
    image = page.rotate(skew, resample=Image.Resampling.BILINEAR, fillcolor=255)
    if upside_down:
        image = image.transpose(Image.Transpose.ROTATE_180)
    if noise:
        pixels = image.load()
        assert pixels is not None
        for _ in range(image.width * image.height // 400):
            x, y = rng.randrange(image.width), rng.randrange(image.height)
            pixels[x, y] = rng.randrange(0, 256)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=60)
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    return image


def batch_pdf(path: Path, parts: list[Image.Image | Path], dpi: int = 200) -> Path:
    """One PDF of page images and the pages of sample PDFs, in order, as a scanned batch."""
    with ExitStack() as sources, pikepdf.new() as batch:
        for part in parts:
            if isinstance(part, Path):
                source = sources.enter_context(pikepdf.open(part))
            else:
                buffer = io.BytesIO()
                part.save(buffer, "PDF", resolution=dpi)
                source = sources.enter_context(pikepdf.open(io.BytesIO(buffer.getvalue())))
            batch.pages.extend(source.pages)
        batch.save(path)
    return path


def separator_page(dpi: int = 200) -> Image.Image:
    """The desk's separator sheet: a QR code "PATCHT"."""
    return sheet_page("PATCHT", dpi, title="Trennblatt")
