"""The objections office's lists read with a fixed number of SQL statements, however many
cases they show (no query per case)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy import event

from records.runtime import Runtime
from tests.support import OWN, client_for, file_indexed, load_people

OFFICE = "ws.1"


@contextmanager
def _statements(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count)


def _register(runtime: Runtime, count: int) -> None:
    office = client_for(runtime, OFFICE)
    decision = file_indexed(
        runtime, OWN, "bescheid", "Bescheid", direction="out", dispatch_date=date(2026, 7, 1)
    )
    for n in range(count):
        letter = file_indexed(
            runtime, OWN, "widerspruch", f"Widerspruch {n}", target="team:Widerspruchsstelle"
        )
        objection = office.post(
            "/api/objections", json={"document_id": letter, "decision_id": decision}
        )
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


def _listed(runtime: Runtime, path: str, key: str) -> tuple[int, int]:
    office = client_for(runtime, OFFICE)
    office.get(path)  # warm: the login's session touch and caches are not what is counted
    with _statements(runtime) as seen:
        answer = office.get(path)
    assert answer.status_code == 200
    return len(answer.json()[key]), len(seen)


def test_the_objection_and_appeal_lists_take_as_many_statements_for_20_cases_as_for_one(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    _register(sqlite_runtime, 1)
    one_objection = _listed(sqlite_runtime, "/api/objections", "objections")
    one_appeal = _listed(sqlite_runtime, "/api/appeals", "appeals")
    _register(sqlite_runtime, 19)
    many_objections = _listed(sqlite_runtime, "/api/objections", "objections")
    many_appeals = _listed(sqlite_runtime, "/api/appeals", "appeals")
    assert (one_objection[0], many_objections[0]) == (1, 20)
    assert (one_appeal[0], many_appeals[0]) == (1, 20)
    assert many_objections[1] == one_objection[1]
    assert many_appeals[1] == one_appeal[1]
