"""An index outage while a batch is processed: the documents were committed before the index
write (ingest.pipeline._index_and_complete), so the batch is processed and its job done; the
desk reads in German that the documents are filed and will be found once the index is back, and
the index outbox's drainer writes their entries then."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import transaction
from records.index_outbox import drain_all, pending_index_writes, retry_now
from records.models import Job
from records.runtime import Runtime
from search.base import SearchIndex
from tests.support import client_for, load_people, make_settings, sample, work_until_idle

pytestmark = pytest.mark.slow


class _IndexDown:
    """The real index, except that it cannot be written at all (an outage past every retry)."""

    def __init__(self, real: SearchIndex) -> None:
        self.real = real

    def index_many(self, documents):  # type: ignore[no-untyped-def]
        raise ConnectionError("index unavailable")

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.real, name)


@pytest.fixture
def one_attempt_runtime(tmp_path: Path) -> Iterator[Runtime]:
    from app.runtime import build_runtime

    built = build_runtime(make_settings(tmp_path / "data", job_max_attempts=1))
    yield built
    built.close()


def test_an_index_outage_leaves_the_batch_filed_and_the_desk_told(
    one_attempt_runtime: Runtime,
) -> None:
    runtime = one_attempt_runtime
    load_people(runtime)
    desk = client_for(runtime, "post.1")
    uploaded = desk.post(
        "/api/documents", files={"file": ("0001.pdf", sample("docs/0001.pdf").read_bytes())}
    )
    assert uploaded.status_code in (200, 201, 202), uploaded.text
    runtime.index = _IndexDown(runtime.index)  # type: ignore[assignment]

    work_until_idle(runtime)

    with transaction(runtime.sessions, read_only=True) as session:
        [job] = session.scalars(select(Job)).all()
        assert job.state == "done"  # nothing left to retry: the outbox holds the entries
    [batch] = desk.get("/api/batches").json()["batches"]
    # The document is filed: the batch is processed, not failed ...
    assert batch["status"] == "processed"
    assert len(batch["documents"]) == 1
    # ... and the desk is told why search does not find it yet, and what helps.
    message = batch["status_message"]
    assert "abgelegt; die Suche findet sie, sobald der Suchindex wieder erreichbar" in message
    assert "automatisch nachgetragen" in message

    # The index is back: the outbox's drainer (records.index_outbox) writes the entries the
    # batch's commit queued, and search finds the letter.
    runtime.index = runtime.index.real  # type: ignore[attr-defined]
    retry_now(runtime)
    assert drain_all(runtime) >= 1
    assert pending_index_writes(runtime) == (0, None)
    assert runtime.index.contains(batch["documents"][0]["id"])
