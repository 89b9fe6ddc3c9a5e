"""The document-type catalogue as an administration page (issue 16): versions in the database,
the catalogue in force for the pipeline, the preview of a draft on the last letters' stored
text, saving with an audit row, refusals."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import transaction
from ingest import catalogue as service
from ingest.filing import catalogue_for
from records.access import Gate
from records.models import AuditEvent, CatalogueVersion, Document, InboxItem, Team, User
from records.runtime import Runtime
from tests.support import (
    add_admin,
    client_for,
    file_indexed,
    load_people,
    pages_client_for,
    sample,
    work_until_idle,
)

SCHOOL = (
    "Sehr geehrte Damen und Herren,\nanbei die Schulbescheinigung für meine Tochter. Sie besucht "
    "im Schuljahr 2026/27 die Klasse 9b.\nMit freundlichen Grüßen"
)
LANDLORD = (
    "Sehr geehrte Damen und Herren,\nich sende Ihnen die Wohnungsgeberbestätigung für unseren "
    "Umzug.\nMit freundlichen Grüßen"
)
OBJECTION = (
    "Sehr geehrte Damen und Herren,\nhiermit lege ich Widerspruch gegen den Bescheid vom "
    "3.11.2026 ein.\nMit freundlichen Grüßen"
)
HOSTILE = "<img src=x onerror=alert(1)>"


def _staffed(runtime: Runtime) -> Runtime:
    load_people(runtime)
    add_admin(runtime)
    return runtime


@pytest.fixture
def site(sqlite_runtime: Runtime) -> Runtime:
    return _staffed(sqlite_runtime)


@pytest.fixture
def any_site(runtime: Runtime) -> Runtime:
    """On SQLite, and on PostgreSQL with MinIO and OpenSearch (services)."""
    return _staffed(runtime)


def _admin(runtime: Runtime, session: Session) -> Gate:
    user = session.scalar(select(User).where(User.login == "admin"))
    return Gate(session, user)


def _with_phrase(runtime: Runtime, code: str, line: str) -> str:
    with transaction(runtime.sessions, read_only=True) as session:
        current = service.in_force(runtime.settings, session)
    rule = current.catalogue.known_rule(code)
    phrases = service.phrase_lines(rule) + "\n" + line
    return service.with_type(current.text, service.TypeDraft(code, rule.name, rule.target, phrases))


def _save(runtime: Runtime, text: str, comment: str) -> tuple[int, service.Preview]:
    with transaction(runtime.sessions) as session:
        gate = _admin(runtime, session)
        seen = service.preview(gate, runtime.settings, text)
        proof = service.token(runtime.settings, "admin", seen.base, seen.hash, seen.counts())
        row = service.save(gate, runtime.settings, text, comment, seen.base, seen.counts(), proof)
        return row.version, seen


def test_a_strong_phrase_moves_exactly_the_letters_that_have_it(any_site: Runtime) -> None:
    site = any_site
    school = file_indexed(site, None, "sonstiges", SCHOOL)
    landlord = file_indexed(site, None, "sonstiges", LANDLORD)
    file_indexed(site, None, "widerspruch", OBJECTION)
    draft = _with_phrase(
        site, "mietbescheinigung", '{ text = "Wohnungsgeberbestätigung", weight = 6 }'
    )
    with transaction(site.sessions) as session:
        seen = service.preview(_admin(site, session), site.settings, draft)
    assert [str(change.id) for change in seen.changes] == [landlord]
    change = seen.changes[0]
    assert (change.before, change.after) == ("sonstiges", "mietbescheinigung")
    assert seen.counts() == {"letters": 3, "unchanged": 2, "changed": 1, "to_fallback": 0}
    assert school  # unchanged: no phrase of the draft in it
    # The edit changed only that type's phrases; every comment of the text is still there.
    before = service.in_force(site.settings).text
    edited = service.checked(draft)
    for rule in service.in_force(site.settings).catalogue.types:
        if rule.code != "mietbescheinigung":
            assert edited.known_rule(rule.code) == rule
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert [line for line in draft.splitlines() if line.lstrip().startswith("#")] == comments
    assert edited.known_rule("mietbescheinigung").phrases[-1] == "Wohnungsgeberbestätigung"


def test_a_new_type_with_a_team_inbox_and_letters_falling_back(site: Runtime) -> None:
    school = file_indexed(site, None, "sonstiges", SCHOOL)
    objection = file_indexed(site, None, "widerspruch", OBJECTION)
    with transaction(site.sessions, read_only=True) as session:
        text = service.in_force(site.settings, session).text
    draft = service.with_type(
        text,
        service.TypeDraft(
            "schulbescheinigung",
            "Schulbescheinigung",
            "team:Bildung und Teilhabe",
            '{ text = "Schulbescheinigung", weight = 6 }\nschuljahr',
        ),
    )
    # And the objection's own declaration no longer counts: it falls back to "sonstiges".
    draft = draft.replace("lege", "legte")
    with transaction(site.sessions) as session:
        seen = service.preview(_admin(site, session), site.settings, draft)
    moved = {str(c.id): (c.before, c.after, c.before_target, c.after_target) for c in seen.changes}
    assert moved[school] == (
        "sonstiges",
        "schulbescheinigung",
        "caseworker",
        "team:Bildung und Teilhabe",
    )
    assert moved[objection][:2] == ("widerspruch", "sonstiges")
    assert seen.to_fallback == 1


def test_saving_makes_new_versions_in_force_and_audits_them(any_site: Runtime) -> None:
    site = any_site
    file_indexed(site, None, "sonstiges", LANDLORD)
    first = _with_phrase(
        site, "mietbescheinigung", '{ text = "Wohnungsgeberbestätigung", weight = 6 }'
    )
    assert _save(site, first, "Wohnungsgeberbestätigung ist eine Mietbescheinigung")[0] == 1
    second = _with_phrase(site, "mietbescheinigung", "Einzugsbestätigung")
    number, seen = _save(site, second, "Einzugsbestätigung dazu")
    assert number == 2
    with transaction(site.sessions, read_only=True) as session:
        assert service.in_force(site.settings, session).number == 2
        assert list(
            session.scalars(select(CatalogueVersion.version).order_by(CatalogueVersion.id))
        ) == [1, 2]
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "catalogue.saved")
                .order_by(AuditEvent.id)
            )
        )
    assert [(e.actor_login, e.object_id) for e in events] == [("admin", "1"), ("admin", "2")]
    assert events[1].details["comment"] == "Einzugsbestätigung dazu"
    assert events[1].details["preview"] == {**seen.counts(), "base": 1}
    # The preview's letters went by in one audited listing, not one row per letter.
    with transaction(site.sessions, read_only=True) as session:
        listed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "catalogue.preview")
        ).all()
    assert listed and all(e.bg_number is None for e in listed)


def test_saving_needs_the_preview_of_exactly_this_draft_and_a_comment(site: Runtime) -> None:
    draft = _with_phrase(site, "mietbescheinigung", "Einzugsbestätigung")
    with transaction(site.sessions) as session:
        gate = _admin(site, session)
        seen = service.preview(gate, site.settings, draft)
        proof = service.token(site.settings, "admin", seen.base, seen.hash, seen.counts())
        other = draft + "\n# noch eine Zeile\n"
        with pytest.raises(service.InvalidInput, match="Vorschau"):
            service.save(gate, site.settings, other, "x", seen.base, seen.counts(), proof)
        with pytest.raises(service.InvalidInput, match="Kommentar"):
            service.save(gate, site.settings, draft, "  ", seen.base, seen.counts(), proof)
        forged = {**seen.counts(), "unchanged": seen.unchanged + 5}
        with pytest.raises(service.InvalidInput, match="Vorschau"):
            service.save(gate, site.settings, draft, "x", seen.base, forged, proof)
    with transaction(site.sessions, read_only=True) as session:
        assert session.scalars(select(CatalogueVersion)).all() == []


def test_a_broken_draft_is_refused_in_german_with_its_line(site: Runtime) -> None:
    text = service.in_force(site.settings).text
    broken = text.replace('code = "klage"', 'code = "klage', 1)
    line = text[: text.index('code = "klage"')].count("\n") + 1
    problems = service.catalogue_problems(broken)
    assert len(problems) == 1 and problems[0].startswith(f"Zeile {line}, Spalte")
    assert "TOML-Syntax ist fehlerhaft" in problems[0]
    wrong = text.replace('target = "case_manager"', 'target = "postfach"', 1)
    problems = service.catalogue_problems(wrong)
    assert len(problems) == 1 and re.match(r"Zeile \d+: Dokumentart „\w+“: „target“", problems[0])
    with transaction(site.sessions) as session:
        gate = _admin(site, session)
        with pytest.raises(service.InvalidInput, match="fehlerhaft"):
            service.preview(gate, site.settings, broken)
        with pytest.raises(service.InvalidInput, match="fehlerhaft"):
            service.save(gate, site.settings, broken, "kaputt", 0, {}, "")
    # Through the page: the list of problems, what was typed kept, nothing saved.
    admin = pages_client_for(site, "admin")
    answer = admin.post("/verwaltung/dokumenttypen/vorschau", data={"mode": "toml", "toml": wrong})
    assert answer.status_code == 422
    assert "Der Entwurf ist fehlerhaft" in answer.text and "postfach" in answer.text
    with transaction(site.sessions, read_only=True) as session:
        assert session.scalars(select(CatalogueVersion)).all() == []


def test_the_pipeline_files_the_next_letter_with_the_saved_version(site: Runtime) -> None:
    """0001.pdf (a pay slip) goes to a caseworker with the shipped catalogue; once a version
    sends pay slips to the objections office, the next scan of it goes there."""
    text = service.in_force(site.settings).text
    rule = service.in_force(site.settings).catalogue.known_rule("verdienstabrechnung")
    draft = service.with_type(
        text,
        service.TypeDraft(
            rule.code, rule.name, "team:Widerspruchsstelle", service.phrase_lines(rule)
        ),
    )
    # The web process knows the file's catalogue; the worker asks the database per job.
    assert catalogue_for(site.settings, site.sessions).rule("verdienstabrechnung") == rule
    _save(site, draft, "Lohnabrechnungen zur Widerspruchsstelle (Test)")
    desk = client_for(site, "post.1")
    letter = sample("docs/0001.pdf")
    answer = desk.post("/api/documents", files={"file": (letter.name, letter.read_bytes())})
    assert answer.status_code == 201, answer.text
    work_until_idle(site)
    with transaction(site.sessions, read_only=True) as session:
        document = session.scalar(select(Document).where(Document.source_name == "0001.pdf"))
        assert document is not None and document.doc_type == "verdienstabrechnung"
        item = session.scalar(select(InboxItem).where(InboxItem.document_id == document.id))
        assert item is not None and item.kind == "team"
        team = session.get(Team, item.team_id)
        assert team is not None and team.name == "Widerspruchsstelle"


def test_a_caseworker_is_refused_and_that_is_audited(site: Runtime) -> None:
    caseworker = pages_client_for(site, "lsb.95401.2")
    for method, path in [
        ("get", "/verwaltung/dokumenttypen"),
        ("post", "/verwaltung/dokumenttypen/vorschau"),
        ("post", "/verwaltung/dokumenttypen/speichern"),
    ]:
        answer = getattr(caseworker, method)(path, **({"data": {}} if method == "post" else {}))
        assert answer.status_code == 403, path
        assert "Kein Zugriff" in answer.text
    with transaction(site.sessions, read_only=True) as session:
        refused = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "page.catalogue", AuditEvent.outcome == "denied"
            )
        ).all()
    assert [e.actor_login for e in refused] == ["lsb.95401.2"] * 3


def test_the_page_lists_types_and_shows_no_client_data(site: Runtime) -> None:
    """The preview names letters by id, date, channel and page count: a sender, a name or the
    text never reaches the administration; labels are German from the server; a hostile type
    name is shown as text."""
    landlord = file_indexed(site, None, "sonstiges", LANDLORD + "\nGez. Waltraud Quästorius")
    admin = pages_client_for(site, "admin")
    page = admin.get("/verwaltung/dokumenttypen")
    assert page.status_code == 200
    assert "Leistungssachbearbeitung" in page.text and "Team Widerspruchsstelle" in page.text
    form = admin.get("/verwaltung/dokumenttypen?art=mietbescheinigung")
    assert 'name="phrases"' in form.text and "Mietbescheinigung / Mietvertrag" in form.text
    rule = service.in_force(site.settings).catalogue.known_rule("mietbescheinigung")
    answer = admin.post(
        "/verwaltung/dokumenttypen/vorschau",
        data={
            "mode": "type",
            "code": "mietbescheinigung",
            "name": HOSTILE,
            "target": rule.target,
            "phrases": service.phrase_lines(rule)
            + '\n{ text = "Wohnungsgeberbestätigung", weight = 6 }',
            "new": "",
        },
    )
    assert answer.status_code == 200, answer.text
    assert f'data-id="{landlord}"' in answer.text
    assert "Quästorius" not in answer.text
    assert "Wohnungsgeberbestätigung für unseren" not in answer.text
    assert HOSTILE not in answer.text and "&lt;img src=x onerror=alert(1)&gt;" in answer.text
    token = re.search(r'name="token" value="([0-9a-f]+)"', answer.text)
    assert token is not None
    assert uuid.UUID(landlord)


def _hidden(page: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)
    }


def test_restoring_an_old_version_goes_through_the_preview_and_saves_a_new_one(
    site: Runtime,
) -> None:
    landlord = file_indexed(site, None, "sonstiges", LANDLORD)
    first = _with_phrase(
        site, "mietbescheinigung", '{ text = "Wohnungsgeberbestätigung", weight = 6 }'
    )
    _save(site, first, "Wohnungsgeberbestätigung")
    admin = pages_client_for(site, "admin")
    history = admin.get("/verwaltung/dokumenttypen")
    assert "Wiederherstellen: Katalogdatei" in history.text
    preview = admin.post(
        "/verwaltung/dokumenttypen/vorschau", data={"mode": "restore", "version": "0"}
    )
    assert preview.status_code == 200, preview.text
    assert f'data-id="{landlord}"' in preview.text  # it would go back to "sonstiges"
    fields = _hidden(preview.text)
    assert fields["draft"] == service.text_of_file(site.settings)
    saved = admin.post(
        "/verwaltung/dokumenttypen/speichern",
        data={**fields, "comment": "Zurück zur Auslieferung"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/verwaltung/dokumenttypen?gespeichert=2"
    with transaction(site.sessions, read_only=True) as session:
        current = service.in_force(site.settings, session)
    assert current.number == 2 and current.text == service.text_of_file(site.settings)
    # The same proof once more: another version was saved since, so it is refused.
    again = admin.post(
        "/verwaltung/dokumenttypen/speichern", data={**fields, "comment": "noch einmal"}
    )
    assert again.status_code == 422 and "Vorschau" in again.text


def test_a_draft_may_not_drop_a_type_that_stored_documents_carry(site: Runtime) -> None:
    file_indexed(site, None, "bescheid", "Bescheid vom 1.10.2026")
    text = service.in_force(site.settings).text
    renamed = text.replace('code = "bescheid"', 'code = "bescheid_neu"', 1)
    assert service.catalogue_problems(renamed) == []  # a valid catalogue on its own
    with transaction(site.sessions) as session:
        problems = service.draft_problems(renamed, session)
        assert problems == [
            "Die Dokumentart „bescheid“ fehlt im Entwurf, abgelegte Dokumente tragen sie "
            "aber; bitte nicht entfernen (der Name darf sich ändern)."
        ]
        with pytest.raises(service.InvalidInput, match="bescheid"):
            service.preview(_admin(site, session), site.settings, renamed)
    answer = pages_client_for(site, "admin").post(
        "/verwaltung/dokumenttypen/vorschau", data={"mode": "toml", "toml": renamed}
    )
    assert answer.status_code == 422 and "fehlt im Entwurf" in answer.text


def test_a_new_type_through_the_form_with_a_known_team(site: Runtime) -> None:
    school = file_indexed(site, None, "sonstiges", SCHOOL)
    admin = pages_client_for(site, "admin")
    form = admin.get("/verwaltung/dokumenttypen?art=neu")
    assert "Neue Dokumentart" in form.text
    # The teams of the job centre are offered as target inboxes.
    assert '<option value="team:Leistung Husum">Team Leistung Husum</option>' in form.text
    fields = {
        "mode": "type",
        "new": "1",
        "code": "schulbescheinigung",
        "name": "Schulbescheinigung",
        "target": "team:Leistung Husum",
        "phrases": '{ text = "Schulbescheinigung", weight = 6 }\nschuljahr',
    }
    taken = admin.post("/verwaltung/dokumenttypen/vorschau", data={**fields, "code": "klage"})
    assert taken.status_code == 422 and "Den Code „klage“ gibt es schon." in taken.text
    wrong = admin.post(
        "/verwaltung/dokumenttypen/vorschau", data={**fields, "phrases": "{ text = 4 }"}
    )
    assert wrong.status_code == 422 and "Formulierung in Zeile 1" in wrong.text
    preview = admin.post("/verwaltung/dokumenttypen/vorschau", data=fields)
    assert preview.status_code == 200, preview.text
    row = re.search(rf'<tr data-id="{school}">(.*?)</tr>', preview.text, re.S)
    assert row is not None
    assert "Sonstiger Schriftverkehr" in row[1] and "Schulbescheinigung" in row[1]
    assert "Leistungssachbearbeitung → Team Leistung Husum" in row[1]


def test_a_version_saved_by_another_process_is_picked_up(site: Runtime) -> None:
    """Another process saved a version (the row only; this process's knowledge is not
    dropped): a session sees it at once, a session factory after catalogue_check_seconds."""
    before = catalogue_for(site.settings, site.sessions)
    assert before.known_rule("sonstiges").name == "Sonstiger Schriftverkehr"
    text = service.text_of_file(site.settings).replace(
        'name = "Sonstiger Schriftverkehr"', 'name = "Sonstiges Schreiben"', 1
    )
    with transaction(site.sessions) as session:
        session.add(CatalogueVersion(version=1, content=text, comment="anderswo"))
    with transaction(site.sessions, read_only=True) as session:
        assert catalogue_for(site.settings, session).known_rule("sonstiges").name == (
            "Sonstiges Schreiben"
        )
    service.forget()
    catalogue_for(site.settings, site.sessions)  # known again, as of now
    with transaction(site.sessions) as session:
        session.add(
            CatalogueVersion(version=2, content=text.replace("Sonstiges S", "Anderes S", 1))
        )
    at_once = site.settings.model_copy(update={"catalogue_check_seconds": 0})
    assert catalogue_for(at_once, site.sessions).known_rule("sonstiges").name == (
        "Anderes Schreiben"
    )


def test_a_new_target_inbox_alone_lists_the_letters_it_moves(site: Runtime) -> None:
    objection = file_indexed(site, None, "widerspruch", OBJECTION)
    file_indexed(site, None, "sonstiges", SCHOOL)
    rule = service.in_force(site.settings).catalogue.known_rule("widerspruch")
    draft = service.with_type(
        service.text_of_file(site.settings),
        service.TypeDraft(rule.code, rule.name, "case_manager", service.phrase_lines(rule)),
    )
    admin = pages_client_for(site, "admin")
    preview = admin.post("/verwaltung/dokumenttypen/vorschau", data={"mode": "toml", "toml": draft})
    assert preview.status_code == 200, preview.text
    row = re.search(rf'<tr data-id="{objection}">(.*?)</tr>', preview.text, re.S)
    assert row is not None and row[1].count("<td>Widerspruch</td>") == 2
    assert "Team Widerspruchsstelle → Fallmanagement" in row[1]
    assert preview.text.count("<tr data-id=") == 1
