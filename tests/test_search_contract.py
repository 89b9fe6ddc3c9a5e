"""One contract for every SearchIndex adapter: the embedded index and OpenSearch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from search import CLEARING_ACCESS, IndexedDocument, SearchIndex, SearchQuery
from search.embedded import EmbeddedSearchIndex
from search.opensearch import OpenSearchIndex

BG_A = "95401BG0012345"
BG_B = "95402BG7654321"
EVERYTHING = frozenset({BG_A, BG_B, CLEARING_ACCESS})


@pytest.fixture(params=["embedded", pytest.param("opensearch", marks=pytest.mark.services)])
def index(request: pytest.FixtureRequest) -> Iterator[SearchIndex]:
    if request.param == "embedded":
        built: SearchIndex = EmbeddedSearchIndex(None)
    else:
        settings = request.getfixturevalue("opensearch_settings")
        built = OpenSearchIndex(str(settings["opensearch_url"]), str(settings["opensearch_index"]))
    yield built
    built.close()


def doc(document_id: str, *pages: str, bg: str | None = None) -> IndexedDocument:
    return IndexedDocument(
        document_id=document_id,
        source_name=f"{document_id}.pdf",
        received_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        pages=list(pages),
        bg_number=bg,
        doc_type="sonstiges",
    )


def ids(index: SearchIndex, text: str, allowed: frozenset[str] = EVERYTHING) -> list[str]:
    return [hit.document_id for hit in index.search(SearchQuery(text, allowed)).hits]


@pytest.fixture
def letters(index: SearchIndex) -> SearchIndex:
    index.index(
        doc(
            "heating",
            "Betreff: Nebenkostenabrechnung 2025\nSehr geehrte Damen und Herren,",
            f"anbei die Abrechnung für Frau Müller, Hafenstraße 5. BG-Nr. {BG_A[:5]} BG {BG_A[7:]}",
            bg=BG_A,
        )
    )
    index.index(doc("objection", "Hiermit lege ich Widerspruch gegen den Bescheid ein.", bg=BG_B))
    index.index(doc("unknown", "Kontoauszug der Sparkasse für Herrn Mueller, Strasse 9"))
    return index


def test_word_forms_find_each_other(letters: SearchIndex) -> None:
    assert ids(letters, "Nebenkostenabrechnungen") == ["heating"]
    assert ids(letters, "Bescheide") == ["objection"]


def test_umlauts_and_sharp_s_match_in_every_spelling(letters: SearchIndex) -> None:
    assert sorted(ids(letters, "Müller")) == ["heating", "unknown"]
    assert sorted(ids(letters, "Mueller")) == ["heating", "unknown"]
    assert ids(letters, "Hafenstrasse") == ["heating"]
    assert ids(letters, "Straße") == ["unknown"]


def test_bg_number_is_found_exactly_however_it_is_spaced(letters: SearchIndex) -> None:
    assert ids(letters, BG_A) == ["heating"]
    assert ids(letters, "95401 BG 0012345") == ["heating"]
    assert ids(letters, "95401BG0012346") == []


def test_every_word_must_match_and_phrases_keep_their_order(letters: SearchIndex) -> None:
    assert ids(letters, "Widerspruch Bescheid") == ["objection"]
    assert ids(letters, "Widerspruch Kontoauszug") == []
    assert ids(letters, '"lege ich Widerspruch"') == ["objection"]
    assert ids(letters, '"Widerspruch lege ich"') == []


def test_hit_names_the_page_and_marks_the_terms(letters: SearchIndex) -> None:
    [hit] = letters.search(SearchQuery("Müller", frozenset({BG_A}))).hits
    assert hit.page == 2
    assert "<mark>Müller,</mark>" in hit.snippet
    assert hit.bg_number == BG_A


def test_only_allowed_households_are_searched_and_counted(letters: SearchIndex) -> None:
    result = letters.search(SearchQuery("Mueller", frozenset({BG_B})))
    assert (result.total, result.hits) == (0, [])
    result = letters.search(SearchQuery("Mueller", frozenset({CLEARING_ACCESS})))
    assert result.total == 1 and result.hits[0].document_id == "unknown"
    assert letters.search(SearchQuery("Mueller", frozenset())).total == 0


def test_indexing_again_replaces_and_never_duplicates(letters: SearchIndex) -> None:
    letters.index(doc("objection", "Hiermit nehme ich den Widerspruch zurück.", bg=BG_B))
    letters.index(doc("objection", "Hiermit nehme ich den Widerspruch zurück.", bg=BG_B))
    result = letters.search(SearchQuery("Widerspruch", EVERYTHING))
    assert result.total == 1
    assert ids(letters, "Bescheid") == []


def test_deleted_document_is_no_longer_found(letters: SearchIndex) -> None:
    letters.delete("heating")
    assert ids(letters, "Nebenkostenabrechnung") == []
    letters.delete("heating")  # deleting twice is harmless


def test_unicode_text_from_other_alphabets_is_searchable(index: SearchIndex) -> None:
    index.index(doc("tr", "Başvuru sahibi: Ayşe Yılmaz, Übersetzung beigefügt", bg=BG_A))
    index.index(doc("ua", "Заява від Олена Коваленко", bg=BG_A))
    assert ids(index, "Yılmaz") == ["tr"]
    assert ids(index, "Übersetzung") == ["tr"]
    assert ids(index, "Коваленко") == ["ua"]


def test_empty_query_finds_nothing(letters: SearchIndex) -> None:
    assert letters.search(SearchQuery("   ", EVERYTHING)).total == 0


def test_paging_returns_disjoint_pages_with_the_full_total(index: SearchIndex) -> None:
    for n in range(7):
        index.index(doc(f"d{n}", f"Verdienstabrechnung Monat {n}", bg=BG_A))
    first = index.search(SearchQuery("Verdienstabrechnung", EVERYTHING, limit=4))
    second = index.search(SearchQuery("Verdienstabrechnung", EVERYTHING, limit=4, offset=4))
    assert first.total == second.total == 7
    seen = [h.document_id for h in first.hits + second.hits]
    assert sorted(seen) == sorted(f"d{n}" for n in range(7))


def test_health_reports_the_index_reachable(index: SearchIndex) -> None:
    assert index.ping().ok
