"""Fixtures: real backends everywhere; the server-based ones come from scripts/test.sh.

Tests marked `services` need PostgreSQL, MinIO or OpenSearch. scripts/test.sh starts them and
exports their addresses; without them such tests are skipped locally and fail under CI.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from psycopg.errors import InsufficientPrivilege
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ProgrammingError

from core.config import Settings
from ingest.recognition import Catalogue, load_catalogue
from records.runtime import Runtime
from tests.support import live_server, load_people, make_settings, service_env
from tests.support_browser import launch_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """The shipped document-type catalogue, read once per module."""
    return load_catalogue()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    yield from _new_database()


@pytest.fixture
def second_postgres_url() -> Iterator[str]:
    """Another new, empty PostgreSQL database: a second instance of the product (issue 18)."""
    yield from _new_database()


def _new_database() -> Iterator[str]:
    base = service_env("EAKTE_TEST_DATABASE_URL")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        try:
            _drop_database(admin, name)
        finally:
            admin.dispose()


def _drop_database(admin: Engine, name: str) -> None:
    """Drop a test database. The owner may not end the runtime role's sessions, so while one
    of them is still closing on the server (a busy machine can take seconds) FORCE is refused;
    it is tried again for up to a minute before the refusal counts."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except ProgrammingError as error:
            if not isinstance(error.orig, InsufficientPrivilege) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


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
    from app.runtime import build_runtime

    built = build_runtime(backend_settings)
    yield built
    built.close()


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Iterator[Runtime]:
    from app.runtime import build_runtime

    built = build_runtime(make_settings(tmp_path / "data"))
    yield built
    built.close()


@pytest.fixture
def polling_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """The sample people; open pages ask every second (the product's default is 15 s), with
    no floor (the live-update browser tests)."""
    from app.runtime import build_runtime

    built = build_runtime(
        make_settings(tmp_path / "data", live_poll_seconds=1, live_min_poll_seconds=0)
    )
    load_people(built)
    yield built
    built.close()


@pytest.fixture
def polling_url(polling_runtime: Runtime) -> Iterator[str]:
    """The product with `polling_runtime`, served on a free port."""
    from app.product import create_product_app

    with live_server(create_product_app(polling_runtime)) as url:
        yield url


@pytest.fixture
def live_url(sqlite_runtime: Runtime) -> Iterator[str]:
    """The product (API and pages) with the sample people, served on a free port."""
    from app.product import create_product_app

    load_people(sqlite_runtime)
    with live_server(create_product_app(sqlite_runtime)) as url:
        yield url


@pytest.fixture
def page() -> Iterator[Page]:
    """A tab of Debian's Chromium, driven by Playwright, in a German context of its own (so
    that a test can open a second window, the viewer, in it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(locale="de-DE")
        yield context.new_page()
        context.close()
        browser.close()
