"""Text laid out on A4 pages: lines wrapped to the page width, pages filled top to bottom.

Measured in pixels at DPI with DejaVu's own advance widths (Pillow's FreeType); the pages are
drawn from this layout by render.py. Line breaking stays here rather than in fpdf2's
multi_cell: the same work there takes some fifty times longer, and a long text attachment is
laid out whole only to count its pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from ingest.email_pdf.limits import Deadline, OverBudget
from ingest.email_pdf.parse import clean_line, clean_text

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian package fonts-dejavu-core

DPI = 200
PAGE_WIDTH = 1654  # A4 at 200 dpi: 210 mm x 297 mm
PAGE_HEIGHT = 2339


def mm(value: float) -> int:
    return round(value / 25.4 * DPI)


LEFT = mm(20)
RIGHT = PAGE_WIDTH - mm(20)
TOP = mm(18)
BOTTOM = PAGE_HEIGHT - mm(22)
FOOTER_Y = PAGE_HEIGHT - mm(15)
FONT_PX = {"regular": 30, "bold": 30, "heading": 38, "footer": 28}  # 30 px = 10.8 pt
LINE_PX = 42
HEADING_PX = 58


@lru_cache(maxsize=8)
def font(role: str) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans.ttf" if role in ("regular", "footer") else "DejaVuSans-Bold.ttf"
    path = FONT_DIR / name
    if not path.exists():
        raise RuntimeError(f"Schrift {path} fehlt (Debian-Paket fonts-dejavu-core).")
    return ImageFont.truetype(str(path), FONT_PX[role])


@lru_cache(maxsize=65536)
def width(role: str, text: str) -> float:
    return font(role).getlength(text)


@dataclass(frozen=True)
class Line:
    segments: tuple[tuple[int, str, str], ...] = ()  # (x, text, font role)
    height: int = LINE_PX
    rule: bool = False


Page = list[tuple[int, Line]]  # (top y, line)

MAX_TOKEN = 200  # longer "words" (URLs, base64) are cut first; no line holds that many


def wrap(text: str, role: str, room: float) -> Iterator[str]:
    room *= 0.98  # the sum of word widths ignores kerning
    for raw in text.split("\n"):
        if not raw.strip():
            yield ""
            continue
        line = ""
        used = 0.0
        for token in re.findall(r" *\S+", raw):
            pieces = [token[i : i + MAX_TOKEN] for i in range(0, len(token), MAX_TOKEN)]
            for piece in pieces:
                if line and used + width(role, piece) <= room:
                    line += piece
                    used += width(role, piece)
                    continue
                if line:
                    yield line.rstrip()
                    piece = piece.lstrip(" ")
                    line, used = "", 0.0
                piece_width = width(role, piece)
                if piece_width <= room:
                    line, used = piece, piece_width
                    continue
                for ch in piece:  # a word wider than the line: break it anywhere
                    char_width = width(role, ch)
                    if line and used + char_width > room:
                        yield line
                        line, used = "", 0.0
                    line += ch
                    used += char_width
        if line.strip():
            yield line.rstrip()


_LABELS = ("Von:", "An:", "Cc:", "Datum:", "Betreff:", "Anhänge:")


@lru_cache(maxsize=1)
def value_x() -> int:
    """Left edge of the value column beside the labels."""
    return LEFT + round(max(width("bold", label) for label in _LABELS)) + mm(4)


class Writer:
    """Collects the lines of one text section; gives up once they exceed the page budget."""

    def __init__(self, max_pages: int, deadline: Deadline) -> None:
        self.lines: list[Line] = []
        self.max_lines = (max_pages + 1) * ((BOTTOM - TOP) // LINE_PX)
        self.deadline = deadline

    def add(self, line: Line) -> None:
        self.lines.append(line)
        if len(self.lines) > self.max_lines:
            raise OverBudget
        if len(self.lines) % 2000 == 0:
            self.deadline.check()

    def heading(self, text: str) -> None:
        for piece in wrap(clean_line(text), "heading", RIGHT - LEFT):
            self.add(Line(((LEFT, piece, "heading"),), HEADING_PX))

    def field(self, label: str, values: Iterable[tuple[str, int]]) -> None:
        """A labelled row; every value is (text, extra indent) wrapped in the value column."""
        first = True
        for value, indent in values:
            x = value_x() + indent
            for piece in list(wrap(clean_line(value), "regular", RIGHT - x)) or [""]:
                segments = [(x, piece, "regular")]
                if first:
                    segments.insert(0, (LEFT, label, "bold"))
                    first = False
                self.add(Line(tuple(segments)))

    def text(self, text: str) -> None:
        for piece in wrap(clean_text(text), "regular", RIGHT - LEFT):
            self.add(Line(((LEFT, piece, "regular"),) if piece else ()))

    def blank(self) -> None:
        self.add(Line(height=LINE_PX // 2))

    def rule(self) -> None:
        self.add(Line(height=LINE_PX, rule=True))


def paginate(lines: list[Line]) -> list[Page]:
    pages: list[Page] = [[]]
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
