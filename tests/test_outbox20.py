"""issue 20: the search index never silently falls behind (records.index_outbox).

Changes the index must follow are committed although the index cannot be written at that
moment; their outbox rows stay, /health shows the lag, and the drainer writes the entries once
the index is back. On the embedded default the outage is a switch around the real index; on
the real services OpenSearch itself is stopped and started again.
"""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from core.db import transaction, utcnow
from core.health import BackendState
from records.index_outbox import drain, drain_all, lag, retry_now, start_draining
from records.models import Document, InboxItem, IndexOutbox, Job, ScanBatch
from records.reindex import reindex_after_commit, reindex_all
from records.runtime import Runtime
from search import CLEARING_ACCESS, SearchQuery
from search.base import SearchIndex
from tests.support import (
    OWN,
    REPO,
    add_admin,
    client_for,
    digital_pdf,
    file_indexed,
    load_people,
    make_settings,
    run_cli,
    service_env,
    settings_env,
    wait_for,
    work_until_idle,
)

CASEWORKER = "lsb.95401.2"  # OWN is hers


class _Switch:
    """The real index, except while `down`: then every write fails and its ping says so
    (OpenSearch refusing connections, as the embedded default never does by itself)."""

    def __init__(self, real: SearchIndex) -> None:
        self.real = real
        self.down = False

    def _refuse(self) -> None:
        if self.down:
            raise ConnectionError("Suchindex nicht erreichbar (Test)")

    def index_many(self, documents: list[Any]) -> int:
        self._refuse()
        return self.real.index_many(documents)

    def index(self, document: Any) -> None:
        self._refuse()
        self.real.index(document)

    def delete(self, document_id: str) -> None:
        self._refuse()
        self.real.delete(document_id)

    def ping(self) -> BackendState:
        if self.down:
            return BackendState("embedded", False, "nicht erreichbar (Test)")
        return self.real.ping()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def people(sqlite_runtime: Runtime) -> Runtime:
    load_people(sqlite_runtime)
    add_admin(sqlite_runtime)
    return sqlite_runtime


def _switch(runtime: Runtime) -> _Switch:
    switch = _Switch(runtime.index)
    runtime.index = switch
    return switch


def _lag(runtime: Runtime) -> tuple[int, float | None]:
    with transaction(runtime.sessions, read_only=True) as session:
        return lag(session)


def _found(runtime: Runtime, text: str, **filters: Any) -> set[str]:
    allowed = frozenset({OWN, CLEARING_ACCESS})
    result = runtime.index.search(SearchQuery(text=text, allowed=allowed, **filters))
    return {hit.document_id for hit in result.hits}


def test_changes_while_the_index_is_down_are_kept_shown_and_caught_up(people: Runtime) -> None:
    runtime = people
    letter = file_indexed(runtime, OWN, "sonstiges", "Schreiben zur Wohnung Hafenstraße 5")
    caseworker = client_for(runtime, CASEWORKER)
    admin = client_for(runtime, "admin")
    switch = _switch(runtime)

    # The fast path writes at once while the index is up: no row is left behind.
    assert caseworker.post(
        f"/api/documents/{letter}/notes", json={"text": "Rotkehlchen"}
    ).is_success
    assert _lag(runtime) == (0, None)
    assert _found(runtime, "Rotkehlchen") == {letter}

    switch.down = True
    noted = caseworker.post(f"/api/documents/{letter}/notes", json={"text": "Zaunkönig rief an"})
    retyped = caseworker.patch(f"/api/documents/{letter}", json={"doc_type": "kontoauszug"})
    file_note = caseworker.post(f"/api/households/{OWN}/notes", json={"text": "Hausbesuch Kolibri"})
    # The changes stand although the index could not follow them.
    assert noted.status_code == 201, noted.text
    assert retyped.status_code == 200, retyped.text
    assert file_note.status_code == 201, file_note.text
    details = caseworker.get(f"/api/documents/{letter}/details").json()
    assert details["doc_type"] == "kontoauszug"
    assert _lag(runtime)[0] == 3  # the document twice (note, type), the note on the file
    assert _found(runtime, "Zaunkönig") == set()

    # /health: the index does not answer, so 503 as before; the administrator sees the lag.
    answer = admin.get("/health")
    assert answer.status_code == 503
    index_state = answer.json()["backends"]["search_index"]
    assert index_state["ok"] is False
    assert index_state["pending_writes"] == 3
    assert index_state["oldest_pending_seconds"] >= 0

    # A drain while the index is down writes nothing and makes the rows wait.
    assert drain(runtime) == 0
    with transaction(runtime.sessions, read_only=True) as session:
        rows = list(session.scalars(select(IndexOutbox)))
    assert [row.attempts for row in rows] == [1, 1, 1]
    assert all("ConnectionError" in (row.last_error or "") for row in rows)
    assert all(row.next_try > utcnow() for row in rows)

    # Back, but behind for over a minute: 200 (filing and files work), status "degraded",
    # and the administrator reads why; anyone else only the status.
    switch.down = False
    with transaction(runtime.sessions) as session:
        session.execute(update(IndexOutbox).values(queued_at=utcnow() - timedelta(minutes=3)))
    answer = admin.get("/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "degraded"
    index_state = answer.json()["backends"]["search_index"]
    assert index_state["pending_writes"] == 3
    assert index_state["oldest_pending_seconds"] >= 180
    assert "Suchindex holt auf: 3 Einträge ausstehend" in index_state["detail"]
    assert client_for(runtime).get("/health").json() == {"status": "degraded"}

    # The rows wait out their pause; made due, the drainer writes every entry once.
    assert drain(runtime) == 0
    retry_now(runtime)
    assert drain(runtime) == 3
    assert _lag(runtime) == (0, None)
    assert _found(runtime, "Zaunkönig") == {letter}
    assert _found(runtime, "Wohnung", doc_types=frozenset({"kontoauszug"})) == {letter}
    assert _found(runtime, "Kolibri") != set()  # the note on the file: its own entry
    assert admin.get("/health").json()["status"] == "ok"


def test_a_rolled_back_change_leaves_no_row_and_writes_nothing(people: Runtime) -> None:
    """The row is part of the change's transaction: a change that does not stand leaves
    nothing to do, and the index is not touched."""
    runtime = people
    letter = file_indexed(runtime, OWN, "sonstiges", "Schreiben zur Wohnung")
    switch = _switch(runtime)
    switch.down = True  # a write would raise and leave its row
    with pytest.raises(RuntimeError), transaction(runtime.sessions) as session:
        document = session.get(Document, uuid.UUID(letter))
        assert document is not None
        document.doc_type = "kontoauszug"
        reindex_after_commit(session, runtime, document)
        session.flush()
        assert session.scalar(select(func.count()).select_from(IndexOutbox)) == 1
        raise RuntimeError("the change fails after the row was written")
    assert _lag(runtime) == (0, None)


def test_the_drainer_thread_catches_up_by_itself(tmp_path: Path) -> None:
    """`eakte serve` and every worker run the drainer; it needs no one to call it."""
    from app.runtime import build_runtime

    runtime = build_runtime(make_settings(tmp_path / "data", index_outbox_seconds=0.2))
    try:
        load_people(runtime)
        letter = file_indexed(runtime, OWN, "sonstiges", "Schreiben zur Wohnung")
        switch = _switch(runtime)
        switch.down = True
        caseworker = client_for(runtime, CASEWORKER)
        assert caseworker.post(f"/api/documents/{letter}/notes", json={"text": "Eisvogel"})
        assert _lag(runtime)[0] == 1
        stop = threading.Event()
        thread = start_draining(runtime, stop)
        try:
            switch.down = False
            retry_now(runtime)  # not to wait out the pause of a round that ran while down
            wait_for(lambda: _lag(runtime)[0] == 0, 30, "the drainer")
        finally:
            stop.set()
            thread.join(timeout=10)
        assert _found(runtime, "Eisvogel") == {letter}
    finally:
        runtime.close()


def _upload(runtime: Runtime, *words: str) -> None:
    desk = client_for(runtime, "post.1")
    pdf = digital_pdf([[f"Schreiben wegen {word}" for word in words]])
    answer = desk.post("/api/documents", files={"file": (f"{words[0]}.pdf", pdf)})
    assert answer.status_code in (200, 201, 202), answer.text


def _filed(runtime: Runtime) -> list[Document]:
    """The processed documents, each in a Postkorb (a caseworker's, a team's or clearing)."""
    with transaction(runtime.sessions, read_only=True) as session:
        documents = list(session.scalars(select(Document).where(Document.status == "processed")))
        in_postkorb = set(session.scalars(select(InboxItem.document_id)))
        batches = set(session.scalars(select(ScanBatch.status)))
    assert batches == {"processed"}
    assert {d.id for d in documents} <= in_postkorb
    return documents


@pytest.mark.slow
def test_documents_filed_while_the_index_is_down_are_found_after_the_drain(
    tmp_path: Path,
) -> None:
    """The pipeline's entries are outbox rows of the batch's commit: its job is done although
    the index could not be written, and the drainer writes them once the index is back."""
    from app.runtime import build_runtime

    runtime = build_runtime(make_settings(tmp_path / "data", job_max_attempts=1))
    try:
        load_people(runtime)
        switch = _switch(runtime)
        switch.down = True
        _upload(runtime, "Wiedehopf")
        work_until_idle(runtime)
        [document] = _filed(runtime)
        assert not runtime.index.contains(str(document.id))
        assert _lag(runtime)[0] == 1
        switch.down = False
        assert drain_all(runtime) == 1
        assert runtime.index.contains(str(document.id))
        assert _found(runtime, "Wiedehopf") == {str(document.id)}
        # The index up, the next batch leaves no row: its job writes and removes it.
        _upload(runtime, "Pirol")
        work_until_idle(runtime)
        assert _lag(runtime) == (0, None)
        assert len(_found(runtime, "Pirol")) == 1
    finally:
        runtime.close()


# --- on the real services --------------------------------------------------------------------


def _opensearch(action: str, url: str) -> None:
    """services/opensearch.sh on the instance at `url` (its port; the state directory is the
    one the services were started with, EAKTE_SERVICES_DIR)."""
    port = str(urlsplit(url).port)
    env = os.environ | {"EAKTE_OPENSEARCH_PORT": port}
    subprocess.run(
        ["bash", str(REPO / "services" / "opensearch.sh"), action],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture
def production_runtime(
    tmp_path: Path,
    postgres_url: str,
    postgres_runtime_url: str,
    s3_settings: dict[str, object],
    opensearch_settings: dict[str, object],
) -> Iterator[Runtime]:
    """PostgreSQL as the least-privilege runtime role (its rights on index_outbox are the
    ones the product gets), MinIO and OpenSearch; the drainer every half second."""
    from app.runtime import build_runtime

    settings = make_settings(
        tmp_path / "data",
        database_url=postgres_runtime_url,
        migration_database_url=postgres_url,
        job_max_attempts=1,
        index_outbox_seconds=0.5,
        **s3_settings,
        **opensearch_settings,
    )
    built = build_runtime(settings)
    yield built
    built.close()


@pytest.mark.services
@pytest.mark.slow
def test_opensearch_stopped_while_documents_are_filed_catches_up_when_it_returns(
    production_runtime: Runtime,
) -> None:
    runtime = production_runtime
    url = service_env("EAKTE_TEST_OPENSEARCH_URL")
    load_people(runtime)
    add_admin(runtime)
    admin = client_for(runtime, "admin")
    words = ["Wiedehopf", "Pirol", "Stieglitz"]
    stop = threading.Event()
    _opensearch("stop", url)
    try:
        assert not runtime.index.ping().ok
        drainer = start_draining(runtime, stop)  # as in serve: it runs through the outage
        for word in words:
            _upload(runtime, word)
        work_until_idle(runtime)
        documents = _filed(runtime)
        assert len(documents) == len(words)
        with transaction(runtime.sessions, read_only=True) as session:
            jobs = set(session.scalars(select(Job.state)))
        assert jobs == {"done"}  # each batch is filed; its job does not wait for the index ...
        pending, _ = _lag(runtime)
        assert pending == len(words)  # ... and the outbox holds every entry
        answer = admin.get("/health")
        assert answer.status_code == 503
        assert answer.json()["backends"]["search_index"]["pending_writes"] == len(words)
    finally:
        _opensearch("start", url)
    try:
        # Whatever pause the rows wait out (at most a minute or so here), the drainer
        # writes them without anyone calling it.
        wait_for(lambda: _lag(runtime)[0] == 0, 300, "the drainer after OpenSearch returned")
    finally:
        stop.set()
        drainer.join(timeout=30)
    for word in words:
        assert len(_found(runtime, word)) == 1, word
    with transaction(runtime.sessions, read_only=True) as session:
        searchable = session.scalar(
            select(func.count()).select_from(Document).where(Document.status == "processed")
        )
    assert runtime.index.count() == searchable == len(words)
    assert admin.get("/health").json()["status"] == "ok"


def test_reindex_pending_writes_the_waiting_entries_at_once(people: Runtime) -> None:
    """`eakte reindex --pending`: the operator need not wait out the rows' pause."""
    runtime = people
    letter = file_indexed(runtime, OWN, "sonstiges", "Schreiben zur Wohnung")
    switch = _switch(runtime)
    switch.down = True
    caseworker = client_for(runtime, CASEWORKER)
    assert caseworker.post(f"/api/documents/{letter}/notes", json={"text": "Seidenschwanz"})
    assert drain(runtime) == 0  # the rows now wait (back-off)
    switch.down = False
    env = dict(os.environ, **settings_env(runtime.settings))
    env.pop("EAKTE_DEMO", None)
    result = run_cli(env, "reindex", "--pending", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Suchindex nachgetragen: 1 ausstehende Einträge geschrieben." in result.stdout
    assert _lag(runtime) == (0, None)
    assert _found(runtime, "Seidenschwanz") == {letter}


def test_a_full_reindex_takes_the_rows_from_before_it_along(people: Runtime) -> None:
    """`eakte reindex` writes every entry as the database holds it: rows older than its start
    (by more than its catch-up margin) are done; a younger one stays for the drainer."""
    runtime = people
    letter = file_indexed(runtime, OWN, "sonstiges", "Schreiben zur Wohnung")
    switch = _switch(runtime)
    switch.down = True
    caseworker = client_for(runtime, CASEWORKER)
    assert caseworker.post(f"/api/documents/{letter}/notes", json={"text": "Goldammer"})
    assert caseworker.post(f"/api/documents/{letter}/notes", json={"text": "Grünfink"})
    with transaction(runtime.sessions) as session:
        oldest = session.scalar(select(func.min(IndexOutbox.id)))
        session.execute(
            update(IndexOutbox)
            .where(IndexOutbox.id == oldest)
            .values(queued_at=utcnow() - timedelta(hours=1))
        )
    switch.down = False
    reindex_all(runtime)
    assert _lag(runtime)[0] == 1
    assert _found(runtime, "Goldammer") == _found(runtime, "Grünfink") == {letter}


class _Refuses:
    """The real index, refusing only the entry of one document (the index answers)."""

    def __init__(self, real: SearchIndex, refused: str) -> None:
        self.real = real
        self.refused = refused

    def index_many(self, documents: list[Any]) -> int:
        if any(d.document_id == self.refused for d in documents):
            raise ValueError("mapper_parsing_exception (Test)")
        return self.real.index_many(documents)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_one_entry_the_index_refuses_does_not_hold_back_the_others(people: Runtime) -> None:
    runtime = people
    bad = file_indexed(runtime, OWN, "sonstiges", "Schreiben zur Wohnung")
    good = file_indexed(runtime, OWN, "sonstiges", "Schreiben zur Heizung")
    switch = _switch(runtime)
    switch.down = True
    caseworker = client_for(runtime, CASEWORKER)
    assert caseworker.post(f"/api/documents/{bad}/notes", json={"text": "Buntspecht"})
    assert caseworker.post(f"/api/documents/{good}/notes", json={"text": "Grünspecht"})
    runtime.index = _Refuses(switch.real, bad)
    assert drain(runtime) == 1
    assert _found(runtime, "Grünspecht") == {good}
    with transaction(runtime.sessions, read_only=True) as session:
        [waiting] = session.scalars(select(IndexOutbox)).all()
    assert (waiting.key, waiting.attempts) == (bad, 1)
    assert "mapper_parsing_exception" in (waiting.last_error or "")
