"""Guards on every request: cross-site forgery, body sizes, login throttling, sessions, and
what anonymous visitors and the access log get to see."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

import records.users
from api.app import create_app
from app.runtime import build_runtime
from core.db import transaction, utcnow
from records.models import AuditEvent, InboxItem, LoginSession, LoginThrottle, ScanBatch, User
from records.runtime import Runtime
from records.users import set_password
from tests.support import (
    OWN,
    PASSWORD,
    Held,
    add_admin,
    client_for,
    file_indexed,
    live_server,
    load_people,
    make_settings,
    sample,
    staff_csv_moving,
)

CASEWORKER = "lsb.95401.2"  # Leistung Husum, caseworker of OWN

FORGERIES = {
    "other port": {"Origin": "http://127.0.0.1:9999"},
    "same site": {"Sec-Fetch-Site": "same-site"},
    "cross site": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    "sandboxed": {"Origin": "null"},
    "other host, same port": {"Origin": "http://intranet.testserver"},
}
OWN_PAGE = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Runtime:
    load_people(sqlite_runtime)
    add_admin(sqlite_runtime)
    return sqlite_runtime


def _batches(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(ScanBatch)) or 0


def _team_of(runtime: Runtime, login: str) -> str | None:
    with transaction(runtime.sessions) as session:
        user = session.scalar(select(User).where(User.login == login))
        assert user is not None
        return user.team.name if user.team else None


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_requests_from_another_origin_are_refused_and_change_nothing(
    people: Runtime, forgery: str
) -> None:
    runtime = people
    headers = FORGERIES[forgery]
    caseworker = client_for(runtime, CASEWORKER)
    admin = client_for(runtime, "admin")

    def upload(extra: dict[str, str]):  # type: ignore[no-untyped-def]
        return caseworker.post(
            f"/api/households/{OWN}/documents",
            data={"kind": "bescheid", "dispatch_date": "2026-10-10"},
            files={"file": ("Bescheid.pdf", sample("docs/0001.pdf").read_bytes())},
            headers=extra,
        )

    refused = upload(headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "cross_site_request"
    assert "nicht von einer Seite der E-Akte" in refused.json()["error"]["message"]
    assert _batches(runtime) == 0

    file_indexed(runtime, OWN, "kontoauszug", "Kontoauszug")
    [item] = caseworker.get("/api/inbox").json()["items"]
    done = caseworker.post(f"/api/inbox/{item['id']}/done", headers=headers)
    assert done.status_code == 403 and done.json()["error"]["code"] == "cross_site_request"
    with transaction(runtime.sessions) as session:
        assert session.get(InboxItem, item["id"]).state != "done"  # type: ignore[union-attr]

    forged_csv = staff_csv_moving(CASEWORKER, "Leistung Inseln")
    imported = admin.post(
        "/api/import/staff",
        content=forged_csv,
        headers={"Content-Type": "text/csv", **headers},
    )
    assert imported.status_code == 403
    assert _team_of(runtime, CASEWORKER) == "Leistung Husum"

    # The same requests from the product's own pages go through.
    assert upload(OWN_PAGE).status_code == 201
    assert _batches(runtime) == 1
    assert caseworker.post(f"/api/inbox/{item['id']}/done", headers=OWN_PAGE).status_code == 200
    imported = admin.post(
        "/api/import/staff",
        content=forged_csv,
        headers={"Content-Type": "text/csv", **OWN_PAGE},
    )
    assert imported.status_code == 200, imported.text
    assert _team_of(runtime, CASEWORKER) == "Leistung Inseln"


def test_a_login_from_another_origin_is_refused_and_reading_is_not(people: Runtime) -> None:
    client = client_for(people)
    body = {"login": CASEWORKER, "password": PASSWORD}
    forged = client.post("/api/auth/login", json=body, headers=FORGERIES["other port"])
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    # A link from elsewhere still opens pages: reading changes nothing.
    assert client.get("/health", headers=FORGERIES["cross site"]).status_code == 200
    # Scripts and the command line send neither header.
    assert client.post("/api/auth/login", json=body).status_code == 200


def test_trusted_origins_cover_a_proxy_with_a_public_address(tmp_path: Path) -> None:
    runtime = build_runtime(
        make_settings(tmp_path / "data", trusted_origins=["https://eakte.jobcenter.example"])
    )
    load_people(runtime)
    client = client_for(runtime)
    body = {"login": CASEWORKER, "password": PASSWORD}
    public = {"Origin": "https://eakte.jobcenter.example", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/auth/login", json=body, headers=public).status_code == 200
    other = {"Origin": "https://eakte.jobcenter.example:8443"}
    assert client.post("/api/auth/login", json=body, headers=other).status_code == 403


def test_master_data_is_imported_only_as_csv(people: Runtime) -> None:
    admin = client_for(people, "admin")
    body = staff_csv_moving(CASEWORKER, "Leistung Inseln")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        refused = admin.post("/api/import/staff", content=body, headers=headers)
        assert refused.status_code == 415, content_type
        assert refused.json()["error"]["message"].startswith("Stammdaten bitte als CSV-Datei")
    assert _team_of(people, CASEWORKER) == "Leistung Husum"
    accepted = admin.post(
        "/api/import/staff", content=body, headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert accepted.status_code == 200
    assert _team_of(people, CASEWORKER) == "Leistung Inseln"


def test_json_bodies_are_small_and_only_uploads_are_large(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data", max_json_kb=64, max_upload_mb=2))
    load_people(runtime)
    anonymous = client_for(runtime)
    huge = b'{"login": "x", "password": "' + b"a" * (50 * 1024 * 1024) + b'"}'
    refused = anonymous.post(
        "/api/auth/login", content=huge, headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "request_too_large"
    assert "zu groß" in refused.json()["error"]["message"]

    # Without a declared length the body is counted while it arrives.
    sent = 0

    def chunks():  # type: ignore[no-untyped-def]
        nonlocal sent
        for _ in range(200):
            sent += 1
            yield b"a" * 4096

    streamed = anonymous.post(
        "/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413

    caseworker = client_for(runtime, CASEWORKER)
    note = caseworker.post(f"/api/households/{OWN}/notes", json={"text": "x" * 100_000})
    assert note.status_code == 413

    # A scan over the JSON limit but under the upload limit is taken on every upload route.
    scan = sample("docs/0001.pdf").read_bytes()
    assert 64 * 1024 < len(scan) < 2 * 1024 * 1024
    desk = client_for(runtime, "post.1")
    assert desk.post("/api/documents", files={"file": ("a.pdf", scan)}).status_code == 201
    filed = caseworker.post(
        f"/api/households/{OWN}/documents",
        data={"kind": "bescheid", "dispatch_date": "2026-10-10"},
        files={"file": ("Bescheid.pdf", scan)},
    )
    assert filed.status_code == 201
    add_admin(runtime)
    csv = sample("households.csv").read_bytes() + b"\n" * (100 * 1024)
    imported = client_for(runtime, "admin").post(
        "/api/import/households", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    too_big = desk.post("/api/documents", files={"file": ("a.pdf", b"%PDF" + b"0" * 3 * 1048576)})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "upload_too_large"


def _login(client: TestClient, login: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"login": login, "password": password})


def test_failed_logins_make_the_account_wait_longer_each_time(people: Runtime) -> None:
    client = client_for(people)
    for _ in range(5):
        assert _login(client, CASEWORKER, "falsch-falsch").status_code == 401
    # Even the right password waits now, and the answer says how long.
    waiting = _login(client, CASEWORKER)
    assert waiting.status_code == 429
    assert waiting.json()["error"]["code"] == "login_throttled"
    assert "30 Sekunden" in waiting.json()["error"]["message"]
    assert waiting.headers["Retry-After"] in ("29", "30")
    # Other accounts from the same address are not held up.
    assert _login(client, "lsb.95401.1").status_code == 200

    def wait_is_over() -> None:
        with transaction(people.sessions) as session:
            session.execute(update(LoginThrottle).values(locked_until=utcnow()))

    wait_is_over()
    assert _login(client, CASEWORKER, "falsch-falsch").status_code == 401
    doubled = _login(client, CASEWORKER)
    assert doubled.status_code == 429 and "1 Minute" in doubled.json()["error"]["message"]
    wait_is_over()
    assert _login(client, CASEWORKER).status_code == 200
    # A successful login forgives the account's failures.
    assert _login(client, CASEWORKER, "falsch-falsch").status_code == 401
    assert _login(client, CASEWORKER).status_code == 200
    refusals = [
        e.details.get("code")
        for e in _events(people)
        if e.action == "auth.login" and e.outcome == "refused"
    ]
    assert refusals.count("login_throttled") == 2


def test_unknown_logins_are_throttled_like_known_ones(people: Runtime) -> None:
    client = client_for(people)
    for _ in range(5):
        assert _login(client, "niemand", "falsch-falsch").status_code == 401
    assert _login(client, "niemand", "falsch-falsch").status_code == 429


def test_one_address_guessing_at_many_accounts_waits(tmp_path: Path) -> None:
    runtime = build_runtime(
        make_settings(tmp_path / "data", login_failures_per_address=4, login_delay_seconds=90)
    )
    load_people(runtime)
    guesser = TestClient(create_app(runtime), client=("10.1.2.3", 40000))
    for login in ("lsb.95401.1", "lsb.95401.3", "lsb.95403.1", "niemand"):
        assert _login(guesser, login, "falsch-falsch").status_code == 401
    refused = _login(guesser, CASEWORKER)
    assert refused.status_code == 429 and "2 Minuten" in refused.json()["error"]["message"]
    # Colleagues at other addresses log in as usual.
    colleague = TestClient(create_app(runtime), client=("10.1.2.4", 40000))
    assert _login(colleague, CASEWORKER).status_code == 200


def test_login_failures_count_across_web_processes_and_restarts(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path / "data", database_url=database_url)
    first = build_runtime(settings)
    load_people(first)
    for _ in range(3):
        assert _login(client_for(first), CASEWORKER, "falsch-falsch").status_code == 401
    # A second process (or the same after a restart) on the same database.
    second = build_runtime(settings)
    for _ in range(2):
        assert _login(client_for(second), CASEWORKER, "falsch-falsch").status_code == 401
    first.close()
    assert _login(client_for(second), CASEWORKER).status_code == 429
    second.close()


def test_password_is_verified_with_no_transaction_open(
    people: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a transaction holds the write lock; Argon2 inside one makes everybody wait."""
    held = Held(records.users._hasher, "verify")
    monkeypatch.setattr(records.users, "_hasher", held)
    client = client_for(people)
    for login in (CASEWORKER, "niemand"):
        held.started.clear()
        held.release.clear()
        answers: list[int] = []

        def log_in(login: str = login, answers: list[int] = answers) -> None:
            answers.append(_login(client, login, "falsch").status_code)

        thread = threading.Thread(target=log_in)
        thread.start()
        try:
            assert held.started.wait(30)
            database = people.settings.data_dir / "eakte.db"
            other = sqlite3.connect(database, timeout=0.5, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # "database is locked" if the login held it
                other.execute("ROLLBACK")
            finally:
                other.close()
        finally:
            held.release.set()
            thread.join(30)
        assert answers == [401]


def test_a_password_change_ends_every_session_of_that_user(people: Runtime) -> None:
    first, second = client_for(people, CASEWORKER), client_for(people, CASEWORKER)
    colleague = client_for(people, "lsb.95401.1")
    with transaction(people.sessions) as session:
        set_password(session, CASEWORKER, "ein-ganz-neues-passwort")
    for client in (first, second):
        assert client.get("/api/auth/me").status_code == 401
    assert colleague.get("/api/auth/me").status_code == 200
    assert _login(client_for(people), CASEWORKER, "ein-ganz-neues-passwort").status_code == 200


def _session_seen(runtime: Runtime, minutes_ago: float) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(
            update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=minutes_ago))
        )


def _last_seen(runtime: Runtime):  # type: ignore[no-untyped-def]
    with transaction(runtime.sessions) as session:
        return session.scalar(select(LoginSession.last_seen_at))


def test_an_idle_session_ends_and_a_used_one_stays(people: Runtime) -> None:
    client = client_for(people, CASEWORKER)
    # Used 29 minutes ago: still open, and the request counts as use.
    _session_seen(people, 29)
    assert client.get("/api/auth/me").status_code == 200
    seen = _last_seen(people)
    assert utcnow() - seen < timedelta(minutes=1)
    # Requests within the minute do not write the session again.
    for _ in range(3):
        assert client.get("/api/inbox").status_code == 200
    assert _last_seen(people) == seen
    _session_seen(people, 31)
    idle = client.get("/api/auth/me")
    assert idle.status_code == 401
    assert idle.json()["error"]["code"] == "session_idle"
    assert "30 Minuten ohne Aktivität" in idle.json()["error"]["message"]


def test_over_tls_the_cookie_is_host_only_and_secure(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path / "data", cookie_secure=True))
    load_people(runtime)
    client = TestClient(create_app(runtime), base_url="https://testserver")
    response = _login(client, CASEWORKER)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-eakte_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path", "samesite"} <= attributes
    assert "domain" not in attributes and "Path=/" in cookie
    assert client.get("/api/auth/me").json()["login"] == CASEWORKER
    assert client.post("/api/auth/logout").status_code == 200
    assert client.get("/api/auth/me").status_code == 401


def _events(runtime: Runtime) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_logout_is_audited(people: Runtime) -> None:
    client = client_for(people, CASEWORKER)
    assert client.post("/api/auth/logout").status_code == 200
    assert [(e.actor_login, e.action) for e in _events(people)][-1] == (CASEWORKER, "auth.logout")


def test_health_details_are_for_administrators_only(people: Runtime) -> None:
    assert client_for(people).get("/health").json() == {"status": "ok"}
    assert client_for(people, CASEWORKER).get("/health").json() == {"status": "ok"}
    details = client_for(people, "admin").get("/health").json()
    assert set(details) == {"status", "backends", "jobs", "tools"}


def test_api_description_is_off_unless_asked_for(tmp_path: Path) -> None:
    paths = ("/docs", "/redoc", "/openapi.json")
    production = client_for(build_runtime(make_settings(tmp_path / "a")))
    assert [production.get(p).status_code for p in paths] == [404, 404, 404]
    # The HTML viewers need scripts from a CDN that the CSP blocks: only the description.
    asked = client_for(build_runtime(make_settings(tmp_path / "b", api_docs=True)))
    assert [asked.get(p).status_code for p in paths] == [404, 404, 200]
    demo = client_for(build_runtime(make_settings(tmp_path / "c", demo=True)))
    assert demo.get("/openapi.json").status_code == 200


def test_access_log_leaves_out_query_strings(people: Runtime, capfd: pytest.CaptureFixture) -> None:
    import httpx

    from app.serve import log_config

    app = create_app(people)
    with (
        live_server(app, log_config=log_config(), log_level=None) as url,
        httpx.Client(base_url=url) as client,
    ):
        assert _login(client, CASEWORKER).status_code == 200  # type: ignore[arg-type]
        params = {"q": "Mustermann 95401BG1231743"}
        assert client.get("/api/search", params=params).status_code == 200
        assert client.get("/api/households", params={"q": "Carstensen"}).status_code
    logged = capfd.readouterr().out
    assert '"GET /api/search HTTP/1.1" 200' in logged
    assert "Mustermann" not in logged and "95401BG" not in logged
    assert "Carstensen" not in logged and "q=" not in logged
