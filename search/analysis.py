"""German text analysis shared by both adapters: word forms, spellings, compounds, OCR slips.

Both indexes run the same chain on their `text` field (lower case, accents folded, Snowball
German2 stems), so `Nebenkostenabrechnungen`, `Müller`/`Mueller`/`Muller` and `Straße`/`Strasse`
meet in one term. Two further fields are fed from here, identically for both adapters:

- `compound`: the parts of German compound words, split with a small dictionary of the words
  job-centre letters are made of, so `Widerspruch` also finds `Widerspruchsbescheid`,
  `Abrechnung` and `Nebenkosten` find `Nebenkostenabrechnung`;
- `plain`: the words folded but not stemmed, for fuzzy matching of OCR slips
  (`Nebenkostenabrechnunq`), which compares spellings, not stems.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

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


def _dictionary() -> tuple[dict[str, str], dict[str, str]]:
    """Folded spelling -> the part as written: whole words, and inside a compound also parts
    ending in -e without it (Miet|vertrag, Schul|bescheinigung)."""
    whole: dict[str, str] = {}
    inner: dict[str, str] = {}
    for part in COMPOUND_PARTS:
        whole.setdefault(_fold(part), part)
        inner.setdefault(_fold(part), part)
        if part.endswith("e") and len(part) > 4:
            inner.setdefault(_fold(part[:-1]), part)
    return whole, inner


_WHOLE, _INNER = _dictionary()
_LONGEST = max(len(key) for key in _INNER)
_LETTERS = re.compile(r"[^\W\d_]+")
# Quick test whether a folded word ends in a dictionary word (read backwards, so `match` works).
_HEAD = re.compile(
    "(?:"
    + "|".join(sorted((e[::-1] for e in _ENDINGS if e), key=len, reverse=True))
    + ")?(?:"
    + "|".join(sorted((w[::-1] for w in _WHOLE), key=len, reverse=True))
    + ")"
)

Reading = tuple[float, tuple[str, ...]]


@lru_cache(maxsize=200_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """The dictionary parts a word is made of: `Widerspruchsbescheide` -> (widerspruch, bescheid).

    A single part when the word is itself a dictionary word (`Widerspruch`), nothing when it
    cannot be read as parts. Readings from the dictionary alone win, with the fewest parts; else
    one unknown leading part is allowed, as short as possible (`Neben|kosten|abrechnung`).
    """
    if not _LETTERS.fullmatch(word):
        return ()
    folded = _fold(word)
    if len(folded) < 3 or not _HEAD.match(folded[::-1]):
        return ()
    best = _split(folded)
    return best[1] if best is not None else ()


def _split(folded: str) -> Reading | None:
    length = len(folded)

    @cache
    def rest(start: int) -> Reading | None:
        # Best reading of folded[start:] as dictionary parts, the last one with an ending.
        found: Reading | None = None
        for end in range(min(length, start + _LONGEST), start + 2, -1):
            key = folded[start:end]
            part = _INNER.get(key)
            if part is None:
                continue
            if folded[end:] in _ENDINGS and key in _WHOLE:
                candidate: Reading = (1.0, (_WHOLE[key],))
                if found is None or candidate[0] < found[0]:
                    found = candidate
            for link in _LINKS:
                following = end + len(link)
                if following >= length or not folded.startswith(link, end):
                    continue
                tail = rest(following)
                if tail is None:
                    continue
                candidate = (1.0 + (0.1 if link else 0.0) + tail[0], (part, *tail[1]))
                if found is None or candidate[0] < found[0]:
                    found = candidate
        return found

    best = rest(0)
    if best is None and length >= _MIN_COMPOUND:
        for cut in range(_MIN_UNKNOWN_LEAD, length - 3):
            tail = rest(cut)
            if tail is not None:
                best = (100.0 + tail[0], (folded[:cut], *tail[1]))
                break
    if best is not None and len(best[1]) > 1 and length < _MIN_COMPOUND:
        return None
    return best


_TOKEN = re.compile(r"[^\W_]+")


def compound_key(parts: tuple[str, ...]) -> str:
    """One token for a run of compound parts: `Nebenkosten` inside `Nebenkostenabrechnung`."""
    return "".join(parts)


def compound_values(pages: list[str]) -> list[str]:
    """The `compound` field: for each compound word of the text (once), every run of its parts
    shorter than the whole word, each as one token (`neben kosten abrechnung nebenkosten
    kostenabrechnung`). A word then finds the compounds it is part of with one term, and the
    word itself is left to the `text` field."""
    words = dict.fromkeys(word for page in pages for word in _TOKEN.findall(page))
    runs: dict[str, None] = {}
    for word in words:
        if len(word) >= _MIN_COMPOUND:
            parts = compound_parts(word)
            for size in range(1, len(parts)):
                for start in range(len(parts) - size + 1):
                    runs.setdefault(compound_key(parts[start : start + size]), None)
    return [" ".join(runs)] if runs else []
