"""The request owns the transaction: what follows a change (the search index) happens only once
the change is committed, and not at all when it is rolled back."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from core.db import transaction
from records.models import Household, InboxItem
from records.reindex import reindex_documents
from records.runtime import Runtime
from tests.support import client_for, file_letter, load_people

HUSUM, WYK = "95401BG7267253", "95403BG6577899"  # caseworkers lsb.95401.2 and lsb.95403.1


def _letter(runtime: Runtime, bg_number: str, text: str) -> tuple[int, str]:
    with transaction(runtime.sessions) as session:
        household = session.scalar(select(Household).where(Household.bg_number == bg_number))
        document = file_letter(session, household, "mietbescheinigung", text)
        session.flush()
        item = session.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
        assert item is not None
        found = item.id, str(document.id)
    reindex_documents(runtime, [uuid.UUID(found[1])])
    return found


def _done_in_index(client, q: str) -> int:  # type: ignore[no-untyped-def]
    answer = client.get("/api/search", params={"q": q, "status": "done"})
    assert answer.status_code == 200, answer.text
    return answer.json()["total"]


def test_a_refused_bulk_action_leaves_the_index_as_the_database(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    own, _ = _letter(sqlite_runtime, HUSUM, "Weiterbewilligungsantrag Husum")
    other, _ = _letter(sqlite_runtime, WYK, "Weiterbewilligungsantrag Wyk")
    caseworker = client_for(sqlite_runtime, "lsb.95401.2")
    refused = caseworker.post("/api/inbox/bulk", json={"ids": [own, other], "action": "done"})
    assert refused.status_code == 403
    # Rolled back: the own item was worked in the transaction, but neither the database nor
    # the index says it is done.
    with transaction(sqlite_runtime.sessions) as session:
        item = session.get(InboxItem, own)
        assert item is not None and item.state != "done"
    assert _done_in_index(caseworker, "Weiterbewilligungsantrag") == 0
    # Committed: the index follows.
    done = caseworker.post("/api/inbox/bulk", json={"ids": [own], "action": "done"})
    assert done.status_code == 200 and done.json() == {"done": 1}
    assert _done_in_index(caseworker, "Weiterbewilligungsantrag") == 1


def test_a_refused_filing_leaves_the_index_and_the_clearing_case_alone(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    with transaction(sqlite_runtime.sessions) as session:
        document = file_letter(session, None, "sonstiges", "Brief ohne Nummer von Frau Koch")
        session.flush()
        document_id = document.id
    reindex_documents(sqlite_runtime, [document_id])
    desk = client_for(sqlite_runtime, "post.1")
    url = f"/api/documents/{document_id}/filing"
    unknown = desk.post(url, json={"bg_number": HUSUM, "doc_type": "gibt-es-nicht"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "doc_type_unknown"
    with transaction(sqlite_runtime.sessions) as session:
        item = session.scalar(select(InboxItem).where(InboxItem.document_id == document_id))
        assert item is not None and item.kind == "clearing"
    filed = desk.post(url, json={"bg_number": HUSUM, "doc_type": "mietbescheinigung"})
    assert filed.status_code == 200, filed.text
    assert filed.json()["bg_number"] == HUSUM and filed.json()["inbox"]["kind"] == "user"
    caseworker = client_for(sqlite_runtime, "lsb.95401.2")
    hits = caseworker.get("/api/search", params={"q": "Koch", "bg_number": HUSUM}).json()
    assert [hit["document_id"] for hit in hits["hits"]] == [str(document_id)]
