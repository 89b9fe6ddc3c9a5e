"""German text analysis shared by both adapters: word forms, spellings, compounds, OCR slips.

Both indexes run the same chain on their `text` field (lower case, accents folded, Snowball
German2 stems), so `Nebenkostenabrechnungen`, `Müller`/`Mueller`/`Muller` and `Straße`/`Strasse`
meet in one term. Two further fields are fed from here, identically for both adapters:

- `compound`: the parts of German compound words, split against the German word list
  (`wngerman`) and a small dictionary of the words job-centre letters are made of, so
  `Widerspruch` also finds `Widerspruchsbescheid`, `Nebenkosten` and `Vorauszahlung` find
  `Nebenkostenvorauszahlung`;
- `plain`: the words folded but not stemmed, for fuzzy matching of OCR slips
  (`Nebenkostenabrechnunq`), which compares spellings, not stems.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Iterator
from functools import cache, lru_cache
from pathlib import Path

import tantivy

from core.text import fold_umlauts

# Heads and modifiers of the compounds in SGB II correspondence, in their usual spelling. A word
# is split only when it can be read completely as these parts (with linking `s`, `n`, `en`, ...),
# optionally after one unknown leading part (`Kalt|miete`, `Hausrat|versicherung`). Street names
# are left whole on purpose: `Straße` should not find every address.
_PARTS = """
abmeldung abrechnung abschlag absage abschluss abzug änderung anerkennung angebot anhörung
anlage anmeldung anordnung anpassung anrechnung anschaffung anspruch antrag anzeige arbeit
arbeitgeber arbeitnehmer arzt aufenthalt aufforderung aufhebung aufnahme aufrechnung aufwand
ausbildung ausgabe auskunft ausweis auszahlung auszug bank bedarf beginn behörde beihilfe beitrag
beleg bemühung beratung berechnung bericht bescheid bescheinigung beschluss beschwerde
bestätigung betrag betreuung betrieb bewerbung bewilligung bildung bürgergeld darlehen dienst
eingang eingliederung einkommen einkünfte einladung einnahme einrichtung einsicht einstellung
einzug eltern empfang energie entgelt entscheidung erklärung ersatz erstattung fahrt fähigkeit
familie forderung formular frist gebühr gehalt geld gemeinschaft gericht gesundheit gewerbe
gutachten gutschrift haushalt heiz heizung hilfe jahr jobcenter kasse kaution kind kinder klage
konto kosten kranken krankheit kredit kündigung lasten lebensmittel leistung lohn mahnung
maßnahme meldung miete mitteilung monat nachweis pflege pflicht prüfung quittung rate rechnung
regel rente rückforderung rückstand sanktion satz schaden schreiben schuld schule sicherung
sozial sparbuch steuer stelle strom tätigkeit teilhabe termin titel träger umzug unfähigkeit
unterhalt unterkunft unterlagen unterstützung urteil verdienst vereinbarung verfahren verfügung
verhandlung verlängerung vermittlung vermögen veränderung versäumnis versicherung vertrag
verwaltung vollmacht vorschuss wasser widerspruch wohnung zahlung zeitraum zinsen zulage
zuschlag zuschuss zustimmung
"""
COMPOUND_PARTS = tuple(_PARTS.split())

# Linking elements between parts (Fugenelemente) and endings of the last part.
_LINKS = ("", "s", "es", "n", "en", "e", "er", "ns")
_ENDINGS = ("", "e", "n", "en", "s", "es", "er", "ern", "ns")
_MIN_COMPOUND = 7
_MIN_UNKNOWN_LEAD = 4


def nfc(text: str) -> str:
    """One spelling for characters that scanners and PDFs write as two (u + combining ¨)."""
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=1)
def german_analyzer() -> tantivy.TextAnalyzer:
    """Lower case, accents folded, German Snowball stems: `Müller`, `Mueller` and `Muller` meet."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(60))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("german"))
        .build()
    )


@lru_cache(maxsize=1)
def plain_analyzer() -> tantivy.TextAnalyzer:
    """Lower case and accents folded, no stems: the spelling OCR slips are measured against."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(60))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


@lru_cache(maxsize=200_000)
def analyze(text: str) -> list[str]:
    return german_analyzer().analyze(text)


@lru_cache(maxsize=200_000)
def plain(text: str) -> list[str]:
    return plain_analyzer().analyze(text)


def fuzziness(plain_word: str) -> int:
    """Edit distance tolerated for a word: none for short words and for numbers (a `2025` is not
    a `2026`), one slip from five letters, two from nine."""
    if len(plain_word) < 5 or any(ch.isdigit() for ch in plain_word):
        return 0
    return 1 if len(plain_word) < 9 else 2


def _fold(word: str) -> str:
    folded = fold_umlauts(word.lower(), style="base")
    return folded.replace("ae", "a").replace("oe", "o").replace("ue", "u")


# The German word list compounds are split against: igerman98's `ngerman` (GPL-2), installed by
# scripts/setup.sh and the Dockerfile as the Debian package `wngerman` - the same kind of list
# OpenSearch's `dictionary_decompounder` takes. Its words are parts from four letters on.
WORD_LIST = Path("/usr/share/dict/ngerman")
_MIN_PART = 4
# Parts never indexed alone: street names should not find every address.
_NEVER_ALONE = frozenset(
    _fold(w)
    for w in [
        "straße",
        "strasse",
        "gasse",
        "allee",
        "platz",
        "chaussee",
        "damm",
        "ufer",
        "steig",
        "pfad",
    ]
)
# Linking elements after a word of the list (Fugen-s, -es, -n, -en); the curated parts above
# also take the rarer ones in _LINKS.
_WORD_LINKS = ("", "s", "es", "n", "en")


class WordSet:
    """A set of words held compactly: the words sharing their first four letters are one string
    (`"\\nrest\\nrest\\n"`), so the list takes a few MiB instead of a string object per word.
    Asking for a word is a dictionary lookup and a search in a few hundred bytes."""

    def __init__(self, buckets: dict[str, str], size: int) -> None:
        self._buckets = buckets
        self._size = size

    @classmethod
    def of(cls, words: Iterable[str]) -> WordSet:
        rests: dict[str, set[str]] = {}
        for word in words:
            rests.setdefault(word[:4], set()).add(word[4:])
        buckets = {
            prefix: "\n" + "\n".join(sorted(tails)) + "\n" for prefix, tails in rests.items()
        }
        return cls(buckets, sum(map(len, rests.values())))

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        bucket = self._buckets.get(word[:4])
        return bucket is not None and f"\n{word[4:]}\n" in bucket and "\n" not in word

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        for prefix, bucket in self._buckets.items():
            for rest in bucket[1:-1].split("\n"):
                yield prefix + rest


_NOTHING = WordSet({}, 0)


def noun_list() -> WordSet:
    """The folded nouns of the German word list (those written with a capital), from four
    letters on: the heads a compound is split to, and parts anywhere in it."""
    return _word_lists()[0]


def modifier_list() -> WordSet:
    """The other words of the list up to _MODIFIER_MAX letters (`neben`, `voraus`, `brutto`):
    parts before the head only."""
    return _word_lists()[1]


# Words written in lower case (adverbs, adjectives, verbs in every form) are kept only up to
# this length: longer ones are hardly ever the first part of a noun, and leaving them out halves
# the memory the list takes.
_MODIFIER_MAX = 10


def _list_words(noun: bool) -> Iterator[str]:
    """The folded words of the list, read line by line: nouns, or the other words up to
    _MODIFIER_MAX letters."""
    try:
        with WORD_LIST.open(encoding="utf-8") as lines:
            for line in lines:
                word = line.strip()
                if len(word) < _MIN_PART or not word.isalpha():
                    continue
                capital = word[0].isupper()
                if capital == noun and (capital or len(word) <= _MODIFIER_MAX):
                    yield _fold(nfc(word))
    except FileNotFoundError as exc:
        raise RuntimeError(
            f"Die deutsche Wortliste {WORD_LIST} fehlt (Debian-Paket wngerman): "
            "scripts/setup.sh ausführen."
        ) from exc


@cache
def _word_lists() -> tuple[WordSet, WordSet]:
    """Loaded on first use, once per process; the modifiers leave out what is a noun too."""
    nouns = WordSet.of(_list_words(noun=True))
    modifiers = WordSet.of(word for word in _list_words(noun=False) if word not in nouns)
    return nouns, modifiers


def _dictionary() -> tuple[dict[str, str], dict[str, str]]:
    """Folded spelling -> the part (folded): whole words, and inside a compound also parts
    ending in -e without it (Miet|vertrag, Schul|bescheinigung)."""
    whole: dict[str, str] = {}
    inner: dict[str, str] = {}
    for part in map(_fold, COMPOUND_PARTS):
        whole.setdefault(part, part)
        inner.setdefault(part, part)
        if part.endswith("e") and len(part) > 4:
            inner.setdefault(part[:-1], part)
    return whole, inner


_WHOLE, _INNER = _dictionary()
_LONGEST = 40
_LETTERS = re.compile(r"[^\W\d_]+")

Reading = tuple[float, tuple[str, ...]]


@lru_cache(maxsize=200_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """The parts a word is made of, folded: `Widerspruchsbescheide` -> (widerspruch, bescheid).

    Read against the curated parts and the German word list, the fewest (so the longest) parts
    win, each a word of at least four letters. A word that cannot be read as two or more parts
    is a single part when it is a word itself (`Abrechnung`); otherwise one unknown leading part
    is allowed before curated parts, as short as possible (`Neben|kosten|abrechnung` were it not
    in the list), and else it has no parts.
    """
    if not _LETTERS.fullmatch(word):
        return ()
    folded = _fold(word)
    if len(folded) < _MIN_PART:
        return ()
    best = _split(folded)
    if best is not None:
        return best
    if folded in _WHOLE or folded in noun_list() or folded in modifier_list():
        return (_WHOLE.get(folded, folded),)
    return _unknown_lead(folded)


def _reader(
    folded: str, nouns: Container[str], modifiers: Container[str]
) -> Callable[[int, bool], Reading | None]:
    """`rest(start, whole)`: the best reading of folded[start:] as parts (the last one with an
    ending), or None; `whole=False` asks for two parts at least. Fewest parts win, then fewest
    linking elements, then the longest last part. `nouns` and `modifiers` are the word list's
    (or nothing: curated parts only); only a noun ends a compound."""
    length = len(folded)

    def part_at(start: int, end: int) -> tuple[str | None, str | None, tuple[str, ...]]:
        key = folded[start:end]
        if key in _INNER:
            return _INNER[key], _WHOLE.get(key), _LINKS
        if key in nouns:
            return key, key, _WORD_LINKS
        if key in modifiers:
            return key, None, _WORD_LINKS
        return None, None, ()

    @cache
    def rest(start: int, whole: bool) -> Reading | None:
        found: Reading | None = None
        for end in range(min(length, start + _LONGEST), start + _MIN_PART - 1, -1):
            part, last, links = part_at(start, end)
            if part is None:
                continue
            if whole and last is not None and folded[end:] in _ENDINGS:
                candidate: Reading = (1.0 - 0.001 * len(last), (last,))
                if found is None or candidate[0] < found[0]:
                    found = candidate
            for link in links:
                following = end + len(link)
                if following >= length or not folded.startswith(link, end):
                    continue
                tail = rest(following, True)
                if tail is None:
                    continue
                candidate = (1.0 + (0.1 if link else 0.0) + tail[0], (part, *tail[1]))
                if found is None or candidate[0] < found[0]:
                    found = candidate
        return found

    return rest


def _split(folded: str) -> tuple[str, ...] | None:
    """The best reading of a word as two or more known parts."""
    if len(folded) < 2 * _MIN_PART:
        return None
    best = _reader(folded, noun_list(), modifier_list())(0, False)
    return best[1] if best is not None else None


def _unknown_lead(folded: str) -> tuple[str, ...]:
    """One unknown leading part, as short as possible, before curated parts."""
    if len(folded) < _MIN_COMPOUND:
        return ()
    rest = _reader(folded, _NOTHING, _NOTHING)
    for cut in range(_MIN_UNKNOWN_LEAD, len(folded) - 3):
        tail = rest(cut, True)
        if tail is not None:
            return (folded[:cut], *tail[1])
    return ()


_TOKEN = re.compile(r"[^\W_]+")


def compound_key(parts: tuple[str, ...]) -> str:
    """One token for a run of compound parts: `Nebenkosten` inside `Nebenkostenabrechnung`."""
    return "".join(parts)


def _runs(parts: tuple[str, ...]) -> list[str]:
    return [
        compound_key(parts[start : start + size])
        for size in range(1, len(parts))
        for start in range(len(parts) - size + 1)
        if size > 1 or parts[start] not in _NEVER_ALONE
    ]


@lru_cache(maxsize=200_000)
def compound_runs(word: str) -> tuple[str, ...]:
    """Every run of a compound word's parts shorter than the whole word, as one token each, and
    the runs of its parts that are compounds themselves (`Nebenkostenvorauszahlung` ->
    nebenkosten, vorauszahlung, neben, kosten, voraus, zahlung)."""
    if len(word) < _MIN_COMPOUND:
        return ()
    parts = compound_parts(word)
    runs = dict.fromkeys(_runs(parts))
    if len(parts) > 1:
        for part in parts:
            inner = _split(part)
            if inner is not None:
                runs.update(dict.fromkeys(_runs(inner)))
    return tuple(runs)


def compound_values(pages: list[str]) -> list[str]:
    """The `compound` field: the runs of parts of each compound word of the text (once), each
    as one token (`nebenkosten abrechnung neben kosten`). A word then finds the compounds it is
    part of with one term, and the word itself is left to the `text` field."""
    words = dict.fromkeys(word for page in pages for word in _TOKEN.findall(page))
    runs: dict[str, None] = {}
    for word in words:
        runs.update(dict.fromkeys(compound_runs(word)))
    return [" ".join(runs)] if runs else []
