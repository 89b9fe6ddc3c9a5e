"""One place answers every error: a German page for a browser that opened a page, JSON for
programs and for the pages' own scripts; both with the strict security headers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from app.product import create_product_app
from core.errors import Conflict, InvalidInput
from records.runtime import Runtime
from tests.support import PASSWORD, load_people
from tests.support_browser import log_out

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
OFFICE = "ws.1"


def _csp(answer) -> str:  # type: ignore[no-untyped-def]
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    return policy


@pytest.fixture
def app(sqlite_runtime: Runtime) -> FastAPI:
    app = create_product_app(sqlite_runtime)

    def broken_page() -> None:
        raise RuntimeError("kaputt: geheime Einzelheit")

    def conflicting_page() -> None:
        raise Conflict("Der Vorgang <b>ist</b> schon abgeschlossen.")

    def refused_request() -> None:
        raise InvalidInput("Nicht alle Dokumente gehören zur Akte.", documents=["a", "b"])

    app.add_api_route("/kaputt", broken_page)
    app.add_api_route("/abgeschlossen", conflicting_page)
    app.add_api_route("/api/abgelehnt", refused_request)
    return app


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def test_an_unknown_address_is_a_german_page_for_a_browser_and_json_for_a_program(
    client: TestClient,
) -> None:
    shown = client.get("/gibt-es-nicht", headers=BROWSER)
    assert shown.status_code == 404
    assert shown.headers["content-type"].startswith("text/html")
    assert "<h1>Nicht gefunden</h1>" in shown.text
    assert "Diese Adresse gibt es nicht." in shown.text
    _csp(shown)

    for path, headers in [("/api/gibt-es-nicht", BROWSER), ("/gibt-es-nicht", {})]:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404
        assert answer.json() == {
            "error": {"code": "not_found", "message": "Diese Adresse gibt es nicht."}
        }
        _csp(answer)


def test_an_unexpected_error_is_a_german_page_that_tells_nothing_of_its_cause(
    client: TestClient,
) -> None:
    shown = client.get("/kaputt", headers=BROWSER)
    assert shown.status_code == 500
    assert shown.headers["content-type"].startswith("text/html")
    assert "<h1>Störung</h1>" in shown.text and "Ein technischer Fehler" in shown.text
    assert "geheime" not in shown.text and "RuntimeError" not in shown.text
    _csp(shown)

    answer = client.get("/kaputt")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert "geheime" not in answer.text


def test_a_domain_error_on_a_page_is_a_german_page_with_its_message_escaped(
    client: TestClient,
) -> None:
    shown = client.get("/abgeschlossen", headers=BROWSER)
    assert shown.status_code == 409
    assert shown.headers["content-type"].startswith("text/html")
    assert "Der Vorgang &lt;b&gt;ist&lt;/b&gt; schon abgeschlossen." in shown.text
    assert "<b>ist</b>" not in shown.text
    _csp(shown)
    # The pages' scripts ask with JSON in mind and get JSON.
    assert client.get("/abgeschlossen").json()["error"]["code"] == "conflict"


def test_the_json_answer_carries_the_errors_details(client: TestClient) -> None:
    answer = client.get("/api/abgelehnt", headers=BROWSER)
    assert answer.status_code == 422
    assert answer.json() == {
        "error": {
            "code": "invalid_input",
            "message": "Nicht alle Dokumente gehören zur Akte.",
            "details": {"documents": ["a", "b"]},
        }
    }


def test_a_page_address_that_does_not_parse_is_a_german_page(
    sqlite_runtime: Runtime, client: TestClient
) -> None:
    load_people(sqlite_runtime)
    login = client.post("/api/auth/login", json={"login": OFFICE, "password": PASSWORD})
    assert login.status_code == 200
    shown = client.get("/widersprueche/keine-nummer", headers=BROWSER)
    assert shown.status_code == 422
    assert "<h1>Eingabe nicht verwendbar</h1>" in shown.text
    # Signed in: the page keeps the menu.
    assert "Widersprüche und Klagen" in shown.text
    unknown = client.get("/dokument/kein-dokument", headers=BROWSER)
    assert unknown.status_code == 404
    assert "Dokument nicht gefunden." in unknown.text
    refused = client.get("/dokument/00000000-0000-0000-0000-000000000000", headers=BROWSER)
    assert refused.status_code == 403
    assert "<h1>Kein Zugriff</h1>" in refused.text


def test_a_page_that_needs_a_login_leads_to_it_and_back(client: TestClient) -> None:
    # A page route is a page whatever the client accepts.
    for headers in (BROWSER, {}):
        answer = client.get("/widersprueche/7?x=1", headers=headers, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/anmelden?next=/widersprueche/7%3Fx%3D1"


@pytest.mark.slow
def test_a_browser_shows_the_german_error_pages_under_the_strict_policy(
    live_url: str,
    page: Page,
) -> None:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    answer = page.goto(f"{live_url}/gibt-es-nicht")
    assert answer is not None and answer.status == 404
    expect(page).to_have_title("Nicht gefunden – E-Akte Jobcenter")
    expect(page.get_by_role("heading", name="Nicht gefunden")).to_be_visible()
    expect(page.get_by_text("Diese Adresse gibt es nicht.")).to_be_visible()

    page.goto(f"{live_url}/anmelden")
    page.get_by_label("Benutzername").fill(OFFICE)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).not_to_have_url(f"{live_url}/anmelden")
    answer = page.goto(f"{live_url}/widersprueche/keine-nummer")
    assert answer is not None and answer.status == 422
    expect(page.get_by_role("heading", name="Eingabe nicht verwendbar")).to_be_visible()
    # The page's own script runs under the policy: the menu works, and so does logging out.
    log_out(page, live_url)
    refused = [p for p in problems if "Content Security Policy" in p or "TrustedHTML" in p]
    assert refused == []


def test_a_cross_site_refusal_is_a_german_page_for_a_browser_and_json_for_a_program(
    client: TestClient,
) -> None:
    forged = {"origin": "https://fremd.example", "sec-fetch-site": "cross-site"}
    shown = client.post("/suche", headers=BROWSER | forged, data={"q": "x"})
    assert shown.status_code == 403
    assert shown.headers["content-type"].startswith("text/html")
    assert "Die Anfrage kam nicht von einer Seite der E-Akte" in shown.text
    assert "Origin" in shown.headers["vary"]
    _csp(shown)

    answered = client.post("/api/objections", headers=BROWSER | forged, json={})
    assert answered.status_code == 403
    assert answered.json()["error"]["code"] == "cross_site_request"


def test_a_body_over_the_limit_is_a_german_page_for_a_browser_and_json_for_a_program(
    app: FastAPI,
) -> None:
    async def form_page(request: Request) -> HTMLResponse:
        await request.body()
        return HTMLResponse("<p>angekommen</p>")

    app.add_api_route("/formular", form_page, methods=["POST"], response_class=HTMLResponse)
    client = TestClient(app, raise_server_exceptions=False)
    too_much = "x" * (app.state.runtime.settings.max_json_kb * 1024 + 1)
    shown = client.post("/formular", headers=BROWSER, content=too_much)
    assert shown.status_code == 413
    assert shown.headers["content-type"].startswith("text/html")
    assert "Zu groß" in shown.text and "Die Anfrage ist zu groß" in shown.text
    _csp(shown)

    answered = client.post(
        "/api/objections",
        headers=BROWSER | {"content-type": "application/json"},
        content=too_much,
    )
    assert answered.status_code == 413
    assert answered.json()["error"]["code"] == "request_too_large"
