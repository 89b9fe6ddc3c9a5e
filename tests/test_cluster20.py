"""The product on a clustered stack (issue 20) and what survives losing one member of it.

The drills (marked `cluster` and `slow`) run against the stack of services/cluster.sh: three
OpenSearch nodes, MinIO as four processes with one drive each, a PostgreSQL primary with a
streaming standby. They are skipped unless `services/cluster.sh env` was exported. The unit
tests at the top need no servers: the retry policy of the blob store and the host lists.
"""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from minio.error import S3Error
from opensearchpy import OpenSearch
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from urllib3 import HTTPResponse

from core.config import Settings
from core.errors import BackendUnavailable, ConfigurationError
from records.models import Document
from records.runtime import Runtime
from search.opensearch import OpenSearchIndex, cluster_hosts
from storage.base import read_bytes
from storage.retry import RetryPolicy, is_transient, with_retries
from storage.s3 import S3BlobStore
from tests.support import (
    OWN,
    add_admin,
    client_for,
    file_indexed,
    load_people,
    make_settings,
    sample,
    work_until_idle,
)
from tests.support_cluster20 import cluster_env, drill

# --- without servers: retries and host lists ---------------------------------------------------


def s3_error(code: str, status: int) -> S3Error:
    return S3Error(HTTPResponse(status=status), code, "message", "/b/k", "req", "host")


class Recorder:
    """A RetryPolicy's clock and dice: records the pauses, draws the upper bound."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def policy(self, attempts: int = 6, base: float = 0.2, cap: float = 5.0) -> RetryPolicy:
        return RetryPolicy(
            attempts=attempts,
            base_seconds=base,
            max_seconds=cap,
            sleep=self.pauses.append,
            uniform=lambda low, high: high,
        )


def failing(*errors: BaseException, answer: object = "ok") -> Any:
    """A call that raises `errors` one after the other, then answers; counts its calls."""
    pending = list(errors)

    def call() -> object:
        call.calls += 1  # type: ignore[attr-defined]
        if pending:
            raise pending.pop(0)
        return answer

    call.calls = 0  # type: ignore[attr-defined]
    return call


def test_a_passing_503_is_retried_with_doubling_pauses() -> None:
    clock = Recorder()
    call = failing(s3_error("SlowDownWrite", 503), ConnectionRefusedError(), s3_error("X", 503))
    assert with_retries("Speichern", call, clock.policy()) == "ok"
    assert call.calls == 4
    assert clock.pauses == [0.2, 0.4, 0.8]


def test_pauses_stay_below_the_cap_and_are_drawn_at_random() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=3.0, uniform=lambda low, high: high)
    assert [policy.pause(n) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, 3.0]
    drawn = [RetryPolicy(base_seconds=1.0, max_seconds=3.0).pause(4) for _ in range(200)]
    assert all(0.0 <= pause <= 3.0 for pause in drawn)
    assert len(set(drawn)) > 100, "full jitter: the workers of one outage do not return in step"


def test_used_up_retries_end_in_a_german_error() -> None:
    clock = Recorder()
    call = failing(*[s3_error("XMinioServerNotInitialized", 503)] * 10)
    with pytest.raises(BackendUnavailable) as raised:
        with_retries("Speichern", call, clock.policy(attempts=3))
    assert call.calls == 3 and len(clock.pauses) == 2
    message = str(raised.value)
    assert "Dokumentenspeicher" in message and "nach 3 Versuchen" in message
    assert "XMinioServerNotInitialized" in message and "später" in message
    assert raised.value.status == 503


def test_no_new_try_begins_after_the_time_budget() -> None:
    """A MinIO without write quorum holds each request until the read timeout: the budget, not
    the number of tries, bounds how long the desk waits."""
    now = [0.0]

    def slow() -> None:
        now[0] += 20.0  # each try ends in a 20 s read timeout
        raise s3_error("SlowDownWrite", 503)

    policy = RetryPolicy(
        attempts=6,
        base_seconds=0.2,
        total_seconds=30.0,
        sleep=lambda pause: None,
        clock=lambda: now[0],
        uniform=lambda low, high: high,
    )
    with pytest.raises(BackendUnavailable, match="nach 2 Versuchen"):
        with_retries("Speichern", slow, policy)
    assert now[0] == 40.0


def test_a_refusal_is_not_retried() -> None:
    clock = Recorder()
    for error in (s3_error("NoSuchKey", 404), s3_error("AccessDenied", 403), ValueError("x")):
        call = failing(error)
        with pytest.raises(type(error)):
            with_retries("Lesen", call, clock.policy())
        assert call.calls == 1
    assert clock.pauses == []
    assert is_transient(s3_error("InternalError", 500)) and not is_transient(KeyError())


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_endpoint_that_refuses_hands_over_to_the_next() -> None:
    clock = Recorder()
    store = S3BlobStore(
        endpoint=f"127.0.0.1:{closed_port()}, 127.0.0.1:{closed_port()}",
        access_key="a",
        secret_key="b",
        bucket="eakte",
        retry=clock.policy(),
    )
    assert store.endpoints[1].startswith("127.0.0.1:") and len(store.clients) == 2
    healthy = SimpleNamespace(bucket_exists=lambda bucket: bucket == "eakte")
    dead = store.clients[0]
    store.clients[1] = healthy  # type: ignore[call-overload]
    assert store._call("Prüfen", lambda client: client.bucket_exists("eakte")) is True
    assert store.client is healthy and len(clock.pauses) == 1
    # Every endpoint gone: the retries run out into the German error.
    store.clients[1] = dead
    store.client = dead
    with pytest.raises(BackendUnavailable, match="Dokumentenspeicher"):
        store._call("Prüfen", lambda client: client.bucket_exists("eakte"))


def test_host_lists_are_read_from_the_settings(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        opensearch_url="http://a:9200, http://b:9200/ ,http://c:9200",
        s3_endpoint="m0:9000,m1:9000",
    )
    assert settings.opensearch_urls == ["http://a:9200", "http://b:9200/", "http://c:9200"]
    assert settings.s3_endpoints == ["m0:9000", "m1:9000"]
    assert make_settings(tmp_path).opensearch_urls == ["http://127.0.0.1:9200"]
    with pytest.raises(ConfigurationError):
        _ = make_settings(tmp_path, s3_endpoint=" , ").s3_endpoints
    assert cluster_hosts("http://a:9200/,http://a:9200") == ["http://a:9200"]
    index = OpenSearchIndex(settings.opensearch_urls, "i", replicas=1)
    assert len(index.client.transport.hosts) == 3
    assert index.client.transport.max_retries == 3 and index.replicas == 1
    index.close()


def test_a_postgresql_host_list_reaches_libpq_whole(tmp_path: Path) -> None:
    url = (
        "postgresql+psycopg://u:p@/eakte?host=10.0.0.1:5432&host=10.0.0.2:5433"
        "&target_session_attrs=read-write"
    )
    settings = make_settings(tmp_path, database_url=url)
    parsed = make_url(settings.resolved_database_url)
    _, params = create_engine(parsed).dialect.create_connect_args(parsed)
    assert params["host"] == "10.0.0.1,10.0.0.2" and params["port"] == "5432,5433"
    assert params["target_session_attrs"] == "read-write" and params["dbname"] == "eakte"


# --- on the cluster ----------------------------------------------------------------------------

CASEWORKER = "lsb.95401.2"  # sees OWN's file
DESK = "post.1"  # the scanning desk


@pytest.fixture(scope="module")
def cluster() -> dict[str, str]:
    return cluster_env()


@pytest.fixture(scope="module")
def cluster_settings(
    cluster: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The product's settings on the whole stack: a database, bucket and index of the module's
    own (the index with a replica, so a lost node loses no part of it)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    base = cluster["EAKTE_TEST_CLUSTER_DATABASE_URL"]
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    index = f"t-{uuid.uuid4().hex[:16]}"
    yield make_settings(
        tmp_path_factory.mktemp("cluster") / "data",
        database_url=make_url(base).set(database=name).render_as_string(hide_password=False),
        blob_store="s3",
        s3_endpoint=cluster["EAKTE_TEST_CLUSTER_S3_ENDPOINTS"],
        s3_access_key=cluster["EAKTE_TEST_CLUSTER_S3_ACCESS_KEY"],
        s3_secret_key=cluster["EAKTE_TEST_CLUSTER_S3_SECRET_KEY"],
        s3_bucket=f"t-{uuid.uuid4().hex[:16]}",
        search_index="opensearch",
        opensearch_url=cluster["EAKTE_TEST_CLUSTER_OPENSEARCH_URLS"],
        opensearch_index=index,
        opensearch_replicas=1,
        # A MinIO without write quorum holds requests: the drill with two processes gone waits
        # 5 s a try, and tries no longer than 10 s, before the desk is told.
        s3_timeout_seconds=5,
        job_outage_retry_seconds=1,  # a job that met the outage tries again after a second
        s3_retry_total_seconds=10,
    )
    nodes = opensearch(cluster)
    nodes.indices.delete(index=index, ignore_unavailable=True)
    nodes.close()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def cluster_runtime(cluster_settings: Settings) -> Iterator[Runtime]:
    from app.runtime import build_runtime

    built = build_runtime(cluster_settings)
    load_people(built)
    yield built
    built.close()


def opensearch(cluster: dict[str, str]) -> OpenSearch:
    return OpenSearch(
        hosts=cluster["EAKTE_TEST_CLUSTER_OPENSEARCH_URLS"].split(","), max_retries=3, timeout=60
    )


def found(runtime: Runtime, word: str) -> set[str]:
    """The ids of the documents the caseworker finds by `word` (through the product's API)."""
    answer = client_for(runtime, CASEWORKER).get("/api/search", params={"q": word})
    assert answer.status_code == 200, answer.text
    return {hit["document_id"] for hit in answer.json()["hits"]}


def letter(runtime: Runtime) -> tuple[str, str]:
    """A letter filed into OWN's file and indexed; its id and the made-up word it holds."""
    word = f"kennwort{secrets.token_hex(4)}"
    document_id = file_indexed(runtime, OWN, "sonstiges", f"Sehr geehrte Damen, {word} anbei.")
    return document_id, word


def blob_roundtrip(runtime: Runtime) -> None:
    """Writes an object through the product's blob store and reads it back, hash-checked."""
    payload = secrets.token_bytes(200_000)
    key = f"cluster/{uuid.uuid4().hex}"
    runtime.blobs.put(key, io.BytesIO(payload))
    assert read_bytes(runtime.blobs, key) == payload


def wait_green(cluster: dict[str, str], seconds: int = 180) -> dict[str, Any]:
    nodes = opensearch(cluster)
    try:
        # request_timeout first: without it the client takes `timeout` as its own.
        health = nodes.cluster.health(
            wait_for_status="green",
            wait_for_nodes="3",
            request_timeout=seconds + 30,
            timeout=f"{seconds}s",
        )
    finally:
        nodes.close()
    assert not health["timed_out"], health
    return dict(health)


@pytest.mark.cluster
@pytest.mark.slow
def test_the_product_stores_reads_indexes_and_finds_on_the_cluster(
    cluster: dict[str, str], cluster_runtime: Runtime, cluster_settings: Settings
) -> None:
    blob_roundtrip(cluster_runtime)
    document_id, word = letter(cluster_runtime)
    assert found(cluster_runtime, word) == {document_id}
    nodes = opensearch(cluster)
    shards = nodes.cat.shards(index=cluster_settings.opensearch_index, format="json")
    nodes.close()
    assert sorted(shard["prirep"] for shard in shards) == ["p", "r"], shards
    assert {shard["state"] for shard in shards} == {"STARTED"}
    assert cluster_runtime.blobs.ping().ok


@pytest.mark.cluster
@pytest.mark.slow
def test_an_opensearch_node_killed_search_and_indexing_go_on(
    cluster: dict[str, str], cluster_runtime: Runtime, cluster_settings: Settings
) -> None:
    before, before_word = letter(cluster_runtime)
    nodes = opensearch(cluster)
    shards = nodes.cat.shards(index=cluster_settings.opensearch_index, format="json")
    nodes.close()
    # The node holding the primary shard: its replica must take over.
    primary = next(shard["node"] for shard in shards if shard["prirep"] == "p")
    number = primary.removeprefix("os")
    drill(cluster, "kill", "opensearch", number)
    try:
        assert found(cluster_runtime, before_word) == {before}
        during, during_word = letter(cluster_runtime)
        assert found(cluster_runtime, during_word) == {during}
        state = cluster_runtime.index.ping()
        assert state.ok and state.detail.endswith("2 Knoten"), state
        # /health lists every configured node: the killed one as gone.
        assert [node.ok for node in state.nodes].count(False) == 1, state.nodes
        assert len(state.nodes) == 3
    finally:
        drill(cluster, "restart", "opensearch", number)
    health = wait_green(cluster)
    assert health["number_of_nodes"] == 3
    state = cluster_runtime.index.ping()
    assert state.detail == "Cluster green, 3 Knoten"
    assert all(node.ok for node in state.nodes) and len(state.nodes) == 3, state.nodes
    assert found(cluster_runtime, before_word) == {before}
    assert found(cluster_runtime, during_word) == {during}


@pytest.mark.cluster
@pytest.mark.slow
def test_a_minio_process_killed_reads_and_writes_go_on(
    cluster: dict[str, str], cluster_runtime: Runtime
) -> None:
    payload = secrets.token_bytes(300_000)
    kept = f"cluster/{uuid.uuid4().hex}"
    cluster_runtime.blobs.put(kept, io.BytesIO(payload))
    # The process the product talks to first: it must go on with the next one.
    drill(cluster, "kill", "minio", "0")
    try:
        assert read_bytes(cluster_runtime.blobs, kept) == payload
        blob_roundtrip(cluster_runtime)
        document_id, word = letter(cluster_runtime)
        assert found(cluster_runtime, word) == {document_id}
        ping = cluster_runtime.blobs.ping()
        assert ping.ok and "3 von 4" in ping.detail, ping
        # The administrator's /health names each endpoint and the one that is gone.
        add_admin(cluster_runtime, "admin-minio-drill")
        health = client_for(cluster_runtime, "admin-minio-drill").get("/health").json()
        nodes = health["backends"]["blob_store"]["nodes"]
        assert [node["ok"] for node in nodes] == [False, True, True, True], nodes
        assert health["backends"]["search_index"]["nodes"][0]["ok"] is True
    finally:
        drill(cluster, "restart", "minio", "0")
    assert read_bytes(cluster_runtime.blobs, kept) == payload
    blob_roundtrip(cluster_runtime)


@pytest.mark.cluster
@pytest.mark.slow
def test_the_primary_stopped_and_the_standby_promoted_the_product_writes_again(
    cluster: dict[str, str], cluster_runtime: Runtime, cluster_settings: Settings
) -> None:
    from app.runtime import build_runtime

    before, _ = letter(cluster_runtime)
    with cluster_runtime.sessions() as session:
        documents = session.scalar(select(func.count()).select_from(Document))
    drill(cluster, "promote")  # stops the primary (fast shutdown), promotes the standby
    try:
        # The running product: its pooled connections to the old primary are dead; pre-ping
        # replaces them, libpq's host list finds the promoted standby.
        after, after_word = letter(cluster_runtime)
        assert found(cluster_runtime, after_word) == {after}
        # A new process of the product (a restarted worker or web process).
        fresh = build_runtime(cluster_settings, migrate_schema=False)
        try:
            with fresh.sessions() as session:
                ids = {str(i) for i in session.scalars(select(Document.id))}
                in_recovery = session.scalar(text("SELECT pg_is_in_recovery()"))
            assert in_recovery is False
            # /health names both hosts: the old primary gone, the promoted standby writing.
            hosts = fresh.database_state().nodes
            assert [(node.ok, node.detail) for node in hosts].count(
                (True, "Primär (schreibt)")
            ) == 1, hosts
            assert [node.ok for node in hosts].count(False) == 1, hosts
            assert {before, after} <= ids and len(ids) == documents + 1
            again, _ = letter(fresh)
            assert again not in ids
        finally:
            fresh.close()
    finally:
        drill(cluster, "rejoin")  # the old primary becomes the new one's standby


@pytest.mark.cluster
@pytest.mark.slow
def test_two_minio_processes_killed_the_desk_is_told_and_nothing_is_lost(
    cluster: dict[str, str], cluster_runtime: Runtime
) -> None:
    from records.models import ScanBatch

    payload = secrets.token_bytes(100_000)
    kept = f"cluster/{uuid.uuid4().hex}"
    cluster_runtime.blobs.put(kept, io.BytesIO(payload))
    desk = client_for(cluster_runtime, DESK)
    letter_pdf = sample("docs/0001.pdf")
    files = {"file": (letter_pdf.name, letter_pdf.read_bytes(), "application/pdf")}
    with cluster_runtime.sessions() as session:
        batches = session.scalar(select(func.count()).select_from(ScanBatch))
    drill(cluster, "kill", "minio", "2")
    drill(cluster, "kill", "minio", "3")
    try:
        # Two of four drives: too few to write (3 needed), enough to read (2).
        refused = desk.post("/api/documents", files=files)
        assert refused.status_code == 503, refused.text
        message = refused.json()["error"]["message"]
        assert "Dokumentenspeicher" in message and "später" in message, message
        assert read_bytes(cluster_runtime.blobs, kept) == payload
        with cluster_runtime.sessions() as session:
            assert session.scalar(select(func.count()).select_from(ScanBatch)) == batches
    finally:
        drill(cluster, "restart", "minio", "2")
        drill(cluster, "restart", "minio", "3")
    # Handed in again once the store is back: accepted, processed, filed.
    accepted = desk.post("/api/documents", files=files)
    assert accepted.status_code == 201, accepted.text
    assert work_until_idle(cluster_runtime) >= 1
    with cluster_runtime.sessions() as session:
        batch = session.get(ScanBatch, uuid.UUID(accepted.json()["id"]))
        assert batch is not None and batch.status == "processed", batch
    assert read_bytes(cluster_runtime.blobs, kept) == payload


@pytest.mark.cluster
@pytest.mark.slow
def test_a_job_hit_by_the_outage_is_tried_again_and_its_letter_filed_once(
    cluster: dict[str, str], cluster_runtime: Runtime
) -> None:
    from ingest.worker import run_one
    from records.jobs import claim_next
    from records.models import Job, ScanBatch

    desk = client_for(cluster_runtime, DESK)
    scan = sample("docs/0002.pdf")
    accepted = desk.post("/api/documents", files={"file": (scan.name, scan.read_bytes())})
    assert accepted.status_code == 201, accepted.text
    batch_id = uuid.UUID(accepted.json()["id"])
    drill(cluster, "kill", "minio", "1")
    drill(cluster, "kill", "minio", "2")
    try:
        # A worker takes the job while the store cannot write: its renditions fail.
        job = claim_next(cluster_runtime.sessions, "drill-worker", 120)
        assert job is not None and job.batch_id == batch_id
        run_one(cluster_runtime, job)
        with cluster_runtime.sessions() as session:
            row = session.get(Job, job.id)
            assert row is not None and row.state == "queued", row and row.state
            assert "Dokumentenspeicher" in (row.last_error or "")
    finally:
        drill(cluster, "restart", "minio", "1")
        drill(cluster, "restart", "minio", "2")
    # Back: the job is taken up again and ends; the batch's letter is filed exactly once.
    work_until_idle(cluster_runtime)
    with cluster_runtime.sessions() as session:
        batch = session.get(ScanBatch, batch_id)
        assert batch is not None and batch.status == "processed", batch and batch.status
        row = session.get(Job, job.id)
        # The outage used up no attempt (Outcome.OUTAGE): the job waited and tried again.
        assert row is not None and row.state == "done" and row.attempts == 1
        documents = list(session.scalars(select(Document).where(Document.batch_id == batch_id)))
        assert documents and all(d.status == "processed" for d in documents)
        starts = [d.first_page for d in documents]
        assert len(starts) == len(set(starts)), "a page range filed twice"
