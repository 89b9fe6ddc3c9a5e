"""One contract for every SearchIndex adapter: the embedded index and OpenSearch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from search import CLEARING_ACCESS, IndexedDocument, SearchIndex, SearchQuery
from search.base import FUZZY_BELOW
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


# --- German analysis: compounds and OCR slips --------------------------------------------------


# German analysis: each case a few one-page letters of household BG_A (text by id) and what
# queries find, in rank order (a set where the order is open).
ANALYSIS_CASES = {
    "a_word_finds_the_compounds_it_is_part_of": (
        {
            "notice": "Widerspruchsbescheid zu Ihrem Schreiben",
            "objection": "Hiermit lege ich Widerspruch ein.",
            "costs": "Die Nebenkostenabrechnung und die Heizkosten 2025",
            "statement": "Kontoauszüge der Sparkasse",
        },
        {
            # The word itself ranks before the compound that contains it.
            "Widerspruch": ["objection", "notice"],
            "Bescheid": ["notice"],
            "Abrechnung": ["costs"],
            "Kosten": ["costs"],
            "Nebenkosten": ["costs"],
            "Kontoauszug": ["statement"],
            "Auszug": ["statement"],
            # A compound as typed finds the same parts written apart.
            "Heizkostenabrechnung": [],
            "Widerspruch Schreiben": ["notice"],
        },
    ),
    "ocr_slips_are_found_below_the_correct_spelling": (
        {
            "clean": "Ihre Nebenkostenabrechnung für 2025",
            "slip": "Ihre Nebenkostenabrechnunq für 2025",
            "swap": "Der Beschied ist angekommen",
            "name": "Frau Mül1er wohnt hier",
        },
        {
            "Nebenkostenabrechnung": ["clean", "slip"],
            "Bescheid": ["swap"],
            "Müller": ["name"],
            # Numbers and short words are exact: 2025 is not 2026, `des` not `der`.
            "2026": [],
            "2025": {"clean", "slip"},
            "Des": [],
        },
    ),
}


@pytest.mark.parametrize("case", sorted(ANALYSIS_CASES))
def test_german_analysis(index: SearchIndex, case: str) -> None:
    letters, expected = ANALYSIS_CASES[case]
    for document_id, text in letters.items():
        index.index(doc(document_id, text, bg=BG_A))
    found = {
        query: set(ids(index, query)) if isinstance(hits, set) else ids(index, query)
        for query, hits in expected.items()
    }
    assert found == expected


def test_street_names_are_not_split_into_every_address(letters: SearchIndex) -> None:
    assert ids(letters, "Straße") == ["unknown"]


def test_slips_are_looked_for_only_when_the_exact_words_find_few(index: SearchIndex) -> None:
    exact = [doc(f"e{n}", f"Kontoauszug Nummer {n}", bg=BG_A) for n in range(FUZZY_BELOW)]
    index.index_many([*exact, doc("slip", "Kontoauszuq Nummer 99", bg=BG_A)])
    # Twenty documents as written: a slipped spelling would only rank below them all.
    assert index.search(SearchQuery("Kontoauszug", EVERYTHING)).total == FUZZY_BELOW
    # Narrowed to fewer than that, the slip is found.
    narrowed = index.search(SearchQuery("Kontoauszug Nummer 99", EVERYTHING))
    assert [h.document_id for h in narrowed.hits] == ["slip"]


def test_umlauts_in_names_match_without_e_too(letters: SearchIndex) -> None:
    assert sorted(ids(letters, "Muller")) == ["heating", "unknown"]
    assert ids(letters, "HAFENSTRASSE") == ["heating"]


def test_snippet_marks_compounds_and_slips(index: SearchIndex) -> None:
    index.index(doc("notice", "Ihr Widerspruchsbescheid vom Amt", bg=BG_A))
    index.index(doc("slip", "Ihre Nebenkostenabrechnunq kam an", bg=BG_A))
    [hit] = index.search(SearchQuery("Bescheid", EVERYTHING)).hits
    assert "<mark>Widerspruchsbescheid</mark>" in hit.snippet
    [hit] = index.search(SearchQuery("Nebenkostenabrechnung", EVERYTHING)).hits
    assert "<mark>Nebenkostenabrechnunq</mark>" in hit.snippet


# --- identifiers ------------------------------------------------------------------------------

IBAN = "DE14217500004630932854"


@pytest.fixture
def identified(index: SearchIndex) -> SearchIndex:
    index.index(
        doc(
            "bank",
            "Kontoauszug vom 09.11.2026",
            f"IBAN: DE14 2175 0000 4630 9328 54 BIC NOLADE21HUS, BG {BG_A}",
            bg=BG_A,
        )
    )
    index.index(doc("court", "Sozialgericht Schleswig, Az. S 12 AS 345/26 ER", bg=BG_B))
    index.index(doc("rent", f"Miete an IBAN {IBAN} ab 2026-11-10", bg=BG_B))
    index.index(
        IndexedDocument(
            document_id="appeal",
            source_name="appeal.pdf",
            received_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
            pages=["Klage gegen den Bescheid"],
            bg_number=BG_B,
            doc_type="klage",
            known_identifiers=("S 7 AS 1/26",),
        )
    )
    return index


def test_iban_is_found_however_it_is_grouped(identified: SearchIndex) -> None:
    assert sorted(ids(identified, IBAN)) == ["bank", "rent"]
    assert sorted(ids(identified, "DE14 2175 0000 4630 9328 54")) == ["bank", "rent"]
    assert sorted(ids(identified, "de14217500004630932854")) == ["bank", "rent"]
    assert ids(identified, "DE14 2175 0000 4630 9328 55") == []
    [hit] = identified.search(SearchQuery(f"{IBAN} Kontoauszug", EVERYTHING)).hits
    assert hit.page == 2
    assert "<mark>DE14</mark> <mark>2175</mark>" in hit.snippet


def test_court_reference_is_found_with_and_without_spaces(identified: SearchIndex) -> None:
    for typed in ("S 12 AS 345/26", "S12AS345/26", "s 12 as 345 / 26", "S 12 AS 345/26 ER"):
        assert ids(identified, typed) == ["court"], typed
    assert ids(identified, "S 12 AS 346/26") == []
    # The reference known from the database counts even when the text does not show it.
    assert ids(identified, "S 7 AS 1/26") == ["appeal"]


def test_dates_are_found_in_every_spelling(identified: SearchIndex) -> None:
    for typed in ("09.11.2026", "9.11.2026", "2026-11-09", "9. November 2026", "09.11.26"):
        assert ids(identified, typed) == ["bank"], typed
    assert ids(identified, "10.11.2026") == ["rent"]
    assert ids(identified, "11.11.2026") == []


def test_identifiers_combine_with_words(identified: SearchIndex) -> None:
    assert ids(identified, "Kontoauszug 09.11.2026") == ["bank"]
    assert ids(identified, "Miete 09.11.2026") == []
    assert ids(identified, f"{BG_A[:5]} BG {BG_A[7:]} IBAN") == ["bank"]


# --- filters, facets, dates -------------------------------------------------------------------


def filed(
    document_id: str,
    text: str,
    *,
    bg: str | None,
    doc_type: str,
    receipt: date,
    direction: str = "in",
) -> IndexedDocument:
    return IndexedDocument(
        document_id=document_id,
        source_name=f"{document_id}.pdf",
        received_at=datetime(receipt.year, receipt.month, receipt.day, 8, tzinfo=UTC),
        pages=[text],
        bg_number=bg,
        doc_type=doc_type,
        receipt_date=receipt,
        direction=direction,
    )


@pytest.fixture
def casefiles(index: SearchIndex) -> SearchIndex:
    index.index_many(
        [
            filed("a1", "Kontoauszug Januar", bg=BG_A, doc_type="kontoauszug",
                  receipt=date(2025, 1, 15)),
            filed("a2", "Kontoauszug Februar", bg=BG_A, doc_type="kontoauszug",
                  receipt=date(2026, 2, 10)),
            filed("a3", "Bescheid über Kontoauszug-Prüfung", bg=BG_A, doc_type="sonstiges",
                  receipt=date(2026, 3, 1), direction="out"),
            filed("b1", "Kontoauszug März", bg=BG_B, doc_type="kontoauszug",
                  receipt=date(2026, 3, 5)),
            filed("c1", "Kontoauszug ohne Absender", bg=None, doc_type="kontoauszug",
                  receipt=date(2026, 3, 6)),
        ]
    )  # fmt: skip
    return index


def search(index: SearchIndex, text: str, allowed: frozenset[str] = EVERYTHING, **kw):  # type: ignore[no-untyped-def]
    return index.search(SearchQuery(text, allowed, facets=True, **kw))


def test_facets_count_the_whole_result_and_only_what_the_user_may_see(
    casefiles: SearchIndex,
) -> None:
    result = search(casefiles, "Kontoauszug")
    assert result.total == 5
    assert result.facets == {
        "doc_type": {"kontoauszug": 4, "sonstiges": 1},
        "year": {"2026": 4, "2025": 1},
        "household": {BG_A: 3, BG_B: 1},
    }
    mine = search(casefiles, "Kontoauszug", frozenset({BG_A}), limit=1)
    assert (mine.total, len(mine.hits)) == (3, 1)
    assert mine.facets == {
        "doc_type": {"kontoauszug": 2, "sonstiges": 1},
        "year": {"2026": 2, "2025": 1},
        "household": {BG_A: 3},
    }
    assert search(casefiles, "Kontoauszug", frozenset({"95499BG0000001"})).facets == {}


def test_filters_by_type_date_and_direction(casefiles: SearchIndex) -> None:
    def found(**kw: object) -> list[str]:
        return sorted(h.document_id for h in search(casefiles, "Kontoauszug", **kw).hits)

    assert found(doc_types=frozenset({"sonstiges"})) == ["a3"]
    assert found(doc_types=frozenset({"sonstiges", "kontoauszug"})) == [
        "a1",
        "a2",
        "a3",
        "b1",
        "c1",
    ]
    assert found(receipt_from=date(2026, 3, 1)) == ["a3", "b1", "c1"]
    assert found(receipt_to=date(2026, 2, 10)) == ["a1", "a2"]
    assert found(receipt_from=date(2026, 2, 10), receipt_to=date(2026, 3, 1)) == ["a2", "a3"]
    assert found(direction="out") == ["a3"]
    assert found(direction="in", allowed=frozenset({BG_A})) == ["a1", "a2"]
    narrowed = search(casefiles, "Kontoauszug", receipt_from=date(2026, 1, 1), direction="in")
    assert narrowed.total == 3
    assert narrowed.facets["year"] == {"2026": 3}


def test_hit_carries_receipt_date_and_direction(casefiles: SearchIndex) -> None:
    [hit] = search(casefiles, "Bescheid").hits
    assert (hit.receipt_date, hit.direction, hit.doc_type) == (date(2026, 3, 1), "out", "sonstiges")


def test_receipt_date_defaults_to_the_day_the_scan_arrived(index: SearchIndex) -> None:
    # 23:30 UTC on 9 November is already 10 November in Germany.
    late = datetime(2026, 11, 9, 23, 30, tzinfo=UTC)
    index.index(IndexedDocument("late", "late.pdf", late, ["Abendpost"], bg_number=BG_A))
    [hit] = index.search(SearchQuery("Abendpost", EVERYTHING)).hits
    assert hit.receipt_date == date(2026, 11, 10)


# --- bulk writes and the rebuild --------------------------------------------------------------


def test_bulk_indexing_replaces_and_counts(index: SearchIndex) -> None:
    batch = [doc(f"n{n}", f"Mitteilung Nummer {n}", bg=BG_A) for n in range(30)]
    assert index.index_many(batch) == 30
    assert index.index_many(batch[:10]) == 10
    assert index.count() == 30
    assert index.search(SearchQuery("Mitteilung", EVERYTHING)).total == 30
    assert index.index_many([]) == 0


def test_entries_not_written_since_a_moment_are_removed(index: SearchIndex) -> None:
    index.index_many([doc("old", "Alter Eintrag", bg=BG_A), doc("kept", "Alter Eintrag", bg=BG_A)])
    time.sleep(1.1)  # entries are stamped to the second
    moment = datetime.now(UTC)
    index.index(doc("kept", "Neuer Eintrag", bg=BG_A))
    assert index.delete_indexed_before(moment) == 1
    assert ids(index, "Eintrag") == ["kept"]
    assert index.count() == 1
    assert index.delete_indexed_before(moment) == 0
