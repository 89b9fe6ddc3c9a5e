"""The document's archive PDF: tesseract's one-page searchable PDFs merged into one PDF/A-2 file
(level A when every page is tagged, as it is unless a page's content cannot be read; else B).

tesseract writes each page as a PDF with the scan image (JPEG, or CCITT G4 for bilevel input)
and an invisible text layer (text render mode 3) in its embedded `GlyphLessFont`. What those
pages lack for PDF/A-2b, as veraPDF 1.28.2 (`--flavour 2b`) reported it on tesseract 5.3.0
output: XMP identification (6.6.2.1-1), an output intent for their DeviceGray images
(6.2.4.3-4), a trailer /ID and exact stream lengths and EOLs (6.1.3-1, 6.1.7.1-1/-2).
`pdf.pdfa` adds them (`declare_pdfa_2`, `save_pdfa`; see there); what is particular to
tesseract's pages is done here.

tesseract's GlyphLessFont, checked by hand and by veraPDF (no 6.2.11 font rule fails for 2b):

- embedded: a Type0/Identity-H font over a CIDFontType2 with /FontFile2 (a 572-byte TrueType
  with one empty glyph). Its /CIDToGIDMap stream maps every CID to glyph 1; there is no
  /CIDSet, which PDF/A-2 leaves optional (PDF/A-1 would require it).
- widths consistent (6.2.11.5): the glyph's advance is 1024 of 2048 units per em, i.e. the
  /DW of 500, and no /W overrides it.
- fixed here: the ToUnicode CMap maps all codes with the one range `<0000> <FFFF> <0000>`,
  but a bfrange may only vary the last byte, so a reader that follows ISO 32000 to the letter
  maps only codes up to FF to the right characters. veraPDF's 2u profile reported it as
  6.2.11.7.2-1 for U+2018 and U+0131 on a sample page; poppler's pdftotext is lenient. The
  CMap is replaced with 256 ranges of one high byte each, leaving out 0000, FEFF, FFFE and
  FFFF (PDF/A forbids them as Unicode values). With that the file passes veraPDF's PDF/A-2u
  profile as well, apart from the declared level, which stays B.
- written once: tesseract repeats the identical font objects on every page; the pages share
  one copy (about 1.6 kB less per page).

Also checked: tesseract's pages have no transparency (/Group, /SMask, blend modes), no
annotations, actions, JavaScript, embedded files, optional content or encryption. Should a
future tesseract write page actions (/AA), image /Alternates or /OPI, they are removed, and an
image /Interpolate is set to false (6.2.8-3). Images are copied byte for byte (JPEG, CCITT
G4), never recompressed.

Tagged (PDF/UA-1, `pdf.tags`): per page a Figure for the scan with the alternative text
"Gescannte Seite 2 von 3: <title>" and a P for its text layer, in that order; a born-digital
page's text is its P, its images a Figure ("Abbildung auf Seite ..."), its links Link elements.
The content streams get only marked-content operators around what they already draw, so text
extraction is unchanged; language de-DE, the title shown by viewers, and `pdfuaid:part` 1 in
the XMP (with the extension schema PDF/A asks for), and PDF/A-2a (`pdfaid:conformance` A).
veraPDF's `ua1` and `2a` profiles pass on tesseract's pages (tests/test_pdfua.py). The
alternative texts name the file's title, at first its file name: the download
(`pdf.tags.relabel_figures`, called by the API) names the document's type and date instead.
Cost: one parse of each page's content stream, about 5 ms a page.

Memory: the pages are joined by `pdf.pdfa.joined_pages` (qpdf, `keepFilesOpen` off): every
page PDF is opened, read and closed in turn, and its image data is read again only while the
result is written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pikepdf

from pdf.cmap import identity_cmap
from pdf.pdfa import declare_pdfa_2, joined_pages, metadata_text, save_pdfa
from pdf.tags import StructTree, page_alt, tag_page_content

DEFAULT_PRODUCER = "E-Akte Jobcenter (tesseract)"
LANGUAGE = "de-DE"


def write_pdfa(
    page_pdfs: Sequence[Path],
    target: Path,
    *,
    title: str,
    created: datetime,
    producer: str = DEFAULT_PRODUCER,
) -> None:
    """Merge the one-page PDFs (in order) into `target` as one PDF/A-2 file (2a when tagged).

    `created` becomes the creation and modification date (a naive value is taken as UTC);
    `title` the document title. The same inputs give the same bytes.
    """
    if not page_pdfs:
        raise ValueError("a document needs at least one page")
    with joined_pages(page_pdfs, target) as pdf:
        _share_fonts(pdf)
        _neutralise(pdf)
        # PDF/UA is claimed only with every page marked and a title (PDF/UA 7.1).
        pdfua = _tag(pdf, metadata_text(title)) and bool(metadata_text(title))
        declare_pdfa_2(pdf, title=title, producer=producer, created=created, pdfua=pdfua)
        save_pdfa(pdf, target)


def _tag(pdf: pikepdf.Pdf, title: str) -> bool:
    """Tag the pages (pdf.tags): per page a Figure with an alternative text for the scan and a
    P for the text layer, which stays as it is, so that text extraction is unchanged. False if
    a page's content could not be read (it is left unmarked)."""
    tree = StructTree(pdf)
    total = len(pdf.pages)
    for number, page in enumerate(pdf.pages, start=1):
        content = tag_page_content(pdf, page)
        alt = page_alt(number, total, title, scanned=not content.visible_text)
        tree.page_content(tree.document, page, content, alt)
        tree.page_annotations(tree.document, page)
    tree.finish(LANGUAGE)
    return tree.complete


# --- object tree --------------------------------------------------------------------------


def _own_resources(page: pikepdf.Page, kind: str) -> pikepdf.Dictionary | None:
    """The page's own resources of a kind (`/Font`, `/XObject`), if it has a dictionary of them."""
    resources = page.obj.get("/Resources")
    found = resources.get(kind) if isinstance(resources, pikepdf.Dictionary) else None
    return found if isinstance(found, pikepdf.Dictionary) else None


def _share_fonts(pdf: pikepdf.Pdf) -> None:
    """Point every page at one copy of each distinct font (tesseract repeats its own per page)."""
    seen: dict[str, pikepdf.Object] = {}
    for page in pdf.pages:
        fonts = _own_resources(page, "/Font")
        if fonts is None:
            continue
        for name, font in list(fonts.items()):
            key = _fingerprint(font)
            if key in seen:
                fonts[name] = seen[key]
            else:
                seen[key] = font
                _fix_to_unicode(pdf, font)


# tesseract's one-range ToUnicode CMap (see the module docstring).
_LOOSE_RANGE = re.compile(rb"<0000>\s*<FFFF>\s*<0000>", re.IGNORECASE)


def _fix_to_unicode(pdf: pikepdf.Pdf, font: pikepdf.Object) -> None:
    """Give tesseract's GlyphLessFont a ToUnicode CMap that maps each code to itself."""
    if font.get("/BaseFont") != "/GlyphLessFont" or font.get("/Encoding") != "/Identity-H":
        return
    to_unicode = font.get("/ToUnicode")
    if not isinstance(to_unicode, pikepdf.Stream):
        return
    if not _LOOSE_RANGE.search(to_unicode.read_bytes()):
        return
    font.ToUnicode = pdf.make_stream(identity_cmap())


def _fingerprint(obj: pikepdf.Object) -> str:
    digest = hashlib.sha256()
    _feed(digest, obj, set())
    return digest.hexdigest()


def _feed(digest: Any, obj: object, path: set[tuple[int, int]]) -> None:
    """Hash an object tree by content (not object numbers); streams by their raw bytes."""
    if not isinstance(obj, pikepdf.Object):  # numbers, booleans, null come back as Python
        digest.update(f"{type(obj).__name__}:{obj!r} ".encode())
        return
    if obj.is_indirect:
        if obj.objgen in path:  # a cycle: content up to here identifies it well enough
            digest.update(b"<cycle>")
            return
        path = path | {obj.objgen}
    if isinstance(obj, pikepdf.Stream):
        digest.update(b"stream")
        _feed(digest, obj.stream_dict, path)
        raw = obj.read_raw_bytes()
        digest.update(len(raw).to_bytes(8, "big") + raw)
    elif isinstance(obj, pikepdf.Dictionary):
        digest.update(b"<<")
        for key in sorted(obj.keys()):
            if key == "/Length":  # differs only by how the stream was written
                continue
            digest.update(key.encode() + b" ")
            _feed(digest, obj[key], path)
        digest.update(b">>")
    elif isinstance(obj, pikepdf.Array):
        digest.update(b"[")
        for item in obj:
            _feed(digest, item, path)
        digest.update(b"]")
    else:
        digest.update(obj.unparse(resolved=True) + b" ")


def _neutralise(pdf: pikepdf.Pdf) -> None:
    """Remove what PDF/A forbids should a page ever carry it (tesseract's pages do not)."""
    for page in pdf.pages:
        for key in ("/AA", "/PresSteps"):
            if key in page.obj:
                del page.obj[key]
        xobjects = _own_resources(page, "/XObject")
        for xobject in xobjects.values() if xobjects is not None else ():
            if xobject.get("/Subtype") != "/Image":
                continue
            for key in ("/Alternates", "/OPI"):
                if key in xobject:
                    del xobject[key]
            if xobject.get("/Interpolate") is not None:
                xobject.Interpolate = False
