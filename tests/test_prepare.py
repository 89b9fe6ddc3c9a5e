"""Page preparation on the sample scans and on pages the tests draw themselves.

The fast tests use a few sample documents, both sample batches and generated pages; the tests
marked slow check every sample document and the tesseract fallback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pikepdf
import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from ingest import prepare
from ingest.programs import run_program
from tests.support import SAMPLES

TIMEOUT = 60
DPI = 200  # generated pages: A4 at 200 dpi
A4 = (round(8.27 * DPI), round(11.69 * DPI))


def truth() -> dict[str, dict]:
    lines = (SAMPLES / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["file"]: row for row in map(json.loads, lines)}


def degradation(document: dict) -> dict:
    return document["degradation"][0]


def mm(value: float) -> int:
    return round(value / 25.4 * DPI)


def render_sample(name: str, out_dir: Path, number: int = 1) -> Path:
    pdf = SAMPLES / name
    dpi = prepare.pdf_page_resolutions(pdf, TIMEOUT)[number - 1]
    return prepare.render_pdf_page(pdf, number, dpi, out_dir, TIMEOUT)


def save(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


def paper(seed: int, noise: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(244, noise, (A4[1], A4[0]))


def noisy_empty_page(seed: int) -> Image.Image:
    """A duplex back side at its worst: grain, dust, edge shadow, punch holes, show-through."""
    rng = np.random.default_rng(seed)
    page = paper(seed, noise=10.0)
    for _ in range(400):  # dust: single dark pixels and 2x2 dots
        y, x = rng.integers(0, A4[1] - 2), rng.integers(0, A4[0] - 2)
        size = rng.integers(1, 3)
        page[y : y + size, x : x + size] = rng.uniform(30, 150)
    page[:, : mm(4)] *= np.linspace(0.35, 1.0, mm(4))  # shadow along the scanner's edge
    page[: mm(3), :] *= np.linspace(0.5, 1.0, mm(3))[:, None]
    image = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for centre in (A4[1] // 2 - mm(40), A4[1] // 2 + mm(40)):  # punched at the right edge
        x = A4[0] - mm(12)
        draw.ellipse((x - mm(3), centre - mm(3), x + mm(3), centre + mm(3)), fill=25)
    font = ImageFont.load_default(size=mm(3.5))
    for row in range(10):  # the front side shining through, faint and mirrored
        draw.text((mm(30), mm(40) + row * mm(7)), "gnunhcerbanetsoksbeirteB", fill=232, font=font)
    return image


def stamp_only_page(seed: int) -> Image.Image:
    image = Image.fromarray(np.clip(paper(seed), 0, 255).astype(np.uint8))
    stamp = Image.new("L", (mm(32), mm(14)), 255)
    draw = ImageDraw.Draw(stamp)
    frame = (2, 2, stamp.width - 3, stamp.height - 3)
    draw.rounded_rectangle(frame, radius=8, outline=110, width=3)
    font = ImageFont.load_default(size=mm(3))
    draw.text((mm(3), mm(2)), "EINGEGANGEN", fill=110, font=font)
    draw.text((mm(3), mm(7.5)), "03. NOV", fill=110, font=font)
    stamp = stamp.rotate(4, fillcolor=255, expand=True)
    image.paste(Image.fromarray(np.minimum(np.asarray(stamp), 244)), (mm(140), mm(30)))
    return image


def scribbled_line_page(seed: int) -> Image.Image:
    """One short handwritten-like stroke (a signature or 'erledigt'), 35 mm long."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(np.clip(paper(seed), 0, 255).astype(np.uint8))
    xs = np.linspace(mm(70), mm(105), 80)
    ys = mm(150) + mm(2.5) * np.sin(xs / mm(2.2)) + rng.normal(0, 1.5, xs.size)
    ImageDraw.Draw(image).line(list(zip(xs, ys, strict=True)), fill=60, width=2)
    return image


def short_text_page(seed: int) -> Image.Image:
    image = Image.fromarray(np.clip(paper(seed), 0, 255).astype(np.uint8))
    font = ImageFont.load_default(size=round(10 / 72 * DPI))  # 10 pt
    ImageDraw.Draw(image).text((mm(100), mm(260)), "Seite 2", fill=20, font=font)
    return image


def separator_page(code: np.ndarray, seed: int, turn: int = 0) -> Image.Image:
    page = paper(seed)
    symbol = np.where(np.asarray(code) < 128, 15.0, 244.0)
    symbol = np.rot90(symbol, k=turn // 90)
    top, left = mm(120), (A4[0] - symbol.shape[1]) // 2
    page[top : top + symbol.shape[0], left : left + symbol.shape[1]] = symbol
    image = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    font = ImageFont.load_default(size=mm(8))
    ImageDraw.Draw(image).text((mm(60), mm(80)), "TRENNBLATT", fill=10, font=font)
    return image


def barcode(text: str, kind: zxingcpp.BarcodeFormat, module_mm: float) -> np.ndarray:
    image = np.asarray(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(text, kind), scale=max(1, mm(module_mm))
        )
    )
    if kind != zxingcpp.BarcodeFormat.QRCode:  # 1-D symbols come one module row high
        image = np.repeat(image[image.shape[0] // 2 : image.shape[0] // 2 + 1], mm(12), axis=0)
    return image


# --- PDF pages ----------------------------------------------------------------------------


def test_resolutions_are_the_scans_native_dpi() -> None:
    documents = truth()
    for name in ("docs/0001.pdf", "docs/0002.pdf", "docs/0004.pdf"):
        assert prepare.pdf_page_resolutions(SAMPLES / name, TIMEOUT) == [documents[name]["dpi"]]
    batch = prepare.pdf_page_resolutions(SAMPLES / "batches/batch-1.pdf", TIMEOUT)
    with pikepdf.open(SAMPLES / "batches/batch-1.pdf") as pdf:
        pages = len(pdf.pages)
    assert len(batch) == pages and all(dpi > 0 for dpi in batch)


def test_pages_without_a_scan_get_300_dpi(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.add_blank_page(page_size=(595, 842))
    pdf.save(tmp_path / "text.pdf")
    assert prepare.pdf_page_resolutions(tmp_path / "text.pdf", TIMEOUT) == [300, 300]


def pdftoppm(pdf: Path, dpi: int, out: Path) -> np.ndarray:
    run_program(["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", str(pdf), str(out)], TIMEOUT)
    return np.asarray(Image.open(out.with_suffix(".pgm")), dtype=np.int16)


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to a pixel of rounding at the edges and tiny grey-level differences."""
    if abs(a.shape[0] - b.shape[0]) > 1 or abs(a.shape[1] - b.shape[1]) > 1:
        return False
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return float(np.mean(np.abs(a[:h, :w] - b[:h, :w]))) < 2.0


@pytest.mark.parametrize("name", ["docs/0001.pdf", "docs/0002.pdf"])  # JPEG and CCITT
def test_rendered_page_matches_pdftoppm(name: str, tmp_path: Path) -> None:
    pdf = SAMPLES / name
    dpi = prepare.pdf_page_resolutions(pdf, TIMEOUT)[0]
    page = prepare.render_pdf_page(pdf, 1, dpi, tmp_path, TIMEOUT)
    assert Image.open(page).mode == "L"
    assert same_picture(
        np.asarray(Image.open(page), dtype=np.int16), pdftoppm(pdf, dpi, tmp_path / "reference")
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page-00001.pgm", "reference.pgm"]


def test_rotated_and_overdrawn_pages_render_as_pdftoppm_draws_them(tmp_path: Path) -> None:
    with pikepdf.open(SAMPLES / "docs/0002.pdf") as pdf:
        pdf.pages[0].Rotate = 90
        pdf.save(tmp_path / "rotated.pdf")
        pdf.pages[0].contents_add(pikepdf.Stream(pdf, b"q 0 g 100 100 200 200 re f Q"))
        pdf.save(tmp_path / "overdrawn.pdf")
    for name in ("rotated.pdf", "overdrawn.pdf"):
        out = tmp_path / name.removesuffix(".pdf")
        out.mkdir()
        page = prepare.render_pdf_page(tmp_path / name, 1, 200, out, TIMEOUT)
        reference = pdftoppm(tmp_path / name, 200, out / "reference")
        assert same_picture(np.asarray(Image.open(page), dtype=np.int16), reference)


def test_other_dpi_is_rendered_to_that_dpi(tmp_path: Path) -> None:
    page = prepare.render_pdf_page(SAMPLES / "docs/0004.pdf", 1, 100, tmp_path, TIMEOUT)
    assert abs(Image.open(page).width - 827) <= 1


# --- batches -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    pages = {}
    for batch in ("batches/batch-1.pdf", "batches/batch-2.pdf"):
        out = tmp_path_factory.mktemp("batch")
        resolutions = prepare.pdf_page_resolutions(SAMPLES / batch, TIMEOUT)
        pages[batch] = [
            prepare.render_pdf_page(SAMPLES / batch, number, dpi, out, TIMEOUT)
            for number, dpi in enumerate(resolutions, start=1)
        ]
    return pages


def documents_in(batch: str) -> list[dict]:
    return [row for row in truth().values() if batch in row.get("in_batch", [])]


def split(plans: list[prepare.PagePlan]) -> list[list[prepare.PagePlan]]:
    groups: list[list[prepare.PagePlan]] = [[]]
    for plan in plans:
        if plan.separator:
            groups.append([])
        elif not plan.blank:
            groups[-1].append(plan)
    return groups


@pytest.mark.parametrize("batch", ["batches/batch-1.pdf", "batches/batch-2.pdf"])
def test_batches_split_into_their_documents(batch: str, batch_pages: dict[str, list[Path]]) -> None:
    """Separators and empty back sides account for exactly the pages that are not documents."""
    documents = documents_in(batch)
    plans = [
        prepare.PagePlan(prepare.is_separator_sheet(page), prepare.is_blank_page(page), 0, 0.0)
        for page in batch_pages[batch]
    ]
    assert [len(group) for group in split(plans)] == [row["pages"] for row in documents]
    blanks = len(plans) - sum(row["pages"] for row in documents) - (len(documents) - 1)
    assert sum(plan.blank for plan in plans) == blanks
    assert not any(plan.blank and plan.separator for plan in plans)


@pytest.mark.slow
@pytest.mark.parametrize("batch", ["batches/batch-1.pdf", "batches/batch-2.pdf"])
def test_batch_pages_are_planned(batch: str, batch_pages: dict[str, list[Path]]) -> None:
    """The whole plan: the upside-down document in the batch is turned, no other page is."""
    documents = documents_in(batch)
    groups = split([prepare.analyse_page(page, TIMEOUT) for page in batch_pages[batch]])
    assert [len(group) for group in groups] == [row["pages"] for row in documents]
    assert [group[0].rotation for group in groups] == [expected_turn(row) for row in documents]
    for group, row in zip(groups, documents, strict=True):
        assert abs(group[0].skew - degradation(row)["skew"]) < 0.35


# --- separator sheets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "module_mm", "turn"),
    [
        ("PATCHT", zxingcpp.BarcodeFormat.QRCode, 0.5, 0),
        ("PATCHT", zxingcpp.BarcodeFormat.QRCode, 1.0, 180),
        ("PATCH T", zxingcpp.BarcodeFormat.Code39, 0.4, 0),
        ("PATCHT", zxingcpp.BarcodeFormat.Code128, 0.4, 90),
    ],
)
def test_generated_separator_sheets_are_found(
    text: str, kind: zxingcpp.BarcodeFormat, module_mm: float, turn: int, tmp_path: Path
) -> None:
    page = save(
        separator_page(barcode(text, kind, module_mm), seed=1, turn=turn), tmp_path / "page.pgm"
    )
    assert prepare.is_separator_sheet(page)
    assert prepare.analyse_page(page, TIMEOUT) == prepare.PagePlan(True, False, 0, 0.0)


def test_codes_with_other_values_are_no_separators(tmp_path: Path) -> None:
    code = barcode("RECHNUNG", zxingcpp.BarcodeFormat.QRCode, 0.8)
    page = save(separator_page(code, seed=2), tmp_path / "page.pgm")
    assert not prepare.is_separator_sheet(page)
    assert prepare.is_separator_sheet(page, value="Rechnung")


# --- empty back sides ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [3, 4])
def test_noisy_empty_back_sides_are_blank(seed: int, tmp_path: Path) -> None:
    page = save(noisy_empty_page(seed), tmp_path / "page.pgm")
    assert prepare.is_blank_page(page)
    assert prepare.analyse_page(page, TIMEOUT) == prepare.PagePlan(False, True, 0, 0.0)


@pytest.mark.parametrize("draw", [stamp_only_page, scribbled_line_page, short_text_page])
def test_pages_with_a_small_mark_are_not_blank(
    draw: Callable[[int], Image.Image], tmp_path: Path
) -> None:
    page = save(draw(5), tmp_path / "page.pgm")
    assert not prepare.is_blank_page(page)


def test_scans_at_300_dpi_are_judged_alike(tmp_path: Path) -> None:
    for draw, blank in ((noisy_empty_page, True), (short_text_page, False)):
        image = draw(seed=6)
        size = (image.width * 3 // 2, image.height * 3 // 2)
        bigger = image.resize(size, Image.Resampling.BICUBIC)
        assert prepare.is_blank_page(save(bigger, tmp_path / "page.pgm")) is blank


# --- orientation and skew ------------------------------------------------------------------

FAST_SAMPLES = ["docs/0002.pdf", "docs/0016.pdf", "docs/0008.pdf", "docs/0013.pdf", "docs/0020.pdf"]


@pytest.fixture(scope="module")
def sample_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pages = {}
    for name in FAST_SAMPLES:
        out = tmp_path_factory.mktemp(Path(name).stem)
        pages[name] = render_sample(name, out)
    return pages


def expected_turn(document: dict) -> int:
    return 180 if degradation(document).get("upside_down") else 0


def looks_upright(page: Path) -> bool:
    """The quick numpy check alone, without tesseract's fallback."""
    return prepare._upright_skew(prepare._PageImage(page)) is not None


@pytest.mark.parametrize("name", FAST_SAMPLES)
def test_sample_skew_and_upright_check(name: str, sample_pages: dict[str, Path]) -> None:
    document = truth()[name]
    assert abs(prepare.estimate_skew(sample_pages[name]) - degradation(document)["skew"]) < 0.35
    assert looks_upright(sample_pages[name]) is (expected_turn(document) == 0)


def test_upright_samples_are_left_upright(sample_pages: dict[str, Path]) -> None:
    for name in ("docs/0008.pdf", "docs/0013.pdf", "docs/0020.pdf"):
        plan = prepare.analyse_page(sample_pages[name], TIMEOUT)
        assert plan == prepare.PagePlan(False, False, 0, prepare.estimate_skew(sample_pages[name]))
        assert prepare.detect_orientation(sample_pages[name], TIMEOUT) == 0


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_turned_pages_never_look_upright(
    turn: int, sample_pages: dict[str, Path], tmp_path: Path
) -> None:
    for name in ("docs/0008.pdf", "docs/0013.pdf", "docs/0020.pdf"):
        document = truth()[name]
        turned = Image.open(sample_pages[name]).rotate(-turn, expand=True)  # clockwise
        page = save(turned, tmp_path / "page.pgm")
        assert not looks_upright(page)
        assert abs(prepare.estimate_skew(page) - degradation(document)["skew"]) < 0.35


@pytest.mark.parametrize("angle", [-4.2, 2.5, 4.0])
def test_generated_skew_is_measured(
    angle: float, sample_pages: dict[str, Path], tmp_path: Path
) -> None:
    name = "docs/0008.pdf"  # nearly straight to begin with
    skewed = Image.open(sample_pages[name]).rotate(
        angle, fillcolor=255, resample=Image.Resampling.BILINEAR
    )
    page = save(skewed, tmp_path / "page.pgm")
    assert abs(prepare.estimate_skew(page) - (degradation(truth()[name])["skew"] + angle)) < 0.2


def test_pages_without_text_are_left_as_they_are(tmp_path: Path) -> None:
    page = save(scribbled_line_page(seed=7), tmp_path / "page.pgm")
    assert prepare.detect_orientation(page, TIMEOUT) == 0
    assert prepare.estimate_skew(page) == 0.0


# --- output --------------------------------------------------------------------------------


def test_prepared_page_is_upright_and_straight(
    sample_pages: dict[str, Path], tmp_path: Path
) -> None:
    source = sample_pages["docs/0002.pdf"]  # upside down, skewed by 1.33 degrees
    out = prepare.prepare_page(
        source, tmp_path / "out.pgm", rotation=180, skew=prepare.estimate_skew(source)
    )
    assert out == tmp_path / "out.pgm"
    with Image.open(source) as before, Image.open(out) as after:
        assert after.mode == "L" and after.size == before.size
        assert (np.asarray(after)[:3, :3] == 255).all()  # white, not black, corners
    assert looks_upright(out)
    assert abs(prepare.estimate_skew(out)) < 0.15


def test_quarter_turn_swaps_the_sides(sample_pages: dict[str, Path], tmp_path: Path) -> None:
    source = sample_pages["docs/0013.pdf"]
    out = prepare.prepare_page(source, tmp_path / "out.pgm", rotation=90, skew=0.0)
    with Image.open(source) as before, Image.open(out) as after:
        assert after.size == (before.height, before.width)
        assert np.array_equal(np.asarray(after), np.rot90(np.asarray(before), k=-1))


def test_nothing_to_do_writes_nothing(sample_pages: dict[str, Path], tmp_path: Path) -> None:
    source = sample_pages["docs/0008.pdf"]
    assert prepare.prepare_page(source, tmp_path / "out.pgm", rotation=0, skew=0.05) == source
    assert not (tmp_path / "out.pgm").exists()
    with pytest.raises(ValueError):
        prepare.prepare_page(source, tmp_path / "out.pgm", rotation=45, skew=0.0)


# --- every sample, and the tesseract fallback ---------------------------------------------


@pytest.mark.slow
def test_all_samples_orientation_and_skew(tmp_path: Path) -> None:
    errors = []
    for name, document in sorted(truth().items()):
        out = tmp_path / Path(name).stem
        out.mkdir()
        plan = prepare.analyse_page(render_sample(name, out), TIMEOUT)
        assert not plan.separator and not plan.blank, name
        assert plan.rotation == expected_turn(document), name
        errors.append(abs(plan.skew - degradation(document)["skew"]))
    assert max(errors) < 0.5
    assert sum(errors) / len(errors) < 0.1


@pytest.mark.slow
@pytest.mark.parametrize("turn", [90, 180, 270])
def test_turned_pages_are_turned_back(
    turn: int, sample_pages: dict[str, Path], tmp_path: Path
) -> None:
    for name in ("docs/0013.pdf", "docs/0016.pdf"):
        document = truth()[name]
        turned = Image.open(sample_pages[name]).rotate(-turn, expand=True)  # clockwise
        page = save(turned, tmp_path / "page.pgm")
        plan = prepare.analyse_page(page, TIMEOUT)
        assert plan.rotation == (expected_turn(document) - turn) % 360
        assert abs(plan.skew - degradation(document)["skew"]) < 0.35
        assert not list(tmp_path.glob("*.osd.pgm"))


CYRILLIC_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.slow
@pytest.mark.skipif(not CYRILLIC_FONT.exists(), reason="needs a font with Cyrillic letters")
def test_upright_cyrillic_letters_stay_upright(tmp_path: Path) -> None:
    """Cyrillic has more descenders than ascenders: only tesseract may judge it."""
    text = (
        "Шановні пані та панове, я подаю заперечення проти рішення від дванадцятого "
        "жовтня. Витрати на житло не були враховані в повному обсязі. Будь ласка, "
        "перевірте додані документи та повідомте мені результат у письмовій формі."
    )
    image = Image.fromarray(np.clip(paper(seed=8), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(CYRILLIC_FONT), round(11 / 72 * DPI))
    words, lines = text.split(), [""]
    for word in words * 3:
        if draw.textlength(f"{lines[-1]} {word}", font=font) > mm(160):
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    for row, line in enumerate(lines):
        draw.text((mm(25), mm(40) + row * mm(6.5)), line, fill=20, font=font)
    for turn in (0, 180):
        page = save(image.rotate(turn), tmp_path / f"page-{turn}.pgm")
        assert prepare.detect_orientation(page, TIMEOUT) == turn
