"""Fixtures: real backends everywhere; the server-based ones come from scripts/test.sh.

Tests marked `services` need PostgreSQL, MinIO or OpenSearch. scripts/test.sh starts them and
exports their addresses; without them such tests are skipped locally and fail under CI.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from records.config import Settings
from records.db import make_engine, make_session_factory, migrate
from records.runtime import Runtime

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"
TEST_SECRET = "test-secret-key-0123456789"


def service_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        message = f"{name} is not set: run the suite with scripts/test.sh to start the services"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return value


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "demo": False,
        "secret_key": TEST_SECRET,
        "data_dir": data_dir,
        "samples_dir": SAMPLES,
        "ocr_processes": 2,
        "job_poll_seconds": 0.2,
        # Most tests follow a letter from the scan to the Postkorb; the quality check that
        # holds it back by default has tests of its own (tests/test_need_to_know.py).
        "qa_required": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    base = service_env("EAKTE_TEST_DATABASE_URL")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_runtime_url(postgres_url: str) -> Iterator[str]:
    """The test's own PostgreSQL database (owned by the role of `postgres_url`) as the
    least-privilege runtime role of services/postgres.sh reaches it; it has no rights there
    until the owner grants them (records/db_roles.py)."""
    runtime_role = make_url(service_env("EAKTE_TEST_APP_DATABASE_URL"))
    url = make_url(postgres_url).set(username=runtime_role.username, password=runtime_role.password)
    yield url.render_as_string(hide_password=False)
    # The owner may not end the runtime role's sessions, so DROP DATABASE ... FORCE would fail
    # while a closed one is still ending on the server.
    owner = create_engine(postgres_url)
    try:
        with owner.connect() as connection:
            for _ in range(100):
                connected = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND usename = :role"
                    ),
                    {"role": runtime_role.username},
                ).scalar()
                if not connected:
                    break
                time.sleep(0.1)
    finally:
        owner.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'eakte.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def s3_settings() -> dict[str, object]:
    """Connection settings for MinIO with a bucket of the test's own."""
    return {
        "blob_store": "s3",
        "s3_endpoint": service_env("EAKTE_TEST_S3_ENDPOINT"),
        "s3_access_key": service_env("EAKTE_TEST_S3_ACCESS_KEY"),
        "s3_secret_key": service_env("EAKTE_TEST_S3_SECRET_KEY"),
        "s3_bucket": f"t-{uuid.uuid4().hex[:16]}",
    }


@pytest.fixture
def opensearch_settings() -> Iterator[dict[str, object]]:
    """Connection settings for OpenSearch with an index of the test's own, removed afterwards."""
    url = service_env("EAKTE_TEST_OPENSEARCH_URL")
    index = f"t-{uuid.uuid4().hex[:16]}"
    yield {"search_index": "opensearch", "opensearch_url": url, "opensearch_index": index}
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[url])
    client.indices.delete(index=index, ignore_unavailable=True)
    client.close()


BACKEND_SETS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("production", id="postgres-minio-opensearch", marks=pytest.mark.services),
]


@pytest.fixture(params=BACKEND_SETS)
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The product's settings on one of its two backend sets."""
    if request.param == "embedded":
        return make_settings(tmp_path / "data")
    overrides: dict[str, object] = {"database_url": request.getfixturevalue("postgres_url")}
    overrides.update(request.getfixturevalue("s3_settings"))
    overrides.update(request.getfixturevalue("opensearch_settings"))
    return make_settings(tmp_path / "data", **overrides)


@pytest.fixture
def runtime(backend_settings: Settings) -> Iterator[Runtime]:
    from records.runtime import build_runtime

    built = build_runtime(backend_settings)
    yield built
    built.close()


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Iterator[Runtime]:
    from records.runtime import build_runtime

    built = build_runtime(make_settings(tmp_path / "data"))
    yield built
    built.close()


def migrated_sessions(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    migrate(engine)
    return engine, make_session_factory(engine)
