"""Need-to-know as the security review attacked it: the scanning desk, the administrator,
deputies, forwarding and the objections office, each limited by the one access gate, and every
read and refusal in the audit log with the client's address, user agent and "für A"."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.dates import local_today
from core.db import transaction, utcnow
from records.access import ROLE_CAPABILITIES, Capability, Role, household_grant, visible_access_keys
from records.models import AuditEvent, Deputy, Document, Household, InboxItem, ScanBatch, User
from records.routing import index_entry
from records.runtime import Runtime
from tests.support import add_admin, client_for, file_letter, load_people

OWN = "95401BG1231743"  # caseworker lsb.95401.2, Leistung Husum
ISLANDS = "95403BG3023526"  # Leistung Inseln
CASEWORKER, COLLEAGUE, ELSEWHERE = "lsb.95401.2", "lsb.95401.3", "lsb.95403.1"
OFFICE, DESK = "ws.1", "post.1"


def _document(
    runtime: Runtime,
    bg_number: str | None,
    doc_type: str,
    target: str,
    *,
    channel: str = "upload",
    qa_status: str = "pending",
    text: str = "Schreiben",
) -> str:
    """A processed letter as the pipeline leaves it, from a batch of the given channel."""
    with transaction(runtime.sessions) as session:
        household = (
            session.scalar(select(Household).where(Household.bg_number == bg_number))
            if bg_number
            else None
        )
        batch = ScanBatch(
            source_name=f"{doc_type}.pdf",
            channel=channel,
            content_type="application/pdf",
            size_bytes=1000,
            original_key=f"originals/{uuid.uuid4()}",
            original_sha256="0" * 64,
            status="processed",
        )
        document = file_letter(
            session, household, doc_type, text, target=target, batch=batch, qa_status=qa_status
        )
        session.flush()
        runtime.index.index(index_entry(document))
        return str(document.id)


def _admin(runtime: Runtime):  # type: ignore[no-untyped-def]
    add_admin(runtime)
    return client_for(runtime, "admin")


@pytest.fixture
def stand_in_item(sqlite_runtime: Runtime, mail: dict[str, str]) -> int:
    """An administrator has named ELSEWHERE (another team) CASEWORKER's deputy for today; the
    Postkorb item of CASEWORKER's approved letter."""
    today = local_today().isoformat()
    named = _admin(sqlite_runtime).post(
        "/api/deputies",
        json={
            "deputy": ELSEWHERE,
            "absent": CASEWORKER,
            "starts_on": today,
            "ends_on": today,
            "approved_by": "Teamleitung Husum",
        },
    )
    assert named.status_code == 201, named.text
    return _item_of(sqlite_runtime, mail["approved"])


def _events(runtime: Runtime, **where: object) -> list[AuditEvent]:
    with transaction(runtime.sessions) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(session.scalars(query))


def _item_of(runtime: Runtime, document_id: str) -> int:
    with transaction(runtime.sessions) as session:
        return session.scalar(
            select(InboxItem.id).where(InboxItem.document_id == uuid.UUID(document_id))
        )


@pytest.fixture
def mail(sqlite_runtime: Runtime) -> dict[str, str]:
    load_people(sqlite_runtime)
    return {
        # Scanned today, still waiting for the desk's quality check.
        "scanned": _document(sqlite_runtime, OWN, "kontoauszug", "caseworker"),
        # Checked and released.
        "approved": _document(
            sqlite_runtime, OWN, "verdienstabrechnung", "caseworker", qa_status="approved"
        ),
        # An e-mail the caseworker filed herself: never the desk's business.
        "email": _document(sqlite_runtime, OWN, "sonstiges", "caseworker", channel="file"),
        "clearing": _document(sqlite_runtime, None, "sonstiges", "clearing"),
        "objection": _document(
            sqlite_runtime, OWN, "widerspruch", "team:Widerspruchsstelle", qa_status="approved"
        ),
    }


def test_roles_are_named_capabilities_and_admin_has_no_content_or_desk_power() -> None:
    assert set(ROLE_CAPABILITIES) == set(Role)
    admin = ROLE_CAPABILITIES[Role.ADMIN]
    for content in (Capability.CASE_FILES, Capability.INBOX, Capability.SCAN, Capability.CLEARING):
        assert content not in admin
    assert Capability.CASE_FILES not in ROLE_CAPABILITIES[Role.SCANSTELLE]


def test_the_desk_sees_only_what_it_checks_and_changes_nothing_outside_clearing(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    desk = client_for(sqlite_runtime, DESK)
    # Awaiting QA from a scanned batch, and clearing: pages and recognition are open to it.
    assert desk.get(f"/api/documents/{mail['scanned']}/view").status_code == 200
    assert desk.get(f"/api/documents/{mail['clearing']}/view").status_code == 200
    # A caseworker's own e-mail and a released letter are not.
    assert desk.get(f"/api/documents/{mail['email']}/view").status_code == 403
    assert desk.get(f"/api/documents/{mail['approved']}/view").status_code == 403
    # While it checks, it changes neither dates, types nor notes.
    changed = desk.patch(
        f"/api/documents/{mail['scanned']}",
        json={"receipt_date": "2020-01-01", "reason": "Stempel", "doc_type": "sonstiges"},
    )
    assert changed.status_code == 403
    note = desk.post(f"/api/documents/{mail['scanned']}/notes", json={"text": "Hinweis"})
    assert note.status_code == 403
    with transaction(sqlite_runtime.sessions) as session:
        scanned = session.get(Document, uuid.UUID(mail["scanned"]))
        assert (scanned.doc_type, scanned.receipt_date) == ("kontoauszug", local_today())
    # Nor does it reject a caseworker's e-mail.
    assert (
        desk.post(
            f"/api/documents/{mail['email']}/qa", json={"decision": "reject", "note": "x"}
        ).status_code
        == 403
    )
    refused = _events(sqlite_runtime, actor_login=DESK, outcome="denied")
    assert {e.action for e in refused} >= {"document.view", "document.change", "note.add"}


def test_after_the_quality_check_the_desk_no_longer_sees_household_type_or_recipient(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    desk = client_for(sqlite_runtime, DESK)
    batches = desk.get("/api/batches").json()["batches"]
    # The caseworker's e-mail batch is not in the desk's list at all.
    assert all(b["channel"] != "file" for b in batches)
    shown = {d["id"]: d for b in batches for d in b["documents"]}
    assert mail["email"] not in shown
    assert shown[mail["scanned"]]["bg_number"] == OWN
    assert shown[mail["approved"]]["bg_number"] is None
    assert shown[mail["approved"]]["doc_type"] is None
    assert shown[mail["approved"]]["inbox"] is None


def test_a_rejection_needs_a_reason_tells_the_recipient_and_can_be_undone_the_same_day(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    desk = client_for(sqlite_runtime, DESK)
    url = f"/api/documents/{mail['scanned']}/qa"
    no_reason = desk.post(url, json={"decision": "reject"})
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "qa_reason"
    rejected = desk.post(url, json={"decision": "reject", "note": "Seite 2 fehlt"})
    assert rejected.status_code == 200, rejected.text
    caseworker = client_for(sqlite_runtime, CASEWORKER)
    [told] = [
        i
        for i in caseworker.get("/api/inbox").json()["items"]
        if i["document"]["id"] == mail["scanned"]
    ]
    assert told["state"] == "new"
    assert "Zur Neuerfassung abgelehnt (Julia Petersen): Seite 2 fehlt" in told["comment"]
    assert caseworker.get(f"/api/documents/{mail['scanned']}/view").status_code == 403
    undone = desk.post(url, json={"decision": "undo"})
    assert undone.status_code == 200 and undone.json()["qa_status"] == "pending"
    assert caseworker.get(f"/api/documents/{mail['scanned']}/view").status_code == 200
    # Not the next day.
    again = desk.post(url, json={"decision": "reject", "note": "unscharf"})
    assert again.status_code == 200, again.text
    with transaction(sqlite_runtime.sessions) as session:
        session.get(Document, uuid.UUID(mail["scanned"])).qa_at = utcnow() - timedelta(days=1)
    late = desk.post(url, json={"decision": "undo"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "qa_undo_late"


def test_a_rejection_cannot_hide_a_registered_objection(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    letter = _document(sqlite_runtime, OWN, "widerspruch", "team:Widerspruchsstelle")
    office = client_for(sqlite_runtime, OFFICE)
    registered = office.post("/api/objections", json={"document_id": letter})
    assert registered.status_code == 201, registered.text
    desk = client_for(sqlite_runtime, DESK)
    refused = desk.post(
        f"/api/documents/{letter}/qa", json={"decision": "reject", "note": "schief"}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "qa_registered_case"
    listed = office.get("/api/objections").json()["objections"]
    assert [o["document_id"] for o in listed] == [letter]


def test_the_administrator_gets_no_content_and_no_desk_power(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    admin = _admin(sqlite_runtime)
    assert admin.get(f"/api/documents/{mail['scanned']}/view").status_code == 403
    assert (
        admin.post(f"/api/documents/{mail['scanned']}/qa", json={"decision": "approve"}).status_code
        == 403
    )
    filing = admin.post(
        f"/api/documents/{mail['clearing']}/filing",
        json={"bg_number": ISLANDS, "doc_type": "sonstiges"},
    )
    assert filing.status_code == 403
    assert admin.get("/api/households", params={"q": "Carstensen"}).status_code == 403
    assert admin.get("/api/clearing").status_code == 403
    assert admin.get("/api/batches").status_code == 403
    assert admin.get("/api/search", params={"q": "Kontoauszug"}).status_code == 403
    upload = admin.post("/api/documents", files={"file": ("a.pdf", b"%PDF-1.4")})
    assert upload.status_code == 403
    with transaction(sqlite_runtime.sessions) as session:
        clearing = session.get(Document, uuid.UUID(mail["clearing"]))
        assert clearing.household_id is None
    refused = {e.action for e in _events(sqlite_runtime, actor_login="admin", outcome="denied")}
    assert {"document.qa.approve", "document.filing", "masterdata.search", "search"} <= refused
    assert {"clearing.list", "batches.list", "document.upload"} <= refused


def test_unknown_and_foreign_ids_are_answered_alike(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    stranger = client_for(sqlite_runtime, ELSEWHERE)
    foreign = stranger.get(f"/api/documents/{mail['approved']}/view")
    unknown = stranger.get(f"/api/documents/{uuid.uuid4()}/view")
    assert foreign.status_code == unknown.status_code == 403
    assert foreign.json() == unknown.json()
    assert (
        stranger.get(f"/api/households/{OWN}/file").json()
        == stranger.get("/api/households/95401BG9999999/file").json()
    )
    assert stranger.get("/api/objections/4711").status_code == 403
    assert stranger.get("/api/exports/4711").status_code == 403
    refused = _events(sqlite_runtime, actor_login=ELSEWHERE, outcome="denied")
    assert len(refused) >= 5


def test_a_deputy_is_of_the_same_team_not_backdated_and_not_longer_than_allowed(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    absent = client_for(sqlite_runtime, CASEWORKER)
    today = local_today()

    def name(deputy: str, starts: int, days: int):  # type: ignore[no-untyped-def]
        return absent.post(
            "/api/deputies",
            json={
                "deputy": deputy,
                "starts_on": (today + timedelta(days=starts)).isoformat(),
                "ends_on": (today + timedelta(days=starts + days - 1)).isoformat(),
            },
        )

    assert name(ELSEWHERE, 0, 3).json()["error"]["code"] == "deputy_team"
    assert name(COLLEAGUE, -1, 3).json()["error"]["code"] == "deputy_backdated"
    too_long = name(COLLEAGUE, 0, 43)
    assert too_long.json()["error"]["code"] == "deputy_too_long"
    assert "42 Tage" in too_long.json()["error"]["message"]
    assert name(COLLEAGUE, 0, 42).status_code == 201


def test_a_deputy_never_takes_items_personally_and_loses_them_with_the_period(
    sqlite_runtime: Runtime, mail: dict[str, str], stand_in_item: int
) -> None:
    deputy = client_for(sqlite_runtime, ELSEWHERE)
    item = stand_in_item
    to_herself = deputy.post(f"/api/inbox/{item}/forward", json={"to_user": ELSEWHERE})
    assert to_herself.status_code == 422
    assert to_herself.json()["error"]["code"] == "forward_to_self"
    # What she reads as a deputy is marked "für A" in the audit log.
    assert deputy.get(f"/api/documents/{mail['approved']}/view").status_code == 200
    assert deputy.get(f"/api/households/{OWN}/file").status_code == 200
    deputy.get("/api/search", params={"q": "Schreiben"})
    for action in ("document.view", "household.read", "search"):
        [event] = _events(sqlite_runtime, actor_login=ELSEWHERE, action=action)
        assert event.on_behalf_of_login == CASEWORKER, action
    # The period ends: no action on the colleague's items any more, not even a return.
    with transaction(sqlite_runtime.sessions) as session:
        for entry in session.scalars(select(Deputy)):
            entry.starts_on = entry.ends_on = local_today() - timedelta(days=1)
    back = deputy.post(f"/api/inbox/{item}/return", json={"comment": "falsch"})
    assert back.status_code == 403


def test_forwarding_checks_every_member_of_a_receiving_team(
    sqlite_runtime: Runtime, stand_in_item: int
) -> None:
    # The islands' first member stands in for the caseworker today; her teammates do not.
    caseworker = client_for(sqlite_runtime, CASEWORKER)
    item = stand_in_item
    refused = caseworker.post(f"/api/inbox/{item}/forward", json={"to_team": "Leistung Inseln"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "forward_no_access"
    with transaction(sqlite_runtime.sessions) as session:
        assert session.get(InboxItem, item).user.login == CASEWORKER
    # Everybody in Husum's team is responsible: allowed.
    ok = caseworker.post(f"/api/inbox/{item}/forward", json={"to_team": "Leistung Husum"})
    assert ok.status_code == 200, ok.text


def test_only_legal_letters_go_to_the_objections_office_without_a_reason_and_access_ends(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    caseworker = client_for(sqlite_runtime, CASEWORKER)
    office = client_for(sqlite_runtime, OFFICE)
    item = _item_of(sqlite_runtime, mail["approved"])
    to_office = {"to_team": "Widerspruchsstelle"}
    bare = caseworker.post(f"/api/inbox/{item}/forward", json=to_office)
    assert bare.status_code == 422 and bare.json()["error"]["code"] == "forward_reason"
    assert office.get(f"/api/households/{OWN}/file").status_code == 200  # the objection's item
    # The objection letter's item is done, no case is open: the office's access ends.
    objection_item = _item_of(sqlite_runtime, mail["objection"])
    assert office.post(f"/api/inbox/{objection_item}/done").status_code == 200
    assert office.get(f"/api/households/{OWN}/file").status_code == 403
    # With a reason, a payslip may go there; the office sees the file while it is open.
    reasoned = caseworker.post(
        f"/api/inbox/{item}/forward", json=to_office | {"comment": "Bitte für das Verfahren"}
    )
    assert reasoned.status_code == 200
    assert office.get(f"/api/households/{OWN}/file").status_code == 200


def test_lists_and_counts_that_name_clients_are_audited_with_address_and_agent(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    caseworker = client_for(sqlite_runtime, CASEWORKER)
    caseworker.headers["User-Agent"] = "Fachverfahren-Arbeitsplatz/1.0"
    caseworker.get("/api/inbox")
    caseworker.get("/api/inbox/counts")
    caseworker.get(f"/api/households/{OWN}/export-options")
    desk = client_for(sqlite_runtime, DESK)
    desk.get("/api/clearing")
    desk.get("/api/households", params={"q": "Carstensen"})
    office = client_for(sqlite_runtime, OFFICE)
    office.get("/api/objections")
    office.get("/api/appeals")
    office.get(f"/api/documents/{mail['objection']}/legal-intake")
    actions = {(e.actor_login, e.action) for e in _events(sqlite_runtime, outcome="ok")}
    for expected in [
        (CASEWORKER, "inbox.list"),
        (CASEWORKER, "inbox.counts"),
        (CASEWORKER, "export.options"),
        (DESK, "clearing.list"),
        (DESK, "masterdata.search"),
        (OFFICE, "objections.list"),
        (OFFICE, "appeals.list"),
        (OFFICE, "document.intake"),
    ]:
        assert expected in actions, expected
    [listing] = _events(sqlite_runtime, actor_login=CASEWORKER, action="inbox.list")
    assert listing.user_agent == "Fachverfahren-Arbeitsplatz/1.0"
    assert listing.client_ip == "testclient"
    assert OWN in listing.details["households"]
    # A role refusal is audited like any other.
    assert caseworker.get("/api/clearing").status_code == 403
    [refused] = _events(sqlite_runtime, actor_login=CASEWORKER, action="clearing.list")
    assert refused.outcome == "denied" and refused.user_agent == "Fachverfahren-Arbeitsplatz/1.0"


def test_the_search_keys_and_the_single_file_check_agree(
    sqlite_runtime: Runtime, mail: dict[str, str]
) -> None:
    """One rule, two forms: the index filter and the gate never disagree on a household."""
    with transaction(sqlite_runtime.sessions) as session:
        users = session.scalars(select(User)).all()
        households = session.scalars(select(Household)).all()
        for user in users:
            keys = visible_access_keys(session, user)
            for household in households:
                granted = household_grant(session, user, household) is not None
                assert granted == (household.bg_number in keys), (user.login, household.bg_number)


@pytest.mark.slow
def test_a_scanned_letter_reaches_the_file_only_after_the_quality_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The default: the desk's check stands between the scan and the caseworker."""
    from app.runtime import build_runtime
    from tests.support import make_settings, sample, work_until_idle

    runtime = build_runtime(make_settings(tmp_path / "data", qa_required=True))
    try:
        load_people(runtime)
        desk = client_for(runtime, DESK)
        upload = {"file": ("0001.pdf", sample("docs/0001.pdf").read_bytes())}
        batch = desk.post("/api/documents", files=upload).json()
        work_until_idle(runtime)
        [document] = desk.get(f"/api/batches/{batch['id']}").json()["documents"]
        # Recognition routed it to lsb.95401.3, who sees nothing of it yet.
        assert document["inbox"] == {"kind": "user", "user": "lsb.95401.3"}
        caseworker = client_for(runtime, "lsb.95401.3")
        assert caseworker.get("/api/inbox").json()["total"] == 0
        assert caseworker.get(f"/api/documents/{document['id']}/view").status_code == 403
        household = document["bg_number"]
        assert caseworker.get(f"/api/households/{household}/file").json()["timeline"] == []
        assert (
            caseworker.get("/api/search", params={"q": "Verdienstabrechnung"}).json()["total"] == 0
        )
        # The desk's QA page shows the pages it decides on.
        assert desk.get(f"/api/documents/{document['id']}/pages/1/thumb").status_code == 200
        approved = desk.post(
            f"/api/documents/{document['id']}/qa",
            json={"decision": "approve", "counted_pages": 1},
        )
        assert approved.status_code == 200, approved.text
        assert caseworker.get("/api/inbox").json()["total"] == 1
        assert caseworker.get(f"/api/documents/{document['id']}/view").status_code == 200
        assert (
            caseworker.get("/api/search", params={"q": "Verdienstabrechnung"}).json()["total"] == 1
        )
    finally:
        runtime.close()
