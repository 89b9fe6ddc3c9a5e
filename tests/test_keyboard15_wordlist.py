"""The German word list for decompounding held compactly (issue 15): the same parts and runs for
every word as before, in a fraction of the memory.

tests/wordlist15_reference.json was written by the code before the change (the word list as
two frozensets of strings) for 383 words: every 997th line of /usr/share/dict/ngerman, the words
of tests/search_letters.json and compounds of job-centre letters, and the `compound` field of
those letters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from search.analysis import (
    _MIN_PART,
    _MODIFIER_MAX,
    WORD_LIST,
    _fold,
    compound_parts,
    compound_runs,
    compound_values,
    modifier_list,
    nfc,
    noun_list,
)

REFERENCE = json.loads(
    (Path(__file__).parent / "wordlist15_reference.json").read_text(encoding="utf-8")
)
LETTERS = json.loads((Path(__file__).parent / "search_letters.json").read_text(encoding="utf-8"))


def test_every_word_is_split_as_before() -> None:
    words: dict[str, list[list[str]]] = REFERENCE["words"]
    assert len(words) > 300
    changed = {
        word: (list(compound_parts(word)), list(compound_runs(word)), expected)
        for word, expected in words.items()
        if [list(compound_parts(word)), list(compound_runs(word))] != expected
    }
    assert not changed, changed
    pages = [page for letter in LETTERS.values() for page in letter["pages"]]
    assert compound_values(pages) == REFERENCE["letters_compound_values"]


def test_the_word_lists_hold_the_same_words_as_sets_of_strings_did() -> None:
    """The lists as the old code built them (whole file read, split, two frozensets)."""
    nouns: set[str] = set()
    modifiers: set[str] = set()
    for word in WORD_LIST.read_text(encoding="utf-8").split():
        if len(word) >= _MIN_PART and word.isalpha():
            if word[0].isupper():
                nouns.add(_fold(nfc(word)))
            elif len(word) <= _MODIFIER_MAX:
                modifiers.add(_fold(nfc(word)))
    modifiers -= nouns
    assert len(noun_list()) == len(nouns) > 100_000
    assert len(modifier_list()) == len(modifiers)
    assert set(noun_list()) == nouns
    assert set(modifier_list()) == modifiers
    assert all(word in noun_list() for word in list(nouns)[::97])
    assert "neben" in modifier_list() and "neben" not in noun_list()
    # Nothing is found that is not a word of the list: parts of words, longer words, a line
    # break inside, what is no text.
    assert "abrechnun" not in noun_list() and "abrechnungx" not in noun_list()
    assert "abre\nchnung" not in noun_list() and 42 not in noun_list()


_MEASURE = """
import gc, json, tracemalloc
tracemalloc.start()
from search import analysis
gc.collect()
base, _ = tracemalloc.get_traced_memory()
tracemalloc.reset_peak()
analysis.compound_parts("Nebenkostenvorauszahlung")
gc.collect()
held, peak = tracemalloc.get_traced_memory()
print(json.dumps({"held": held - base, "peak": peak - base}))
"""


def test_the_word_list_takes_a_few_mib_per_process() -> None:
    """Every worker and web process loads the list: as sets of strings it held about 19 MiB
    and took 47 MiB while loading; now under 6 and 25 MiB."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    measured = json.loads(out.stdout)
    mib = 2**20
    assert measured["held"] < 6 * mib, measured
    assert measured["peak"] < 25 * mib, measured
