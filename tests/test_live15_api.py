"""Live updates and saved views through the API (issue 15), on SQLite and PostgreSQL: an open
Postkorb or E-Akte asks for a change token (ETag; 304 while nothing changed for its user, a new
one when something did, never because of another user's items), no faster than the server
allows; a user's saved Postkorb views are validated, normalised and private."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.runtime import build_runtime
from core.dates import local_today
from core.db import transaction, utcnow
from records.models import LoginSession, User
from records.runtime import Runtime
from tests.support import (
    ISLANDS,
    NEIGHBOUR,
    OWN,
    client_for,
    file_indexed,
    load_people,
    make_settings,
)

CASEWORKER = "lsb.95401.2"  # Laura Carstensen: OWN is hers
COLLEAGUE = "lsb.95401.1"  # Petra Schmitt, same team: NEIGHBOUR is hers
OFFICE_TEAM = "team:Widerspruchsstelle"


def _runtime(tmp_path: Path, **settings: object) -> Iterator[Runtime]:
    runtime = build_runtime(make_settings(tmp_path / "data", **settings))
    load_people(runtime)
    yield runtime
    runtime.close()


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    """SQLite and PostgreSQL (`services`); no floor between asks: each test asks as often as
    it needs to."""
    yield from _runtime(tmp_path, database_url=database_url, live_min_poll_seconds=0)


def _ask(client: TestClient, path: str, etag: str | None = None) -> tuple[int, str]:
    """Status and ETag of one ask, as a page asks (with the tag it has)."""
    headers = {"If-None-Match": etag} if etag else {}
    answer = client.get(path, headers=headers)
    assert answer.status_code in (200, 304), answer.text
    if answer.status_code == 200:
        assert answer.headers["etag"] == f'"{answer.json()["token"]}"'
        assert answer.json()["poll_seconds"] > 0
    else:
        assert answer.content == b""
    return answer.status_code, answer.headers["etag"]


INBOX = "/api/inbox/changes"


def test_postkorb_token_is_304_until_an_item_arrives_or_changes(runtime: Runtime) -> None:
    laura = client_for(runtime, CASEWORKER)
    status, etag = _ask(laura, INBOX)
    assert status == 200
    assert _ask(laura, INBOX, etag) == (304, etag)

    file_indexed(runtime, OWN, "kontoauszug", "Kontoauszug Saldo")
    status, routed = _ask(laura, INBOX, etag)
    assert status == 200 and routed != etag
    assert _ask(laura, INBOX, routed) == (304, routed)

    # Read, done, reopened: each is a change the open Postkorb shows.
    [item] = laura.get("/api/inbox").json()["items"]
    seen = routed
    for action in ("read", "done", "reopen"):
        assert laura.post(f"/api/inbox/{item['id']}/{action}").status_code == 200
        status, now = _ask(laura, INBOX, seen)
        assert status == 200 and now != seen, action
        seen = now


def test_postkorb_token_ignores_other_users_items_and_follows_a_deputys(runtime: Runtime) -> None:
    laura = client_for(runtime, CASEWORKER)
    _, etag = _ask(laura, INBOX)
    # A colleague's letter in the same team, another office's, the objections office's team
    # and clearing: nothing Laura sees, so her token says nothing about them.
    file_indexed(runtime, NEIGHBOUR, "kontoauszug", "Kontoauszug Petra")
    file_indexed(runtime, ISLANDS, "kontoauszug", "Kontoauszug Inseln")
    file_indexed(runtime, OWN, "widerspruch", "Widerspruch", target=OFFICE_TEAM)
    file_indexed(runtime, None, "sonstiges", "Ohne Haushalt")
    assert _ask(laura, INBOX, etag) == (304, etag)
    petra = client_for(runtime, COLLEAGUE)
    [petras] = petra.get("/api/inbox").json()["items"]
    assert petra.post(f"/api/inbox/{petras['id']}/done").status_code == 200
    assert _ask(laura, INBOX, etag) == (304, etag)

    # Petra is away today and Laura stands in: Petra's Postkorb is now part of Laura's page.
    today = local_today().isoformat()
    named = petra.post(
        "/api/deputies", json={"deputy": CASEWORKER, "starts_on": today, "ends_on": today}
    )
    assert named.status_code == 201, named.text
    status, deputy = _ask(laura, INBOX, etag)
    assert status == 200 and deputy != etag
    file_indexed(runtime, NEIGHBOUR, "verdienstabrechnung", "Lohn Oktober")
    status, arrived = _ask(laura, INBOX, deputy)
    assert status == 200 and arrived != deputy
    # ... and a letter for a third colleague still says nothing.
    file_indexed(runtime, "95401BG5662133", "kontoauszug", "Kontoauszug Jan")
    assert _ask(laura, INBOX, arrived) == (304, arrived)


def test_e_akte_token_follows_documents_and_notes_of_that_file_only(runtime: Runtime) -> None:
    laura = client_for(runtime, CASEWORKER)
    path = f"/api/households/{OWN}/file/changes"
    _, etag = _ask(laura, path)
    assert _ask(laura, path, etag) == (304, etag)
    file_indexed(runtime, NEIGHBOUR, "kontoauszug", "Kontoauszug Nachbar")
    assert _ask(laura, path, etag) == (304, etag)

    file_indexed(runtime, OWN, "kontoauszug", "Kontoauszug Saldo")
    status, filed = _ask(laura, path, etag)
    assert status == 200 and filed != etag
    note = laura.post(f"/api/households/{OWN}/notes", json={"text": "Rückruf vereinbart"})
    assert note.status_code == 201
    status, noted = _ask(laura, path, filed)
    assert status == 200 and noted != filed

    # A file the user may not open has no token either (the refusal is the file's own).
    refused = laura.get(f"/api/households/{ISLANDS}/file/changes")
    assert refused.status_code == 403


def _last_seen(runtime: Runtime, moved_back: timedelta | None = None) -> datetime | None:
    """The caseworker's login session's last request (moved back by `moved_back` first)."""
    with transaction(runtime.sessions) as session:
        [login] = session.scalars(
            select(LoginSession).join(User).where(User.login == CASEWORKER)
        ).all()
        if moved_back is not None:
            login.last_seen_at = utcnow() - moved_back
        return login.last_seen_at


def test_an_open_page_asking_in_the_background_does_not_keep_the_session_open(
    runtime: Runtime,
) -> None:
    """The idle timeout ends a session nobody works in, however long a page of it stays open
    and asks for changes (and fetches what changed)."""
    laura = client_for(runtime, CASEWORKER)
    background = {"X-EAkte-Background": "1"}
    idle = runtime.settings.session_idle_minutes
    seen = _last_seen(runtime, moved_back=timedelta(minutes=idle - 1))
    for path in (INBOX, "/api/inbox/counts", "/api/inbox", f"/api/households/{OWN}/file"):
        assert laura.get(path, headers=background).status_code == 200, path
    assert _last_seen(runtime) == seen
    # What the user does still counts ...
    assert laura.get("/api/inbox").status_code == 200
    touched = _last_seen(runtime)
    assert seen is not None and touched is not None and touched > seen
    # ... and a page left alone is ended, its asks with it.
    _last_seen(runtime, moved_back=timedelta(minutes=idle + 1))
    ended = laura.get(INBOX, headers=background)
    assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_idle"


def test_a_user_asking_faster_than_the_floor_is_told_to_wait(tmp_path: Path) -> None:
    for runtime in _runtime(tmp_path, live_min_poll_seconds=60):
        laura = client_for(runtime, CASEWORKER)
        first = laura.get(INBOX)
        assert first.status_code == 200
        # Opening the Postkorb again (a reload, Back) is no error: its first question has no
        # If-None-Match.
        assert laura.get(INBOX).status_code == 200
        again = laura.get(INBOX, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 429
        assert 1 <= int(again.headers["retry-after"]) <= 60
        assert "Zu viele Abfragen" in again.json()["error"]["message"]
        # Another user, and another page of the same user, are not held up by it.
        assert client_for(runtime, COLLEAGUE).get(INBOX).status_code == 200
        assert laura.get(f"/api/households/{OWN}/file/changes").status_code == 200


# --- saved views --------------------------------------------------------------------------

VIEWS = "/api/views/postkorb"


def test_saved_views_are_stored_normalised_listed_and_deleted(runtime: Runtime) -> None:
    laura = client_for(runtime, CASEWORKER)
    assert laura.get(VIEWS).json() == {"views": [], "limit": 20}
    saved = laura.post(
        VIEWS,
        json={"name": "  Team,   neu  ", "query": "?tab=team&state=new&sort=oldest&item=12"},
    )
    assert saved.status_code == 201, saved.text
    view = saved.json()
    assert view["name"] == "Team, neu"
    # The row is no part of a view; the order is the page's own.
    assert view["query"] == "tab=team&state=new&sort=oldest"
    assert view["params"] == {"tab": "team", "state": "new", "sort": "oldest", "doc_type": ""}
    # Defaults are left out: this is the Postkorb as it opens, filtered by one type.
    plain = laura.post(
        VIEWS,
        json={"name": "Kontoauszüge", "query": "sort=received&state=open&doc_type=kontoauszug"},
    ).json()
    assert plain["query"] == "doc_type=kontoauszug"

    listed = laura.get(VIEWS).json()["views"]
    assert [v["name"] for v in listed] == ["Kontoauszüge", "Team, neu"]
    deleted = laura.delete(f"{VIEWS}/{view['id']}")
    assert deleted.status_code == 200 and deleted.json()["name"] == "Team, neu"
    assert [v["name"] for v in laura.get(VIEWS).json()["views"]] == ["Kontoauszüge"]
    assert laura.delete(f"{VIEWS}/{view['id']}").status_code == 404


@pytest.mark.parametrize(
    ("name", "query", "status", "message"),
    [
        ("   ", "", 422, "Bitte einen Namen für die Ansicht angeben."),
        ("x" * 101, "", 422, "Der Name ist zu lang: höchstens 100 Zeichen."),
        ("Neu", "state=new&colour=red", 422, "Unbekannte Einstellung »colour« in der Ansicht."),
        ("Neu", "sort=evil", 422, "Unbekannter Wert »evil« für »sort« in der Ansicht."),
        ("Neu", "tab=all", 422, "Unbekannter Wert »all« für »tab« in der Ansicht."),
        ("Neu", "doc_type=<script>", 422, "Unbekannter Wert »<script>« für »doc_type«"),
        ("Neu", "sort=oldest&sort=type", 422, "»sort« steht zweimal"),
        ("neu zuerst", "", 409, "Eine Ansicht »neu zuerst« gibt es schon."),
    ],
)
def test_saved_view_is_refused_in_german(
    runtime: Runtime, name: str, query: str, status: int, message: str
) -> None:
    laura = client_for(runtime, CASEWORKER)
    assert laura.post(VIEWS, json={"name": "Neu zuerst", "query": "state=new"}).status_code == 201
    refused = laura.post(VIEWS, json={"name": name, "query": query})
    assert refused.status_code == status, refused.text
    assert message in refused.json()["error"]["message"]
    assert len(laura.get(VIEWS).json()["views"]) == 1


def test_saved_views_are_limited_per_user(runtime: Runtime) -> None:
    laura = client_for(runtime, CASEWORKER)
    for number in range(20):
        made = laura.post(VIEWS, json={"name": f"Ansicht {number}", "query": "state=new"})
        assert made.status_code == 201
    refused = laura.post(VIEWS, json={"name": "Noch eine", "query": ""})
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "Höchstens 20 gespeicherte Ansichten; bitte zuerst eine löschen."
    )
    # The limit is each user's own.
    assert client_for(runtime, COLLEAGUE).post(VIEWS, json={"name": "Meine"}).status_code == 201


def test_saved_views_are_the_owners_alone(runtime: Runtime) -> None:
    laura = client_for(runtime, CASEWORKER)
    mine = laura.post(VIEWS, json={"name": "Team", "query": "tab=team"}).json()
    petra = client_for(runtime, COLLEAGUE)
    assert petra.get(VIEWS).json()["views"] == []
    # Not hers: as if there were none (nothing said about whether it exists).
    refused = petra.delete(f"{VIEWS}/{mine['id']}")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "view_not_found"
    # The same name is hers to use.
    assert petra.post(VIEWS, json={"name": "Team", "query": ""}).status_code == 201
    assert [v["id"] for v in laura.get(VIEWS).json()["views"]] == [mine["id"]]
    # The scanning desk has no Postkorb, and an unknown page has no views.
    desk = client_for(runtime, "post.1")
    assert desk.get(VIEWS).status_code == 403
    assert desk.post(VIEWS, json={"name": "x"}).status_code == 403
    assert laura.get("/api/views/klaerung").status_code == 404
