"""`eakte serve`: the web application with its worker processes beside it."""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.supervisors import Multiprocess

from app.product import create_product_app
from core.errors import BackendUnavailable
from core.logs import uvicorn_log_config
from core.metrics import use_multiprocess_dir
from ingest.programs import log_tool_state, probe_tools
from records.directory import start_scheduled_sync
from records.housekeeping import start_scheduled_housekeeping
from records.index_outbox import start_draining
from records.runtime import Runtime
from search.analysis import noun_list
from search.base import SearchQuery

# uvicorn imports the app by name in each web process; the import above keeps the dependency
# visible to the import contracts and the type checker.
SERVE_PID = "EAKTE_SERVE_PID"
# An access key no household has: the warm-up's search can match nothing.
_NO_FILE = "-"

log = logging.getLogger(__name__)


class PathWithoutQuery(logging.Filter):
    """Drops the query string from uvicorn's access log lines: search terms and master-data
    queries (names, BG numbers, birth dates) are social data and do not belong in a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs: client address, method, path with query, HTTP version, status.
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], *args[3:])
        return True


def log_config(log_format: str = "text") -> dict[str, object]:
    """uvicorn's logging, with the access log's query strings dropped (in every web process:
    each one configures its logging from this); its route template instead of the path, and
    JSON lines with `log_format` "json" (core.logs, issue 20)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["path_without_query"] = {"()": PathWithoutQuery}
    config["loggers"]["uvicorn.access"]["filters"] = ["path_without_query"]
    return uvicorn_log_config(config, log_format)


class WorkerPool:
    """Worker processes of this machine; one that dies is started again."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="worker-pool")

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], preexec_fn=_die_with_parent
        )

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(2):
            for i, process in enumerate(self.processes):
                if process.poll() is not None and not self._stop.is_set():
                    log.warning(
                        "worker %s exited with %s; starting a new one",
                        process.pid,
                        process.returncode,
                    )
                    self.processes[i] = self._spawn()

    def stop(self) -> None:
        self._stop.set()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


class WebConfig(uvicorn.Config):
    """uvicorn's settings for several web processes, with Nagle's algorithm off on every connection.

    uvicorn binds the shared socket with `proto` 0, so asyncio does not set TCP_NODELAY on the
    connections it accepts, and each keep-alive request after the first waits about 40 ms for
    the browser's delayed ACK (uvicorn issue 3149; measured here: 48 ms instead of 3 ms for
    `/health`). The socket is the same; it only says that it speaks TCP.
    """

    def bind_socket(self) -> socket.socket:
        bound = super().bind_socket()
        if bound.family not in (socket.AF_INET, socket.AF_INET6):
            return bound
        tcp = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
        tcp.set_inheritable(True)
        return tcp


def web_process_app() -> object:
    """The product app in one of several web processes, which end with `eakte serve`."""
    _die_with_parent()
    return single_process_app()


def single_process_app() -> object:
    """The product app, warmed up before uvicorn lets it take a request."""
    app = create_product_app()
    warm_up(app.state.runtime)
    return app


def warm_up(runtime: Runtime) -> None:
    """Load what the first requests would otherwise load while the caseworkers behind them
    wait: the German word list the search splits compounds with, the search index (created
    and ready on a fresh OpenSearch), a database connection. bench/load.py measured the first
    searches of 20 caseworkers who started at once waiting 7.5 s for this under ingest.
    A backend that is down is only logged: the product starts and answers without it."""
    began = time.monotonic()
    noun_list()  # the word list itself: a search below may be answered from earlier caches
    try:
        # A search for a compound word in a file no one has: the index and the query path.
        runtime.index.search(SearchQuery("Mietvertrag", frozenset({_NO_FILE}), limit=1))
    except BackendUnavailable as exc:
        log.warning("Suchindex beim Start nicht erreichbar: %s", exc)
    state = runtime.database_state()
    if not state.ok:
        log.warning("Datenbank beim Start nicht erreichbar: %s", state.detail)
    log.info("Web-Prozess bereit nach %.1f s Vorbereitung", time.monotonic() - began)


def _die_with_parent() -> None:
    """Workers get SIGTERM when `eakte serve` ends, even when it is killed outright (Linux)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    # `serve` may have died before this process got here (a web process is still importing
    # when serve is killed): then no signal will come, and the process must not stay behind.
    serve_pid = os.environ.get(SERVE_PID)
    if serve_pid and os.getppid() != int(serve_pid):
        os._exit(0)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    # uvicorn shuts down on SIGTERM and then raises the signal again; ending here with
    # SystemExit lets `serve` stop its workers instead of dying past its `finally`.
    raise SystemExit(0)


def serve(runtime: Runtime, host: str, port: int) -> None:
    settings = runtime.settings
    os.environ[SERVE_PID] = str(os.getpid())  # inherited by the web processes and workers
    # issue 20: web processes and workers count into files there; /metrics sums them.
    use_multiprocess_dir(settings.data_dir / "run" / "metrics")
    # The web app runs without OCR programs; its workers' batches would wait for them.
    log_tool_state(probe_tools(settings.ocr_languages), "serve")
    pool = WorkerPool(settings.workers)
    pool.start()
    stop = threading.Event()
    if settings.hot_folder is not None:
        from ingest.hotfolder import HotFolder

        watcher = HotFolder(runtime, settings.hot_folder, settings.hot_folder_settle_seconds)
        threading.Thread(
            target=watcher.run,
            args=(stop, settings.hot_folder_poll_seconds),
            daemon=True,
            name="hot-folder",
        ).start()
    # issue 16, dir16: the directory is compared with the accounts every ldap_sync_minutes.
    start_scheduled_sync(runtime.sessions, settings, stop)
    # issue 17, lock17: drafts removed after their period (daily), object locks extended to
    # the computed retention (every s3_lock_sweep_minutes).
    start_scheduled_housekeeping(runtime.sessions, settings, runtime.blobs, stop)
    # issue 20, outbox20: index entries a commit could not write are written once it is back.
    start_draining(runtime, stop)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        # uvicorn imports the product app by name in each web process. Several web processes
        # share the listening socket (uvicorn's supervisor restarts one that dies); each builds
        # its own runtime, as the workers do.
        processes = settings.web_processes
        if processes == 1:
            uvicorn.run(
                f"{__name__}:single_process_app",
                factory=True,
                host=host,
                port=port,
                log_level="info",
                log_config=log_config(settings.log_format),
            )
        else:
            config = WebConfig(
                f"{__name__}:web_process_app",
                factory=True,
                host=host,
                port=port,
                workers=processes,
                timeout_worker_healthcheck=settings.web_process_healthcheck_seconds,
                log_level="info",
                log_config=log_config(settings.log_format),
            )
            Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        stop.set()
        pool.stop()
