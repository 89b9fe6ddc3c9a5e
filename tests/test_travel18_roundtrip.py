"""Issue 18's round trip between two instances of the product on the real services. Job
centre A (its own PostgreSQL database, MinIO bucket and OpenSearch index) scans two letters of
a family and sends it a decision; the family moves, and A hands the file over with
`eakte handover export`. Job centre B (a second database, bucket and index) takes it over with
`eakte handover import`: the file arrives complete, every document with the same pages, page
texts, hashes, dates and types, in B's caseworker's Postkorb and searchable at once. B knows
the family under its own BG number, so the file is matched by the persons, not by A's number.
B's 0402 goes back to A with `eakte handover answer`, and A sees the import confirmed; A's
file is read-only from then on."""

from __future__ import annotations

import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from app.runtime import Runtime, build_runtime
from core.config import Settings
from core.db import transaction
from records.models import Document, Handover, Household, InboxItem, Takeover
from tests.support import (
    client_for,
    file_letter,
    load_people,
    make_settings,
    run_cli,
    sample,
    service_env,
    settings_env,
    work_until_idle,
)
from tests.support_xdomea17 import store_rendition

pytestmark = [pytest.mark.services, pytest.mark.slow]

SENDER_BG = "95402BG2654506"  # Köhler, Ali (1981-06-16) in the sample master data
RECEIVER_BG = "95499BG0000001"  # the same family at the receiving job centre
SCANS = ("docs/0012.pdf", "docs/0034.pdf")  # a rent certificate and a pay slip of the family
RECEIVER = "Jobcenter Nordfriesland-Süd"
DECISION = "Bewilligungsbescheid 2027"


@dataclass(frozen=True)
class Instance:
    runtime: Runtime
    settings: Settings

    def env(self) -> dict[str, str]:
        return settings_env(self.settings) | {"EAKTE_JOB_CENTRE_NAME": self.name}

    @property
    def name(self) -> str:
        return self.settings.job_centre_name


def _instance(data: Path, database_url: str, name: str) -> Iterator[Instance]:
    index = f"t-{uuid.uuid4().hex[:16]}"
    url = service_env("EAKTE_TEST_OPENSEARCH_URL")
    settings = make_settings(
        data,
        database_url=database_url,
        blob_store="s3",
        s3_endpoint=service_env("EAKTE_TEST_S3_ENDPOINT"),
        s3_access_key=service_env("EAKTE_TEST_S3_ACCESS_KEY"),
        s3_secret_key=service_env("EAKTE_TEST_S3_SECRET_KEY"),
        s3_bucket=f"t-{uuid.uuid4().hex[:16]}",
        search_index="opensearch",
        opensearch_url=url,
        opensearch_index=index,
        job_centre_name=name,
    )
    runtime = build_runtime(settings)
    try:
        yield Instance(runtime, settings)
    finally:
        runtime.close()
        from opensearchpy import OpenSearch

        client = OpenSearch(hosts=[url])
        client.indices.delete(index=index, ignore_unavailable=True)
        client.close()


@pytest.fixture
def sender(tmp_path: Path, postgres_url: str) -> Iterator[Instance]:
    yield from _instance(tmp_path / "a", postgres_url, "Jobcenter Nordfriesland")


@pytest.fixture
def receiver(tmp_path: Path, second_postgres_url: str) -> Iterator[Instance]:
    yield from _instance(tmp_path / "b", second_postgres_url, RECEIVER)


def _documents(runtime: Runtime, bg_number: str) -> list[dict[str, Any]]:
    """The file's documents as a caseworker compares them, in file order."""
    with transaction(runtime.sessions, read_only=True) as session:
        documents = session.scalars(
            select(Document)
            .join(Household, Document.household_id == Household.id)
            .where(Household.bg_number == bg_number)
            .order_by(Document.receipt_date, Document.received_at)
        ).all()
        return [
            {
                "pdf_sha256": d.pdf_sha256,
                "pages": d.page_count,
                "page_texts": [" ".join((p.text or "").split()) for p in d.pages],
                "doc_type": d.doc_type,
                "receipt_date": d.receipt_date,
                "letter_date": d.letter_date,
                "dispatch_date": d.dispatch_date,
                "direction": d.direction,
                "received_at": d.received_at.replace(microsecond=0),
                "sender": d.sender,
            }
            for d in documents
        ]


def _pdf_of(runtime: Runtime, bg_number: str, sha256: str) -> bytes:
    with transaction(runtime.sessions, read_only=True) as session:
        key = session.scalar(
            select(Document.pdf_key)
            .join(Household, Document.household_id == Household.id)
            .where(Household.bg_number == bg_number, Document.pdf_sha256 == sha256)
        )
    assert key is not None
    return b"".join(runtime.blobs.open(key))


def test_a_file_handed_over_arrives_complete_at_the_other_job_centre(
    sender: Instance, receiver: Instance, tmp_path: Path
) -> None:
    # Job centre A: the family's letters scanned and read for real, and a decision sent.
    load_people(sender.runtime)
    desk = client_for(sender.runtime, "post.1")
    for name in SCANS:
        answer = desk.post(
            "/api/documents", files={"file": (Path(name).name, sample(name).read_bytes())}
        )
        assert answer.status_code in (201, 202), answer.text
    assert work_until_idle(sender.runtime) == len(SCANS)
    with transaction(sender.runtime.sessions) as session:
        household = session.scalars(select(Household).where(Household.bg_number == SENDER_BG)).one()
        decision = file_letter(
            session,
            household,
            "bescheid",
            DECISION,
            direction="out",
            dispatch_date=date(2026, 12, 1),
            letter_date=date(2026, 12, 1),
            receipt_date=date(2026, 12, 1),  # the day it was filed
            sender=None,
        )
        session.flush()
        (tmp_path / "work").mkdir()
        store_rendition(sender.runtime, decision, tmp_path / "work", DECISION)
    sent = _documents(sender.runtime, SENDER_BG)
    assert len(sent) == 3 and all(d["pdf_sha256"] for d in sent)

    # Job centre B knows the family under its own number, with its own caseworker.
    load_people(receiver.runtime)
    with transaction(receiver.runtime.sessions) as session:
        session.execute(
            update(Household).where(Household.bg_number == SENDER_BG).values(bg_number=RECEIVER_BG)
        )

    # A hands the file over.
    out = tmp_path / "out"
    exported = run_cli(
        sender.env(), "handover", "export", SENDER_BG, "--to", RECEIVER, "--out", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    message = Path(exported.stdout.strip().splitlines()[-1])
    assert message.parent == out and message.name.endswith("_Abgabe.Abgabe.0401.zip")
    with zipfile.ZipFile(message) as archive:
        pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == 2 * len(sent)  # every document and its Transfervermerk

    # B takes it over.
    imported = run_cli(receiver.env(), "handover", "import", str(message), "--json")
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout.strip().splitlines()[-1])
    assert (result["household"], result["state"], result["documents"]) == (
        RECEIVER_BG,
        "filed",
        len(sent),
    )
    answer = Path(result["answer"])
    assert answer.parent == message.parent
    assert answer.name.endswith("_Abgabe.ImportBestaetigen.0402.zip")

    # Document by document: the same pages, texts, hashes, dates and types, byte for byte.
    arrived = _documents(receiver.runtime, RECEIVER_BG)
    assert len(arrived) == len(sent)
    for there, here in zip(sent, arrived, strict=True):
        for key, value in there.items():
            assert here[key] == value, (key, here[key], value)
    for document in sent:
        assert _pdf_of(receiver.runtime, RECEIVER_BG, document["pdf_sha256"]) == _pdf_of(
            sender.runtime, SENDER_BG, document["pdf_sha256"]
        )
    with transaction(receiver.runtime.sessions, read_only=True) as session:
        takeover = session.scalars(select(Takeover)).one()
        assert (takeover.state, takeover.sender) == ("filed", sender.name)
        assert takeover.sender_file_ref == SENDER_BG
        inbox = session.scalars(select(InboxItem).where(InboxItem.kind == "user")).all()
        assert {item.user.login for item in inbox} == {"lsb.95402.1"}
        assert len(inbox) == len(sent)

    # Searchable at once at B by its caseworker, by a word of the scanned rent certificate.
    caseworker = client_for(receiver.runtime, "lsb.95402.1")
    found = caseworker.get("/api/search", params={"q": "Mietbescheinigung"}).json()
    assert found["total"] >= 1
    assert {hit["bg_number"] for hit in found["hits"]} == {RECEIVER_BG}

    # B's 0402 goes back to A: A sees the import confirmed; A's file is read-only.
    confirmed = run_cli(sender.env(), "handover", "answer", str(answer))
    assert confirmed.returncode == 0, confirmed.stderr
    with transaction(sender.runtime.sessions, read_only=True) as session:
        handover = session.scalars(select(Handover)).one()
        assert handover.state == "imported" and handover.imported_at is not None
        household = session.scalars(select(Household).where(Household.bg_number == SENDER_BG)).one()
        assert household.handed_over_to == RECEIVER
    own = client_for(sender.runtime, "lsb.95402.1")
    note = own.post(f"/api/households/{SENDER_BG}/notes", json={"text": "Noch ein Vermerk"})
    assert note.status_code in (403, 409, 422), note.text
    assert "abgegeben" in note.text
    # A second import of the same message is refused at B and changes nothing there.
    again = run_cli(receiver.env(), "handover", "import", str(message), "--json")
    assert again.returncode != 0
    assert len(_documents(receiver.runtime, RECEIVER_BG)) == len(sent)
