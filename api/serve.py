"""`eakte serve`: the web application with its worker processes beside it."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

import uvicorn

from records.runtime import Runtime

PRODUCT_APP = "web.app:create_product_app"

log = logging.getLogger(__name__)


class WorkerPool:
    """Worker processes of this machine; one that dies is started again."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="worker-pool")

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "api.cli", "worker"])

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


def serve(runtime: Runtime, host: str, port: int) -> None:
    settings = runtime.settings
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
    try:
        # The product app is composed in web/; named by string so that api never imports web.
        uvicorn.run(PRODUCT_APP, factory=True, host=host, port=port, log_level="info")
    finally:
        stop.set()
        pool.stop()
