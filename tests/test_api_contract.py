"""The API's contract: every JSON answer is described in /openapi.json, and the desk's batch list
reads the database in a fixed number of queries however many batches it shows."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from api.app import create_app
from app.runtime import build_runtime
from core.db import transaction, utcnow
from records.jobs import enqueue
from records.models import DroppedPage, Household, ScanBatch, User
from records.runtime import Runtime
from tests.conftest import make_settings
from tests.support import OWN, REPO, client_for, file_indexed, file_letter, load_people

NOT_YET_DESCRIBED: set[tuple[str, str]] = set()
FILE_TYPES = ("application/pdf", "image/jpeg", "application/zip")


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(status, response)] = [
        (code, answer) for code, answer in operation["responses"].items() if code.startswith("2")
    ]
    return status, response


def test_openapi_describes_the_answer_of_every_json_route(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path, api_docs=True))
    try:
        document = TestClient(create_app(runtime)).get("/openapi.json").json()
    finally:
        runtime.close()
    schemas = document["components"]["schemas"]
    undescribed, described = [], 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (method, path) in NOT_YET_DESCRIBED:
                continue
            _status, response = _success(operation)
            content = response.get("content", {})
            if any(kind in content for kind in FILE_TYPES):
                continue  # a download: the file itself
            schema = content.get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                name = schema["$ref"].rsplit("/", 1)[-1]
                assert schemas[name].get("properties"), f"{method} {path}: {name} is empty"
            elif schema.get("type") != "array" or not schema.get("items"):
                undescribed.append(f"{method.upper()} {path}")
                continue
            described += 1
    assert not undescribed, "JSON routes without a response model: " + ", ".join(undescribed)
    assert described >= 45


# --- the desk's batch list -------------------------------------------------------------------


@contextmanager
def counted_queries(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)


def _hand_in_batches(runtime: Runtime, count: int) -> None:
    """Batches as the pipeline leaves them: two documents each, one in a caseworker's Postkorb
    and pending the quality check, one in clearing; a set-aside page; a finished job."""
    with transaction(runtime.sessions) as session:
        desk = session.scalar(select(User).where(User.login == "post.1"))
        household = session.scalar(select(Household).order_by(Household.id))
        start = utcnow()
        for n in range(count):
            batch = ScanBatch(
                id=uuid.uuid4(),
                source_name=f"stapel-{n}.pdf",
                content_type="application/pdf",
                size_bytes=1000,
                original_key=f"originals/{n}",
                original_sha256=f"{n:064d}",
                status="processed",
                pages_total=3,
                pages_done=3,
                documents_count=2,
                uploaded_by_id=desk.id if desk else None,
                started_at=utcnow(),
                finished_at=utcnow(),
                received_at=start + timedelta(seconds=n),
            )
            batch.dropped_pages.append(DroppedPage(source_page=2, reason="separator"))
            session.add(batch)
            session.flush()
            file_letter(session, household, "antrag", "Antrag", batch_id=batch.id, sequence=1)
            file_letter(session, None, "sonstiges", "Brief", batch_id=batch.id, sequence=2)
            enqueue(session, "batch", None, 3, batch_id=batch.id).state = "done"


def _queries_for_the_list(runtime: Runtime, client: TestClient) -> tuple[int, dict[str, Any]]:
    with counted_queries(runtime) as statements:
        answer = client.get("/api/batches", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return len(statements), answer.json()


def test_desk_batch_list_reads_in_a_fixed_number_of_queries(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    desk = client_for(sqlite_runtime, "post.1")
    _hand_in_batches(sqlite_runtime, 2)
    few, listed = _queries_for_the_list(sqlite_runtime, desk)
    assert len(listed["batches"]) == 2
    _hand_in_batches(sqlite_runtime, 20)
    many, listed = _queries_for_the_list(sqlite_runtime, desk)
    assert len(listed["batches"]) == 22
    assert many == few, f"{few} queries for 2 batches, {many} for 22"
    # Login, the list (batches, set-aside pages, jobs, documents, households, inbox items with
    # their people and teams, time estimate, counts), the audit row, and transaction control.
    assert many <= 20
    # What the desk sees of each batch is all there.
    batch = listed["batches"][0]
    assert batch["pages_dropped"] == [{"page": 2, "reason": "separator"}]
    assert batch["job"]["state"] == "done"
    assert batch["seconds_left"] == 0
    filed, cleared = batch["documents"]
    assert filed["bg_number"] and filed["inbox"]["kind"] in ("user", "team")
    assert set(filed["inbox"]) in ({"kind", "user"}, {"kind", "team"})
    assert cleared["inbox"] == {"kind": "clearing"} and cleared["bg_number"] is None
    assert listed["counts"] == {"processed": 22}


@pytest.mark.parametrize("limit", [1, 5])
def test_desk_batch_list_shows_the_newest_first(sqlite_runtime: Runtime, limit: int) -> None:
    load_people(sqlite_runtime)
    desk = client_for(sqlite_runtime, "post.1")
    _hand_in_batches(sqlite_runtime, 6)
    listed = desk.get("/api/batches", params={"limit": limit}).json()
    names = [b["source_name"] for b in listed["batches"]]
    assert names == [f"stapel-{n}.pdf" for n in range(5, 5 - limit, -1)]


# --- where SQL lives ---------------------------------------------------------------------------

QUERY_SITES = re.compile(r"\bselect\(|session\.query|\.execute\(")


def test_api_and_pages_run_no_sql_of_their_own() -> None:
    """Routes and pages call services (records/, ingest/); the queries live there."""
    found = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in ("api", "web")
        for path in sorted((REPO / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if QUERY_SITES.search(line)
    ]
    assert not found, "SQL in routes or pages: " + ", ".join(found)


def test_route_modules_do_not_import_each_other() -> None:
    found = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "api" / "routes").glob("*.py"))
        if re.search(r"^from api\.routes|^import api\.routes", path.read_text(), re.MULTILINE)
    ]
    assert not found


# --- the objections office's registers -------------------------------------------------------


def _register_cases(runtime: Runtime, count: int) -> None:
    office = client_for(runtime, "ws.1")
    decision = file_indexed(
        runtime, OWN, "bescheid", "Bescheid", direction="out", dispatch_date=date(2026, 7, 1)
    )
    for n in range(count):
        letter = file_indexed(
            runtime, OWN, "widerspruch", f"Widerspruch {n}", target="team:Widerspruchsstelle"
        )
        # Twenty objections against one decision: each after the warning (issue 15).
        registered = {"document_id": letter, "decision_id": decision, "confirm_duplicate": True}
        objection = office.post("/api/objections", json=registered)
        assert objection.status_code == 201, objection.text
        court = file_indexed(runtime, OWN, "klage", f"Klage {n}", target="team:Widerspruchsstelle")
        appeal = office.post(
            "/api/appeals",
            json={
                "document_id": court,
                "court": "Sozialgericht Schleswig",
                "file_reference": f"S 20 AS {n}/26",
                "served_on": "2026-11-02",
                "objection_id": objection.json()["id"],
            },
        )
        assert appeal.status_code == 201, appeal.text


def _listed_cases(runtime: Runtime, path: str, key: str) -> tuple[int, int]:
    office = client_for(runtime, "ws.1")
    office.get(path)  # warm: the login's session touch and caches are not what is counted
    with counted_queries(runtime) as seen:
        answer = office.get(path)
    assert answer.status_code == 200
    return len(answer.json()[key]), len(seen)


def test_the_objection_and_appeal_lists_take_as_many_statements_for_20_cases_as_for_one(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    _register_cases(sqlite_runtime, 1)
    one_objection = _listed_cases(sqlite_runtime, "/api/objections", "objections")
    one_appeal = _listed_cases(sqlite_runtime, "/api/appeals", "appeals")
    _register_cases(sqlite_runtime, 19)
    many_objections = _listed_cases(sqlite_runtime, "/api/objections", "objections")
    many_appeals = _listed_cases(sqlite_runtime, "/api/appeals", "appeals")
    assert (one_objection[0], many_objections[0]) == (1, 20)
    assert (one_appeal[0], many_appeals[0]) == (1, 20)
    assert many_objections[1] == one_objection[1]
    assert many_appeals[1] == one_appeal[1]
