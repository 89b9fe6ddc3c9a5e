"""Helpers of the cluster tests (issue 20): the settings of the stack services/cluster.sh runs,
its drills (kill, restart, promote, rejoin) and bounded waits on it."""

from __future__ import annotations

import os
import subprocess

import pytest

CLUSTER_VARS = (
    "EAKTE_TEST_CLUSTER_DATABASE_URL",
    "EAKTE_TEST_CLUSTER_S3_ENDPOINTS",
    "EAKTE_TEST_CLUSTER_S3_ACCESS_KEY",
    "EAKTE_TEST_CLUSTER_S3_SECRET_KEY",
    "EAKTE_TEST_CLUSTER_OPENSEARCH_URLS",
    "EAKTE_TEST_CLUSTER_SCRIPT",
    "EAKTE_TEST_CLUSTER_SERVICES_DIR",
)


def cluster_env() -> dict[str, str]:
    """The stack's addresses as `services/cluster.sh env` exports them; without them the test
    is skipped (the cluster is opt-in, also under CI)."""
    missing = [name for name in CLUSTER_VARS if not os.environ.get(name)]
    if missing:
        pytest.skip(
            "the cluster stack is not running: start it with `services/cluster.sh start` and "
            f"export what `services/cluster.sh env` prints (missing {', '.join(missing)})"
        )
    return {name: os.environ[name] for name in CLUSTER_VARS}


def drill(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """`services/cluster.sh ARGS` on the running stack (kill opensearch 1, promote, ...)."""
    done = subprocess.run(
        ["bash", env["EAKTE_TEST_CLUSTER_SCRIPT"], *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, EAKTE_SERVICES_DIR=env["EAKTE_TEST_CLUSTER_SERVICES_DIR"]),
    )
    assert done.returncode == 0, f"cluster.sh {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout
