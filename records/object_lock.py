"""S3 object lock follows the computed retention (issue 17).

With object lock (EAKTE_S3_OBJECT_LOCK) every object of a file is locked until the end of the
last day the file's computed retention keeps it (records.retention: `ends_on`, in German local
time), so the lock never outlasts the computed destruction date and never lets an object go
before it:

- a closed file: the computed last day; a document whose type has a shorter period of its own
  (copies of bank statements) only until its own last day, so it can go before its file;
- a file still open: the earliest last day it can still get, 31 December of (the year of its
  latest document + the period its documents' types have); closing the file or a later
  document can only move that date later, and the next sweep extends the lock;
- a hold (an open objection, a recovery claim) extends no lock: it keeps the file in the
  database, which the destruction job obeys; the lock guards the period only;
- an original shared by the documents of a batch: until the earliest of their days, because
  the first of them may be destroyed then (the original itself goes with the last);
- documents not yet in a file (clearing): no lock, nothing is known of their period.

A lock is only ever extended (COMPLIANCE retention cannot be shortened, and GOVERNANCE is not
shortened by the product either). Objects whose lock lasts longer than the computed date (an
earlier business date entered later, an upload lock, a document moved to a type with a shorter
period) are reported, not shortened. The sweep runs by `eakte records lock` and every
`s3_lock_sweep_minutes` in `eakte serve` (records.housekeeping schedules it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.dates import LOCAL_TZ, german, local_today
from core.db import transaction, utcnow
from core.errors import BlobMissing
from records import audit
from records.access import in_case_file_clause
from records.models import Document, FileExport, Household, Page
from records.retention import Rules, load_rules, overview
from storage import BlobStore
from storage.base import RetentionLock

LOCK_ACTION = "records.lock_extended"
SYSTEM_LOGIN = "system"
REPORTED_KEYS = 20


def lock_end(last_day: date) -> datetime:
    """The instant a lock kept until the end of `last_day` (local time) ends."""
    return datetime.combine(last_day + timedelta(days=1), time(), LOCAL_TZ)


@dataclass(frozen=True)
class _FileDates:
    event_year: int
    years: int  # the file's period (a longer type period included)


def _doc_last_day(rules: Rules, dates: _FileDates, doc_type: str | None) -> date:
    rule = rules.type_rule(doc_type)
    years = dates.years
    if rule is not None and rule.years is not None and rule.years < years:
        years = rule.years
    return date(dates.event_year + years, 12, 31)


def lock_dates(session: Session, rules: Rules, today: date) -> dict[str, date]:
    """Every object of a file with the last day its lock may reach (see the module's text)."""
    files: dict[int, _FileDates] = {}
    for retention in overview(session, rules, today, ("running", "due", "held")):
        if retention.event_date is not None:
            files[retention.household_id] = _FileDates(retention.event_date.year, retention.years)
    # Open files: the latest document is the earliest business event they can still get.
    latest = session.execute(
        select(
            Document.household_id,
            func.max(func.coalesce(Document.dispatch_date, Document.receipt_date)),
        )
        .join(Household, Household.id == Document.household_id)
        .where(
            Household.benefits_end.is_(None),
            Household.closed_on.is_(None),
            Household.destruction_started_at.is_(None),
            in_case_file_clause(),
        )
        .group_by(Document.household_id)
    )
    for household_id, day in latest:
        if household_id is not None and day is not None:
            files[household_id] = _FileDates(day.year, rules.years)

    keys: dict[str, date | None] = {}

    def _lock(key: str | None, day: date | None) -> None:
        # A key several holders share (a batch's original) gets the earliest of their days;
        # one holder without a day (a document in clearing) leaves it unlocked.
        if not key:
            return
        if key in keys:
            current = keys[key]
            keys[key] = None if current is None or day is None else min(current, day)
        else:
            keys[key] = day

    documents = session.execute(
        select(
            Document.id,
            Document.household_id,
            Document.doc_type,
            Document.original_key,
            Document.pdf_key,
            Document.scan_record_key,
        )
    ).all()
    days: dict[Any, date | None] = {}
    for row in documents:
        dates = files.get(row.household_id) if row.household_id is not None else None
        doc_day = _doc_last_day(rules, dates, row.doc_type) if dates is not None else None
        days[row.id] = doc_day
        for key in (row.original_key, row.pdf_key, row.scan_record_key):
            _lock(key, doc_day)
    for page in session.execute(
        select(Page.document_id, Page.image_key, Page.thumb_key, Page.words_key)
    ):
        for key in (page.image_key, page.thumb_key, page.words_key):
            _lock(key, days.get(page.document_id))
    for export in session.execute(select(FileExport.household_id, FileExport.blob_key)):
        file_dates = files.get(export.household_id)
        _lock(
            export.blob_key,
            date(file_dates.event_year + file_dates.years, 12, 31) if file_dates else None,
        )
    return {key: day for key, day in keys.items() if day is not None}


@dataclass
class LockReport:
    objects: int = 0
    extended: int = 0
    unchanged: int = 0
    missing: int = 0
    # Locked longer than the computed date allows (not shortened): key -> lock end.
    longer: dict[str, datetime] = field(default_factory=dict)
    enabled: bool = True

    def german(self) -> str:
        if not self.enabled:
            return "Kein Objekt-Lock eingerichtet (EAKTE_S3_OBJECT_LOCK): nichts zu sperren."
        text = (
            f"Aufbewahrungssperren: {self.objects} Objekte geprüft, {self.extended} verlängert, "
            f"{self.unchanged} schon lang genug, {self.missing} nicht (mehr) vorhanden."
        )
        if self.longer:
            text += (
                f" {len(self.longer)} Objekte sind länger gesperrt, als ihre Frist reicht "
                "(eine Sperre wird nie verkürzt): "
                + ", ".join(
                    f"{key} bis {german(until.astimezone(LOCAL_TZ).date())}"
                    for key, until in list(self.longer.items())[:REPORTED_KEYS]
                )
            )
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "objects": self.objects,
            "extended": self.extended,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "longer": {key: until.isoformat() for key, until in self.longer.items()},
        }


def locking(blobs: BlobStore) -> bool:
    """Whether the store locks objects (S3 with object lock)."""
    return isinstance(blobs, RetentionLock) and blobs.object_lock


def sweep(
    sessions: sessionmaker[Session],
    settings: Settings,
    blobs: BlobStore,
    *,
    today: date | None = None,
) -> LockReport:
    """Extend the lock of every object of a file to the date its retention allows."""
    if not isinstance(blobs, RetentionLock) or not blobs.object_lock:
        return LockReport(enabled=False)
    rules = load_rules(settings)
    with transaction(sessions, read_only=True) as session:
        targets = lock_dates(session, rules, today or local_today())
    report = _extend(blobs, targets.items())
    if report.extended or report.longer:
        with transaction(sessions) as session:
            audit.record(
                session,
                None,
                LOCK_ACTION,
                actor_login=SYSTEM_LOGIN,
                object_type="blob_store",
                objects=report.objects,
                extended=report.extended,
                longer=len(report.longer),
            )
    return report


def _extend(blobs: RetentionLock, targets: Iterable[tuple[str, date]]) -> LockReport:
    report = LockReport()
    now = utcnow()
    for key, last_day in targets:
        report.objects += 1
        until = lock_end(last_day)
        if until <= now:  # due already: nothing left to guard
            report.unchanged += 1
            continue
        try:
            current = blobs.retained_until(key)
            if current is not None and current >= until:
                report.unchanged += 1
                if current > until:
                    report.longer[key] = current
                continue
            blobs.retain_until(key, until)
        except BlobMissing:
            report.missing += 1
            continue
        report.extended += 1
    return report
