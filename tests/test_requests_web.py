"""Cross-site request forgery in a real browser: a page on another port of the same host (same
site, so the session cookie goes along) tries to act for the logged-in person."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from core.db import transaction
from records.models import InboxItem, ScanBatch, User
from records.runtime import Runtime
from tests.support import OWN, add_admin, file_indexed, sample, staff_csv_moving
from tests.support_browser import log_in

pytestmark = pytest.mark.slow

CASEWORKER = "lsb.95401.2"  # Leistung Husum, caseworker of OWN


def _attacker_pages(product: str, item_id: int) -> dict[str, tuple[str, bytes]]:
    forged_csv = staff_csv_moving(CASEWORKER, "Leistung Inseln").decode()
    upload_and_done = f"""<!doctype html><html><body>
<form id="done" method="post" action="{product}/api/inbox/{item_id}/done"></form>
<script>
(async () => {{
  const scan = await (await fetch("/scan.pdf")).blob();
  const form = new FormData();
  form.append("kind", "bescheid");
  form.append("dispatch_date", "2026-10-10");
  form.append("file", scan, "Bescheid.pdf");
  await fetch("{product}/api/households/{OWN}/documents",
              {{method: "POST", body: form, mode: "no-cors", credentials: "include"}});
  document.getElementById("done").submit();
}})();
</script></body></html>"""
    staff_import = f"""<!doctype html><html><body><script>
fetch("{product}/api/import/staff", {{
  method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "text/plain"}}, body: {forged_csv!r},
}}).finally(() => {{ document.title = "gesendet"; }});
</script></body></html>"""
    return {
        "/forge.html": ("text/html", upload_and_done.encode()),
        "/import.html": ("text/html", staff_import.encode()),
        "/scan.pdf": ("application/pdf", sample("docs/0001.pdf").read_bytes()),
    }


@pytest.fixture
def attacker() -> Iterator[tuple[str, dict[str, tuple[str, bytes]]]]:
    """A web server on another port of 127.0.0.1, serving whatever the test puts in `pages`."""
    pages: dict[str, tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            content_type, body = pages.get(self.path, ("text/plain", b""))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()
    thread.join(10)


def test_a_page_on_another_port_cannot_act_for_the_logged_in_user(
    live_url: str,
    page: Page,
    sqlite_runtime: Runtime,
    attacker: tuple[str, dict[str, tuple[str, bytes]]],
) -> None:
    runtime = sqlite_runtime
    add_admin(runtime)
    file_indexed(runtime, OWN, "kontoauszug", "Kontoauszug")
    with transaction(runtime.sessions) as session:
        item_id = session.scalar(select(InboxItem.id))
    base, pages = attacker
    pages.update(_attacker_pages(live_url, item_id))

    def state() -> tuple[int, str, str | None]:
        with transaction(runtime.sessions) as session:
            batches = session.scalar(select(func.count()).select_from(ScanBatch)) or 0
            item = session.get(InboxItem, item_id)
            user = session.scalar(select(User).where(User.login == CASEWORKER))
            assert item is not None and user is not None
            return batches, item.state, user.team.name if user.team else None

    before = state()
    assert before[0] == 0 and before[1] != "done" and before[2] == "Leistung Husum"

    log_in(page, live_url, CASEWORKER)
    page.goto(f"{base}/forge.html")
    # The form's POST lands on the product, which refuses it.
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_url)}/api/inbox/"))
    expect(page.locator("body")).to_contain_text("cross_site_request")
    assert state() == before

    # The product's own pages still work in the same browser.
    page.goto(f"{live_url}/postkorb")
    status = page.evaluate(
        "async (id) => (await fetch(`/api/inbox/${id}/done`, {method: 'POST'})).status", item_id
    )
    assert status == 200
    assert state()[1] == "done"

    page.context.clear_cookies()
    log_in(page, live_url, "admin")
    page.goto(f"{base}/import.html")
    expect(page).to_have_title("gesendet")
    assert state()[2] == "Leistung Husum"
