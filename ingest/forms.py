"""Forms: box lines and rules taken out of the image that OCR reads; checkbox states read.

A form prints its household number and dates one character per box ("comb"), its fields as
framed rectangles and its options as small squares to tick. Tesseract reads the box lines as
characters ("3[5/1!0/2[/B/JG|5..."), so no number and no date on such a form is found, and the
clutter spoils the words around them. Here the straight lines of a page are found with
run-length morphology on a copy of about 150 dpi, and those of the rows of boxes are painted
over with the paper around them in a copy of the page that only OCR sees (field frames and
other rules stay: they keep the fields of a row on one line for tesseract); the page image
the desk sees and the searchable PDF keep the original scan (the PDF's image is put back
after tesseract has written its text layer). Tesseract also reads single characters several
millimetres apart badly, even without the lines, so the characters of a row of boxes are
moved together like a printed word ("35102BG5181921"); their word boxes then sit at the left
end of the row. Only pages with rows of boxes lose lines; a page with checkboxes but no rows
of boxes loses only the checkboxes, and every other page is read exactly as scanned (each
change of the image changes some of tesseract's readings, so letters and tables are left
alone).

Checkboxes are found as small hollow squares; whether one is ticked is read from the ink
inside it. Each becomes a word of its own in the page text and word list, "☒" (ticked) or
"☐" (empty), placed before the label beside it: "☒ ja ☐ nein". Every later step (type rules,
the desk's text view, search) sees which option was ticked.

All functions are plain functions of files and arrays, safe in worker threads.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image, ImageFilter

from ingest.ocr import OcrResult, Word, ocr_page
from ingest.recognition.extract import EMPTY_MARK as EMPTY
from ingest.recognition.extract import TICKED_MARK as TICKED

MIN_RULE_MM = 6.0  # a horizontal stroke this long is a rule, not part of a letter
MIN_COLUMN_RULE_MM = 8.0  # a vertical stroke this long is a rule on its own (field sides)
MIN_DIVIDER_MM = 1.5  # shorter vertical strokes count only between two rules (box dividers)
MIN_TICKS = 4  # walls standing on one rule, open at the other end: an open comb
MIN_CELL_MM, MAX_CELL_MM = 3.0, 9.0  # pitch of a row of boxes for one character each
MAX_RULE_THICKNESS_MM = 0.8  # thicker is a bar, a band or a logo: left alone
MIN_BOX_MM, MAX_BOX_MM = 2.0, 7.0  # side of a checkbox
MAX_LABEL_GAP_MM = 7.0  # between a checkbox and its label
MIN_TICK_INK = 0.08  # share of a box's inside that is ink when it is ticked or crossed
MIN_FILLED = 0.45  # a box filled in (or blacked out) rather than crossed
SPECK_SHARE = 0.35  # of a row of boxes' typical character ink: a dot, not a character
SPECK_REACH_MM = 0.6  # a dot this close to a character shares its box
JPEG_QUALITY = 85  # what tesseract itself uses for the page image in its PDF


@dataclass(frozen=True)
class Checkbox:
    left: int
    top: int
    size: int  # side in pixels
    ticked: bool


@dataclass
class FormPage:
    """What the form analysis found on one page."""

    cleaned: np.ndarray | None  # the page without rules and boxes, None when it has none
    rules: int  # pixels taken out
    checkboxes: list[Checkbox]
    combs: int = 0  # rows of boxes whose characters were moved together


def _px(mm: float, dpi: float) -> int:
    return max(1, round(mm / 25.4 * dpi))


def _row_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of set pixels along each row: row index, start column, end column (exclusive)."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = mask
    change = np.diff(padded, axis=1)
    rows, columns = np.nonzero(change)
    # np.nonzero walks row by row, and every run starts (+1) before it ends (-1)
    return rows[0::2], columns[0::2], columns[1::2]


def _long_runs(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Pixels that belong to a straight run of at least `length` set pixels along axis.

    Costs in proportion to the pixels of the long runs, which are few: rules, not text.
    """
    rows = np.ascontiguousarray(mask.T) if axis == 0 else mask
    row, starts, ends = _row_runs(rows)
    long = ends - starts >= length
    covered = np.zeros(rows.shape, bool)
    lengths = (ends - starts)[long]
    if lengths.size:
        first = row[long] * rows.shape[1] + starts[long]
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        covered.ravel()[np.repeat(first, lengths) + offsets] = True
    return covered.T if axis == 0 else covered


def _thin(lines: np.ndarray, thickness: int, axis: int) -> np.ndarray:
    """Only the parts of `lines` no thicker than `thickness` across their direction."""
    return lines & ~_long_runs(lines, thickness + 1, axis=axis)


def _dilate(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:, :] |= out[:-1, :]
        grown[:-1, :] |= out[1:, :]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def _paper_and_darkness(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The paper level around each pixel (the brightest pixel of its 16-pixel block and the
    blocks beside it), and how much darker than it each pixel is: grey or coloured paper and
    shadows are no ink, and what is painted over gets the paper's own level."""
    height, width = gray.shape
    rows, cols = -(-height // 16), -(-width // 16)
    padded = np.full((rows * 16, cols * 16), 0, np.uint8)
    padded[:height, :width] = gray
    blocks = padded.reshape(rows, 16, cols, 16).max(axis=(1, 3))
    blocks = np.asarray(Image.fromarray(blocks).filter(ImageFilter.MaxFilter(3)))
    paper = np.repeat(np.repeat(blocks, 16, axis=0), 16, axis=1)[:height, :width]
    darkness = np.clip(paper.astype(np.int16) - gray, 0, 255).astype(np.uint8)
    return paper, darkness


def _paper_fill(small: np.ndarray, ink: np.ndarray, factor: int, where: np.ndarray) -> np.ndarray:
    """The mean paper level of the 16-pixel block of the analysis copy (ink left out) for each
    pixel of the page in `where`: what a painted-over line gets, so that no lighter ghost of
    it stays on grey or noisy paper."""
    height, width = small.shape
    rows, cols = max(1, height // 16), max(1, width // 16)
    core = (slice(0, rows * 16), slice(0, cols * 16))
    paper = np.where(ink[core], 0, small[core])
    block = (paper.shape[0] // rows, paper.shape[1] // cols)
    paper = paper.reshape(rows, block[0], cols, block[1])
    sums = paper.sum(axis=(1, 3), dtype=np.uint32)
    clear = (~ink[core]).reshape(rows, block[0], cols, block[1])
    counts = clear.sum(axis=(1, 3), dtype=np.uint32)
    level = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    fallback = float(np.nanmedian(level)) if np.isfinite(level).any() else 255.0
    level = np.nan_to_num(level, nan=fallback)
    ys, xs = np.nonzero(where)
    size = 16 * factor
    values = level[np.minimum(ys // size, rows - 1), np.minimum(xs // size, cols - 1)]
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


ANALYSIS_DPI = 150  # lines of 0.18 mm are still a pixel wide; a 300 dpi page costs a quarter


def analyse_form(gray: np.ndarray, dpi: float) -> FormPage:
    """Rules, box lines and checkboxes of an upright 8-bit page at `dpi`.

    The lines are found on a copy of about ANALYSIS_DPI and painted over on the page itself.
    """
    factor = max(1, int(dpi // ANALYSIS_DPI))
    small = np.asarray(Image.fromarray(gray).reduce(factor)) if factor > 1 else gray
    small_dpi = dpi / factor
    _paper, darkness = _paper_and_darkness(small)
    counts = np.cumsum(np.bincount(darkness.ravel(), minlength=256))
    strong = int(np.searchsorted(counts, 0.999 * counts[-1]))
    ink = darkness > max(30, 0.22 * strong)
    if not ink.any():
        return FormPage(None, 0, [])
    thick = _px(MAX_RULE_THICKNESS_MM, small_dpi)

    horizontal = _thin(_long_runs(ink, _px(MIN_RULE_MM, small_dpi), axis=1), thick, axis=0)
    columns = _thin(_long_runs(ink, _px(MIN_COLUMN_RULE_MM, small_dpi), axis=0), thick, axis=1)
    dividers, walls = _dividers(ink, horizontal, small_dpi, thick)
    lines = horizontal | columns | dividers
    combs = _combs(walls, small_dpi)
    boxes = _checkboxes(ink & ~lines, small_dpi)

    rules = int(np.count_nonzero(lines)) * factor
    # Only a form is read without its lines: a page with rows of boxes or with checkboxes.
    # The rules of a letter or a table do not disturb tesseract much, and every change of the
    # image changes some of its readings.
    if not combs and not boxes:
        return FormPage(None, 0, [])
    # The lines grown by one pixel of the copy take the lighter fringe of a scanned line too.
    # Only the lines of the rows of boxes go (and the checkboxes): field frames and rules stay
    # as scanned. A field's frame keeps its label and its entry apart from the next field's,
    # so tesseract reads the fields of one row as one line ("Hofmann Jacqueline"); without the
    # frames it took the fields of a photographed form for columns and read "Vorname" and its
    # entry half a page after "Familienname".
    erase = np.zeros_like(lines)
    if combs:
        grown = _dilate(lines, 1)
        pad = _px(1.0, small_dpi)
        for top, bottom, left, right in combs:
            area = (slice(max(0, top - pad), bottom + pad), slice(max(0, left - pad), right + pad))
            erase[area] = grown[area]
    margin = max(1, _px(0.3, small_dpi))
    for box in boxes:
        erase[
            max(0, box.top - margin) : box.top + box.size + margin + 1,
            max(0, box.left - margin) : box.left + box.size + margin + 1,
        ] = True
    near_ink = _dilate(ink, 1)
    erase &= near_ink
    if factor > 1:
        erase = _upscaled(erase, factor, gray.shape)
    boxes = [
        Checkbox(int(b.left * factor), int(b.top * factor), int(b.size * factor), b.ticked)
        for b in boxes
    ]
    cleaned = gray.copy()
    cleaned[erase] = _paper_fill(small, near_ink, factor, erase)
    if combs:
        _compact_combs(cleaned, combs, factor, dpi)
    return FormPage(cleaned, rules, boxes, len(combs))


def _upscaled(mask: np.ndarray, factor: int, shape: tuple[int, ...]) -> np.ndarray:
    big = np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)
    out = np.zeros(shape[:2], bool)
    rows, cols = min(shape[0], big.shape[0]), min(shape[1], big.shape[1])
    out[:rows, :cols] = big[:rows, :cols]
    return out


@dataclass(frozen=True)
class _Walls:
    """Vertical strokes kept as box walls: column, first row, end row, standing on a rule at
    the top and/or the bottom."""

    columns: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    top: np.ndarray
    bottom: np.ndarray


def _dividers(
    ink: np.ndarray, horizontal: np.ndarray, dpi: float, thick: int
) -> tuple[np.ndarray, _Walls]:
    """Short vertical strokes that run from one rule to another: the walls between boxes."""
    candidates = _thin(_long_runs(ink, _px(MIN_DIVIDER_MM, dpi), axis=0), thick, axis=1)
    if not candidates.any() or not horizontal.any():
        empty = np.zeros(0, np.int64)
        return np.zeros_like(ink), _Walls(empty, empty, empty, empty > 0, empty > 0)
    reach = max(2, _px(0.4, dpi))
    near_rule = horizontal.copy()
    for _ in range(reach):  # grow the rules up and down only
        grown = near_rule.copy()
        grown[1:, :] |= near_rule[:-1, :]
        grown[:-1, :] |= near_rule[1:, :]
        near_rule = grown
    # ... and by a pixel at their ends, where the outermost wall of a row of boxes stands
    near_rule[:, 1:] |= near_rule[:, :-1].copy()
    near_rule[:, :-1] |= near_rule[:, 1:].copy()
    columns, starts, ends = _row_runs(np.ascontiguousarray(candidates.T))
    top_ok = near_rule[starts, columns]
    bottom_ok = near_rule[ends - 1, columns]
    keep = top_ok & bottom_ok
    # The walls of an open comb stand on its base line only: a stroke that touches a rule at
    # one end counts when at least MIN_TICKS such strokes stand on the same rule.
    one = top_ok ^ bottom_ok
    # A rule that closed boxes stand on is no open comb's base: what touches it at one end
    # only is a character touching its box (a phone photo blurs the gap away) or a label's
    # descender above the row, and it stays.
    one &= ~_on_closed_row(columns, starts, ends, top_ok, keep, reach + thick)
    if one.any():
        touching = np.where(top_ok, starts, ends - 1) // max(2, reach)
        key = touching * 2 + top_ok.astype(np.int64)
        values, inverse, counts = np.unique(key[one], return_inverse=True, return_counts=True)
        del values
        ticks = np.zeros_like(keep)
        ticks[np.flatnonzero(one)] = counts[inverse] >= MIN_TICKS
        keep |= ticks
    out = np.zeros((ink.shape[1], ink.shape[0]), bool)  # transposed: one row per column
    lengths = (ends - starts)[keep]
    if lengths.size:
        first = columns[keep] * ink.shape[0] + starts[keep]
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out.ravel()[np.repeat(first, lengths) + offsets] = True
    walls = _Walls(columns[keep], starts[keep], ends[keep], top_ok[keep], bottom_ok[keep])
    return out.T, walls


def _on_closed_row(
    columns: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    top_ok: np.ndarray,
    closed: np.ndarray,
    reach: int,
) -> np.ndarray:
    """Which strokes touch, at their one rule end, a rule that closed walls (`closed`: from
    rule to rule) also touch (within `reach` rows), inside the columns those walls span."""
    out = np.zeros(len(columns), bool)
    if not closed.any():
        return out
    touching = np.where(top_ok, starts, ends - 1)
    rules = np.concatenate([starts[closed], ends[closed] - 1])
    spans = np.concatenate([columns[closed], columns[closed]])
    order = np.argsort(rules)
    rules, spans = rules[order], spans[order]
    # rows of closed walls within `reach` of each other belong to one rule
    cuts = np.flatnonzero(np.diff(rules) > reach) + 1
    for rows, cols in zip(np.split(rules, cuts), np.split(spans, cuts), strict=True):
        out |= (
            (touching >= rows.min() - reach)
            & (touching <= rows.max() + reach)
            & (columns >= cols.min())
            & (columns <= cols.max())
        )
    return out


def _combs(walls: _Walls, dpi: float) -> list[tuple[int, int, int, int]]:
    """Rows of boxes for one character each: (top, bottom, left, right) on the analysis copy.

    Walls that start and end on the same rules (or stand on the same base line), a few
    millimetres apart at a regular pitch; a table's cells are far wider.
    """
    reach = max(2, _px(0.5, dpi))
    groups: list[list[int]] = []
    keys: list[tuple[int, int, int]] = []
    order = np.lexsort((walls.columns, walls.starts))
    for index in order:
        start, end = int(walls.starts[index]), int(walls.ends[index])
        kind = int(walls.top[index]) * 2 + int(walls.bottom[index])
        number = next(
            (
                n
                for n, (g_start, g_end, g_kind) in enumerate(keys)
                if g_kind == kind
                and (kind != 3 or abs(start - g_start) <= reach and abs(end - g_end) <= reach)
                and (kind != 1 or abs(end - g_end) <= reach)  # standing on a base line
                and (kind != 2 or abs(start - g_start) <= reach)  # hanging from a top rule
            ),
            None,
        )
        if number is None:
            groups.append([])
            keys.append((start, end, kind))
            number = len(groups) - 1
        groups[number].append(int(index))
    combs = []
    for members, (_start, _end, kind) in zip(groups, keys, strict=True):
        columns = np.sort(walls.columns[members])
        # neighbouring columns of one thick wall become one wall
        cuts = np.flatnonzero(np.diff(columns) > 2) + 1
        positions = np.array([part.mean() for part in np.split(columns, cuts)])
        if len(positions) < MIN_TICKS:
            continue
        gaps = np.diff(positions)
        pitch = float(np.median(gaps))
        if not (_px(MIN_CELL_MM, dpi) <= pitch <= _px(MAX_CELL_MM, dpi)):
            continue
        if np.mean((gaps > 0.8 * pitch) & (gaps < 1.25 * pitch)) < 0.6:
            continue
        starts = walls.starts[members]
        ends = walls.ends[members]
        if kind == 3:
            top, bottom = int(np.median(starts)), int(np.median(ends))
            if not 0.6 * pitch <= bottom - top <= 2.2 * pitch:
                continue
        elif kind == 1:  # characters stand on the base line, about a box high
            bottom = int(np.median(ends))
            top = bottom - round(1.1 * pitch)
        else:
            top = int(np.median(starts))
            bottom = top + round(1.1 * pitch)
        combs.append((max(0, top), bottom, int(positions[0]), int(positions[-1]) + 1))
    return combs


def _compact_combs(
    page: np.ndarray,
    combs: list[tuple[int, int, int, int]],
    factor: int,
    dpi: float,
) -> None:
    """Move the characters of each comb together, in `page` (the cleaned page, lines gone).

    Box by box, a character stands several millimetres from the next; tesseract reads such
    rows badly ("35 1 HB2ABRI2..."). Packed like a printed word they read as one:
    "35102BG1250427". Groups of boxes apart stay apart by a space.
    """
    gap = _px(0.45, dpi)
    space = _px(2.0, dpi)
    for top, bottom, left, right in combs:
        t, b = top * factor, min(page.shape[0], bottom * factor + factor)
        x0, x1 = left * factor, min(page.shape[1], right * factor + factor)
        if b - t < 4 or x1 - x0 < 4:
            continue
        region = page[t:b, x0:x1]
        level = float(np.median(region))  # the boxes are mostly paper
        ink = region < level - max(40.0, 0.35 * (level - float(region.min())))
        profile = ink.sum(axis=0)
        change = np.diff(np.concatenate([[0], (profile > 0).astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
        if len(starts) == 0:
            continue
        weights = np.array([profile[s:e].sum() for s, e in zip(starts, ends, strict=True)])
        keep = weights >= max(4, _px(0.3, dpi) ** 2)  # specks and remnants stay behind
        starts, ends, weights = starts[keep], ends[keep], weights[keep]
        # A dot of dirt in a character's box, beside the character (a phone photo's grain
        # leaves such dots): packed, it would stick to the number ("3510.1BG..."). A printed
        # "." between two groups of boxes stands clear of the digits.
        if len(starts) > 2:
            small = weights < SPECK_SHARE * float(np.median(weights))
            left_gap = np.concatenate([[np.inf], starts[1:] - ends[:-1]])
            right_gap = np.concatenate([starts[1:] - ends[:-1], [np.inf]])
            speck = small & (np.minimum(left_gap, right_gap) <= _px(SPECK_REACH_MM, dpi))
            starts, ends = starts[~speck], ends[~speck]
        if len(starts) < 2:
            continue
        centres = (starts + ends) / 2
        pitch = float(np.median(np.diff(centres))) if len(centres) > 2 else 0.0
        packed = np.full_like(region, int(round(level)))
        x = 0
        for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
            if k and pitch and centres[k] - centres[k - 1] > 1.6 * pitch:
                x += space
            width = int(e - s)
            if x + width > packed.shape[1]:
                break
            packed[:, x : x + width] = np.minimum(packed[:, x : x + width], region[:, s:e])
            x += width + gap
        page[t:b, x0:x1] = packed


def _checkboxes(ink: np.ndarray, dpi: float) -> list[Checkbox]:
    """Small hollow or ticked squares: four straight sides of about the same length."""
    low, high = _px(MIN_BOX_MM, dpi), _px(MAX_BOX_MM, dpi)
    rows, starts, ends = _row_runs(ink)
    lengths = ends - starts
    pick = (lengths >= low) & (lengths <= high)
    height, width = ink.shape
    found: list[Checkbox] = []
    taken = np.zeros_like(ink)
    side_band = max(2, _px(0.35, dpi))
    for row, x0, x1 in zip(rows[pick], starts[pick], ends[pick], strict=True):
        length = int(x1 - x0)
        if taken[row, x0:x1].any():
            continue  # inside a square already found
        # the bottom edge: a full row about `length` further down
        lo, hi = row + int(0.8 * length), min(height - 1, row + int(1.2 * length) + 1)
        if lo >= hi:
            continue
        fill = ink[lo:hi, x0:x1].mean(axis=1)
        if fill.size == 0 or fill.max() < 0.85:
            continue
        bottom = lo + int(np.flatnonzero(fill >= 0.85)[-1])
        if bottom - row < 0.8 * length:
            continue
        # Both sides straight: one column near each end of the top edge inked almost all the
        # way down (a letter's bowl is curved and fails here).
        # A slight skew makes the edge rows step: look for the walls a little either side.
        step = max(side_band, length // 4)
        lo_left, lo_right = max(0, x0 - step), max(0, x1 - 1 - side_band)
        left_fill = ink[row : bottom + 1, lo_left : x0 + side_band + 1].mean(axis=0)
        right_fill = ink[row : bottom + 1, lo_right : min(width, x1 + step)].mean(axis=0)
        if left_fill.size == 0 or right_fill.size == 0:
            continue
        if left_fill.max() < 0.85 or right_fill.max() < 0.85:
            continue
        x0 = lo_left + int(np.flatnonzero(left_fill >= 0.85)[0])
        x1 = lo_right + int(np.flatnonzero(right_fill >= 0.85)[-1]) + 1
        length = x1 - x0
        if not low <= length <= high:
            continue
        # Just outside the four sides there must be paper: a square on its own, not a letter
        # (whose bowls bulge beyond its bars), a grid or a glyph touching its neighbours.
        out_from, out_to = side_band + 1, max(2 * side_band + 1, _px(1.2, dpi))
        outside = [
            ink[row : bottom + 1, max(0, x0 - out_to) : max(0, x0 - out_from)].any(axis=1),
            ink[row : bottom + 1, min(width, x1 + out_from) : min(width, x1 + out_to)].any(axis=1),
            ink[max(0, row - out_to) : max(0, row - out_from), x0:x1].any(axis=0),
            ink[min(height, bottom + out_from) : min(height, bottom + out_to), x0:x1].any(axis=0),
        ]
        if any(side.size and side.mean() > 0.2 for side in outside):
            continue
        inset = max(side_band + 1, round(0.18 * length))
        inside = ink[row + inset : bottom + 1 - inset, x0 + inset : x1 - inset]
        if inside.size == 0:
            continue
        # Inside a box its walls are thin: just within the middle of each side there is
        # paper, for a cross or a tick too (they run through the corners and the centre).
        # A bold letter's strokes are thick there.
        depth = side_band + 1
        middle_y, middle_x = (row + bottom) // 2, (x0 + x1) // 2
        probes = [
            ink[middle_y - 1 : middle_y + 2, x0 + depth : x0 + depth + 2],
            ink[middle_y - 1 : middle_y + 2, x1 - depth - 2 : x1 - depth],
            ink[row + depth : row + depth + 2, middle_x - 1 : middle_x + 2],
            ink[bottom - depth - 1 : bottom - depth + 1, middle_x - 1 : middle_x + 2],
        ]
        fill = float(inside.mean())
        if sum(probe.size > 0 and probe.mean() < 0.5 for probe in probes) < 3 and fill < 0.8:
            continue
        if fill < MIN_TICK_INK:
            ticked = False
        elif (
            fill >= MIN_FILLED or max(_diagonal_ink(inside), _diagonal_ink(inside[:, ::-1])) >= 0.6
        ):
            ticked = True  # crossed, ticked along a diagonal or filled in
        else:
            continue  # marks inside that are no cross: a letter's bowl, not a box
        size = int(max(length, bottom - row + 1))
        if taken[row : bottom + 1, x0:x1].any():
            continue
        taken[row : bottom + 1, x0:x1] = True
        found.append(Checkbox(int(x0), int(row), size, ticked))
    return found


def _diagonal_ink(inside: np.ndarray) -> float:
    """Share of points along the main diagonal of `inside` with ink within a pixel."""
    height, width = inside.shape
    grown = _dilate(inside, 1)
    steps = np.linspace(0.0, 1.0, 24)
    ys = np.rint(steps * (height - 1)).astype(int)
    xs = np.rint(steps * (width - 1)).astype(int)
    return float(grown[ys, xs].mean())


# --- reading a page ---------------------------------------------------------------------------


def read_page(
    image: Path,
    out_base: Path,
    languages: str,
    timeout: int,
    dpi: int,
    shown: Path | None = None,
) -> OcrResult:
    """OCR of an upright page with its form lines taken out and its checkboxes read.

    Pages without rules or checkboxes are read exactly as `ocr_page` reads them. The searchable
    PDF that comes back shows the page as scanned, lines and all: `shown` when given (the page
    as the desk sees it, of the same size, where `image` was cleaned for OCR), else `image`.
    """
    with Image.open(image) as opened:
        gray = np.asarray(opened.convert("L"))
    view = gray
    if shown is not None:
        with Image.open(shown) as opened:
            view = np.asarray(opened.convert("L"))
    form = analyse_form(gray, dpi)
    if form.cleaned is None:
        result = ocr_page(image, out_base, languages, timeout, dpi)
        if shown is not None and result.pdf is not None:
            # should it fail, the PDF keeps the page OCR read; the viewer has its own image
            with contextlib.suppress(ValueError, pikepdf.PdfError):
                restore_page_image(result.pdf, view)
        return result
    cleaned = out_base.with_name(out_base.name + "-form.pgm")
    Image.fromarray(form.cleaned).save(cleaned)
    try:
        result = ocr_page(cleaned, out_base, languages, timeout, dpi)
    finally:
        cleaned.unlink(missing_ok=True)
    if result.pdf is not None:
        try:
            restore_page_image(result.pdf, view)
        except (ValueError, pikepdf.PdfError):
            # The PDF must show the page as scanned: read it as it is instead.
            return ocr_page(image, out_base, languages, timeout, dpi)
    return mark_checkboxes(result, form.checkboxes, dpi)


def restore_page_image(pdf: Path, gray: np.ndarray) -> None:
    """Put the original page image back into tesseract's one-page PDF.

    Tesseract draws the image it read under its invisible text; the cleaned copy has the same
    size, so the original fits the text layer exactly.
    """
    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "JPEG", quality=JPEG_QUALITY)
    with pikepdf.open(pdf, allow_overwriting_input=True) as document:
        page = document.pages[0]
        images = [
            obj
            for obj in page.resources.get("/XObject", {}).values()
            if obj.get("/Subtype") == "/Image"
        ]
        if len(images) != 1:
            raise ValueError("tesseract's page PDF should hold exactly one image")
        target = images[0]
        if int(target.Width) != gray.shape[1] or int(target.Height) != gray.shape[0]:
            raise ValueError("the page image does not fit tesseract's text layer")
        target.write(buffer.getvalue(), filter=pikepdf.Name.DCTDecode)
        target.ColorSpace = pikepdf.Name.DeviceGray
        target.BitsPerComponent = 8
        for key in ("/DecodeParms", "/SMask", "/Mask", "/Decode"):
            if key in target:
                del target[key]
        document.save(pdf)


def mark_checkboxes(result: OcrResult, boxes: list[Checkbox], dpi: float) -> OcrResult:
    """`result` with a "☒"/"☐" word before each checkbox's label (after it when the label
    stands left of the box), in the word list and in the text alike."""
    if not boxes:
        return result
    tokens = [line.split(" ") if line else [] for line in result.text.split("\n")]
    if sum(len(line) for line in tokens) != len(result.words):
        return result  # text and words out of step: better no marks than wrong ones
    gap = _px(MAX_LABEL_GAP_MM, dpi)
    before: dict[int, list[Word]] = {}
    after: dict[int, list[Word]] = {}
    for box in boxes:
        mark = Word(TICKED if box.ticked else EMPTY, box.left, box.top, box.size, box.size, 99.0)
        centre = box.top + box.size / 2
        right_of = []
        left_of = []
        for index, word in enumerate(result.words):
            if not (word.top - box.size / 2 <= centre <= word.top + word.height + box.size / 2):
                continue
            if box.left + box.size - 2 <= word.left <= box.left + box.size + gap:
                right_of.append((word.left - box.left, index))
            elif box.left - gap <= word.left + word.width <= box.left + 2:
                left_of.append((box.left - word.left - word.width, index))
        if right_of:
            before.setdefault(min(right_of)[1], []).append(mark)
        elif left_of:
            after.setdefault(min(left_of)[1], []).append(mark)
    if not before and not after:
        return result
    words: list[Word] = []
    lines: list[str] = []
    index = 0
    for line in tokens:
        out: list[str] = []
        for token in line:
            for mark in before.get(index, []):
                words.append(mark)
                out.append(mark.text)
            words.append(result.words[index])
            out.append(token)
            for mark in after.get(index, []):
                words.append(mark)
                out.append(mark.text)
            index += 1
        lines.append(" ".join(out))
    return replace(result, text="\n".join(lines), words=words)
