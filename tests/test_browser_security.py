"""Hostile text from a letter or an e-mail never runs as script, on any page that shows it.

A court letter whose text and names carry attribute- and script-breaking strings, and an e-mail
imported into the file whose sender, subject, body and attachment name carry them too, are
opened the way the staff open them: Postkorb, the registration dialogs (Klage and Widerspruch
erfassen), the viewer window, the E-Akte, the search, the case pages, the objections board, the
file export, the scanning desk and the clearing page. In Debian's Chromium (Playwright):

- `window.__xss` stays undefined and no dialog (alert) opens;
- no Content-Security-Policy or Trusted Types violation and no script error on our pages (one
  from our own scripts would mean a page builds HTML from strings somewhere);
- the hostile text is shown as the literal text it is, also inside form fields.

The court letter is a real scan read by the real pipeline; its OCR text and names are then
replaced by hostile ones (OCR would not reproduce quotes exactly), and the parties line of the
appeal form comes from the real `court_letter_facts` reading that text. The e-mail goes
through the product's e-mail import and OCR unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import select

from core.db import transaction
from records.models import Document, InboxItem, ScanBatch
from records.objections import court_letter_facts
from records.routing import index_entry
from records.runtime import Runtime
from tests.support import client_for, client_mail, sample, work_until_idle
from tests.support_browser import log_in, log_out, screenshot

pytestmark = pytest.mark.slow

HOUSEHOLD = "95402BG9432094"  # Huber, Niebüll: 0024.pdf is the court's letter about Jana
CASEWORKER = "lsb.95402.2"
OFFICE = "ws.1"
DESK = "post.1"

# Breaks out of value="…" and runs on focus (the dialog focuses the autofocus field).
ATTRIBUTE = 'Name" autofocus onfocus="window.__xss=1//'
TEXTAREA = "</textarea><img src=x onerror=window.__xss=1>"
QUOTE = "'><svg onload=window.__xss=1>"
TEMPLATE = "${window.__xss=1} `+(window.__xss=1)+`"
HOSTILE_LINE = f"Betreff: {TEXTAREA} {QUOTE} {TEMPLATE}"
LETTER_NAME = f"Klage {QUOTE} {ATTRIBUTE.replace('//', '')} <b>fett</b>.pdf"
SENDER = f"Gericht {QUOTE} {TEXTAREA}"
REASON = f"Erkannt: „{ATTRIBUTE}“ {TEXTAREA} {QUOTE} {TEMPLATE}"
CLEARING_NAME = f"Klaerung {QUOTE} {TEMPLATE}.pdf"
EMAIL_NAME = f"Mail {QUOTE} {TEMPLATE}.eml"

# Collects what the page's Content-Security-Policy refused, in every window, from the start.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(
    `${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


def _hostile_email(path: Path) -> Path:
    message = client_mail(
        f'"{ATTRIBUTE}" <kundin@example.org>',
        f"Widerspruch {QUOTE} {TEXTAREA} {TEMPLATE}",
        "Mon, 09 Nov 2026 10:15:00 +0100",
        "Sehr geehrte Damen und Herren,\n"
        f"hiermit lege ich Widerspruch ein. {ATTRIBUTE}\n{TEXTAREA}\n{QUOTE}\n{TEMPLATE}\n",
    )
    message.add_attachment(
        f"Anlage {TEXTAREA}\n".encode(),
        maintype="text",
        subtype="plain",
        filename=f"Anlage {QUOTE} {TEMPLATE}.txt",
    )
    path.write_bytes(bytes(message))
    return path


@pytest.fixture
def hostile(sqlite_runtime: Runtime, live_url: str, tmp_path: Path) -> dict[str, str]:
    desk = client_for(sqlite_runtime, DESK)
    for name in ("0024.pdf", "0018.pdf"):
        answer = desk.post(
            "/api/documents",
            files={"file": (name, sample(f"docs/{name}").read_bytes())},
            data={"station": f"Scanner {QUOTE}"},
        )
        assert answer.status_code in (200, 201, 202), answer.text
    caseworker = client_for(sqlite_runtime, CASEWORKER)
    filed = caseworker.post(
        f"/api/households/{HOUSEHOLD}/documents",
        data={"kind": "email"},
        files={"file": (EMAIL_NAME, _hostile_email(tmp_path / "m.eml").read_bytes())},
    )
    assert filed.status_code == 201, filed.text
    work_until_idle(sqlite_runtime)

    with transaction(sqlite_runtime.sessions) as session:
        documents = {d.source_name: d for d in session.scalars(select(Document))}
        court, cleared = documents["0024.pdf"], documents["0018.pdf"]
        email = next(d for name, d in documents.items() if name.endswith(".eml"))
        assert court.household.bg_number == HOUSEHOLD and court.doc_type == "klage"
        assert email.household.bg_number == HOUSEHOLD
        # The letter says so: its parties line, subject line and names are hostile.
        text = court.pages[0].text or ""
        text = re.sub(r"In dem Rechtsstreit.*", "", text)
        court.pages[0].text = (
            f"In dem Rechtsstreit {ATTRIBUTE} ./. Jobcenter Kreis Nordfriesland\n"
            f"{HOSTILE_LINE}\n{text}"
        )
        court.source_name, court.sender = LETTER_NAME, SENDER
        cleared.source_name = CLEARING_NAME
        cleared.pages[0].text = f"{HOSTILE_LINE}\n{cleared.pages[0].text}"
        for batch in session.scalars(select(ScanBatch)):
            if batch.source_name in ("0024.pdf", "0018.pdf"):
                batch.source_name = (
                    LETTER_NAME if batch.source_name == "0024.pdf" else CLEARING_NAME
                )
        for item in session.scalars(
            select(InboxItem).where(InboxItem.document_id.in_([court.id, cleared.id]))
        ):
            item.reason = REASON
        session.flush()
        parties = court_letter_facts(court)["parties"]
        assert ATTRIBUTE in parties
        for document in (court, cleared):
            sqlite_runtime.index.index(index_entry(document))
        email_text = " ".join(page.text or "" for page in email.pages)
        return {
            "url": live_url,
            "court": str(court.id),
            "email": str(email.id),
            "email_name": email.source_name,
            "email_text": email_text,
            "parties": parties,
        }


class Watch:
    """Everything a page could tell about script that ran or was refused."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.pages: list[Page] = []
        page.context.add_init_script(WATCH_VIOLATIONS)
        page.context.on("page", self.attach)
        self.attach(page)

    def attach(self, page: Page) -> None:
        self.pages.append(page)

        def on_dialog(dialog) -> None:  # type: ignore[no-untyped-def]
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                self.errors.append(f"{page.url}: {message.text}")

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))

    def check(self, where: str) -> None:
        for page in self.pages:
            if page.is_closed():
                continue
            assert page.evaluate("typeof window.__xss") == "undefined", f"script ran: {where}"
            violations = page.evaluate("window.__violations || []")
            assert violations == [], f"{where}: {page.url}: {violations}"
        assert self.dialogs == [], where
        assert self.errors == [], where


def test_hostile_letter_and_e_mail_text_never_runs_on_any_page(
    hostile: dict[str, str],
    page: Page,
) -> None:
    base = hostile["url"]
    watch = Watch(page)

    # The objections office: Postkorb with the court letter in the team inbox.
    log_in(page, base, OFFICE)
    page.goto(f"{base}/postkorb")
    page.locator("#scopes .tab", has_text="Team").click()
    row = page.locator("#inbox-rows tr", has_text="Klage").first
    expect(row).to_contain_text(LETTER_NAME)
    expect(row.locator("td.reason")).to_contain_text(REASON)
    watch.check("Postkorb")

    # "Klage erfassen": the parties line read from the letter, as the field's literal value.
    row.get_by_role("button", name="Klage erfassen").click()
    dialog = page.locator("#legal-dialog")
    expect(dialog.locator("#legal-title")).to_contain_text(LETTER_NAME)
    watch.check("Klage erfassen")
    expect(dialog.get_by_label("Beteiligte")).to_have_value(hostile["parties"])
    screenshot(page, "xss-klage-erfassen.png")
    dialog.get_by_role("button", name="Erfassen").click()
    expect(dialog).to_contain_text("erfasst")
    watch.check("Klage erfasst")
    dialog.get_by_role("button", name="Schließen").click()

    # The viewer window: the letter's name in the title, hits marked in its text.
    viewer = page.context.new_page()
    viewer.goto(f"{base}/viewer?doc={hostile['court']}&q=Rechtsstreit")
    expect(viewer.locator("#doc-title")).to_have_text(LETTER_NAME)
    expect(viewer.locator("#page-image")).to_be_visible()
    watch.check("viewer")

    # "Widerspruch erfassen" for the e-mail, from the viewer window.
    viewer.goto(f"{base}/viewer?doc={hostile['email']}")
    expect(viewer.locator("#doc-title")).to_have_text(hostile["email_name"])
    viewer.get_by_role("button", name="Erfassen").click()
    legal = viewer.locator("#legal-dialog")
    expect(legal.locator("#legal-title")).to_contain_text(hostile["email_name"])
    watch.check("Widerspruch erfassen")
    legal.get_by_role("button", name="Erfassen").click()
    expect(legal).to_contain_text("erfasst")
    watch.check("Widerspruch erfasst")
    viewer.close()

    # The E-Akte: names and the sender as text.
    page.goto(f"{base}/akte/{HOUSEHOLD}")
    documents = page.locator("#documents")
    expect(documents).to_contain_text(SENDER)
    expect(documents).to_contain_text(hostile["email_name"])
    watch.check("E-Akte")

    # Search: the snippet shows the letter's hostile lines literally, with the hit marked.
    page.goto(f"{base}/suche?q=Rechtsstreit")
    hit = page.locator(".hit", has_text="Klage").first
    expect(hit.locator(".snippet")).to_contain_text(f"{ATTRIBUTE} ./. Jobcenter")
    expect(hit.locator(".snippet mark").first).to_have_text("Rechtsstreit")
    expect(hit).to_contain_text(LETTER_NAME)
    page.goto(f"{base}/suche?q=Widerspruch")
    expect(page.locator(".hit").first).to_be_visible()
    watch.check("search")
    screenshot(page, "xss-suche.png", full_page=True)

    # The objections board and both case pages.
    page.goto(f"{base}/widersprueche")
    expect(page.locator("#appeal-rows")).to_contain_text("Sozialgericht Schleswig")
    watch.check("board")
    page.locator("#appeal-rows a", has_text="Sozialgericht Schleswig").first.click()
    expect(page.locator("#facts")).to_contain_text(hostile["parties"])
    expect(page.locator("#case-documents")).to_contain_text(SENDER)
    watch.check("appeal page")
    page.goto(f"{base}/widersprueche")
    page.locator("#objection-rows a", has_text="Öffnen").first.click()
    expect(page.locator("#facts")).to_contain_text(hostile["email_name"])
    watch.check("objection page")

    # The file export: the documents list, and a recipient typed with the same strings.
    page.goto(f"{base}/akte/{HOUSEHOLD}/aktenauszug")
    expect(page.locator("#export-documents")).to_contain_text(SENDER)
    page.get_by_label("Empfänger").fill(f"Sozialgericht {QUOTE} {TEXTAREA}")
    page.get_by_label("Rechtsgrundlage").select_option(index=1)
    page.get_by_role("button", name="Aktenauszug erstellen").click()
    expect(page.locator("#export-result")).to_contain_text(f"an Sozialgericht {QUOTE} {TEXTAREA}")
    expect(page.locator("#export-history")).to_contain_text(f"Sozialgericht {QUOTE}")
    watch.check("Aktenauszug")
    page.goto(f"{base}/akte/{HOUSEHOLD}")
    expect(page.locator("#exports")).to_contain_text(f"Sozialgericht {QUOTE} {TEXTAREA}")
    watch.check("E-Akte with the export")
    log_out(page, base)

    # The scanning desk and the clearing page.
    log_in(page, base, DESK)
    page.goto(f"{base}/scanstelle")
    expect(page.locator("#batch-rows")).to_contain_text(CLEARING_NAME)
    expect(page.locator("#batch-rows")).to_contain_text(f"Scanner {QUOTE}")
    watch.check("Scanstelle")
    page.goto(f"{base}/klaerung")
    item = page.locator(".clearing-item", has_text=CLEARING_NAME)
    expect(item.locator(".reason")).to_have_text(REASON)
    watch.check("Klärung")
    page.goto(f"{base}/suche?q=Betriebskostenabrechnung")
    expect(page.locator(".hit .snippet").first).to_be_visible()
    watch.check("desk search")
    screenshot(page, "xss-klaerung.png", full_page=True)


def test_a_page_script_cannot_assign_a_string_to_inner_html(
    hostile: dict[str, str],
    page: Page,
) -> None:
    """Trusted Types: the one way into innerHTML is html`` and setHtml of format.js."""
    base = hostile["url"]
    log_in(page, base, OFFICE)
    page.goto(f"{base}/postkorb")
    outcome = page.evaluate(
        """() => {
          const box = document.createElement("div");
          const tried = {};
          try { box.innerHTML = "<img src=x>"; tried.raw = "assigned"; }
          catch (error) { tried.raw = error.name; }
          try { box.insertAdjacentHTML("beforeend", "<b>x</b>"); tried.adjacent = "assigned"; }
          catch (error) { tried.adjacent = error.name; }
          try { trustedTypes.createPolicy("eakte", { createHTML: (s) => s }); tried.policy = "ok"; }
          catch (error) { tried.policy = error.name; }
          try { setHtml(box, "<b>x</b>"); tried.setHtml = "assigned"; }
          catch (error) { tried.setHtml = error.name; }
          setHtml(box, html`<b title="${'"><i>'}">${"<i>"}</b>`);
          const bold = box.querySelector("b");
          tried.safe = [box.children.length, bold.title, bold.textContent, box.querySelector("i")];
          return tried;
        }"""
    )
    assert outcome == {
        "raw": "TypeError",
        "adjacent": "TypeError",
        "policy": "TypeError",
        "setHtml": "TypeError",
        "safe": [1, '"><i>', "<i>", None],
    }
