"""Every answer of the product carries the security headers: pages, JSON, static files, errors.

The Content-Security-Policy is strict (no inline script or style, no eval, Trusted Types with the
one policy of web/static/format.js), so that a letter's text that slipped into HTML could not run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.product import create_product_app
from app.runtime import build_runtime
from records.runtime import Runtime
from tests.support import (
    OWN,
    PASSWORD,
    SCHLESWIG_APPEAL,
    client_for,
    file_indexed,
    load_people,
    make_settings,
    register_appeal,
)
from web.security_headers import SecurityHeaders

OFFICE = "ws.1"
CASEWORKER = "lsb.95401.2"  # OWN is his household
DESK = "post.1"


def _directives(policy: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def assert_secured(response, *, hsts: bool = False) -> None:  # type: ignore[no-untyped-def]
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    policy = response.headers.get("content-security-policy")
    assert policy, f"no CSP on {where}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    csp = _directives(policy)
    assert csp["default-src"] == ["'self'"], where
    assert csp["script-src"] == ["'self'"], where
    assert csp["style-src"] == ["'self'"], where
    assert csp["object-src"] == ["'none'"], where
    assert csp["base-uri"] == ["'none'"], where
    assert csp["frame-ancestors"] == ["'none'"], where
    assert csp["form-action"] == ["'self'"], where
    assert csp["require-trusted-types-for"] == ["'script'"], where
    assert csp["trusted-types"] == ["eakte"], where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "same-origin", where
    assert response.headers.get("x-frame-options") == "DENY", where
    if hsts:
        assert re.match(r"max-age=\d{7,}", response.headers["strict-transport-security"]), where
    else:
        assert "strict-transport-security" not in response.headers, where


def _product_client(runtime: Runtime, login: str | None) -> TestClient:
    client = TestClient(create_product_app(runtime), raise_server_exceptions=False)
    if login:
        answer = client.post("/api/auth/login", json={"login": login, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        assert_secured(answer)
    return client


@pytest.fixture
def cases(sqlite_runtime: Runtime) -> dict[str, str]:
    load_people(sqlite_runtime)
    office_team = "team:Widerspruchsstelle"
    letter = file_indexed(sqlite_runtime, OWN, "widerspruch", "Widerspruch", target=office_team)
    court = file_indexed(
        sqlite_runtime, OWN, "klage", "Sozialgericht Schleswig", target=office_team
    )
    office = client_for(sqlite_runtime, OFFICE)
    objection = office.post("/api/objections", json={"document_id": letter})
    assert objection.status_code == 201, objection.text
    appeal = register_appeal(office, court, SCHLESWIG_APPEAL)
    return {
        "letter": letter,
        "objection": str(objection.json()["id"]),
        "appeal": str(appeal["id"]),
    }


def test_every_page_json_static_and_error_answer_carries_the_headers(
    sqlite_runtime: Runtime, cases: dict[str, str]
) -> None:
    anonymous = _product_client(sqlite_runtime, None)
    for path, status in [
        ("/anmelden", 200),
        ("/static/format.js", 200),
        ("/static/eakte.css", 200),
        ("/api/inbox", 401),  # JSON error
        ("/gibt-es-nicht", 404),
        ("/", 303),
    ]:
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == status, path
        assert_secured(answer)

    office = _product_client(sqlite_runtime, OFFICE)
    letter = cases["letter"]
    pages = [
        "/postkorb",
        f"/akte/{OWN}",
        f"/akte/{OWN}/aktenauszug",
        f"/viewer?doc={letter}",
        "/suche?q=Widerspruch",
        "/widersprueche",
        f"/widersprueche/{cases['objection']}",
        f"/klagen/{cases['appeal']}",
    ]
    for path in pages:
        answer = office.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert_secured(answer)
    for path in ["/api/inbox", "/api/inbox/counts", f"/api/documents/{letter}/legal-intake"]:
        answer = office.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("application/json"), path
        assert_secured(answer)
    for path, status in [
        ("/scanstelle", 403),
        ("/klaerung", 403),
        # Unknown ids are answered like foreign ones.
        ("/akte/95401BG0000000", 403),
        ("/widersprueche/999999", 403),
        ("/dokument/00000000-0000-0000-0000-000000000000", 403),
        ("/api/objections/999999", 403),
        ("/gibt-es-nicht", 404),
    ]:
        answer = office.get(path)
        assert answer.status_code == status, path
        assert_secured(answer)

    caseworker = _product_client(sqlite_runtime, CASEWORKER)
    for path in ["/vertretung", "/postkorb"]:
        answer = caseworker.get(path)
        assert answer.status_code == 200, path
        assert_secured(answer)
    answer = caseworker.get("/widersprueche")
    assert answer.status_code == 403
    assert_secured(answer)

    desk = _product_client(sqlite_runtime, DESK)
    for path in ["/scanstelle", "/klaerung", "/suche"]:
        answer = desk.get(path)
        assert answer.status_code == 200, path
        assert_secured(answer)


def test_an_unexpected_error_answer_carries_the_headers(sqlite_runtime: Runtime) -> None:
    app = create_product_app(sqlite_runtime)

    def broken() -> None:
        raise RuntimeError("kaputt")

    app.add_api_route("/kaputt", broken)
    answer = TestClient(app, raise_server_exceptions=False).get("/kaputt")
    assert answer.status_code == 500
    assert_secured(answer)


def test_hsts_only_when_the_cookie_is_secure(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data", cookie_secure=True))
    try:
        client = TestClient(create_product_app(runtime), base_url="https://testserver")
        for path in ["/anmelden", "/api/inbox", "/static/format.js"]:
            assert_secured(client.get(path), hsts=True)
    finally:
        runtime.close()


def test_a_pdf_gets_a_policy_that_still_lets_the_browser_show_it() -> None:
    """The browser's own PDF viewer may run; nothing else, script least of all."""

    async def pdf_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/pdf")],
            }
        )
        await send({"type": "http.response.body", "body": b"%PDF-1.7"})

    answer = TestClient(SecurityHeaders(pdf_app, hsts=False)).get("/x.pdf")
    policy = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    csp = _directives(policy)
    assert csp["default-src"] == ["'none'"]
    assert "script-src" not in csp
    assert csp["frame-ancestors"] == ["'none'"]
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_every_template_escapes_what_it_prints() -> None:
    from app.product import STATIC_DIR
    from web.pages import templates

    assert templates.env.autoescape is True
    folder = STATIC_DIR.parent / "templates"
    for path in folder.glob("*"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup\(", source), path.name
        # No inline script or style and no event handler attributes: the CSP refuses them.
        inline = r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+="
        assert not re.search(inline, source), path.name
    page = templates.env.from_string("<p title='{{ v }}'>{{ v }}</p>").render(v="'\"><b>")
    assert page == "<p title='&#39;&#34;&gt;&lt;b&gt;'>&#39;&#34;&gt;&lt;b&gt;</p>"


def test_no_script_builds_html_from_strings() -> None:
    """innerHTML only in setHtml of format.js; no other HTML sink, no private escaping copy."""
    from app.product import STATIC_DIR

    sinks = re.compile(r"\.innerHTML\s*=|outerHTML|insertAdjacentHTML|document\.write|\beval\(")
    for path in STATIC_DIR.glob("*.js"):
        source = path.read_text(encoding="utf-8")
        found = sinks.findall(source)
        if path.name == "format.js":
            assert found == [".innerHTML ="], found
        else:
            assert found == [], (path.name, found)
            copies = r"function\s+(esc|escapeHtml|text)\(|const esc\b"
            assert not re.search(copies, source), path.name
        # Markup in scripts has no inline handlers or styles either (the CSP refuses them).
        assert not re.search(r"\s(on[a-z]+|style)=[\"']", source), path.name
