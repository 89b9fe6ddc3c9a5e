"""The function mailbox (IMAP): its messages become intake batches like an .eml handed in at
the desk, each message once, and a broken one goes to quarantine with a German reason.

The tests marked `services` talk to the real IMAP server that scripts/test.sh starts
(services/imap.sh, GreenMail); each test works in folders of its own on it.
"""

from __future__ import annotations

import email.policy
import imaplib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select

from app.runtime import build_runtime
from core.db import transaction
from core.errors import ConfigurationError
from ingest.mailbox import (
    NO_CONTENT,
    NOT_AN_EMAIL,
    Mailbox,
    MailboxUnavailable,
    encode_folder,
    problem,
    start_polling,
    status,
)
from ingest.worker import run_worker
from records.mailbox import MailboxMessage
from records.models import AuditEvent, ScanBatch
from records.runtime import Runtime
from tests.support import (
    KOCH,
    client_mail,
    load_people,
    make_settings,
    objection_mail,
    run_cli,
    service_env,
    settings_env,
    wait_for,
    work_until_idle,
)


def short_mail(subject: str, message_id: str | None) -> bytes:
    message = client_mail(
        "Erika Muster <e.muster@example.org>",
        subject,
        "Wed, 02 Dec 2026 10:00:00 +0100",
        "Anbei meine Unterlagen.\n",
        message_id=message_id,
    )
    return bytes(message)


# --- without a server -------------------------------------------------------------------------


def test_the_mailbox_is_off_by_default(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    assert not settings.mailbox_enabled
    runtime = build_runtime(settings)
    try:
        assert start_polling(runtime, threading.Event()) is None
    finally:
        runtime.close()
    env = dict(os.environ, **settings_env(settings))
    env = {k: v for k, v in env.items() if not k.startswith("EAKTE_MAILBOX_")}
    shown = run_cli(env, "mailbox", "status")
    assert shown.returncode == 0, shown.stderr
    assert "Funktionspostfach: aus" in shown.stdout
    fetched = run_cli(env, "mailbox", "fetch")
    assert fetched.returncode == 2
    assert "Kein Funktionspostfach eingerichtet" in fetched.stderr


def test_a_password_travels_in_plain_text_only_to_this_machine(tmp_path: Path) -> None:
    base = {"mailbox_user": "postfach", "mailbox_password": "geheim"}
    with pytest.raises(ConfigurationError, match="only for a server on this machine"):
        make_settings(tmp_path, mailbox_host="mail.example.org", mailbox_security="plain", **base)
    local = make_settings(tmp_path, mailbox_host="localhost", mailbox_security="plain", **base)
    assert local.resolved_mailbox_port == 143
    assert (
        make_settings(tmp_path, mailbox_host="mail.example.org", **base).resolved_mailbox_port
        == 993
    )
    with pytest.raises(ConfigurationError, match="exactly one of"):
        make_settings(tmp_path, mailbox_host="mail.example.org", mailbox_user="postfach")


def test_broken_messages_are_named_in_german() -> None:
    assert problem(b"Hallo, hier ist kein Kopf, nur Text\r\n") == NOT_AN_EMAIL
    empty = b"From: a@example.org\r\nDate: Tue, 01 Dec 2026 09:30:00 +0100\r\nSubject: x\r\n\r\n"
    assert problem(empty) == NO_CONTENT
    html_only_markup = (
        b"From: a@example.org\r\nDate: Tue, 01 Dec 2026 09:30:00 +0100\r\n"
        b"Content-Type: text/html\r\n\r\n<html><head><style>p{}</style></head><body> </body>"
    )
    assert problem(html_only_markup) == NO_CONTENT
    assert problem(objection_mail()) is None
    attachment_only = client_mail("a@example.org", None, "Tue, 01 Dec 2026 09:30:00 +0100", to=None)
    attachment_only.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf")
    assert problem(bytes(attachment_only)) is None


def test_folder_names_are_quoted_and_encoded_for_imap() -> None:
    assert encode_folder("INBOX") == '"INBOX"'
    assert encode_folder("Quarantäne") == '"Quarant&AOQ-ne"'
    assert encode_folder('A&B "x"') == '"A&-B \\"x\\""'


# --- against the real IMAP server -------------------------------------------------------------


@dataclass
class Server:
    host: str
    port: int
    user: str
    password: str
    inbox: str
    done: str
    quarantine: str

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(self.host, self.port, timeout=30)
        imap.login(self.user, self.password)
        return imap

    def append(self, raw: bytes, folder: str | None = None) -> None:
        imap = self.client()
        try:
            target = encode_folder(folder or self.inbox)
            imap.create(target)
            assert imap.append(target, None, None, raw)[0] == "OK"
        finally:
            imap.logout()

    def messages(self, folder: str) -> list[bytes]:
        imap = self.client()
        try:
            if imap.select(encode_folder(folder))[0] != "OK":
                return []
            [uids] = imap.uid("SEARCH", None, "UNDELETED")[1]
            found = []
            for uid in (uids or b"").split():
                data = imap.uid("FETCH", uid, "(BODY.PEEK[])")[1]
                found.append(next(item[1] for item in data if isinstance(item, tuple)))
            return found
        finally:
            imap.logout()

    def settings(self, **extra: object) -> dict[str, object]:
        return {
            "mailbox_host": self.host,
            "mailbox_port": self.port,
            "mailbox_security": "plain",
            "mailbox_user": self.user,
            "mailbox_password": self.password,
            "mailbox_folder": self.inbox,
            "mailbox_done_folder": self.done,
            "mailbox_quarantine_folder": self.quarantine,
            "mailbox_poll_seconds": 0.2,
            **extra,
        }


@pytest.fixture
def server() -> Server:
    """The test's own folders on the IMAP server of scripts/test.sh."""
    tag = f"t{uuid.uuid4().hex[:10]}"
    return Server(
        host=service_env("EAKTE_TEST_IMAP_HOST"),
        port=int(service_env("EAKTE_TEST_IMAP_PORT")),
        user=service_env("EAKTE_TEST_IMAP_USER"),
        password=service_env("EAKTE_TEST_IMAP_PASSWORD"),
        inbox=f"{tag}-eingang",
        done=f"{tag}-erledigt",
        quarantine=f"{tag}-quarantaene",
    )


BACKENDS = ["sqlite", pytest.param("postgresql", id="postgresql")]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'eakte.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def mail_runtime(server: Server, database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(
        make_settings(tmp_path / "data", database_url=database_url, **server.settings())
    )
    yield runtime
    runtime.close()


def batches_in(settings) -> list[ScanBatch]:  # type: ignore[no-untyped-def]
    runtime = build_runtime(settings)
    try:
        return mailbox_batches(runtime)
    finally:
        runtime.close()


def mailbox_batches(runtime: Runtime) -> list[ScanBatch]:
    with transaction(runtime.sessions, read_only=True) as session:
        batches = list(session.scalars(select(ScanBatch).where(ScanBatch.channel == "mailbox")))
        session.expunge_all()
    return batches


@pytest.mark.services
@pytest.mark.slow
def test_a_message_in_the_mailbox_becomes_a_routed_document(
    server: Server, mail_runtime: Runtime
) -> None:
    load_people(mail_runtime)
    server.append(objection_mail())

    report = Mailbox(mail_runtime).fetch_once()

    assert len(report.accepted) == 1 and report.quarantined == []
    assert server.messages(server.inbox) == []
    assert len(server.messages(server.done)) == 1
    [batch] = mailbox_batches(mail_runtime)
    assert batch.content_type == "message/rfc822"
    work_until_idle(mail_runtime)
    from tests.support import client_for

    desk = client_for(mail_runtime, "post.1")
    shown = desk.get(f"/api/batches/{batch.id}").json()
    assert shown["status"] == "processed", shown
    [document] = shown["documents"]
    assert document["bg_number"] == KOCH
    assert document["doc_type"] == "widerspruch"
    assert document["inbox"] == {"kind": "team", "team": "Widerspruchsstelle"}
    # The next round finds nothing new.
    again = Mailbox(mail_runtime).fetch_once()
    assert again.accepted == [] and again.moved_again == 0
    assert len(mailbox_batches(mail_runtime)) == 1


def subject_of(raw: bytes) -> str:
    return str(BytesParser(policy=email.policy.default).parsebytes(raw)["Subject"])


class Crash(BaseException):
    """The process dies here (nothing in the product catches a BaseException of ours)."""


@pytest.mark.services
def test_each_message_is_taken_once_across_a_crash_before_the_move(
    server: Server, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path / "data", database_url=database_url, **server.settings())
    server.append(short_mail("Lohnabrechnung November", "<lohn-11@example.org>"))
    server.append(short_mail("Kontoauszug ohne Message-ID", None))
    real_move = Mailbox._move
    moves: list[str] = []

    def crash_on(call: int):  # type: ignore[no-untyped-def]
        def move(self: Mailbox, imap, found, folder):  # type: ignore[no-untyped-def]
            moves.append(found.uid)
            if len(moves) == call:
                raise Crash
            return real_move(self, imap, found, folder)

        return move

    # 1st run: the first message is committed, then the process dies before moving it.
    monkeypatch.setattr(Mailbox, "_move", crash_on(1))
    first = build_runtime(settings)
    with pytest.raises(Crash):
        Mailbox(first).fetch_once()
    first.close()
    assert len(batches_in(settings)) == 1
    assert len(server.messages(server.inbox)) == 2

    # 2nd run (restarted): the first is only moved; the second (no Message-ID, known by its
    # content) is committed, and the process dies again before its move.
    moves.clear()
    monkeypatch.setattr(Mailbox, "_move", crash_on(2))
    second = build_runtime(settings)
    with pytest.raises(Crash):
        Mailbox(second).fetch_once()
    second.close()
    assert len(batches_in(settings)) == 2
    assert len(server.messages(server.inbox)) == 1

    # 3rd run, undisturbed: nothing handed in again, everything ends in the done folder.
    monkeypatch.setattr(Mailbox, "_move", real_move)
    third = build_runtime(settings)
    try:
        report = Mailbox(third).fetch_once()
        assert report.accepted == [] and report.moved_again == 1
        assert len(mailbox_batches(third)) == 2
        assert server.messages(server.inbox) == []
        subjects = sorted(subject_of(raw) for raw in server.messages(server.done))
        assert subjects == ["Kontoauszug ohne Message-ID", "Lohnabrechnung November"]
        current = status(third)
        assert (current.accepted, current.quarantined, current.not_moved) == (2, 0, 0)
        # Delivered once more (the same Message-ID): remembered, not handed in again.
        server.append(short_mail("Lohnabrechnung November", "<lohn-11@example.org>"))
        assert Mailbox(third).fetch_once().moved_again == 1
        assert len(mailbox_batches(third)) == 2
    finally:
        third.close()


@pytest.mark.services
def test_a_broken_message_goes_to_quarantine_with_a_german_reason(
    server: Server, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path / "data", database_url=database_url, max_upload_mb=1, **server.settings()
    )
    server.append(b"Hallo, hier ist kein Kopf, nur Text\r\nund noch eine Zeile\r\n")
    server.append(
        b"From: a@example.org\r\nDate: Tue, 01 Dec 2026 09:30:00 +0100\r\n"
        b"Subject: leer\r\nMessage-ID: <leer@example.org>\r\n\r\n"
    )
    large = client_mail(
        "b@example.org",
        "Fotos",
        "Tue, 01 Dec 2026 09:30:00 +0100",
        "Anbei die Fotos.",
        to=None,
        message_id="<gross@example.org>",
    )
    large.add_attachment(os.urandom(1_300_000), maintype="image", subtype="jpeg")
    server.append(bytes(large))
    server.append(short_mail("Antrag", "<antrag@example.org>"))
    runtime = build_runtime(settings)
    try:
        report = Mailbox(runtime).fetch_once()
        assert report.accepted == ["Antrag"]
        reasons = sorted(reason for _, reason in report.quarantined)
        assert len(reasons) == 3
        assert NOT_AN_EMAIL in reasons and NO_CONTENT in reasons
        assert any(r.startswith("Die E-Mail ist zu groß (1.") for r in reasons)
        # Nothing lost: all three are kept in the quarantine folder, unchanged in content.
        assert server.messages(server.inbox) == []
        assert len(server.messages(server.quarantine)) == 3
        assert len(server.messages(server.done)) == 1
        assert len(mailbox_batches(runtime)) == 1
        with transaction(runtime.sessions, read_only=True) as session:
            audited = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "mailbox.quarantine")
            ).all()
            assert sorted(event.details["reason"] for event in audited) == reasons
            assert {event.actor_login for event in audited} == {"system"}
            rows = session.scalars(
                select(MailboxMessage).where(MailboxMessage.outcome == "quarantined")
            ).all()
            assert sorted(row.reason for row in rows) == reasons
        # The desk sees them with their reasons.
        env = dict(os.environ, **settings_env(settings))
        env.update(
            EAKTE_MAILBOX_HOST=server.host,
            EAKTE_MAILBOX_PORT=str(server.port),
            EAKTE_MAILBOX_SECURITY="plain",
            EAKTE_MAILBOX_USER=server.user,
            EAKTE_MAILBOX_PASSWORD=server.password,
            EAKTE_MAILBOX_FOLDER=server.inbox,
            EAKTE_MAILBOX_DONE_FOLDER=server.done,
            EAKTE_MAILBOX_QUARANTINE_FOLDER=server.quarantine,
        )
        shown = run_cli(env, "mailbox", "status")
        assert shown.returncode == 0, shown.stderr
        assert "1 übernommen, 3 in Quarantäne, 0 noch nicht verschoben" in shown.stdout
        assert f"Grund: {NO_CONTENT}" in shown.stdout
        as_json = json.loads(run_cli(env, "mailbox", "status", "--json").stdout)
        assert as_json["quarantined"] == 3
        # Fetching again (here from the command line) takes nothing twice.
        fetched = run_cli(env, "mailbox", "fetch")
        assert fetched.returncode == 0, fetched.stderr
        assert "0 E-Mails übernommen, 0 in Quarantäne." in fetched.stdout
    finally:
        runtime.close()


@pytest.mark.services
def test_a_refused_login_takes_nothing(server: Server, tmp_path: Path) -> None:
    server.append(short_mail("Antrag", "<antrag-2@example.org>"))
    settings = make_settings(
        tmp_path / "data", **server.settings(mailbox_password="falsches-passwort")
    )
    runtime = build_runtime(settings)
    try:
        with pytest.raises(MailboxUnavailable, match="Anmeldung als .* fehlgeschlagen"):
            Mailbox(runtime).fetch_once()
        assert mailbox_batches(runtime) == []
        assert len(server.messages(server.inbox)) == 1
    finally:
        runtime.close()
    # The right password from a file (a container secret, with its trailing newline).
    secret = tmp_path / "postfach-passwort"
    secret.write_text(server.password + "\n")
    fixed = server.settings(mailbox_password_file=secret)
    del fixed["mailbox_password"]
    runtime = build_runtime(make_settings(tmp_path / "data", **fixed))
    try:
        assert Mailbox(runtime).fetch_once().accepted == ["Antrag"]
        assert len(mailbox_batches(runtime)) == 1
    finally:
        runtime.close()


@pytest.mark.services
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_a_server_without_tls_gets_no_password_when_tls_is_required(
    server: Server, tmp_path: Path, security: str
) -> None:
    # The test server speaks plain IMAP only (and offers no STARTTLS): a mailbox that
    # requires TLS must refuse it rather than log in without.
    server.append(short_mail("Antrag", "<antrag-tls@example.org>"))
    settings = make_settings(
        tmp_path / "data", **server.settings(mailbox_security=security, mailbox_timeout_seconds=10)
    )
    runtime = build_runtime(settings)
    try:
        with pytest.raises(MailboxUnavailable, match="nicht erreichbar"):
            Mailbox(runtime).fetch_once()
        assert mailbox_batches(runtime) == []
        assert len(server.messages(server.inbox)) == 1
    finally:
        runtime.close()


@pytest.mark.services
def test_the_worker_polls_a_configured_mailbox(server: Server, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", **server.settings())
    runtime = build_runtime(settings)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(runtime, stop), daemon=True)
    worker.start()
    try:
        server.append(short_mail("Antrag 11/2026 per E-Mail", "<antrag-3@example.org>"))
        wait_for(lambda: server.messages(server.done), 120, "the message fetched", every=0.2)
        assert len(server.messages(server.done)) == 1
        names = [batch.source_name for batch in mailbox_batches(runtime)]
        assert names == ["Antrag 11-2026 per E-Mail.eml"]
    finally:
        stop.set()
        worker.join(60)
        runtime.close()
