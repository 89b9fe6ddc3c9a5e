"""What `/metrics` reads from the database at scrape time (issue 20): the job queue.

The queue lives in the database, not in any one process, so it is read where it is (one query
per scrape) instead of being counted by the processes that change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from records.models import Job

# Jobs in these states are the queue: waiting for a worker, or with one.
OPEN_STATES = ("queued", "running")


@dataclass(frozen=True)
class QueueRow:
    kind: str
    state: str
    jobs: int
    # Since the oldest of these jobs was enqueued (a retried job keeps its first time).
    oldest_age_seconds: float


def queue_state(session: Session, now: datetime) -> list[QueueRow]:
    """Open jobs per kind and state, with the age of the oldest; kinds without open jobs are
    not in the list."""
    query = (
        select(Job.kind, Job.state, func.count(), func.min(Job.created_at))
        .where(Job.state.in_(OPEN_STATES))
        .group_by(Job.kind, Job.state)
    )
    return [
        QueueRow(kind, state, int(count), max(0.0, (now - oldest).total_seconds()))
        for kind, state, count, oldest in session.execute(query)
    ]
