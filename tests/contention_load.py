"""The contention scenario, shared by tests/test_contention.py and bench/contention.py.

The product runs as `eakte serve` (one web process, no workers) on SQLite with the embedded
index. One caseworker (the "bulk user") has 502 documents in the Postkorb and works them with
the largest bulk actions allowed (500 ids): "done" and "reopen" on 500 different items, and
"reopen" of one item id repeated 500 times (the review's attack), from several browser tabs at
once; meanwhile bursts of failed logins arrive. Another caseworker of another office (the
"victim") opens the Postkorb, a household's file and a document.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import PASSWORD, REPO

SECRET = "contention-only-secret-key-0123456789"
BULK_USER = "lsb.95401.2"  # Leistung Husum
BULK_HOUSEHOLD = "95401BG1231743"
VICTIM = "lsb.95403.2"  # Leistung Inseln
VICTIM_HOUSEHOLD = "95403BG3023526"
LOGIN_TARGET = "lsb.95401.3"  # whose password the burst of failed logins guesses
BULK_MAX = 500


@dataclass(frozen=True)
class Scenario:
    base: str
    bulk_items: list[int]  # BULK_MAX + 2 items of the bulk user
    victim_document: str


def prepare(data_dir: Path) -> tuple[list[int], str]:
    """Staff and households from the samples, each user with PASSWORD; BULK_MAX + 2 documents
    filed to the bulk user, one to the victim, all indexed. Returns (bulk item ids, victim's
    document id)."""
    from sqlalchemy import select

    from app.runtime import build_runtime
    from core.config import Settings
    from core.db import transaction
    from records.models import Document, Household, InboxItem
    from records.routing import index_entry
    from tests.support import file_letter, load_people

    settings = Settings(
        demo=False,
        secret_key=SECRET,
        data_dir=data_dir,
        database_url=None,
        blob_store="local",
        search_index="embedded",
    )
    runtime = build_runtime(settings)
    try:
        load_people(runtime)  # each with PASSWORD

        def file(bg_number: str, number: int) -> Document:
            household = session.scalar(select(Household).where(Household.bg_number == bg_number))
            text = f"Kontoauszug Nr. {number} Saldo Miete Strom Girokonto"
            return file_letter(
                session,
                household,
                "kontoauszug",
                text,
                reason="Lasttest",
                source_name=f"kontoauszug-{number}.pdf",
            )

        with transaction(runtime.sessions) as session:
            mine = [file(BULK_HOUSEHOLD, n) for n in range(BULK_MAX + 2)]
            victims = file(VICTIM_HOUSEHOLD, 0)
            session.flush()
            runtime.index.index_many([index_entry(d) for d in (*mine, victims)])
            items = list(
                session.scalars(
                    select(InboxItem.id)
                    .where(InboxItem.document_id.in_([d.id for d in mine]))
                    .order_by(InboxItem.id)
                )
            )
            return items, str(victims.id)
    finally:
        runtime.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data_dir: Path, port: int, log_path: Path, repo: Path = REPO) -> subprocess.Popen:  # type: ignore[type-arg]
    """`eakte serve` with one web process and no workers, on the prepared data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EAKTE_")}
    env.update(
        {
            "EAKTE_DATA_DIR": str(data_dir),
            "EAKTE_SECRET_KEY": SECRET,
            "EAKTE_DEMO": "false",
            "EAKTE_WORKERS": "0",
            "EAKTE_WEB_PROCESSES": "1",
            "EAKTE_BLOB_STORE": "local",
            "EAKTE_SEARCH_INDEX": "embedded",
            "PYTHONPATH": str(repo),
        }
    )
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=repo,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_until_up(base: str, server: subprocess.Popen, log_path: Path) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server ended:\n{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not answer /health within 120 s")


def client(base: str, login: str | None = None) -> httpx.Client:
    """A browser-like client: one keep-alive connection, same-origin header on changes."""
    session = httpx.Client(base_url=base, timeout=180, headers={"Origin": base})
    if login is not None:
        response = session.post("/api/auth/login", json={"login": login, "password": PASSWORD})
        response.raise_for_status()
    return session


def victim_round(session: httpx.Client, scenario: Scenario) -> list[tuple[str, int, float]]:
    """What the other caseworker does: Postkorb, the household's file, a document."""
    answers = []
    for what, path in (
        ("Postkorb", "/api/inbox"),
        ("E-Akte", f"/api/households/{VICTIM_HOUSEHOLD}/file"),
        ("Dokument", f"/api/documents/{scenario.victim_document}/view"),
    ):
        start = time.perf_counter()
        try:
            status = session.get(path).status_code
        except httpx.HTTPError:
            status = 0  # no answer at all
        answers.append((what, status, (time.perf_counter() - start) * 1000))
    return answers


@dataclass
class Load:
    """The bulk user in several tabs and bursts of failed logins, until stopped."""

    scenario: Scenario
    tabs: int = 3
    burst: int = 12
    stop: threading.Event = field(default_factory=threading.Event)
    bulk_answers: list[tuple[str, int]] = field(default_factory=list)
    login_answers: list[int] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _bulk(self, session: httpx.Client, label: str, ids: list[int], action: str) -> None:
        try:
            answer = session.post("/api/inbox/bulk", json={"ids": ids, "action": action})
            status = answer.status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.bulk_answers.append((label, status))

    def _logged_in(self) -> httpx.Client | None:
        """The bulk user's tab; a failed login is an answer too (the old code gave 500s)."""
        while not self.stop.is_set():
            try:
                return client(self.scenario.base, BULK_USER)
            except httpx.HTTPError as exc:
                status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else 0
                with self._lock:
                    self.bulk_answers.append(("login", status))
                self.stop.wait(1.0)
        return None

    def _tab(self, step: Callable[[httpx.Client], None]) -> None:
        """A browser tab of the bulk user: logged in, it repeats `step` until stopped."""
        session = self._logged_in()
        if session is None:
            return
        try:
            self.started.set()
            while not self.stop.is_set():
                step(session)
        finally:
            session.close()

    def _attacking_tab(self, item_id: int) -> None:
        self._tab(lambda s: self._bulk(s, "reopen 1 id x500", [item_id] * BULK_MAX, "reopen"))

    def _working_tab(self) -> None:
        many = self.scenario.bulk_items[2 : 2 + BULK_MAX]

        def done_and_reopen(session: httpx.Client) -> None:
            self._bulk(session, "done 500", many, "done")
            self._bulk(session, "reopen 500", many, "reopen")

        self._tab(done_and_reopen)

    def _logins(self) -> None:
        def guess(n: int) -> int:
            try:
                with httpx.Client(base_url=self.scenario.base, timeout=180) as anonymous:
                    return anonymous.post(
                        "/api/auth/login",
                        json={"login": LOGIN_TARGET, "password": f"falsch-{n}"},
                        headers={"Origin": self.scenario.base},
                    ).status_code
            except httpx.HTTPError:
                return 0

        if self.burst < 1:
            return
        with ThreadPoolExecutor(self.burst) as pool:
            while not self.stop.is_set():
                statuses = list(pool.map(guess, range(self.burst)))
                with self._lock:
                    self.login_answers.extend(statuses)
                self.stop.wait(1.0)

    def start(self) -> None:
        # The tabs first: running() looks at them.
        targets: list[Callable[[], None]] = [self._working_tab]
        for tab in range(max(0, self.tabs - 1)):
            item_id = self.scenario.bulk_items[tab % 2]
            targets.append(lambda item_id=item_id: self._attacking_tab(item_id))
        targets.append(self._logins)
        for target in targets:
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(240)

    def running(self) -> bool:
        """Whether every tab still sends (a tab ends only when stopped)."""
        return all(thread.is_alive() for thread in self._threads[: max(1, self.tabs)])

    def bulk_done(self, label: str) -> int:
        with self._lock:
            return sum(1 for what, status in self.bulk_answers if what == label and status == 200)
