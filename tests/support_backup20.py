"""Helpers of tests/test_backup20.py (issue 20, backup): an installation with letters read by
the real pipeline, its state compared document by document, and the product's CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.db import transaction
from ingest.intake import accept_file
from records.audit_chain import verify_chain
from records.models import Document, Job
from records.runtime import Runtime
from search import SearchQuery
from tests.support import SAMPLES, load_people, work_until_idle

# Two sample letters, and a word each that their pages carry (samples/truth.jsonl).
LETTERS = ("0001.pdf", "0002.pdf")
WORD = "Verdienstabrechnung"  # 0001.pdf: a payslip of Nordsee Fisch GmbH


def installation_with_letters(runtime: Runtime) -> None:
    """Staff and households of the samples and the letters read, routed and indexed."""
    load_people(runtime)
    for name in LETTERS:
        accept_file(runtime, SAMPLES / "docs" / name, name, None)
    work_until_idle(runtime)


def state(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Every document as the database holds it, with its pages and their hashes, by id."""
    with transaction(runtime.sessions, read_only=True) as session:
        documents = session.scalars(
            select(Document).options(selectinload(Document.pages), selectinload(Document.household))
        )
        return {
            str(document.id): {
                "source_name": document.source_name,
                "status": document.status,
                "doc_type": document.doc_type,
                "bg_number": document.household.bg_number if document.household else None,
                "original": (document.original_key, document.original_sha256),
                "pdf": (document.pdf_key, document.pdf_sha256),
                "pages": [
                    (page.number, page.text, page.image_key, page.image_sha256, page.thumb_sha256)
                    for page in sorted(document.pages, key=lambda p: p.number)
                ],
            }
            for document in documents
        }


def found(runtime: Runtime, word: str, households: set[str]) -> set[str]:
    """The ids of the documents a search for `word` finds in these households."""
    query = SearchQuery(text=word, allowed=frozenset(households))
    return {hit.document_id for hit in runtime.index.search(query).hits}


def chain_intact(runtime: Runtime) -> bool:
    with transaction(runtime.sessions, read_only=True) as session:
        return verify_chain(session, None).first_break is None


def verification_results(runtime: Runtime) -> list[dict[str, Any]]:
    """Results of the hash checks (ingest.verify) that ran, oldest first."""
    with transaction(runtime.sessions, read_only=True) as session:
        jobs = session.scalars(
            select(Job).where(Job.kind == "verify", Job.state == "done").order_by(Job.id)
        )
        return [dict(job.result or {}) for job in jobs]


def manifest(backup: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((backup / "manifest.json").read_text())
    return loaded


def change_a_byte(path: Path) -> None:
    """Flip the last byte of a file of a backup (files there may be read-only)."""
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
