"""Drawing on pages: content stream operators, new pages, and the page as a viewer shows it.

Units are PDF points from the bottom left. A page's visible area is its CropBox within its
MediaBox (both may be inherited from the page tree), turned by its /Rotate; `shown_space`
gives the transformation that lets an overlay be drawn upright in that area whatever the page's
boxes and rotation are.
"""

from __future__ import annotations

from collections.abc import Sequence

import pikepdf
from pikepdf import Array, Dictionary, Name

from pdf.fonts import EmbeddedFont

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def pdf_number(value: float) -> str:
    """A number as a content stream writes it: at most three decimals, no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class Canvas:
    """Content stream operators for one page, tagged: text drawn `into` a structure element
    is marked content of that element (its MCID is its index in `owners`, for
    `pdf.tags.StructTree.bind`), other text and the rules are /Artifact."""

    def __init__(self) -> None:
        self.ops: list[str] = []
        self.owners: list[pikepdf.Object] = []  # MCID -> structure element

    def _marked(self, into: pikepdf.Object | None, ops: str) -> str:
        if into is None:
            return f"/Artifact BMC {ops} EMC"
        self.owners.append(into)
        return f"{into.S} <</MCID {len(self.owners) - 1}>> BDC {ops} EMC"

    def text(
        self,
        font: EmbeddedFont,
        size: float,
        x: float,
        y: float,
        text: str,
        into: pikepdf.Object | None = None,
    ) -> None:
        if text:
            n = pdf_number
            shown = f"BT /{font.key} {n(size)} Tf {n(x)} {n(y)} Td {font.show(text)} Tj ET"
            self.ops.append(self._marked(into, shown))

    def text_right(
        self,
        font: EmbeddedFont,
        size: float,
        right: float,
        y: float,
        text: str,
        into: pikepdf.Object | None = None,
    ) -> None:
        self.text(font, size, right - font.width(text, size), y, text, into)

    def rule(self, x0: float, x1: float, y: float, width: float = 0.5, gray: float = 0.0) -> None:
        n = pdf_number
        path = f"q {n(gray)} G {n(width)} w {n(x0)} {n(y)} m {n(x1)} {n(y)} l S Q"
        self.ops.append(self._marked(None, path))

    def content(self) -> bytes:
        return ("\n".join(self.ops) + "\n").encode("ascii")


def new_page(
    pdf: pikepdf.Pdf,
    size: tuple[float, float],
    canvas: Canvas,
    fonts: Sequence[EmbeddedFont],
) -> pikepdf.Page:
    """A page of `size` (width, height) drawn by `canvas` with `fonts` (not yet in `pdf`)."""
    page = Dictionary(
        Type=Name.Page,
        MediaBox=Array([0, 0, *size]),
        Resources=Dictionary(Font=Dictionary({f"/{f.key}": f.obj for f in fonts})),
        Contents=pdf.make_stream(canvas.content()),
    )
    return pikepdf.Page(pdf.make_indirect(page))


def inherited(page: pikepdf.Dictionary, key: str) -> pikepdf.Object | None:
    """A page attribute, from the page or the nearest node above it in the page tree."""
    node: pikepdf.Object | None = page
    for _ in range(64):  # the page tree is shallow; a loop in it must not hang us
        if node is None:
            return None
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _box(value: pikepdf.Object | None) -> Box | None:
    if value is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return box if box[2] > box[0] and box[3] > box[1] else None


def visible_box(page: pikepdf.Dictionary) -> Box:
    media = _box(inherited(page, "/MediaBox")) or (0.0, 0.0, 612.0, 792.0)
    crop = _box(inherited(page, "/CropBox"))
    if crop is None:
        return media
    x0, y0 = max(media[0], crop[0]), max(media[1], crop[1])
    x1, y1 = min(media[2], crop[2]), min(media[3], crop[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else media


def rotation(page: pikepdf.Dictionary) -> int:
    value = inherited(page, "/Rotate")
    try:
        angle = int(value) if value is not None else 0
    except (TypeError, ValueError):
        angle = 0
    return round(angle / 90) * 90 % 360


def shown_space(page: pikepdf.Dictionary) -> tuple[str, float, float]:
    """The `cm` that maps the page as shown (origin bottom left, upright) to user space, and
    the width and height of the page as shown."""
    x0, y0, x1, y1 = visible_box(page)
    width, height = x1 - x0, y1 - y0
    turn = rotation(page)
    matrix = {
        0: (1, 0, 0, 1, x0, y0),
        90: (0, 1, -1, 0, x1, y0),
        180: (-1, 0, 0, -1, x1, y1),
        270: (0, -1, 1, 0, x0, y1),
    }[turn]
    if turn in (90, 270):
        width, height = height, width
    return " ".join(pdf_number(v) for v in matrix) + " cm", width, height
