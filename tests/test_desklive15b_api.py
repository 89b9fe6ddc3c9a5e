"""The desk's lists answer a poll from their change token (issue 15): 304 without the list
being read (no listing in the audit log) while nothing it shows changed; 200 with a new ETag
when something did: a decision, a letter forwarded elsewhere, a batch's progress or message.
A change outside a filtered list leaves that list at 304. The desk polls through
web/static/live.js alone (one polling implementation). The Postkorb's and the E-Akte's
"…/changes" keep answering as before (tests/test_live15_api.py). On both backend sets."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.product import create_product_app
from core.db import transaction
from records.models import AuditEvent, InboxItem, ScanBatch, User
from records.runtime import Runtime
from tests.support import PASSWORD, REPO, load_people
from tests.support_desk import DeskBatch, add_batch, desk_batch

DESK = "post.1"
QA = "/scanstelle/pruefung"
BATCHES = "/scanstelle/stapel"
STATIC = REPO / "web" / "static"


def _desk(runtime: Runtime) -> TestClient:
    """The desk's browser: the product (pages and API), signed in."""
    client = TestClient(create_product_app(runtime))
    answer = client.post("/api/auth/login", json={"login": DESK, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def _listings(runtime: Runtime, action: str) -> int:
    with transaction(runtime.sessions, read_only=True) as session:
        found = select(func.count()).where(AuditEvent.action == action)
        return session.scalar(found.select_from(AuditEvent)) or 0


def _poll(client: TestClient, path: str, etag: str) -> tuple[int, str]:
    answer = client.get(path, headers={"If-None-Match": etag, "X-EAkte-Background": "1"})
    assert answer.status_code in (200, 304), answer.text
    if answer.status_code == 304:
        assert answer.content == b""
    return answer.status_code, answer.headers["etag"]


def _tags(client: TestClient, *paths: str) -> dict[str, str]:
    tags = {}
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 200, answer.text
        tags[path] = answer.headers["etag"]
    return tags


def test_an_unchanged_desk_poll_is_304_without_reading_the_list(runtime: Runtime) -> None:
    load_people(runtime)
    desk_batch(runtime, 30)
    client = _desk(runtime)
    tags = _tags(client, QA, BATCHES, f"{QA}?page=2&per=10")
    # Another page of the same list is drawn differently: another ETag.
    assert len(set(tags.values())) == 3
    read_before = (_listings(runtime, "desk.qa.list"), _listings(runtime, "batches.list"))
    for path, etag in tags.items():
        for _ in range(3):
            assert _poll(client, path, etag) == (304, etag)
    # Nothing was read or drawn: a listing (which names clients) is audited when it is read.
    assert (_listings(runtime, "desk.qa.list"), _listings(runtime, "batches.list")) == read_before


def test_a_changed_desk_list_is_200_with_a_new_etag_and_shows_the_change(
    runtime: Runtime,
) -> None:
    load_people(runtime)
    first = desk_batch(runtime, 12, "erster.pdf")
    second = desk_batch(runtime, 4, "zweiter.pdf")
    client = _desk(runtime)
    only_second = f"{QA}?batch={second.id}&qa=alle"
    tags = _tags(client, QA, BATCHES, only_second)

    # A decision on a letter of the first batch: the check and the batches change; the list
    # filtered to the second batch does not.
    decided = client.post(
        f"/api/documents/{first.documents[0]}/qa", json={"decision": "approve", "counted_pages": 1}
    )
    assert decided.status_code == 200, decided.text
    for path in (QA, BATCHES):
        status, etag = _poll(client, path, tags[path])
        assert status == 200 and etag != tags[path], path
        tags[path] = etag
    assert _poll(client, only_second, tags[only_second]) == (304, tags[only_second])
    assert f'data-id="{first.documents[0]}"' not in client.get(QA).text
    assert "1 freigegeben" in client.get(BATCHES).text

    # A letter waiting for the check is forwarded to another person's Postkorb: the check names
    # where it went, so it changes; the batches do not show that.
    _forward_first_waiting(runtime, first)
    status, etag = _poll(client, QA, tags[QA])
    assert status == 200 and etag != tags[QA]
    tags[QA] = etag
    assert _poll(client, BATCHES, tags[BATCHES]) == (304, tags[BATCHES])

    # A batch arrives, is read on, and its message changes to one of the same length: the
    # batches change each time; the check does not follow the reading (no letters yet).
    batch_id = _reading_batch(runtime, "Seite 1 wird gelesen")
    for path in (BATCHES, only_second):  # a new batch: the check's filter offers it too
        status, etag = _poll(client, path, tags[path])
        assert status == 200 and etag != tags[path], path
        tags[path] = etag
    with transaction(runtime.sessions) as session:
        batch = session.get(ScanBatch, batch_id)
        assert batch is not None
        batch.pages_done = 2
        batch.status_message = "Seite 2 wird gelesen"
    status, etag = _poll(client, BATCHES, tags[BATCHES])
    assert status == 200 and etag != tags[BATCHES]
    assert "Seite 2 wird gelesen" in client.get(BATCHES).text
    assert _poll(client, only_second, tags[only_second]) == (304, tags[only_second])


def _forward_first_waiting(runtime: Runtime, batch: DeskBatch) -> None:
    with transaction(runtime.sessions) as session:
        item = session.scalar(
            select(InboxItem)
            .where(
                InboxItem.document_id.in_([uuid.UUID(d) for d in batch.documents[1:]]),
                InboxItem.kind == "user",
            )
            .order_by(InboxItem.id)
        )
        other = session.scalar(select(User).where(User.login == "lsb.95402.1"))
        assert item is not None and other is not None and item.user_id != other.id
        item.user_id = other.id


def _reading_batch(runtime: Runtime, message: str) -> uuid.UUID:
    with transaction(runtime.sessions) as session:
        batch = add_batch(
            session, source_name="dritter.pdf", status="processing", status_message=message
        )
        batch.pages_total, batch.pages_done = 3, 1
        return batch.id


def test_the_desk_polls_only_through_live_js_and_shares_its_ordering_guard() -> None:
    desk = (STATIC / "desk.js").read_text(encoding="utf-8")
    live = (STATIC / "live.js").read_text(encoding="utf-8")
    # One polling implementation: the desk has no timer loop and no conditional asks of its own.
    for own in ("setInterval", "If-None-Match", 'responseType = "document"'):
        assert own not in desk, own
    assert re.search(r'import \{[^}]*\blatest\b[^}]*\bwatch\b[^}]*\} from "/static/live.js"', desk)
    # live.js keeps its public names and adds the guard for other pages to use.
    for name in ("function watch(", "function keepFocus(", "const BACKGROUND", "function latest("):
        assert f"export {name}" in live, name
