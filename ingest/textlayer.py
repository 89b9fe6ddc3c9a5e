"""Pages that bring their own text: born-digital PDF pages and the text pages of e-mails.

A page whose text is drawn with fonts (a letter exported from an office program, an e-mail's
body as ingest/email_pdf/ lays it out) already holds the exact text: it is never rendered
and read again by OCR. Its words and their boxes come from the text layer (poppler's
`pdftotext -bbox-layout`), the page is rendered only for the viewer, and the page itself goes
into the archive PDF, so its text stays searchable there.

A page counts as a scan, read by OCR as before, when images cover half of it or more (a scan,
also one with an invisible OCR layer over it, which says nothing about its quality), when it
shows too little visible text, or when its text layer does not read as text (fonts without a
usable Unicode mapping give private-use or replacement characters). Documents that mix both
are decided page by page.
"""

from __future__ import annotations

import json
import logging
import sys
import unicodedata
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pikepdf

from core.errors import UnreadablePage
from ingest.ocr import OcrResult, Word
from ingest.programs import run_program

log = logging.getLogger(__name__)

MIN_VISIBLE_CHARS = 20  # string bytes shown visibly: less is a form without text, a drawing
SCAN_SHARE = 0.5  # images covering this share of the page make it a scan
MIN_READABLE_SHARE = 0.9  # of the non-space characters: letters, digits, punctuation, symbols
MIN_ALPHANUMERIC_SHARE = 0.5
MAX_FORM_DEPTH = 12  # forms within forms; deeper ones are not followed
TEXT_CONFIDENCE = 100.0  # a word from the text layer is what the page says
_INVISIBLE_MODES = {3, 7}  # text render modes: 3 neither fill nor stroke, 7 clip only
_SHOW_TEXT = {"Tj", "'", '"'}


@dataclass(frozen=True)
class PageContent:
    """What a PDF page draws, as far as deciding between text layer and OCR needs it."""

    visible_text: int  # bytes of strings shown in a visible text render mode
    hidden_text: int  # bytes shown invisibly (an OCR layer) or only as a clip
    image_share: float  # share of the page that images cover (summed, at most 1)
    # Every font the page draws with is embedded (PDF/A requires it): the page itself can go
    # into the archive PDF; otherwise its rendering with the words as an invisible layer does.
    fonts_embedded: bool = True

    @property
    def digital(self) -> bool:
        return self.visible_text >= MIN_VISIBLE_CHARS and self.image_share < SCAN_SHARE


_SCAN = PageContent(0, 0, 1.0)


def page_contents(pdf: Path, timeout: int = 120) -> list[PageContent]:
    """For page 1, 2, ... of `pdf`: what it draws.

    The PDF is untrusted, so it is looked into by a child process with a timeout and a memory
    limit, like every other program that reads it (a content stream can inflate to gigabytes).
    Pages of a PDF that cannot be looked into, and a page whose content cannot be read, are
    taken for scans: OCR reads them as before.
    """
    package_root = Path(__file__).resolve().parent.parent
    try:
        done = run_program(
            # prlimit (util-linux), not preexec_fn: workers run threads
            [
                "prlimit",
                f"--as={CHILD_MEMORY}",
                "--",
                sys.executable,
                "-m",
                "ingest.textlayer",
                str(Path(pdf).absolute()),
            ],
            timeout,
            env={"PYTHONPATH": str(package_root)},
        )
        rows = json.loads(done.stdout)
        return [PageContent(*row) for row in rows]
    # A missing prlimit (ToolUnavailable) is the installation's: the job waits for it.
    except (UnreadablePage, ValueError, TypeError) as exc:
        log.warning("%s: page contents not readable (%s), every page read by OCR", pdf, exc)
        return []


CHILD_MEMORY = 2 * 1024**3  # address space of the child; pikepdf itself needs ~300 MB


def read_page_contents(pdf: Path) -> list[PageContent]:
    """page_contents in this process (the child's work)."""
    with pikepdf.open(pdf) as document:
        return [_page_content(page, number) for number, page in enumerate(document.pages, 1)]


def _page_content(page: pikepdf.Page, number: int) -> PageContent:
    try:
        box = page.cropbox
        width, height = abs(float(box[2]) - float(box[0])), abs(float(box[3]) - float(box[1]))
        area = width * height
        walk = _Walk()
        resources = page.obj.get("/Resources")
        walk.run(page, resources if isinstance(resources, pikepdf.Dictionary) else None)
    except (pikepdf.PdfError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("page %s: content not readable (%s), read by OCR", number, exc)
        return _SCAN
    share = min(1.0, walk.image_area / area) if area > 0 else 1.0
    return PageContent(walk.visible, walk.hidden, share, not walk.unembedded)


# A PDF transformation matrix [a b c d e f].
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """m then n (PDF's row-vector convention: `cm` with m gives m x CTM)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (
        a * p + b * r,
        a * q + b * s,
        c * p + d * r,
        c * q + d * s,
        e * p + f * r + t,
        e * q + f * s + u,
    )


def as_matrix(values: object) -> Matrix:
    numbers = [float(v) for v in values]  # type: ignore[attr-defined]
    if len(numbers) != 6:
        raise ValueError("matrix needs six numbers")
    return (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])


class _Walk:
    """Follows a content stream with its graphics state: the transformation matrix (for the
    area images cover) and the text render mode (for whether text is seen)."""

    def __init__(self) -> None:
        self.visible = 0
        self.hidden = 0
        self.image_area = 0.0
        self.unembedded = False
        self._forms: set[tuple[int, int]] = set()

    def run(
        self,
        content: pikepdf.Page | pikepdf.Stream,
        resources: pikepdf.Dictionary | None,
        ctm: Matrix = IDENTITY,
        depth: int = 0,
    ) -> None:
        stack: list[tuple[Matrix, int]] = []
        mode = 0
        for instruction in pikepdf.parse_content_stream(content):
            operands, op = instruction.operands, str(instruction.operator)
            if op == "q":
                stack.append((ctm, mode))
            elif op == "Q":
                if stack:
                    ctm, mode = stack.pop()
            elif op == "cm":
                ctm = multiply(as_matrix(operands), ctm)
            elif op == "Tr" and operands:
                mode = int(operands[0])
            elif op == "Tf" and operands and resources is not None and not self.unembedded:
                self.unembedded = not _embedded(resources, operands[0])
            elif op in _SHOW_TEXT and operands:
                self._text(operands[-1], mode)
            elif op == "TJ" and operands:
                for item in operands[0]:
                    self._text(item, mode)
            elif op == "INLINE IMAGE":
                self.image_area += abs(ctm[0] * ctm[3] - ctm[1] * ctm[2])
            elif op == "Do" and operands and resources is not None:
                self._draw(resources, operands[0], ctm, depth)

    def _text(self, item: object, mode: int) -> None:
        if not isinstance(item, pikepdf.String):
            return
        shown = len(bytes(item).strip())
        if mode in _INVISIBLE_MODES:
            self.hidden += shown
        else:
            self.visible += shown

    def _draw(self, resources: pikepdf.Dictionary, name: object, ctm: Matrix, depth: int) -> None:
        xobjects = resources.get("/XObject")
        if not isinstance(xobjects, pikepdf.Dictionary):
            return
        xobject = xobjects.get(str(name))
        if not isinstance(xobject, pikepdf.Stream):
            return
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            self.image_area += abs(ctm[0] * ctm[3] - ctm[1] * ctm[2])
        elif subtype == "/Form" and depth < MAX_FORM_DEPTH:
            key = xobject.objgen
            if key in self._forms:  # a form that draws itself
                return
            self._forms.add(key)
            try:
                matrix = xobject.get("/Matrix")
                inner = multiply(as_matrix(matrix), ctm) if matrix is not None else ctm
                own = xobject.get("/Resources")
                inherited = own if isinstance(own, pikepdf.Dictionary) else resources
                self.run(xobject, inherited, inner, depth + 1)
            finally:
                self._forms.discard(key)


def _embedded(resources: pikepdf.Dictionary, name: object) -> bool:
    fonts = resources.get("/Font")
    font = fonts.get(str(name)) if isinstance(fonts, pikepdf.Dictionary) else None
    if not isinstance(font, pikepdf.Dictionary):
        return False
    if font.get("/Subtype") == "/Type3":  # glyphs drawn by the PDF's own procedures
        return True
    if font.get("/Subtype") == "/Type0":
        descendants = font.get("/DescendantFonts")
        if not isinstance(descendants, pikepdf.Array) or len(descendants) != 1:
            return False
        font = descendants[0]
    descriptor = font.get("/FontDescriptor")
    return isinstance(descriptor, pikepdf.Dictionary) and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
    )


# --- the text layer ---------------------------------------------------------------------------

_XHTML = "{http://www.w3.org/1999/xhtml}"


def text_layer(
    pdf: Path, number: int, width_px: int, height_px: int, timeout: int
) -> OcrResult | None:
    """The words of page `number` with boxes in pixels of its rendering (`width_px` x
    `height_px`), and its text in reading order: lines, a blank line between blocks.

    None when the layer does not read as text; the page is then read by OCR.
    """
    listing = run_program(
        [
            "pdftotext",
            "-bbox",
            "-enc",
            "UTF-8",
            "-f",
            str(number),
            "-l",
            str(number),
            str(pdf),
            "-",
        ],
        timeout,
    ).stdout
    root = ElementTree.fromstring(listing)
    page = root.find(f".//{_XHTML}page")
    if page is None:
        return None
    page_width, page_height = float(page.get("width", 0)), float(page.get("height", 0))
    if page_width <= 0 or page_height <= 0:
        return None
    if (width_px > height_px) != (page_width > page_height):
        # a page turned by /Rotate: poppler gives the words turned, the size as drawn
        page_width, page_height = page_height, page_width
    scale_x, scale_y = width_px / page_width, height_px / page_height
    words: list[Word] = []
    for word in page.iter(f"{_XHTML}word"):
        text = (word.text or "").strip()
        if not text:
            continue
        left, top = float(word.get("xMin", 0)), float(word.get("yMin", 0))
        right, bottom = float(word.get("xMax", 0)), float(word.get("yMax", 0))
        words.append(
            Word(
                text,
                round(left * scale_x),
                round(top * scale_y),
                max(1, round((right - left) * scale_x)),
                max(1, round((bottom - top) * scale_y)),
                TEXT_CONFIDENCE,
            )
        )
    text = reading_order(words)
    if not readable(text):
        return None
    # No confidence: the text was not recognised, it was there.
    return OcrResult(text, None, words)


def reading_order(words: list[Word]) -> str:
    """Lines top to bottom, words left to right (a label and its value on one line, as on the
    page); a blank line where the gap between lines is wider than a line."""
    lines: list[tuple[float, float, list[Word]]] = []  # top, bottom, words
    for word in sorted(words, key=lambda w: (w.top + w.height / 2, w.left)):
        middle = word.top + word.height / 2
        if lines and lines[-1][0] <= middle <= lines[-1][1]:
            top, bottom, members = lines[-1]
            members.append(word)
            lines[-1] = (min(top, word.top), max(bottom, word.top + word.height), members)
        else:
            lines.append((word.top, word.top + word.height, [word]))
    out: list[str] = []
    previous: tuple[float, float] | None = None
    for top, bottom, members in lines:
        if previous is not None and top - previous[1] > (previous[1] - previous[0]):
            out.append("")
        out.append(" ".join(w.text for w in sorted(members, key=lambda w: w.left)))
        previous = (top, bottom)
    return "\n".join(out)


def readable(text: str) -> bool:
    """Whether extracted text reads as text, not as glyph numbers of a font without a
    Unicode mapping (private-use, replacement and control characters)."""
    chars = [ch for ch in text if not ch.isspace()]
    if len(chars) < MIN_VISIBLE_CHARS // 2:
        return False
    good = alphanumeric = 0
    for ch in chars:
        category = unicodedata.category(ch)
        if category[0] in "LNPS" and category != "Co" and ch != "\ufffd":
            good += 1
            alphanumeric += category[0] in "LN"
    return good >= MIN_READABLE_SHARE * len(chars) and alphanumeric >= MIN_ALPHANUMERIC_SHARE * len(
        chars
    )


def layered_page_pdf(
    image: Path, words: list[Word], size: tuple[int, int], dpi: int, target: Path
) -> Path:
    """A page for the archive PDF from the page's rendering (`image`, `size` pixels at `dpi`)
    with its words as an invisible text layer, as OCR programs write them: for pages whose
    own fonts are not embedded. The words are the text layer's, so nothing is read by OCR."""
    from fpdf import FPDF
    from fpdf.enums import TextMode

    scale = 72 / dpi
    pdf = FPDF(unit="pt", format=(size[0] * scale, size[1] * scale))
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creation_date(_CREATED)
    pdf.add_font(_FONT_FAMILY, "", str(_FONT))
    pdf.add_page()
    pdf.image(str(image), x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.text_mode = TextMode.INVISIBLE
    for word in words:
        height = word.height * scale
        pdf.set_font(_FONT_FAMILY, "", max(1.0, height * 0.85))
        natural = pdf.get_string_width(word.text)
        if natural <= 0:
            continue
        pdf.set_stretching(max(1.0, min(1000.0, 100 * word.width * scale / natural)))
        pdf.text(word.left * scale, (word.top * scale) + height * 0.8, word.text)
    target.write_bytes(bytes(pdf.output()))
    return target


_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # fonts-dejavu-core
_FONT_FAMILY = "DejaVu"
_CREATED = datetime(2000, 1, 1, tzinfo=UTC)  # merged into the archive PDF, which has its own


def page_pdf(pdf: Path, number: int, target: Path) -> Path:
    """Page `number` of `pdf` alone, as the archive PDF takes it: drawn content and resources,
    no annotations, links, actions or form fields (what a page brings in is untrusted)."""
    job = pikepdf.Job(
        {
            "empty": "",
            "outputFile": str(target),
            "pages": [{"file": str(Path(pdf).absolute()), "range": str(number)}],
        }
    )
    with job.create_pdf() as single:
        for page in single.pages:
            for key in ("/Annots", "/AA", "/B", "/PieceInfo", "/Thumb", "/StructParents"):
                if key in page.obj:
                    del page.obj[key]
        for key in ("/AcroForm", "/OpenAction", "/Names", "/Outlines", "/StructTreeRoot"):
            if key in single.Root:
                del single.Root[key]
        single.save(target, deterministic_id=True)
    return target


if __name__ == "__main__":  # the child of page_contents: one PDF in, one JSON row per page out
    contents = read_page_contents(Path(sys.argv[1]))
    print(
        json.dumps(
            [[c.visible_text, c.hidden_text, c.image_share, c.fonts_embedded] for c in contents]
        )
    )
