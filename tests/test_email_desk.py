"""E-mail as a channel of the scanning desk: a message from the function mailbox handed in at
the desk (or dropped into the hot folder, or given to `eakte ingest`) is recognised and routed
like a scanned letter, not only filed into a household a caseworker already knows."""

from __future__ import annotations

import pytest

from records.runtime import Runtime
from tests.support import (
    KOCH,
    client_for,
    client_mail,
    load_people,
    objection_mail,
    work_until_idle,
)

pytestmark = pytest.mark.slow


def test_an_e_mail_handed_in_at_the_desk_is_recognised_and_routed(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    desk = client_for(sqlite_runtime, "post.1")
    handed_in = desk.post(
        "/api/documents",
        files={"file": ("widerspruch.eml", objection_mail(message_id=None), "message/rfc822")},
    )
    assert handed_in.status_code == 201, handed_in.text
    assert handed_in.json()["content_type"] == "message/rfc822"
    work_until_idle(sqlite_runtime)
    batch = desk.get(f"/api/batches/{handed_in.json()['id']}").json()
    assert batch["status"] == "processed", batch
    [document] = batch["documents"]
    assert document["bg_number"] == KOCH
    assert document["doc_type"] == "widerspruch"
    assert document["inbox"] == {"kind": "team", "team": "Widerspruchsstelle"}
    office = client_for(sqlite_runtime, "ws.1")
    [item] = office.get("/api/inbox", params={"scope": "team"}).json()["items"]
    assert item["document"]["id"] == document["id"]


def test_a_text_file_is_still_refused_in_german(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    desk = client_for(sqlite_runtime, "post.1")
    refused = desk.post("/api/documents", files={"file": ("brief.txt", b"Sehr geehrte Damen")})
    assert refused.status_code == 422
    assert "noch eine E-Mail (.eml)" in refused.json()["error"]["message"]


def question_mail(sender: str) -> bytes:
    """A client's question that names only the writer: no number, no birth date, no address."""
    message = client_mail(
        sender,
        "Frage zu meinem Termin",
        "Wed, 02 Dec 2026 10:15:00 +0100",
        "Guten Tag,\n\nich kann den Termin am Donnerstag leider nicht wahrnehmen, weil mein Sohn "
        "krank ist. Bitte nennen Sie mir einen neuen Termin.\n\nViele Grüße\nStefan Koch\n",
    )
    return bytes(message)


def test_the_senders_address_in_the_master_data_identifies_the_household(
    sqlite_runtime: Runtime,
) -> None:
    """The Fachverfahren's export names Stefan Koch's e-mail address; a mail from it that names
    him is filed into his household, the same words from an unknown address go to clearing."""
    from core.db import transaction
    from records.masterdata import HOUSEHOLD_COLUMNS, import_households, read_csv
    from tests.support import SAMPLES

    load_people(sqlite_runtime)
    lines = (SAMPLES / "households.csv").read_text(encoding="utf-8").splitlines()
    rows = [lines[0] + ",email"] + [
        line + (",stefan.koch@example.org" if line.startswith(KOCH) else ",") for line in lines[1:]
    ]
    with transaction(sqlite_runtime.sessions) as session:
        import_households(session, read_csv("\n".join(rows).encode(), HOUSEHOLD_COLUMNS))
    desk = client_for(sqlite_runtime, "post.1")
    known = desk.post(
        "/api/documents",
        files={"file": ("frage.eml", question_mail("Stefan Koch <Stefan.Koch@example.org>"),
                        "message/rfc822")},
    )  # fmt: skip
    unknown = desk.post(
        "/api/documents",
        files={"file": ("frage2.eml", question_mail("Stefan Koch <sk1970@example.net>"),
                        "message/rfc822")},
    )  # fmt: skip
    assert known.status_code == unknown.status_code == 201, (known.text, unknown.text)
    work_until_idle(sqlite_runtime)
    [routed] = desk.get(f"/api/batches/{known.json()['id']}").json()["documents"]
    assert routed["bg_number"] == KOCH
    assert routed["inbox"]["kind"] == "user"
    [held] = desk.get(f"/api/batches/{unknown.json()['id']}").json()["documents"]
    assert held["inbox"] == {"kind": "clearing"}
