"""Tagged PDF (ISO 32000-1, 14.7-14.8; PDF/UA-1, ISO 14289-1): the structure tree and the
marked content on the pages that it points to.

- `StructTree` builds the logical structure of a PDF: /StructTreeRoot with one `Document`
  element, elements below it in reading order, the content each one owns (marked-content
  references with /Pg, annotation references), the /ParentTree that leads back from a page's
  marked content and from an annotation to its element, /MarkInfo << /Marked true >>, the
  document language and /DisplayDocTitle (`finish`).
- `tag_page_content` marks what an existing page draws without redrawing it: it reads the
  page's content stream once, wraps text objects (`BT` ... `ET`) as text, images (image
  XObjects, inline images) as a figure and paths and shadings as /Artifact, then writes the
  stream back with those marked-content operators added and nothing else changed. Image data
  is never touched or read (the operators name the images, they do not hold them), so a page
  of a scan costs the parse of its few kilobytes of text layer. A page that is tagged already
  (its content carries MCIDs) is read, not written: its figure and text sequences are reported
  as they are.
- `Canvas` (pdf.pages) draws new pages with the marks in place.

Nesting: a marked-content sequence opened here is closed before every `q`, `Q`, `BMC`, `BDC`
and `EMC` of the page, so it never crosses a graphics-state save/restore or a sequence the
page brings along; an /Artifact sequence of the page is left as it is. Consecutive objects of
the same kind share one sequence (tesseract's text layer, several `BT` blocks, is one).

Nothing of the domain here: the caller says which element a page's figure and text belong to
and what the figure's alternative text is.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field

import pikepdf
from pikepdf import Array, Dictionary, Name, Operator

from pdf.pages import inherited
from pdf.pdfa import save_pdfa

FIGURE = "Figure"
TEXT = "P"
ARTIFACT = "Artifact"

_PATH_BUILD = frozenset(("m", "l", "c", "v", "y", "h", "re"))
_PATH_END = frozenset(("S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"))
_SHOW = frozenset(("Tj", "TJ", "'", '"'))
_MARK_OPEN = frozenset(("BMC", "BDC"))
_INVISIBLE_MODES = (3, 7)  # text render modes: neither fill nor stroke, clip only
_MAX_FORM_DEPTH = 8
Instruction = pikepdf.ContentStreamInstruction | pikepdf.ContentStreamInlineImage
ANNOTATION_TEXT = "Verweis im Dokument"  # an annotation's description when it has none


class StructTree:
    """The logical structure of `pdf`, built in reading order; `finish` installs it."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot, K=Array()))
        self._parents: dict[int, list[pikepdf.Object | None] | pikepdf.Object] = {}
        self._page_keys: dict[tuple[int, int], int] = {}
        self.document = self._element(self.root, "Document")
        # Every page's content is marked: only then may the file claim PDF/UA.
        self.complete = True

    def _element(self, parent: pikepdf.Object, role: str) -> pikepdf.Object:
        element = self.pdf.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name(f"/{role}"), P=parent, K=Array())
        )
        parent.K.append(element)
        return element

    def add(
        self,
        parent: pikepdf.Object,
        role: str,
        *,
        alt: str | None = None,
        title: str | None = None,
        scope: str | None = None,
    ) -> pikepdf.Object:
        """A new element of `role` (a standard structure type: P, H1, Table, TH, Figure, ...)
        after the children `parent` already has. `alt` is the alternative text (a Figure needs
        one), `title` the element's /T, `scope` a table header's Row or Column."""
        element = self._element(parent, role)
        if alt is not None:
            element.Alt = pikepdf.String(alt)
        if title is not None:
            element.T = pikepdf.String(title)
        if scope is not None:
            element.A = Dictionary(O=Name.Table, Scope=Name(f"/{scope}"))
        return element

    def _page_key(self, page: pikepdf.Page) -> int:
        objgen = page.obj.objgen
        key = self._page_keys.get(objgen)
        if key is None:
            key = self._page_keys[objgen] = len(self._parents)
            self._parents[key] = []
            page.obj.StructParents = key
        return key

    def content(self, element: pikepdf.Object, page: pikepdf.Page, mcid: int) -> None:
        """The marked content `mcid` of `page` belongs to `element` (next in its order)."""
        element.K.append(Dictionary(Type=Name.MCR, Pg=page.obj, MCID=mcid))
        owners = self._parents[self._page_key(page)]
        assert isinstance(owners, list)
        owners.extend([None] * (mcid + 1 - len(owners)))
        owners[mcid] = element

    def bind(self, page: pikepdf.Page, owners: Sequence[pikepdf.Object]) -> None:
        """Marked content 0, 1, ... of `page` belongs to `owners[0]`, `owners[1]`, ..."""
        for mcid, element in enumerate(owners):
            self.content(element, page, mcid)

    def annotation(
        self, element: pikepdf.Object, page: pikepdf.Page, annotation: pikepdf.Object
    ) -> None:
        """`annotation` (on `page`) belongs to `element`, e.g. a link to its Link element."""
        key = len(self._parents)
        self._parents[key] = element
        annotation.StructParent = key
        element.K.append(Dictionary(Type=Name.OBJR, Obj=annotation, Pg=page.obj))
        page.obj.Tabs = Name.S  # tab order follows the structure (PDF/UA 7.18.3)

    def page_content(
        self, parent: pikepdf.Object, page: pikepdf.Page, content: PageContent, alt: str
    ) -> None:
        """Elements under `parent` for what `tag_page_content` found on `page`: a Figure with
        `alt` for its images, a P for its text, in the order they first appear."""
        self.complete = self.complete and content.readable
        for role, mcids in content.groups:
            element = self.add(parent, role, alt=alt if role == FIGURE else None)
            for mcid in mcids:
                self.content(element, page, mcid)

    def page_annotations(
        self, parent: pikepdf.Object, page: pikepdf.Page, contents: str = ANNOTATION_TEXT
    ) -> None:
        """Elements under `parent` for the annotations a page brings along (a born-digital
        letter's links): Link, Form (widgets) or Annot, each with a /Contents (`contents`
        unless it has one); pop-ups belong to their parent annotation and are left out."""
        annotations = page.obj.get("/Annots")
        if not isinstance(annotations, pikepdf.Array):
            return
        for index, annotation in enumerate(list(annotations)):
            if not isinstance(annotation, pikepdf.Dictionary):
                continue
            subtype = annotation.get("/Subtype")
            if subtype == Name.Popup:
                continue
            if not annotation.is_indirect:
                annotation = annotations[index] = self.pdf.make_indirect(annotation)
            if "/StructParent" in annotation:  # of the document the page came from
                del annotation.StructParent
            if "/Contents" not in annotation:
                annotation.Contents = pikepdf.String(contents)
            role = {"/Link": "Link", "/Widget": "Form"}.get(str(subtype), "Annot")
            self.annotation(self.add(parent, role), page, annotation)

    def finish(self, lang: str) -> None:
        """Install the tree: /StructTreeRoot with its /ParentTree, /MarkInfo, the document's
        language and that viewers show its title (PDF/UA 7.1, 7.2)."""
        nums = Array()
        for key, owners in self._parents.items():
            nums.append(key)
            nums.append(Array(owners) if isinstance(owners, list) else owners)
        self.root.ParentTree = self.pdf.make_indirect(Dictionary(Nums=nums))
        self.root.ParentTreeNextKey = len(self._parents)
        pdf = self.pdf
        pdf.Root.StructTreeRoot = self.root
        pdf.Root.MarkInfo = Dictionary(Marked=True)
        pdf.Root.Lang = pikepdf.String(lang)
        preferences = pdf.Root.get("/ViewerPreferences")
        if not isinstance(preferences, pikepdf.Dictionary):
            preferences = pdf.Root.ViewerPreferences = Dictionary()
        preferences.DisplayDocTitle = True


SCANNED_PAGE = "Gescannte Seite"
PICTURE_ON_PAGE = "Abbildung auf Seite"


def page_alt(number: int, total: int, title: str, *, scanned: bool = True) -> str:
    """The alternative text of a page's image: "Gescannte Seite 3 von 5: Widerspruch ..."."""
    kind = SCANNED_PAGE if scanned else PICTURE_ON_PAGE
    return f"{kind} {number} von {total}: {title}" if title else f"{kind} {number} von {total}"


def relabel_figures(data: bytes, title: str) -> bytes:
    """`data`, a PDF tagged here, with every page's figure naming `title` in its alternative
    text ("Gescannte Seite 2 von 3: Bescheid vom 12.11.2026"): a rendition is written when its
    type and date are not known yet, under its file name. Only the /Alt strings change (the
    structure, the marked content and the PDF/A and PDF/UA identification stay as they are);
    the same input gives the same bytes. A PDF without a structure tree, or one that cannot be
    read (a stored file is served as it is rather than not at all), comes back unchanged."""
    try:
        return _relabelled(data, title)
    except pikepdf.PdfError:
        return data


def _relabelled(data: bytes, title: str) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root.get("/StructTreeRoot")
        if not isinstance(root, pikepdf.Dictionary):
            return data
        numbers = {page.obj.objgen: number for number, page in enumerate(pdf.pages, 1)}
        total = len(numbers)
        for element in _elements(root):
            if element.get("/S") != Name(f"/{FIGURE}"):
                continue
            number = numbers.get(_page_of(element) or (0, 0))
            if number is None:
                continue
            scanned = not str(element.get("/Alt", "")).startswith(PICTURE_ON_PAGE)
            element.Alt = pikepdf.String(page_alt(number, total, title, scanned=scanned))
        out = io.BytesIO()
        save_pdfa(pdf, out)
    return out.getvalue()


def _elements(parent: pikepdf.Object, depth: int = 0) -> Iterator[pikepdf.Dictionary]:
    """The structure elements below `parent`, in the tree's order."""
    kids = parent.get("/K")
    if depth > 64 or kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type", Name.StructElem) == (
            Name.StructElem
        ):
            yield kid
            yield from _elements(kid, depth + 1)


def _page_of(element: pikepdf.Dictionary) -> tuple[int, int] | None:
    """The page (its object number) an element's content is on: its /Pg or its first
    marked-content reference's."""
    page = element.get("/Pg")
    kids = element.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if page is None and isinstance(kid, pikepdf.Dictionary):
            page = kid.get("/Pg")
    return page.objgen if isinstance(page, pikepdf.Dictionary) else None


# --- marking an existing page ----------------------------------------------------------------


@dataclass
class PageContent:
    """What a page's content holds, as marked content: `groups` are (role, MCIDs) in the order
    the roles first appear (FIGURE for images, TEXT for text); `next_mcid` is free for more;
    `scanned` says the page shows images and no visible text (an OCR layer is invisible)."""

    groups: list[tuple[str, list[int]]] = field(default_factory=list)
    next_mcid: int = 0
    images: bool = False
    visible_text: bool = False
    readable: bool = True  # False: the content stream could not be parsed and is not marked

    @property
    def scanned(self) -> bool:
        return self.images and not self.visible_text

    def add(self, role: str, mcid: int) -> None:
        for known, mcids in self.groups:
            if known == role:
                mcids.append(mcid)
                break
        else:
            self.groups.append((role, [mcid]))
        self.next_mcid = max(self.next_mcid, mcid + 1)
        if role == FIGURE:
            self.images = True


def tag_page_content(pdf: pikepdf.Pdf, page: pikepdf.Page) -> PageContent:
    """Mark what `page` draws (see the module docstring) and say what it holds."""
    if "/StructParents" in page.obj:  # of the document the page came from
        del page.obj.StructParents
    try:
        instructions = pikepdf.parse_content_stream(page)
    except pikepdf.PdfError:
        return PageContent(readable=False)  # unreadable content is left as it is
    resources = inherited(page.obj, "/Resources")
    marker = _Marker(resources if isinstance(resources, pikepdf.Dictionary) else None)
    ops = [_operator(instruction) for instruction in instructions]
    if "BDC" in ops and any(
        _mcid(instruction, marker.properties) is not None
        for instruction, op in zip(instructions, ops, strict=True)
        if op == "BDC"
    ):
        return marker.read(instructions, ops)
    out = marker.rewrite(instructions, ops)
    page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(out))
    return marker.found


def _operator(instruction: Instruction) -> str:
    if isinstance(instruction, pikepdf.ContentStreamInlineImage):
        return "INLINE IMAGE"
    assert isinstance(instruction, pikepdf.ContentStreamInstruction)
    return str(instruction.operator)


def _mcid(instruction: Instruction, properties: pikepdf.Dictionary | None) -> int | None:
    """The MCID of a `BDC` instruction's property list, if it has one."""
    if not isinstance(instruction, pikepdf.ContentStreamInstruction):
        return None
    operands = list(instruction.operands)
    if len(operands) != 2:
        return None
    props: object = operands[1]
    if isinstance(props, pikepdf.Name) and properties is not None:
        props = properties.get(props)
    mcid = props.get("/MCID") if isinstance(props, pikepdf.Dictionary) else None
    return int(mcid) if mcid is not None else None


class _Marker:
    """One page's walk: the text render mode for `visible_text`, the kinds of its XObjects."""

    def __init__(self, resources: pikepdf.Dictionary | None) -> None:
        self.resources = resources
        props = resources.get("/Properties") if resources is not None else None
        self.properties = props if isinstance(props, pikepdf.Dictionary) else None
        self.found = PageContent()
        self._modes: list[int] = [0]

    def _track(self, op: str, instruction: Instruction) -> None:
        """Follow the text render mode (part of the graphics state) and note visible text."""
        if op == "q":
            self._modes.append(self._modes[-1])
        elif op == "Q" and len(self._modes) > 1:
            self._modes.pop()
        elif op == "Tr":
            assert isinstance(instruction, pikepdf.ContentStreamInstruction)
            with suppress(IndexError, TypeError, ValueError):
                self._modes[-1] = int(instruction.operands[0])
        elif op in _SHOW and self._modes[-1] not in _INVISIBLE_MODES:
            self.found.visible_text = True

    def read(self, instructions: Sequence[Instruction], ops: list[str]) -> PageContent:
        """A page tagged already: its figure and text sequences as they are."""
        for instruction, op in zip(instructions, ops, strict=True):
            self._track(op, instruction)
            mcid = _mcid(instruction, self.properties) if op == "BDC" else None
            if mcid is not None:
                assert isinstance(instruction, pikepdf.ContentStreamInstruction)
                tag = str(instruction.operands[0])[1:]
                self.found.add(FIGURE if tag == FIGURE else TEXT, mcid)
            elif op == "Do" and self._xobject_kind(instruction) == FIGURE:
                self.found.images = True
        return self.found

    def rewrite(self, instructions: Sequence[Instruction], ops: list[str]) -> list[Instruction]:
        out: list[Instruction] = []
        found = self.found
        open_kind: str | None = None
        source_marks: list[bool] = []  # the page's own sequences: is it an /Artifact?
        in_text = in_path = False

        def open_(kind: str) -> None:
            nonlocal open_kind
            if open_kind == kind:
                return
            close()
            if kind == ARTIFACT:
                out.append(pikepdf.ContentStreamInstruction([Name.Artifact], Operator("BMC")))
            else:
                mcid = found.next_mcid
                found.add(kind, mcid)
                out.append(
                    pikepdf.ContentStreamInstruction(
                        [Name(f"/{kind}"), Dictionary(MCID=mcid)], Operator("BDC")
                    )
                )
            open_kind = kind

        def close() -> None:
            nonlocal open_kind
            if open_kind is not None:
                out.append(pikepdf.ContentStreamInstruction([], Operator("EMC")))
                open_kind = None

        for instruction, op in zip(instructions, ops, strict=True):
            self._track(op, instruction)
            if in_text or in_path:  # inside a text or path object: copied as it is
                in_text = in_text and op != "ET"
                in_path = in_path and op not in _PATH_END
            elif op in _MARK_OPEN or op == "EMC" or op in ("q", "Q"):
                close()
                if op in _MARK_OPEN:
                    assert isinstance(instruction, pikepdf.ContentStreamInstruction)
                    source_marks.append(instruction.operands[0] == Name.Artifact)
                elif op == "EMC" and source_marks:
                    source_marks.pop()
            elif any(source_marks):  # within the page's own artifact: nothing to mark
                in_text, in_path = op == "BT", op in _PATH_BUILD
            elif op == "BT":
                open_(TEXT)
                in_text = True
            elif op in _PATH_BUILD:
                open_(ARTIFACT)
                in_path = True
            elif op == "sh":
                open_(ARTIFACT)
            elif op == "INLINE IMAGE":
                open_(FIGURE)
            elif op == "Do":
                open_(self._xobject_kind(instruction))
            out.append(instruction)
        close()
        return out

    def _xobject_kind(self, instruction: Instruction) -> str:
        assert isinstance(instruction, pikepdf.ContentStreamInstruction)
        xobjects = self.resources.get("/XObject") if self.resources is not None else None
        name = instruction.operands[0] if instruction.operands else None
        if not isinstance(xobjects, pikepdf.Dictionary) or not isinstance(name, pikepdf.Name):
            return ARTIFACT
        return self._kind_of(xobjects.get(name), 0)

    def _kind_of(self, xobject: object, depth: int) -> str:
        """An image is a figure; a form is text if it shows any, a figure if it draws an image,
        else an artifact."""
        if not isinstance(xobject, pikepdf.Stream):
            return ARTIFACT
        subtype = xobject.get("/Subtype")
        if subtype == Name.Image:
            return FIGURE
        if subtype != Name.Form or depth >= _MAX_FORM_DEPTH:
            return ARTIFACT
        try:
            instructions = pikepdf.parse_content_stream(xobject)
        except pikepdf.PdfError:
            return ARTIFACT
        resources = xobject.get("/Resources")
        xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        kind = ARTIFACT
        for instruction in instructions:
            op = _operator(instruction)
            if op in _SHOW:
                self.found.visible_text = True
                return TEXT
            if op == "INLINE IMAGE":
                kind = FIGURE
            elif op == "Do" and isinstance(xobjects, pikepdf.Dictionary):
                assert isinstance(instruction, pikepdf.ContentStreamInstruction)
                name = instruction.operands[0] if instruction.operands else None
                if not isinstance(name, pikepdf.Name):
                    continue
                inner = self._kind_of(xobjects.get(name), depth + 1)
                if inner == TEXT:
                    return TEXT
                if inner == FIGURE:
                    kind = FIGURE
        return kind
