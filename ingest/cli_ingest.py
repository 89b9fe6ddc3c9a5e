"""`eakte ingest`: hand in files from the command line and, with --wait, see them through."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from core.db import transaction
from core.errors import UploadRejected
from ingest.intake import accept_file
from ingest.worker import run_worker
from records.models import Document, InboxItem, ScanBatch
from records.runtime import Runtime

EXIT_OK, EXIT_FAILED = 0, 1


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = (p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            found.extend(sorted(inside))
        else:
            found.append(path)
    return found


def ingest_paths(runtime: Runtime, paths: list[Path], *, wait: bool, station: str | None) -> int:
    console = Console(stderr=True)
    accepted: list[uuid.UUID] = []
    failed = False
    for path in _files(paths):
        try:
            batch, _job = accept_file(
                runtime, path, path.name, None, channel="cli", station=station
            )
        except UploadRejected as exc:
            console.print(f"[red]abgelehnt[/red] {path}: {exc.message}")
            failed = True
            continue
        accepted.append(batch.id)
        console.print(f"angenommen {path} ({batch.pages_total} Seiten)")
    if wait and accepted:
        failed = not _see_through(runtime, accepted, console) or failed
    return EXIT_FAILED if failed else EXIT_OK


def _see_through(runtime: Runtime, batch_ids: list[uuid.UUID], console: Console) -> bool:
    """Work the queue here until every batch has ended; True if none failed.

    As many worker threads as `eakte serve` would start, so that single-page letters are read
    side by side; page slots keep it to one page per core.
    """
    stop = threading.Event()
    workers = [
        threading.Thread(target=run_worker, args=(runtime, stop), daemon=True)
        for _ in range(max(1, runtime.settings.workers))
    ]
    for worker in workers:
        worker.start()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("Seiten"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("Verarbeitung", total=None)
            while True:
                with transaction(runtime.sessions) as session:
                    query = select(ScanBatch).where(ScanBatch.id.in_(batch_ids))
                    batches = list(session.scalars(query))
                total = sum(b.pages_total for b in batches)
                done = sum(b.pages_done for b in batches)
                progress.update(task, total=total, completed=done)
                if all(b.status in ("processed", "failed") for b in batches):
                    break
                stop.wait(0.5)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    ok = True
    for batch in batches:
        if batch.status == "failed":
            ok = False
            console.print(f"[red]fehlgeschlagen[/red] {batch.source_name}: {batch.status_message}")
        else:
            console.print(
                f"fertig {batch.source_name}: {batch.documents_count} Dokument(e), "
                f"{batch.pages_dropped} Seite(n) aussortiert, {_routing_summary(runtime, batch)}"
            )
    return ok


def _routing_summary(runtime: Runtime, batch: ScanBatch) -> str:
    with transaction(runtime.sessions) as session:
        kinds = list(
            session.scalars(
                select(InboxItem.kind)
                .join(Document, Document.id == InboxItem.document_id)
                .where(Document.batch_id == batch.id)
            )
        )
    clearing = kinds.count("clearing")
    return f"{len(kinds) - clearing} zugestellt, {clearing} in der Klärung"
