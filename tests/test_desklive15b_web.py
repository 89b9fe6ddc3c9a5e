"""The scanning desk's lists on the shared live-update module (issue 15) in a real browser:
answers that overtake each other never replace the newer list (with the answer to a first
filter held back until a second filter's list is shown, the list stays the second's); an open
desk's polls are answered 304 while nothing changed and 200 with a new ETag when something
did."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, Request, Response, Route, expect

from app.product import create_product_app
from app.runtime import build_runtime
from records.runtime import Runtime
from tests.support import client_for, live_server, load_people, make_settings
from tests.support_a11y import browser
from tests.support_browser import log_in
from tests.support_desk import DeskBatch, desk_batch

pytestmark = pytest.mark.slow
DESK = "post.1"
__all__ = ["browser"]  # a module-scoped fixture

# Every XMLHttpRequest the page sends, noted when it has ended (after its load handlers: what
# the page made of the answer is on screen, or was dropped, by then).
NOTE_FINISHED = """
window.finishedAsks = [];
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (...args) {
  this.addEventListener("loadend", () => window.finishedAsks.push(this.responseURL));
  return send.apply(this, args);
};
"""


@dataclass(frozen=True)
class Site:
    runtime: Runtime
    url: str
    decided: DeskBatch  # every letter approved
    waiting: DeskBatch  # every letter waiting for the check


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    runtime = build_runtime(make_settings(tmp_path_factory.mktemp("desklive") / "data"))
    load_people(runtime)
    decided = desk_batch(runtime, 3, "entschieden.pdf")
    waiting = desk_batch(runtime, 3, "wartend.pdf")
    client = client_for(runtime, DESK)
    for document in decided.documents:
        answer = client.post(
            f"/api/documents/{document}/qa", json={"decision": "approve", "counted_pages": 1}
        )
        assert answer.status_code == 200, answer.text
    with live_server(create_product_app(runtime)) as url:
        yield Site(runtime, url, decided, waiting)
    runtime.close()


def _desk(browser: Browser, site: Site) -> Page:
    page = browser.new_context(locale="de-DE", viewport={"width": 1366, "height": 768}).new_page()
    page.add_init_script(NOTE_FINISHED)
    log_in(page, site.url, DESK)
    page.goto(f"{site.url}/scanstelle")
    expect(page.locator(f"#qa-{site.waiting.documents[0]}")).to_be_visible()
    return page


def _filter(page: Page, state: str) -> None:
    page.select_option("#qa-state", state)
    page.locator("#qa-filter").get_by_role("button", name="Filtern").click()


def _finished(page: Page, part: str) -> None:
    page.wait_for_function(
        "part => window.finishedAsks.some((url) => url.includes(part))", arg=part
    )


def test_a_held_back_answer_for_the_first_filter_never_replaces_the_second_filters_list(
    browser: Browser, site: Site
) -> None:
    page = _desk(browser, site)
    held: list[Route] = []

    def hold_the_first_approved(route: Route) -> None:
        if "qa=approved" in route.request.url and not held:
            held.append(route)  # answered only when the test lets it go
        else:
            route.continue_()

    page.route(lambda url: "/scanstelle/pruefung?" in url, hold_the_first_approved)
    with page.expect_request(lambda request: "qa=approved" in request.url):
        _filter(page, "approved")
    assert len(held) == 1
    _filter(page, "pending")
    _finished(page, "qa=pending")
    expect(page.locator("#qa-state")).to_have_value("pending")
    for document in site.waiting.documents:
        expect(page.locator(f"#qa-{document}")).to_be_visible()

    held[0].continue_()  # the first filter's answer arrives last
    _finished(page, "qa=approved")
    for document in site.waiting.documents:
        expect(page.locator(f"#qa-{document}")).to_be_visible()
    for document in site.decided.documents:
        expect(page.locator(f"#qa-{document}")).to_have_count(0)
    expect(page.locator("#qa-state")).to_have_value("pending")
    assert "qa=pending" in page.url
    page.context.close()


def test_an_open_desk_polls_304_while_nothing_changed_and_200_with_a_new_etag_after(
    browser: Browser, site: Site
) -> None:
    page = _desk(browser, site)

    def batch_poll(status: int):  # type: ignore[no-untyped-def]
        def matches(response: Response) -> bool:
            request: Request = response.request
            return (
                "/scanstelle/stapel" in response.url
                and response.status == status
                and request.headers.get("if-none-match") is not None
            )

        return matches

    unchanged = page.wait_for_event("response", predicate=batch_poll(304), timeout=15_000)
    shown = unchanged.request.headers["if-none-match"]
    assert unchanged.headers["etag"] == shown

    # Someone decides on a letter of a batch: the next poll brings the batch list anew.
    letter = site.waiting.documents[-1]
    client = client_for(site.runtime, DESK)
    with page.expect_response(batch_poll(200), timeout=15_000) as changed:
        answer = client.post(
            f"/api/documents/{letter}/qa", json={"decision": "reject", "note": "x"}
        )
        assert answer.status_code == 200, answer.text
    assert changed.value.request.headers["if-none-match"] == shown
    assert changed.value.headers["etag"] != shown
    row = page.locator("#batch-rows tr", has_text="wartend.pdf")
    expect(row).to_contain_text("1 abgelehnt")
    page.context.close()
