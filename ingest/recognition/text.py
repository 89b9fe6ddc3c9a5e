"""Text clean-up shared by the recognisers: OCR noise, hyphenation, umlauts, transliterations.

Three spellings of the same text are used:
- `clean`: the page as printed, with ligatures, dashes, quotes and soft hyphens unified and words
  broken at line ends joined again (shown to people in evidence);
- `fold`: lower case without diacritics (ä -> a, ß -> ss), for wording and patterns;
- `name_key`: a lossy skeleton for names and streets that also maps what OCR and writers confuse
  (Müller/Mueller/Muller, l/1/I/|, rn/m), so both sides of a comparison meet in one spelling.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

_CLEAN = str.maketrans(
    {
        "\u00ad": "",
        "\u200b": "",
        "\ufeff": "",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00ac": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u00a0": " ",
        "\t": " ",
    }
)

# A word broken at the line end: "Arbeitsunfähigkeits-\nbescheinigung", "Theodor-Storm-\nStraße".
_LINE_BREAK_HYPHEN = re.compile(r"(?<=[^\W\d_])-[ ]*\n[ ]*(?=([^\W\d_]+))")
_CONJUNCTIONS = {"und", "oder", "bzw", "sowie"}


def _join_broken_word(match: re.Match[str]) -> str:
    following = match.group(1)
    if following.lower() in _CONJUNCTIONS:
        return "- "  # "Neben- und Betriebskosten"
    return "" if following[0].islower() else "-"


def clean(text: str) -> str:
    """The page as printed, with typographic and OCR noise unified and broken words joined."""
    text = unicodedata.normalize("NFKC", text).translate(_CLEAN)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _LINE_BREAK_HYPHEN.sub(_join_broken_word, text)


_FOLD_SPECIAL = str.maketrans(
    {"ß": "ss", "ẞ": "ss", "ł": "l", "ø": "o", "đ": "d", "ı": "i", "æ": "ae", "œ": "oe", "ſ": "s"}
)


def fold(text: str) -> str:
    """Lower case without diacritics: "Veränderung" -> "veranderung", "Straße" -> "strasse"."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text.translate(_FOLD_SPECIAL))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


# Characters OCR confuses in names; both sides of a comparison go through the same map.
_SKELETON = str.maketrans({"0": "o", "1": "l", "|": "l", "!": "l", "i": "l", "5": "s", "8": "b"})
_NOT_NAME = re.compile(r"[^a-z0-9|!]+")
_DIGRAPHS = (("rn", "m"), ("vv", "w"), ("ae", "a"), ("oe", "o"), ("ue", "u"))


@lru_cache(maxsize=200_000)
def name_key(text: str) -> str:
    """Skeleton of a name: Müller, Mueller, Muller and "Mü1ler" all give "muller"."""
    key = _NOT_NAME.sub("", fold(text)).translate(_SKELETON)
    for pair, single in _DIGRAPHS:
        key = key.replace(pair, single)
    return key


# Letters OCR mixes up in running text; wording is compared in this reduced alphabet as well.
_WORD_SKELETON = str.maketrans(
    {"c": "e", "h": "b", "u": "n", "i": "l", "1": "l", "0": "o", "q": "g", "f": "t", "5": "s"}
)
_WORD_DIGRAPHS = (("ae", "a"), ("oe", "o"), ("ue", "u"), ("rn", "m"), ("cl", "d"), ("vv", "w"))


def word_skeleton(words: str) -> str:
    """Folded words with OCR look-alikes merged: "widcrsprueh" and "widerspruch" meet."""
    for pair, single in _WORD_DIGRAPHS:
        words = words.replace(pair, single)
    return words.translate(_WORD_SKELETON)


# "Straße", "Strasse", "Str." and what OCR makes of them ("Stnaße", "StraBe", "Straßc").
_STREET_SUFFIX = re.compile(r"s[tf][rn][ao](?:ss|s|b|8)[ec]\b|str\b\.?")


# A number standing on its own ("12a", "17."), not a digit OCR put inside a word ("Sch1eswiger").
_NUMBER_TOKEN = re.compile(r"(?<![^\W\d_])\d\w*")


@lru_cache(maxsize=100_000)
def street_key(text: str) -> str:
    """Skeleton of a street name: "Theodor-Storm-Straße", "Theodor Storm Str." -> one key."""
    return name_key(_STREET_SUFFIX.sub("str", fold(_NUMBER_TOKEN.sub(" ", text))))


def house_number_key(text: str) -> str:
    return "".join(text.split()).lower()


def allowed_distance(length: int, *, lenient: bool = False) -> int:
    """Edits tolerated between two name keys of this length (short names must match exactly)."""
    if length <= 3:
        return 0
    if length == 4:
        return 1 if lenient else 0
    base = 1 if length <= 8 else 2
    return base + 1 if lenient else base


_TOKEN = re.compile(r"[\w|!]+(?:['\-][\w|!]+)*")
# Words OCR ran together ("FrauAli"): a capital after a small letter starts a new token.
_CAMEL = re.compile(r"(?<=[a-zäöüß])(?=[A-ZÄÖÜ])")


def _words_in(text: str) -> list[re.Match[str]]:
    """Word tokens of a line, with run-together words split where a capital follows."""
    found: list[re.Match[str]] = []
    for match in _TOKEN.finditer(text):
        if _CAMEL.search(match.group(0)):
            found.extend(_split_camel(text, match))
        else:
            found.append(match)
    return found


def _split_camel(text: str, piece: re.Match[str]) -> list[re.Match[str]]:
    cuts = [piece.start()] + [piece.start() + m.start() for m in _CAMEL.finditer(piece.group(0))]
    cuts.append(piece.end())
    return [
        m
        for a, b in zip(cuts, cuts[1:], strict=False)
        if (m := _TOKEN.match(text, a, b)) is not None
    ]


@dataclass(frozen=True)
class Line:
    page: int  # 1-based
    number: int  # index into ParsedDocument.lines
    text: str  # clean
    folded: str


@dataclass(frozen=True)
class Token:
    index: int
    page: int
    line: int  # index into ParsedDocument.lines
    start: int  # offset in the line's text
    text: str
    key: str


@dataclass
class ParsedDocument:
    """A document's pages cut into non-empty lines and word tokens, built once per document."""

    pages: list[str]
    lines: list[Line] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    token_keys: list[str] = field(default_factory=list)
    line_tokens: list[list[Token]] = field(default_factory=list)
    # Keys of two neighbouring words on a line, for names OCR split: "Mül ler".
    pair_keys: list[str] = field(default_factory=list)
    _street_keys: dict[int, str] = field(default_factory=dict)
    _street_words: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def from_pages(cls, pages: list[str]) -> ParsedDocument:
        cleaned = [clean(page or "") for page in pages]
        doc = cls(pages=cleaned)
        for page_number, page in enumerate(cleaned, start=1):
            for raw in page.split("\n"):
                text = re.sub(r" {2,}", "  ", raw.strip())
                if not text:
                    continue
                line = Line(page_number, len(doc.lines), text, fold(text))
                doc.lines.append(line)
                doc.line_tokens.append([])
                for match in _words_in(text):
                    word = match.group(0)
                    digits = sum(ch.isdigit() for ch in word)
                    # Numbers are no names; OCR digits inside a word still are.
                    key = name_key(word) if digits * 2 < len(word) else ""
                    token = Token(
                        len(doc.tokens), page_number, line.number, match.start(), word, key
                    )
                    doc.tokens.append(token)
                    doc.token_keys.append(key)
                    doc.line_tokens[line.number].append(token)
        for index, token in enumerate(doc.tokens):
            following = doc.tokens[index + 1] if index + 1 < len(doc.tokens) else None
            joined = ""
            if following is not None and following.line == token.line and token.key:
                joined = token.key + following.key if following.key else ""
            doc.pair_keys.append(joined)
        return doc

    def street_key_of(self, line: Line) -> str:
        """The line as one street key (for long street names that OCR may split or join)."""
        if line.number not in self._street_keys:
            self._street_keys[line.number] = street_key(line.text)
        return self._street_keys[line.number]

    def street_words_of(self, line: Line) -> list[str]:
        """The line's words as street keys, numbers left out."""
        if line.number not in self._street_words:
            words = [street_key(t.text) for t in self.line_tokens[line.number]]
            self._street_words[line.number] = [w for w in words if w]
        return self._street_words[line.number]


def snippet(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
