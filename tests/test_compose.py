"""The compose deployment gives every service its own least-privilege account."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.services

SECRETS = {
    "EAKTE_SECRET_KEY": "app-secret-key-0123456789",
    "POSTGRES_PASSWORD": "pg-superuser-secret",
    "POSTGRES_OWNER_PASSWORD": "pg-owner-secret",
    "POSTGRES_APP_PASSWORD": "pg-app-secret",
    "MINIO_ROOT_USER": "minio-root-user",
    "MINIO_ROOT_PASSWORD": "minio-root-secret",
    "MINIO_APP_USER": "minio-app-user",
    "MINIO_APP_PASSWORD": "minio-app-secret",
    "OPENSEARCH_APP_PASSWORD": "opensearch-app-secret",
}


def compose_binary() -> str:
    cache = Path(os.environ.get("EAKTE_CACHE_DIR", "/var/cache/eakte")) / "bin"
    found = sorted(cache.glob("docker-compose-v*"))
    if not found:
        message = "no compose binary: services/compose-check.sh install builds it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(found[-1])


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    rendered = subprocess.run(
        [compose_binary(), "-f", str(REPO / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env={**env, **SECRETS},
        check=True,
        timeout=60,
    )
    return json.loads(rendered.stdout)["services"]


def knowing(services: dict[str, dict], secret: str) -> set[str]:
    """The services whose configuration carries `secret`."""
    return {name for name, service in services.items() if secret in json.dumps(service)}


def test_only_the_setup_steps_know_the_powerful_accounts(services: dict[str, dict]) -> None:
    assert knowing(services, SECRETS["POSTGRES_PASSWORD"]) == {"postgres"}
    assert knowing(services, SECRETS["POSTGRES_OWNER_PASSWORD"]) == {"postgres", "migrate"}
    assert knowing(services, SECRETS["MINIO_ROOT_PASSWORD"]) == {"minio", "minio-init"}
    for runs_the_product in ("app", "worker"):
        env = services[runs_the_product]["environment"]
        assert env["EAKTE_DATABASE_URL"].startswith("postgresql+psycopg://eakte_app:")
        assert "EAKTE_MIGRATION_DATABASE_URL" not in env
        assert env["EAKTE_S3_ACCESS_KEY"] == SECRETS["MINIO_APP_USER"]
        assert env["EAKTE_OPENSEARCH_USER"] == "eakte_app"
        assert env["EAKTE_OPENSEARCH_URL"].startswith("https://")
    migrate = services["migrate"]["environment"]
    assert migrate["EAKTE_MIGRATION_DATABASE_URL"].startswith("postgresql+psycopg://eakte:")


def test_opensearch_keeps_its_security_plugin_on(services: dict[str, dict]) -> None:
    env = services["opensearch"]["environment"]
    assert "DISABLE_SECURITY_PLUGIN" not in env
    config = (REPO / "deploy" / "opensearch" / "opensearch.yml").read_text()
    assert "plugins.security.ssl.http.enabled: true" in config
    users = (REPO / "deploy" / "opensearch" / "internal_users.yml").read_text()
    assert "hash:" not in users  # none of the plugin's demo users (admin/admin)
