"""Search finds everyday words (issue 15): compound parts, type names, a trailing `*`, notes on a
whole file, on both backends and only in the files one may see; the team filter is a list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.runtime import build_runtime
from records.reindex import reindex_all
from records.runtime import Runtime
from search import (
    FILE_NOTE_KIND,
    IndexedDocument,
    SearchIndex,
    SearchQuery,
    file_note_key,
)
from search.analysis import compound_runs, noun_list
from search.base import PREFIX_EXPANSIONS
from search.embedded import EmbeddedSearchIndex
from search.opensearch import OpenSearchIndex
from tests.support import ISLANDS, OWN, client_for, file_search_letters, load_people, make_settings

BG_A = "95401BG0012345"
BG_B = "95402BG7654321"
# A household the searching user may see that holds none of the letters.
BG_EMPTY = "95403BG0000001"
NAMES = {"nebenkostenabrechnung": "Nebenkostenabrechnung", "sonstiges": "Sonstiges"}
COSTS = "nebenkostenabrechnung"


@pytest.fixture(params=["embedded", pytest.param("opensearch", marks=pytest.mark.services)])
def index(request: pytest.FixtureRequest) -> Iterator[SearchIndex]:
    if request.param == "embedded":
        built: SearchIndex = EmbeddedSearchIndex(None, type_names=NAMES.get)
    else:
        settings = request.getfixturevalue("opensearch_settings")
        built = OpenSearchIndex(
            str(settings["opensearch_url"]),
            str(settings["opensearch_index"]),
            type_names=NAMES.get,
        )
    yield built
    built.close()


def letter(document_id: str, text: str, bg: str, doc_type: str = "sonstiges") -> IndexedDocument:
    return IndexedDocument(
        document_id=document_id,
        source_name=f"{document_id}.pdf",
        received_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        pages=[text],
        bg_number=bg,
        doc_type=doc_type,
    )


def file_note(note_id: int, text: str, bg: str) -> IndexedDocument:
    return IndexedDocument(
        document_id=file_note_key(note_id),
        source_name="Vermerk zur Akte",
        received_at=datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
        pages=[],
        bg_number=bg,
        direction=FILE_NOTE_KIND,
        status=FILE_NOTE_KIND,
        notes=(text,),
    )


@pytest.fixture
def letters(index: SearchIndex) -> SearchIndex:
    index.index_many(
        [
            letter("advance", "Ihre Nebenkostenvorauszahlung steigt ab Januar.", BG_A),
            letter("statement", "Anbei die Unterlagen vom Vermieter.", BG_A, COSTS),
            letter("objection", "Hiermit lege ich Widerspruch ein.", BG_A),
            letter("other", "Die Nebenkostenvorauszahlung ist zu hoch.", BG_B, COSTS),
            file_note(7, "Mieterin meldet Schimmelbefall im Bad, Vermieter informiert.", BG_A),
            file_note(8, "Schimmelbefall laut Gutachten behoben.", BG_B),
        ]
    )
    return index


def ids(index: SearchIndex, text: str, *allowed: str) -> set[str]:
    return {hit.document_id for hit in index.search(SearchQuery(text, frozenset(allowed))).hits}


QUERIES = {
    # Parts of a long compound, each of them found inside it.
    "Nebenkosten": {"advance"},
    "Vorauszahlung": {"advance"},
    "Vorauszahlungen": {"advance"},
    # The type's German name, whatever the letter says.
    "Nebenkostenabrechnung": {"statement"},
    # A trailing `*`: the words starting with it.
    "Nebenkosten*": {"advance"},
    "nebenkostenvoraus*": {"advance"},
    "Widersp*": {"objection"},
    # The note on the whole file.
    "Schimmelbefall": {file_note_key(7)},
    "Schimmel*": {file_note_key(7)},
}


@pytest.mark.parametrize("query", sorted(QUERIES))
def test_everyday_words_find_their_documents(letters: SearchIndex, query: str) -> None:
    assert ids(letters, query, BG_A) == QUERIES[query]


@pytest.mark.parametrize("query", sorted(QUERIES))
def test_nothing_leaks_to_a_user_without_access(letters: SearchIndex, query: str) -> None:
    result = letters.search(SearchQuery(query, frozenset({BG_EMPTY}), facets=True))
    assert (result.total, result.hits) == (0, [])


def test_the_other_household_finds_its_own_only(letters: SearchIndex) -> None:
    assert ids(letters, "Vorauszahlung", BG_B) == {"other"}
    assert ids(letters, "Nebenkostenabrechnung", BG_B) == {"other"}
    assert ids(letters, "Schimmel*", BG_B) == {file_note_key(8)}
    assert ids(letters, "Nebenkosten", BG_A, BG_B) == {"advance", "other"}


def test_a_note_hit_says_it_is_a_file_note_and_marks_the_word(letters: SearchIndex) -> None:
    [hit] = letters.search(SearchQuery("Schimmelbefall", frozenset({BG_A}))).hits
    assert hit.file_note and hit.bg_number == BG_A
    assert "<mark>Schimmelbefall</mark>" in hit.snippet


def test_compound_hits_are_marked_in_the_snippet(letters: SearchIndex) -> None:
    for query in ("Vorauszahlung", "Nebenkosten*"):
        [hit] = letters.search(SearchQuery(query, frozenset({BG_A}))).hits
        assert "<mark>Nebenkostenvorauszahlung</mark>" in hit.snippet, query


def test_a_prefix_needs_three_letters_and_expands_to_a_bounded_number_of_words(
    index: SearchIndex,
) -> None:
    index.index_many(
        [letter(f"n{n}", f"Kennung kz{n:03d}", BG_A) for n in range(PREFIX_EXPANSIONS + 10)]
    )
    # `kz*` is too short for a prefix: it is the word `kz`, which no letter has.
    assert ids(index, "kz*", BG_A) == set()
    assert index.search(SearchQuery("kz0*", frozenset({BG_A}))).total == PREFIX_EXPANSIONS
    assert ids(index, "kz007*", BG_A) == {"n7"}


def test_splits_take_the_longest_words_and_leave_names_whole() -> None:
    assert len(noun_list()) > 100_000
    assert set(compound_runs("Nebenkostenvorauszahlung")) >= {"nebenkosten", "vorauszahlung"}
    assert compound_runs("Schneider") == ()
    # A street's name finds the street, not every address on a "Straße".
    assert "strasse" not in compound_runs("Hafenstraße")


# --- through the API: notes on a file, the team list ------------------------------------------


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(make_settings(tmp_path / "data"))
    load_people(built)
    yield built
    built.close()


def search(client, q: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/api/search", params={"q": q})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_note_on_the_file_is_found_by_those_who_see_the_file(runtime: Runtime) -> None:
    filed = file_search_letters(runtime, "costs", "islands_costs")
    caseworker = client_for(runtime, "lsb.95401.2")
    written = caseworker.post(
        f"/api/households/{OWN}/notes", json={"text": "Hausbesuch: Schimmelbefall im Bad"}
    )
    assert written.status_code == 201, written.text
    [hit] = search(caseworker, "Schimmelbefall")["hits"]
    assert hit["viewer_url"] == f"/akte/{OWN}" and hit["status"] == "vermerk"
    assert "<mark>Schimmelbefall</mark>" in hit["snippet"]
    # The type name finds the letter of that type.
    found = {h["document_id"] for h in search(caseworker, "Nebenkostenabrechnung")["hits"]}
    assert found == {filed["costs"]}
    # A caseworker of another household finds neither the note nor the letter.
    islands = client_for(runtime, "lsb.95403.2")
    assert search(islands, "Schimmelbefall")["total"] == 0
    assert search(islands, "Schimmel*")["total"] == 0
    assert {h["bg_number"] for h in search(islands, "Nebenkostenabrechnung")["hits"]} == {ISLANDS}
    # A rebuilt index still holds the note.
    reindex_all(runtime, restart=True)
    assert search(caseworker, "Schimmelbefall")["total"] == 1


def test_the_team_filter_offers_the_teams_by_name(runtime: Runtime) -> None:
    caseworker = client_for(runtime, "lsb.95401.2")
    response = caseworker.get("/api/search/teams")
    assert response.status_code == 200, response.text
    teams = response.json()["teams"]
    assert {"Leistung Husum", "Leistung Inseln", "Fallmanagement"} <= set(teams)
    assert teams == sorted(teams)
    assert client_for(runtime).get("/api/search/teams").status_code == 401
