"""The data protection officer (issue 16, dsb16): the access report for a data subject lists
exactly the accesses in the audit log for the person's household, refusals included (on
SQLite and PostgreSQL); its creation is audited; the audit search and "who opened this file";
caseworkers and administrators are refused; the officer sees no content; refusals of a
household's objects carry its BG number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.runtime import build_runtime
from core.dates import local_today
from core.db import transaction
from records import privacy
from records.access import Gate
from records.models import AuditEvent, User
from records.runtime import Runtime
from tests.support import (
    ISLANDS,
    NEIGHBOUR,
    OWN,
    add_admin,
    file_indexed,
    load_people,
    make_settings,
)
from tests.support_pdf import failed_rules
from tests.support_privacy16 import (
    CASEWORKER,
    DPO,
    ESCAPED,
    HOSTILE,
    accesses,
    add_dpo,
    audit_ids,
    own_member_id,
    pdf_text,
    signed_in,
)

SCRIPT = Path(__file__).resolve().parent.parent / "web" / "static" / "datenschutz.js"


@pytest.fixture
def db_runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """The product on SQLite or on the services' PostgreSQL, with the sample people and a data
    protection officer."""
    runtime = build_runtime(make_settings(tmp_path / "data", database_url=database_url))
    load_people(runtime)
    add_dpo(runtime)
    yield runtime
    runtime.close()


def test_the_report_lists_exactly_the_households_accesses_refusals_included(
    db_runtime: Runtime,
) -> None:
    docs = accesses(db_runtime)
    with transaction(db_runtime.sessions, read_only=True) as session:
        own_household_rows = set(
            session.scalars(select(AuditEvent.id).where(AuditEvent.bg_number == OWN))
        )
        # While in clearing the letter's rows (its filing, the desk's read) name no household.
        clearing_rows = set(
            session.scalars(
                select(AuditEvent.id).where(
                    AuditEvent.object_type == "document",
                    AuditEvent.object_id == docs["klaerung"],
                    AuditEvent.bg_number.is_(None),
                )
            )
        )
        desk_read = session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.object_id == docs["klaerung"], AuditEvent.action == "document.read"
            )
        )
        neighbour_rows = set(
            session.scalars(select(AuditEvent.id).where(AuditEvent.bg_number == NEIGHBOUR))
        )
        held_refusal = session.scalar(
            select(AuditEvent).where(
                AuditEvent.object_id == docs["gehalten"], AuditEvent.outcome == "denied"
            )
        )
    # The refusal of a letter held for the check names its household (it named "clearing").
    assert held_refusal is not None and held_refusal.bg_number == OWN
    assert desk_read in clearing_rows and neighbour_rows
    with transaction(db_runtime.sessions, read_only=True) as session:
        dpo = session.scalar(select(User).where(User.login == DPO))
        assert dpo is not None
        report = privacy.person_report(Gate(session, dpo), own_member_id(db_runtime))
    listed = {row.id for row in report.accesses}
    assert listed == own_household_rows | clearing_rows
    assert not listed & neighbour_rows
    by_action = {(r.who.split(" (")[0], r.action, r.outcome) for r in report.accesses}
    assert ("Laura Carstensen", "household.read", "ok") in by_action
    assert ("Sönke Wagner", "household.read", "denied") in by_action
    assert ("Sönke Wagner", "document.read", "denied") in by_action
    assert ("Laura Carstensen", "document.read", "denied") in by_action  # the held letter
    assert ("Julia Petersen", "document.read", "ok") in by_action  # in clearing
    deputy = [r for r in report.accesses if r.on_behalf_of]
    assert [(r.who, r.on_behalf_of, r.label) for r in deputy] == [
        ("Sönke Wagner (lsb.95403.1)", "Laura Carstensen (lsb.95401.2)", "Akte geöffnet")
    ]
    assert report.refusals == 3
    assert [r.at for r in report.accesses] == sorted(r.at for r in report.accesses)
    assert ("Dokumente", "3 Dokumente") in report.categories


def test_the_report_pdf_is_audited_lists_the_accesses_and_is_pdfa(
    sqlite_runtime: Runtime, tmp_path: Path
) -> None:
    load_people(sqlite_runtime)
    add_dpo(sqlite_runtime)
    accesses(sqlite_runtime)
    person = own_member_id(sqlite_runtime)
    dpo = signed_in(sqlite_runtime, DPO)
    before = audit_ids(sqlite_runtime, action="privacy.access_report")
    preview = dpo.get(f"/datenschutz/auskunft?person={person}")
    assert preview.status_code == 200
    assert "Auskunft als PDF/A herunterladen" in preview.text
    shown = re.search(r'id="report-accesses">(\d+), davon 3 verweigert', preview.text)
    assert shown is not None
    answer = dpo.get(f"/datenschutz/auskunft.pdf?person={person}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    target = tmp_path / "auskunft.pdf"
    target.write_bytes(answer.content)
    flat = pdf_text(target)
    for expected in (
        "Auskunft über gespeicherte Daten und Zugriffe",
        "Art. 15 DSGVO, § 83 SGB X",
        "Peters, Piotr",
        OWN,
        "Laura Carstensen (lsb.95401.2),",
        "Sönke Wagner (lsb.95403.1),",
        "Leistungssachbearbeitung",
        "Julia Petersen (post.1), Scanstelle",
        "Akte geöffnet",
        "Dokument geöffnet",
        "verweigert",
        "Dana Schutz (Datenschutz)",
    ):
        assert expected in flat, expected
    assert "Brief" not in flat and "Klärung" not in flat  # no content of the letters
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        made = list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "privacy.access_report",
                    AuditEvent.id.not_in(before),
                )
            )
        )
        listed = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "privacy.person_viewed")
        )
    assert [(e.actor_login, e.bg_number, e.object_id) for e in made] == [(DPO, OWN, str(person))]
    assert made[0].details["person"] == "Peters, Piotr"
    # The rows the report lists: every access before it, the preview's own row included.
    assert made[0].details["rows"] == int(shown.group(1)) + 1
    assert f"{int(shown.group(1)) + 1} Einträge, davon 3 Zugriffe verweigert" in flat
    assert listed is not None and listed.bg_number == OWN
    verdict = failed_rules("2a", target)
    assert verdict[target.resolve()] == []


def test_caseworker_and_admin_are_refused_and_audited(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    add_admin(sqlite_runtime)
    person = own_member_id(sqlite_runtime)
    for login in (CASEWORKER, "admin"):
        client = signed_in(sqlite_runtime, login)
        for path in (
            f"/datenschutz?bg={OWN}",
            f"/datenschutz/treffer?bg={OWN}",
            f"/datenschutz/akte?bg={OWN}",
            f"/datenschutz/auskunft?person={person}",
            f"/datenschutz/auskunft.pdf?person={person}",
            "/datenschutz/auskunft?name=Peters",
        ):
            answer = client.get(path, headers={"Accept": "text/html"})
            assert answer.status_code == 403, (login, path)
            assert "Kein Zugriff" in answer.text
        refused = audit_ids(sqlite_runtime, actor_login=login, outcome="denied")
        with transaction(sqlite_runtime.sessions, read_only=True) as session:
            actions = sorted(
                session.scalars(select(AuditEvent.action).where(AuditEvent.id.in_(refused)))
            )
        assert actions == sorted(
            [
                "privacy.audit_searched",
                "privacy.audit_searched",
                "privacy.file_accesses",
                "privacy.person_viewed",
                "privacy.access_report",
                "privacy.persons_searched",
            ]
        ), login


def test_the_officer_sees_no_content_and_the_refusal_names_the_household(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    add_dpo(sqlite_runtime)
    letter = file_indexed(sqlite_runtime, OWN, "sonstiges", "Geheim", source_name="g.pdf")
    dpo = signed_in(sqlite_runtime, DPO)
    for path in (
        f"/api/documents/{letter}",
        f"/dokument/{letter}",
        f"/api/documents/{letter}/pages/1/image",
        f"/akte/{OWN}",
        f"/api/households/{OWN}/file",
    ):
        answer = dpo.get(path, headers={"Accept": "text/html"})
        assert answer.status_code in (403, 404), path
        assert "Geheim" not in answer.text
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        refused = list(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.actor_login == DPO, AuditEvent.outcome == "denied"
                )
            )
        )
    assert refused and {e.bg_number for e in refused if e.object_type} == {OWN}
    assert any(e.object_type == "document" and e.object_id == letter for e in refused)
    # The home page leads the officer to the audit search.
    assert dpo.get("/", follow_redirects=False).headers["location"] == "/datenschutz"


def test_the_audit_search_filters_pages_and_is_audited(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    add_dpo(sqlite_runtime)
    accesses(sqlite_runtime)
    dpo = signed_in(sqlite_runtime, DPO)
    # By person: Piotr Peters' household, refusals only, newest first.
    page = dpo.get("/datenschutz", params={"person": "peters piotr", "ergebnis": "denied"})
    assert page.status_code == 200
    rows = re.findall(r'<tr id="audit-(\d+)">', page.text)
    assert len(rows) == 3 and rows == sorted(rows, key=int, reverse=True)
    assert "Peters, Piotr (geb. 13.10.1997), BG 95401BG1231743" in page.text
    assert page.text.count('<span class="badge rejected">verweigert</span>') == 3
    # By user (name or login), also as the colleague someone stood in for.
    by_user = dpo.get("/datenschutz/treffer", params={"nutzer": "Laura Carstensen", "bg": OWN})
    assert "in Vertretung für Laura Carstensen (lsb.95401.2)" in by_user.text
    assert "Sönke Wagner (lsb.95403.1)" in by_user.text
    # By action, with the German label; the period excludes everything before today.
    read = dpo.get(
        "/datenschutz/treffer",
        params={"aktion": "household.read", "von": local_today().isoformat()},
    )
    assert "Akte geöffnet" in read.text and "Dokument geöffnet" not in read.text
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    assert (
        "Keine Einträge gefunden."
        in dpo.get(
            "/datenschutz/treffer", params={"aktion": "household.read", "von": tomorrow}
        ).text
    )
    # A bad date stands at its field, no search.
    bad = dpo.get("/datenschutz", params={"von": "gestern"})
    assert 'id="audit-von-error"' in bad.text and "Bitte mindestens" in bad.text
    # Paging: the second page continues where the first ended.

    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        dpo_user = session.scalar(select(User).where(User.login == DPO))
        assert dpo_user is not None
        first = privacy.search_audit(
            Gate(session, dpo_user), privacy.AuditQuery(bg_number=OWN), page_size=4
        )
        second = privacy.search_audit(
            Gate(session, dpo_user),
            privacy.AuditQuery(bg_number=OWN, page=2),
            page_size=4,
        )
    assert first.pages >= 2 and first.rows[-1].at >= second.rows[0].at
    assert not {r.id for r in first.rows} & {r.id for r in second.rows}
    # Every search is audited with its criteria.
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        searched = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "privacy.audit_searched")
                .order_by(AuditEvent.id)
            )
        )
    assert searched[0].details["criteria"] == {"person": "peters piotr", "outcome": "denied"}
    assert searched[1].bg_number == OWN
    assert searched[1].details["criteria"] == {"bg_number": OWN, "user": "Laura Carstensen"}


def test_who_opened_this_file_groups_by_user_with_deputies(sqlite_runtime: Runtime) -> None:
    load_people(sqlite_runtime)
    add_dpo(sqlite_runtime)
    accesses(sqlite_runtime)
    dpo = signed_in(sqlite_runtime, DPO)
    page = dpo.get("/datenschutz/akte", params={"bg": OWN.lower()})
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert "Akte 95401BG1231743" in text
    # Sönke Wagner twice: refused on his own account, and standing in for Laura Carstensen.
    assert re.search(
        r"Sönke Wagner \(lsb\.95403\.1\) Leistungssachbearbeitung – \S+, \d\d:\d\d Uhr "
        r"\S+, \d\d:\d\d Uhr 2 2",
        text,
    ), text
    assert re.search(
        r"Sönke Wagner \(lsb\.95403\.1\) Leistungssachbearbeitung "
        r"Laura Carstensen \(lsb\.95401\.2\) \S+, \d\d:\d\d Uhr \S+, \d\d:\d\d Uhr 1 0",
        text,
    ), text
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        viewed = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "privacy.file_accesses")
        )
    assert viewed is not None and viewed.bg_number == OWN and viewed.actor_login == DPO
    # A household nobody may know about: nothing, and the view is still audited.
    empty = dpo.get("/datenschutz/akte", params={"bg": ISLANDS})
    assert "Keine Zugriffe verzeichnet." in empty.text


def test_labels_come_from_the_server_and_hostile_strings_stay_text(
    sqlite_runtime: Runtime,
) -> None:
    load_people(sqlite_runtime)
    add_dpo(sqlite_runtime)
    accesses(sqlite_runtime)
    dpo = signed_in(sqlite_runtime, DPO)
    part = dpo.get("/datenschutz/treffer", params={"bg": OWN, "nutzer": CASEWORKER})
    assert "Akte geöffnet" in part.text and "Leistungssachbearbeitung" in part.text
    assert ESCAPED in part.text and HOSTILE not in part.text  # the caseworker's browser
    script = SCRIPT.read_text(encoding="utf-8")
    assert "Akte geöffnet" not in script and "household.read" not in script
    assert privacy.action_label("document.read") == "Dokument geöffnet"
    assert privacy.action_label("something.new") == "something.new"


def test_a_refusal_of_a_households_object_names_the_household_only_in_the_audit_log(
    sqlite_runtime: Runtime,
) -> None:
    """A role without the task (a caseworker deciding the desk's quality check) is refused a
    letter of OWN: the audit row names OWN. An id that does not exist is refused with the same
    words and names no household."""
    load_people(sqlite_runtime)
    letter = file_indexed(sqlite_runtime, OWN, "sonstiges", "Brief", source_name="b.pdf")
    missing = "00000000-0000-4000-8000-000000000000"
    caseworker = signed_in(sqlite_runtime, CASEWORKER)
    answers = [
        caseworker.post(f"/api/documents/{target}/qa", json={"decision": "approve"})
        for target in (letter, missing)
    ]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        rows = session.execute(
            select(AuditEvent.object_id, AuditEvent.bg_number).where(
                AuditEvent.action == "document.qa.approve", AuditEvent.outcome == "denied"
            )
        ).all()
    assert sorted(rows, key=lambda r: r[0]) == sorted(
        [(missing, None), (letter, OWN)], key=lambda r: r[0]
    )


def test_the_officer_finds_a_person_by_name_and_date_of_birth(sqlite_runtime: Runtime) -> None:
    """Words of the name in any order and case (also a name beginning with an umlaut), the date
    of birth narrowing it; the search is audited."""
    load_people(sqlite_runtime)
    add_dpo(sqlite_runtime)
    dpo = signed_in(sqlite_runtime, DPO)
    found = dpo.get("/datenschutz/auskunft", params={"name": "öztürk"})
    names = re.findall(r'<a href="/datenschutz/auskunft\?person=\d+">([^<]+)</a>', found.text)
    assert sorted(names) == ["Öztürk, Agnieszka", "Öztürk, Ali", "Öztürk, Mehmet"]
    one = dpo.get(
        "/datenschutz/auskunft", params={"name": "ali ÖZTÜRK", "geburtsdatum": "1962-10-14"}
    )
    assert re.findall(r'person=\d+">([^<]+)</a>', one.text) == ["Öztürk, Ali"]
    assert "geb. 14.10.1962 · BG 95402BG7953351" in one.text
    with transaction(sqlite_runtime.sessions, read_only=True) as session:
        searched = list(
            session.scalars(
                select(AuditEvent.details).where(AuditEvent.action == "privacy.persons_searched")
            )
        )
    assert searched[-1] == {
        "criteria": {"name": "ali ÖZTÜRK", "birth_date": "1962-10-14"},
        "total": 1,
    }
