"""The pipeline's unit of work: the search index follows the commit of a batch's documents.

A batch's documents, pages and inbox items are committed in one transaction, together with the
index-outbox rows of their entries; the entries are written after that commit. If the index
cannot be written (it is down), the job is done all the same and the outbox's drainer writes
the entries once the index answers, without reading the pages again; if the worker dies after
the commit, the retry finds the batch processed and only writes the entries. Nothing is filed
twice. If the commit fails (another worker took the job over), the index does not know the
documents either.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import ingest.pipeline
from core.db import transaction
from records.index_outbox import drain_all, retry_now
from records.jobs import LeaseLost
from records.models import Document, InboxItem, Job
from records.runtime import Runtime
from search.base import SearchIndex
from tests.support import client_for, load_people, sample, work_until_idle

pytestmark = pytest.mark.slow


class _IndexDown:
    """The real index, except that its first write fails (a short index outage); `seen`
    records what the database held at that moment."""

    def __init__(self, real: SearchIndex, runtime: Runtime) -> None:
        self.real = real
        self.runtime = runtime
        self.seen: tuple[int, int, str] | None = None

    def index_many(self, documents):  # type: ignore[no-untyped-def]
        if self.seen is None:
            self.seen = _counts(self.runtime)
            raise ConnectionError("index unavailable")
        return self.real.index_many(documents)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.real, name)


def _upload(runtime: Runtime) -> str:
    load_people(runtime)
    desk = client_for(runtime, "post.1")
    uploaded = desk.post(
        "/api/documents", files={"file": ("0001.pdf", sample("docs/0001.pdf").read_bytes())}
    )
    assert uploaded.status_code in (200, 201, 202), uploaded.text
    return str(uploaded.json()["id"])


def _found(runtime: Runtime) -> list[str]:
    caseworker = client_for(runtime, "lsb.95401.3")
    result = caseworker.get("/api/search", params={"q": "Verdienstabrechnung"}).json()
    return [hit["document_id"] for hit in result["hits"]]


def _counts(runtime: Runtime) -> tuple[int, int, str]:
    with transaction(runtime.sessions, read_only=True) as session:
        documents = session.scalar(select(func.count()).select_from(Document))
        items = session.scalar(select(func.count()).select_from(InboxItem))
        [state] = session.scalars(select(Job.state)).all()
    return int(documents or 0), int(items or 0), state


def test_index_outage_after_the_commit_is_caught_up_by_the_outbox_without_reading_again(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = sqlite_runtime
    _upload(runtime)
    reads: list[int] = []
    real_read = ingest.pipeline.read_page

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(1)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(ingest.pipeline, "read_page", counted)
    outage = _IndexDown(runtime.index, runtime)
    runtime.index = outage  # type: ignore[assignment]

    work_until_idle(runtime)
    # When the index failed, the documents were committed and in the caseworker's inbox,
    # but the job was not done yet.
    assert outage.seen == (1, 1, "running")
    # The job is done once: its entry waits in the outbox, not in another attempt.
    assert _counts(runtime) == (1, 1, "done")
    assert _found(runtime) == []
    with transaction(runtime.sessions, read_only=True) as session:
        [job] = session.scalars(select(Job)).all()
        assert job.attempts == 1
    # The index is back: the drainer writes the entry without reading the page again.
    runtime.index = outage.real
    retry_now(runtime)
    assert drain_all(runtime) == 1
    assert len(reads) == 1
    assert len(_found(runtime)) == 1


def test_a_commit_that_fails_leaves_no_index_entry(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = sqlite_runtime
    # A job given up as taken over waits for its lease to run out before it is claimed again;
    # a short lease lets its three attempts end in seconds instead of three times 120 s.
    runtime.settings = runtime.settings.model_copy(update={"job_lease_seconds": 2})
    _upload(runtime)

    def taken_over(session, job):  # type: ignore[no-untyped-def]
        raise LeaseLost(f"job {job.id} was taken over")

    # Another worker takes the job over just before this one commits its documents.
    monkeypatch.setattr(ingest.pipeline, "hold", taken_over)
    work_until_idle(runtime)
    documents, items, _state = _counts(runtime)
    assert (documents, items) == (0, 0)
    assert runtime.index.count() == 0
