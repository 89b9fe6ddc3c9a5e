"""The `eakte` command line, as the job centre's own scripts call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, SAMPLES, cli_env, health_answers, run_cli, wait_for


def eakte(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(cli_env(data_dir), *args, stdin=stdin, timeout=120)


def test_import_reports_changes_and_reimport_changes_nothing(tmp_path: Path) -> None:
    first = eakte(tmp_path, "import", "staff", str(SAMPLES / "staff.csv"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Mitarbeitende: 16 neu, 0 geändert")
    households = eakte(tmp_path, "import", "households", str(SAMPLES / "households.csv"), "--json")
    report = json.loads(households.stdout)
    assert len(report["created"]) > 0 and report["warnings"] == []
    again = eakte(tmp_path, "import", "households", str(SAMPLES / "households.csv"), "--json")
    assert json.loads(again.stdout)["created"] == []
    assert json.loads(again.stdout)["unchanged"] == len(report["created"])


def test_broken_import_file_exits_non_zero_with_a_german_reason(tmp_path: Path) -> None:
    broken = tmp_path / "staff.csv"
    broken.write_text("login;name\nx;y\n")
    result = eakte(tmp_path / "data", "import", "staff", str(broken))
    assert result.returncode == 1
    assert "Import abgebrochen, nichts geändert" in result.stderr


def test_set_password_reads_standard_input(tmp_path: Path) -> None:
    eakte(tmp_path, "import", "staff", str(SAMPLES / "staff.csv"))
    result = eakte(tmp_path, "user", "set-password", "ws.1", stdin="ein-neues-langes-passwort\n")
    assert result.returncode == 0 and "Passwort für ws.1 gesetzt" in result.stdout
    short = eakte(tmp_path, "user", "set-password", "ws.1", stdin="kurz\n")
    assert short.returncode == 1 and "mindestens 10 Zeichen" in short.stderr

    from app.runtime import build_runtime
    from records.users import check_login
    from tests.support import make_settings

    runtime = build_runtime(make_settings(tmp_path))
    user = check_login(runtime.sessions, "ws.1", "ein-neues-langes-passwort", demo_mode=False)
    assert user.login == "ws.1"


@pytest.mark.parametrize("command", [["migrate"], ["import", "staff", str(SAMPLES / "staff.csv")]])
def test_default_secret_is_refused_outside_demo_mode(tmp_path: Path, command: list[str]) -> None:
    env = dict(os.environ, EAKTE_DATA_DIR=str(tmp_path))
    env.pop("EAKTE_SECRET_KEY", None)
    env.pop("EAKTE_DEMO", None)
    result = run_cli(env, *command, timeout=60)
    assert result.returncode == 2
    assert "EAKTE_SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_serve_demo_prints_logins_loads_samples_and_works_them(tmp_path: Path) -> None:
    import re
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(
        os.environ,
        EAKTE_DATA_DIR=str(tmp_path / "data"),
        EAKTE_OCR_PROCESSES="1",
        EAKTE_WEB_PROCESSES="2",  # requests are answered by two processes sharing the port
    )
    env.pop("EAKTE_SECRET_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        printed = []
        assert server.stdout is not None
        for line in server.stdout:
            printed.append(line)
            if line.startswith("  ws.2"):
                break
        output = "".join(printed)
        assert f"E-Akte läuft: http://127.0.0.1:{port}/" in output
        assert "Demo-Daten geladen: 40 Scans eingeliefert" in output
        logins = dict(re.findall(r"^  (\S+)\s+(\S+)\s+\S+\s+.+$", output, re.M))
        assert {"post.1", "lsb.95401.1", "ws.1", "admin"} <= logins.keys()

        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: health_answers(base), 180, "the server to come up", every=0.2)
        with httpx.Client(base_url=base, timeout=10) as client:
            login = {"login": "post.1", "password": logins["post.1"]}
            assert client.post("/api/auth/login", json=login).status_code == 200
            assert client.get("/").headers["location"] == "/scanstelle"
            # The worker takes the scans in the order they were handed in: 0001.pdf, a pay slip.
            # The queue is shown to administrators only.
            client.post("/api/auth/logout")
            login = {"login": "admin", "password": logins["admin"]}
            assert client.post("/api/auth/login", json=login).status_code == 200
            wait_for(
                lambda: client.get("/health").json()["jobs"]["done"] > 0,
                60,
                "a sample to be processed",
                every=0.5,
            )
            # It waits for the desk's quality check, then reaches the household's caseworker,
            # who finds it.
            client.post("/api/auth/logout")
            login = {"login": "post.1", "password": logins["post.1"]}
            assert client.post("/api/auth/login", json=login).status_code == 200
            batches = client.get("/api/batches").json()["batches"]
            [letter] = [
                d for b in batches if b["source_name"] == "0001.pdf" for d in b["documents"]
            ]
            approved = client.post(
                f"/api/documents/{letter['id']}/qa",
                json={"decision": "approve", "counted_pages": letter["pages"]},
            )
            assert approved.status_code == 200, approved.text
            client.post("/api/auth/logout")
            login = {"login": "lsb.95401.3", "password": logins["lsb.95401.3"]}
            assert client.post("/api/auth/login", json=login).status_code == 200
            found = client.get("/api/search", params={"q": "Verdienstabrechnung"}).json()
            assert found["hits"][0]["source_name"] == "0001.pdf"
    finally:
        server.terminate()
        server.wait(60)
    # Its workers went with it.
    wait_for(lambda: not _processes_using(tmp_path / "data"), 30, "the workers to end", every=0.2)


@pytest.mark.slow
def test_web_processes_and_workers_end_when_serve_is_killed(tmp_path: Path) -> None:
    import signal
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path / "data"
    env = cli_env(data, EAKTE_WEB_PROCESSES="2", EAKTE_WORKERS="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: health_answers(base), 180, "the server to come up", every=0.2)
        # serve, two web processes and one worker (and multiprocessing's helper).
        assert len(_processes_using(data)) >= 4
        # The worker yields the CPU to the web processes (EAKTE_WORKER_NICE, default 10; the
        # kernel stops at 19, so a suite that itself runs niced sees less).
        workers = [pid for pid in _processes_using(data) if b"worker" in _cmdline(pid)]
        assert workers, "no worker process"
        lower = min(10, 19 - _nice(server.pid))
        wait_for(
            lambda: all(_nice(pid) - _nice(server.pid) == lower for pid in workers),
            30,
            "the worker to lower its priority",
            every=0.2,
        )
        server.send_signal(signal.SIGKILL)  # a crash: nothing of serve runs to clean up
        server.wait(10)
        wait_for(lambda: not _processes_using(data), 30, "its processes to end", every=0.2)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    finally:
        for pid in _processes_using(data):
            os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _nice(pid: int) -> int:
    """The process's nice value (/proc/PID/stat, the 19th field; the name may hold spaces)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def _processes_using(data_dir: Path) -> list[int]:
    """Processes whose environment points at this data folder."""
    marker = f"EAKTE_DATA_DIR={data_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found
