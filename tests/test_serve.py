"""`eakte serve` with several web processes: the shared socket they accept connections on."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from app.serve import WebConfig


def _nodelay_of_accepted_connection(listening: socket.socket) -> int:
    """TCP_NODELAY of a connection that asyncio (as each web process) accepts on the socket."""

    async def probe() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Report(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Report, sock=listening)
        async with server:
            host, port = listening.getsockname()[:2]
            _, writer = await asyncio.open_connection(host, port)
            try:
                return await asyncio.wait_for(accepted, 10)
            finally:
                writer.close()

    return asyncio.run(probe())


def test_web_processes_answer_without_waiting_for_delayed_acks() -> None:
    # Nagle's algorithm on a keep-alive connection holds back each small response until the
    # browser's delayed ACK (about 40 ms on Linux): every click would wait for it.
    config = WebConfig("app.product:create_product_app", host="127.0.0.1", port=0, workers=2)
    listening = config.bind_socket()
    assert listening.proto == socket.IPPROTO_TCP
    assert listening.get_inheritable()
    assert _nodelay_of_accepted_connection(listening) == 1


def test_a_process_started_by_serve_ends_when_serve_died_before_it_was_ready() -> None:
    """A web process still importing when `serve` is killed never gets the parent's death
    signal; it must notice the lost parent itself instead of staying behind."""
    import os
    import subprocess
    import sys

    code = "from app.serve import _die_with_parent; _die_with_parent(); print('alive')"
    repo = Path(__file__).resolve().parent.parent
    orphaned = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, EAKTE_SERVE_PID="1"),  # serve was someone else: it is gone
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (orphaned.returncode, orphaned.stdout) == (0, "")
    child = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, EAKTE_SERVE_PID=str(os.getpid())),  # serve is this test: alive
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.stdout.strip() == "alive", child.stderr
