"""The search page rendered on the server (issue 15): labels from Python, a letter's hostile text
shown as text with the real hits marked, the address as the page's state, need-to-know, and
saved searches per user. Runs on the embedded index (SQLite)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from app.product import create_product_app
from records.runtime import Runtime
from tests.support import (
    ISLANDS,
    OWN,
    PASSWORD,
    file_indexed,
    file_search_letters,
    load_people,
)
from web.search_pages import snippet_segments

CASEWORKER = "lsb.95401.2"  # Husum: sees OWN and its neighbour, not ISLANDS
ISLANDER = "lsb.95403.1"  # Leistung Inseln: sees ISLANDS
DESK = "post.1"
BROWSER = {"Accept": "text/html"}
HOSTILE = "<img src=x onerror=alert(1)> <mark>Fake</mark>"
SEARCH_JS = Path(__file__).resolve().parent.parent / "web/static/search.js"


def _client(runtime: Runtime, login: str) -> TestClient:
    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


@pytest.fixture
def letters(sqlite_runtime: Runtime) -> dict[str, str]:
    load_people(sqlite_runtime)
    return file_search_letters(sqlite_runtime, target="caseworker")


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


def _part(page: str, name: str) -> str:
    match = re.search(rf'data-search-part="{name}".*?</(aside|section)>', page, re.S)
    assert match, name
    return match.group(0)


def test_the_results_part_has_the_german_labels_and_the_script_no_label_map(
    sqlite_runtime: Runtime, letters: dict[str, str]
) -> None:
    client = _client(sqlite_runtime, CASEWORKER)
    query = {"q": "Müller", "status": "routed", "direction": "in", "from": "2025-01-01"}
    answer = client.get(f"/suche/treffer?{urlencode(query)}", headers=BROWSER)
    assert answer.status_code == 200
    shown = _text(answer.text)
    assert "Treffer" in shown
    # The type's name, the state, the date in German, the hit's page, the household.
    assert "Widerspruch · Seite 1" in shown
    assert "Neben-/Betriebskostenabrechnung · Seite 2" in shown
    assert "Eingang 20.11.2025" in shown
    assert "offen im Postkorb" in shown
    assert f"BG {OWN}" in shown
    # The filters in force, each a link that lifts it, with its label.
    assert "offen im Postkorb ✕" in shown and "Posteingang ✕" in shown
    assert "ab 01.01.2025 ✕" in shown
    facets = _text(_part(answer.text, "facets"))
    assert "Dokumentart" in facets and "Eingangsjahr" in facets and "Haushalt (BG)" in facets
    assert "Neben-/Betriebskostenabrechnung" in facets
    # The script knows no labels any more: every one comes from the server.
    script = SEARCH_JS.read_text(encoding="utf-8")
    for label in ("offen im Postkorb", "in Klärung", "Postausgang", "Dokumentart", "Treffer"):
        assert label not in script, label
    assert "/api/doctypes" not in script and "/api/search" not in script


def test_a_hostile_letter_is_found_and_shown_as_text_with_the_real_hits_marked(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    file_indexed(sqlite_runtime, OWN, "sonstiges", f"Schimmelbefall im Bad {HOSTILE} bitte prüfen")
    client = _client(sqlite_runtime, CASEWORKER)
    for path in ("/suche", "/suche/treffer"):
        answer = client.get(f"{path}?q=Schimmelbefall", headers=BROWSER)
        assert answer.status_code == 200
        results = _part(answer.text, "results")
        assert "<img" not in results
        assert "&lt;img src=x onerror=alert(1)&gt;" in results
        assert "&lt;mark&gt;Fake&lt;/mark&gt;" in results
        # The only element the snippet holds is the mark of the real hit.
        assert re.findall(r"<mark>(.*?)</mark>", results) == ["Schimmelbefall"]


def test_snippet_segments_take_only_the_index_marks_as_marks() -> None:
    escaped = "&lt;mark&gt;x&lt;/mark&gt; <mark>Miete</mark> &amp;lt; <mark>M&#x27;s</mark>"
    assert snippet_segments(escaped) == [
        ("<mark>x</mark> ", False),
        ("Miete", True),
        (" &lt; ", False),
        ("M's", True),
    ]


def test_the_page_answers_the_address_with_the_form_filled_and_the_hits_shown(
    sqlite_runtime: Runtime, letters: dict[str, str]
) -> None:
    """What a reload, Back or a browser without script gets: the address's search, done."""
    client = _client(sqlite_runtime, CASEWORKER)
    query = {"q": "Nebenkosten*", "doc_type": "nebenkostenabrechnung", "team": "Leistung Husum"}
    page = client.get(f"/suche?{urlencode(query)}", headers=BROWSER).text
    assert 'action="/suche" method="get"' in page
    assert 'value="Nebenkosten*"' in page
    chosen = '<option value="nebenkostenabrechnung" selected>Neben-/Betriebskostenabrechnung<'
    assert chosen in page
    assert '<option value="Leistung Husum" selected>Leistung Husum</option>' in page
    assert "Leistung Inseln" in page  # the team list offers every team
    summary = re.search(r'class="summary"[^>]*>([^<]*)<', page)
    assert summary and summary.group(1) == "4 Treffer"
    # The links of facets and lifted filters keep the rest of the search.
    assert 'href="/suche?q=Nebenkosten%2A&amp;team=Leistung+Husum"' in page  # type lifted
    # A search the address cannot ask is said in German, not an error page.
    bad = client.get("/suche?q=Miete&from=kaputt", headers=BROWSER)
    assert bad.status_code == 200
    assert "ist kein Datum für »Eingang ab«" in unescape(bad.text)
    unknown = client.get("/suche?q=Miete&team=Gibt+es+nicht", headers=BROWSER)
    assert "Das Team »Gibt es nicht« gibt es nicht." in unescape(unknown.text)


def test_a_user_without_access_to_a_household_sees_no_hit_of_it(
    sqlite_runtime: Runtime, letters: dict[str, str]
) -> None:
    husum = _client(sqlite_runtime, CASEWORKER)
    for path in ("/suche", "/suche/treffer"):
        for query in ({"q": "Föhr"}, {"q": "Nebenkostenabrechnung", "bg_number": ISLANDS}):
            page = husum.get(f"{path}?{urlencode(query)}", headers=BROWSER).text
            assert "Keine Treffer in den Akten, die Sie sehen dürfen." in page, (path, query)
            assert f'data-document="{letters["islands_costs"]}"' not in page
        everything = husum.get(f"{path}?q=Nebenkostenabrechnung", headers=BROWSER).text
        assert ISLANDS not in everything  # neither as a hit nor as a facet
        assert letters["islands_costs"] not in everything
    # The colleague of the islands finds it.
    islands = _client(sqlite_runtime, ISLANDER)
    page = islands.get("/suche?q=F%C3%B6hr", headers=BROWSER).text
    assert f'data-document="{letters["islands_costs"]}"' in page
    # An E-Akte's box searches only its household.
    part = husum.get(f"/suche/treffer?q=M%C3%BCller&akte={OWN}", headers=BROWSER).text
    assert letters["neighbour_mueller_schmidt"] not in part
    assert "Haushalt (BG)" not in part and f"BG {OWN} ✕" not in part


def test_a_saved_search_restores_its_query_and_belongs_to_its_user(
    sqlite_runtime: Runtime, letters: dict[str, str]
) -> None:
    client = _client(sqlite_runtime, CASEWORKER)
    query = urlencode({"q": "Nebenkosten", "status": "routed", "team": "Leistung Husum"})
    saved = client.post(
        "/suche/ansichten",
        data={"name": "Nebenkosten offen", "query": query},
        headers=BROWSER,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/suche?{query}&hinweis=gespeichert"
    page = client.get(saved.headers["location"], headers=BROWSER).text
    assert "Suche gespeichert." in page
    link = re.search(r'<li data-id="(\d+)">\s*<a href="([^"]+)"[^>]*>Nebenkosten offen</a>', page)
    assert link, page
    view_id, href = link.group(1), unescape(link.group(2))
    assert href == f"/suche?{query}"
    # Opened again: the form and the results of the saved search.
    opened = client.get(href, headers=BROWSER).text
    assert 'value="Nebenkosten"' in opened
    assert '<option value="routed" selected>offen im Postkorb</option>' in opened
    assert '<option value="Leistung Husum" selected>Leistung Husum</option>' in opened
    assert re.search(r'class="summary"[^>]*>\d+ Treffer<', opened)

    # The same name again, no name, an unknown type: refused with the name kept (422).
    for name, wanted in [
        ("nebenkosten OFFEN", "Eine Ansicht »nebenkosten OFFEN« gibt es schon."),
        ("  ", "Bitte einen Namen für die Ansicht angeben."),
    ]:
        refused = client.post("/suche/ansichten", data={"name": name, "query": query})
        assert refused.status_code == 422
        assert wanted in unescape(refused.text)
    forged = client.post(
        "/suche/ansichten", data={"name": "x", "query": "q=Miete&doc_type=<script>"}
    )
    assert forged.status_code == 422
    assert "Unbekannter Wert" in unescape(forged.text)

    # Another user neither lists nor deletes it.
    other = _client(sqlite_runtime, "lsb.95401.1")
    assert "Nebenkosten offen" not in other.get("/suche", headers=BROWSER).text
    stolen = other.post(f"/suche/ansichten/{view_id}/loeschen", data={"query": ""})
    assert stolen.status_code == 404
    assert "Nebenkosten offen" in client.get("/suche", headers=BROWSER).text
    # Its owner deletes it.
    deleted = client.post(
        f"/suche/ansichten/{view_id}/loeschen",
        data={"query": query},
        headers=BROWSER,
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/suche?{query}&hinweis=geloescht"
    after = client.get(deleted.headers["location"], headers=BROWSER).text
    assert "Gespeicherte Suche gelöscht." in after and "Nebenkosten offen" not in after


def test_the_desk_searches_without_saved_searches(
    sqlite_runtime: Runtime, letters: dict[str, str]
) -> None:
    desk = _client(sqlite_runtime, DESK)
    page = desk.get("/suche?q=Nebenkostenabrechnung", headers=BROWSER)
    assert page.status_code == 200
    assert "Gespeicherte Suchen" not in page.text
    assert letters["clearing_costs"] in page.text  # clearing's letter, for filing it


def test_paging_links_keep_the_search_and_count_the_range(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    for number in range(22):
        file_indexed(sqlite_runtime, OWN, "sonstiges", f"Mietbescheinigung Nummer {number}")
    client = _client(sqlite_runtime, CASEWORKER)
    first = client.get("/suche?q=Mietbescheinigung&direction=in", headers=BROWSER).text
    assert "22 Treffer (1–20)" in first
    assert first.count('class="hit"') == 20
    assert 'href="/suche?q=Mietbescheinigung&amp;direction=in&amp;offset=20"' in first
    assert 'rel="prev"' not in first
    second = client.get(
        "/suche/treffer?q=Mietbescheinigung&direction=in&offset=20", headers=BROWSER
    ).text
    assert "22 Treffer (21–22)" in second
    assert second.count('class="hit"') == 2
    assert 'href="/suche?q=Mietbescheinigung&amp;direction=in"' in second  # back to the first
    assert 'rel="next"' not in second
