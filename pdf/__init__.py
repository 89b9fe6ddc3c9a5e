"""PDF mechanics that the pipeline and the exports share, with nothing of the domain in them.

- `pdf.pdfa`: PDF/A-2b identification (sRGB output intent, XMP and Info) and the
  deterministic save; joining the pages of several PDFs without piling up their images.
- `pdf.fonts`: a TrueType font embedded as a subset (fontTools) that measures, breaks and
  encodes text for content streams.
- `pdf.cmap`: the ToUnicode CMaps, written in one place.
- `pdf.pages`: content stream operators and the geometry of a page as a viewer shows it.
- `pdf.tags`: tagged PDF (PDF/UA-1): the structure tree, and marking what existing pages draw.

May import: the standard library, pikepdf, Pillow, fontTools. Nothing of ours.
"""
