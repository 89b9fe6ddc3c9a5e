"""The function mailbox: messages fetched from an IMAP folder become intake batches.

Each message is handed in exactly like an .eml at the desk (ingest/intake.py: recognised and
routed like a scanned letter). A message is taken once:

1. its key (a hash of its Message-ID, or of the whole message when it has none) is looked up;
   a message already remembered is only moved, never handed in again;
2. the raw message is stored, its batch created and its key remembered in ONE transaction
   (intake's `on_batch` hook writes the `mailbox_messages` row beside the batch);
3. only after that commit is it moved to the done folder on the server. A crash between the
   commit and the move leaves it in the source folder, and the next fetch sees the remembered
   key and only moves it.

A broken message (not an e-mail, larger than the upload limit, without any text or
attachment) is remembered with a German reason, audited, and moved to the quarantine folder;
nothing is deleted. Only one process fetches at a time (an advisory lock in PostgreSQL, a
lock file beside SQLite's database); the unique key makes a second taker fail its commit
anyway.
"""

from __future__ import annotations

import base64
import email.policy
import fcntl
import hashlib
import html
import imaplib
import logging
import os
import re
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings, read_secret
from core.db import transaction, utcnow
from core.errors import ConfigurationError, UploadRejected
from ingest.email_pdf.parse import looks_like_email
from ingest.hotfolder import clean_name, shown
from ingest.intake import accept_file
from records import audit
from records.mailbox import MailboxMessage
from records.models import ScanBatch
from records.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "mailbox"
LOCK_NAME = ".eakte-mailbox.lock"
_PG_LOCK_KEY = 720_413  # pg_try_advisory_lock: one fetcher across all workers
_HEADER_ITEMS = "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID FROM SUBJECT)])"

NOT_AN_EMAIL = (
    "Die Nachricht ist keine lesbare E-Mail (der Kopf entspricht nicht RFC 5322) und wurde "
    "nicht übernommen."
)
NO_CONTENT = (
    "Die E-Mail enthält weder Text noch Anhänge und wurde nicht übernommen; bitte beim "
    "Absender nachfragen."
)
UNREADABLE = "Die E-Mail kann nicht gelesen werden ({detail}) und wurde nicht übernommen."


def too_large(size: int, limit: int) -> str:
    return (
        f"Die E-Mail ist zu groß ({size / 1048576:.1f} MB, erlaubt sind "
        f"{limit / 1048576:.0f} MB) und wurde nicht übernommen."
    )


class MailboxUnavailable(Exception):
    """The server cannot be reached or refuses the login; nothing was taken. German message."""


@dataclass
class FetchReport:
    accepted: list[str] = field(default_factory=list)  # subjects
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (subject, reason)
    moved_again: int = 0  # taken before (a crash before the move), only moved now
    busy: bool = False  # another process was fetching; this one did nothing


def source_name(subject: str | None) -> str:
    """The batch's name at the desk: the subject (a slash in it is no folder)."""
    subject = (subject or "").replace("/", "-").replace("\\", "-").strip()
    return clean_name(f"{subject or 'E-Mail ohne Betreff'}.eml")


def mailbox_label(settings: Settings) -> str:
    """Which mailbox a remembered message came from: user@host/folder."""
    return f"{settings.mailbox_user}@{settings.mailbox_host}/{settings.mailbox_folder}"[:300]


# --- IMAP details -----------------------------------------------------------------------------


def encode_folder(name: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ","))
            out.append("-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    encoded = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{encoded}"'


def _ok(response: tuple[str, list], what: str) -> list:
    kind, data = response
    if kind != "OK":
        detail = b" ".join(item for item in data if isinstance(item, bytes)).decode(
            "utf-8", "replace"
        )
        raise MailboxUnavailable(f"Der Mailserver lehnt {what} ab: {shown(detail)[:200]}")
    return data


def _password(settings: Settings) -> str:
    try:
        return read_secret(settings.mailbox_password, settings.mailbox_password_file)
    except ConfigurationError as exc:
        raise MailboxUnavailable(exc.message) from None


def connect(settings: Settings) -> imaplib.IMAP4:
    """A logged-in connection; TLS as configured (never a silent fall back to plain text)."""
    host, port = settings.mailbox_host or "", settings.resolved_mailbox_port
    timeout = settings.mailbox_timeout_seconds
    context = ssl.create_default_context(
        cafile=str(settings.mailbox_ca_file) if settings.mailbox_ca_file else None
    )
    try:
        if settings.mailbox_security == "tls":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                host, port, ssl_context=context, timeout=timeout
            )
        else:
            imap = imaplib.IMAP4(host, port, timeout=timeout)
            if settings.mailbox_security == "starttls":
                try:
                    imap.starttls(ssl_context=context)
                except BaseException:
                    # No TLS, no login: the password never travels in plain text.
                    with suppress(OSError):
                        imap.shutdown()
                    raise
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _unreachable(f"Der Mailserver {host}:{port} ist nicht erreichbar", exc) from None
    try:
        imap.login(settings.mailbox_user or "", _password(settings))
    except imaplib.IMAP4.error:
        _logout(imap)
        raise MailboxUnavailable(
            f"Die Anmeldung als {settings.mailbox_user} am Mailserver {host} ist fehlgeschlagen."
        ) from None
    except BaseException:
        _logout(imap)
        raise
    return imap


def _unreachable(what: str, exc: BaseException) -> MailboxUnavailable:
    """The connection's failure for the desk: what happened, and the error in short."""
    return MailboxUnavailable(f"{what} ({type(exc).__name__}: {shown(str(exc))[:200]})")


def _logout(imap: imaplib.IMAP4) -> None:
    with suppress(OSError, imaplib.IMAP4.error):
        imap.logout()


def _literal(data: list) -> tuple[bytes, bytes]:
    """(the FETCH response line, its literal) of a single-message FETCH."""
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[0], item[1]
    return b"", b""


def _message_id(header: bytes) -> str | None:
    parsed = BytesParser(policy=email.policy.compat32).parsebytes(header, headersonly=True)
    value = parsed.get("Message-ID")
    if value is None:
        return None
    cleaned = " ".join(str(value).split())
    return cleaned or None


def _header_text(header: bytes, name: str) -> str | None:
    try:
        parsed = BytesParser(policy=email.policy.default).parsebytes(header, headersonly=True)
        value = parsed.get(name)
        return " ".join(str(value).split())[:300] if value is not None else None
    except Exception:  # noqa: BLE001 - a malformed header is shown raw
        return None


def message_key(message_id: str | None, raw: bytes | None) -> str:
    if message_id is not None:
        return "mid:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    assert raw is not None
    return "raw:" + hashlib.sha256(raw).hexdigest()


_TAG = re.compile(r"<[^>]*>")
_INVISIBLE_HTML = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def problem(raw: bytes) -> str | None:
    """Why this message cannot become a document (German), or None."""
    if not looks_like_email(raw[:8192]):
        return NOT_AN_EMAIL
    try:
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        for part in message.walk():
            if part.is_multipart():
                continue
            # A part that is not multipart decodes to bytes, or None when it has no body.
            decoded = part.get_payload(decode=True)
            payload = decoded if isinstance(decoded, bytes) else b""
            if part.get_content_maintype() != "text" or part.get_filename():
                if payload:
                    return None  # an attachment (or an image, a PDF) with content
                continue
            body = payload.decode(part.get_content_charset() or "latin-1", "replace")
            if part.get_content_subtype() == "html":
                body = html.unescape(_TAG.sub(" ", _INVISIBLE_HTML.sub(" ", body)))
            if body.strip():
                return None
    except Exception as exc:  # noqa: BLE001 - whatever breaks the parser, the reason says so
        return UNREADABLE.format(detail=f"{type(exc).__name__}")
    return NO_CONTENT


# --- the mailbox ------------------------------------------------------------------------------


@dataclass
class _Found:
    uid: str
    size: int
    message_id: str | None
    sender: str | None
    subject: str | None
    raw: bytes | None = None
    key: str = ""


class Mailbox:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.label = mailbox_label(self.settings)
        self._reported: str | None = None

    # The one pass ------------------------------------------------------------------------

    def fetch_once(self) -> FetchReport:
        """Take every message in the source folder. Raises MailboxUnavailable."""
        report = FetchReport()
        with self._exclusive() as mine:
            if not mine:
                report.busy = True
                return report
            imap = connect(self.settings)
            try:
                self._ensure_folders(imap)
                _ok(imap.select(encode_folder(self.settings.mailbox_folder)), "den Ordner")
                [uids] = _ok(imap.uid("SEARCH", "UNDELETED"), "die Suche")
                for uid in (uids or b"").split():
                    self._handle(imap, uid.decode("ascii"), report)
                imap.close()
            except (OSError, imaplib.IMAP4.error) as exc:
                # The connection broke off: what was committed is remembered, the rest waits.
                raise _unreachable("Die Verbindung zum Mailserver brach ab", exc) from None
            finally:
                _logout(imap)
        return report

    def _handle(self, imap: imaplib.IMAP4, uid: str, report: FetchReport) -> None:
        line, header = _literal(_ok(imap.uid("FETCH", uid, _HEADER_ITEMS), "den Abruf"))
        if not line:
            return  # gone meanwhile (another client moved it)
        size_match = re.search(rb"RFC822\.SIZE (\d+)", line)
        found = _Found(
            uid=uid,
            size=int(size_match.group(1)) if size_match else 0,
            message_id=_message_id(header),
            sender=_header_text(header, "From"),
            subject=_header_text(header, "Subject"),
        )
        if found.message_id is not None:
            found.key = message_key(found.message_id, None)
            if self._move_remembered(imap, found, report):
                return
        limit = self.settings.max_upload_bytes
        if found.size > limit:
            # Not even downloaded; without a Message-ID its header and size name it.
            if not found.key:
                found.key = message_key(None, header + str(found.size).encode())
            self._quarantine(imap, found, too_large(found.size, limit), report)
            return
        _, found.raw = _literal(_ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), "den Abruf"))
        found.size = len(found.raw)
        if not found.key:
            found.key = message_key(None, found.raw)
            if self._move_remembered(imap, found, report):
                return
        reason = too_large(found.size, limit) if found.size > limit else problem(found.raw)
        if reason is not None:
            self._quarantine(imap, found, reason, report)
            return
        self._accept(imap, found, report)

    # Taking a message --------------------------------------------------------------------

    def _accept(self, imap: imaplib.IMAP4, found: _Found, report: FetchReport) -> None:
        assert found.raw is not None
        work = self.settings.data_dir / "work"
        work.mkdir(parents=True, exist_ok=True)
        handle, staged_name = tempfile.mkstemp(prefix="mailbox-", suffix=".eml", dir=work)
        staged = Path(staged_name)

        def remember(session: Session, batch: ScanBatch) -> None:
            session.add(self._row(found, "accepted", None, batch.id))

        try:
            with os.fdopen(handle, "wb") as out:
                out.write(found.raw)
                out.flush()
                os.fsync(out.fileno())
            try:
                accept_file(
                    self.runtime,
                    staged,
                    source_name(found.subject),
                    None,
                    channel=CHANNEL,
                    email=True,
                    on_batch=remember,
                )
            except UploadRejected as exc:
                self._quarantine(imap, found, exc.message, report)
                return
            except IntegrityError:
                # Another process took it between our look-up and our commit.
                self._move_remembered(imap, found, report)
                return
        finally:
            staged.unlink(missing_ok=True)
        log.info("mailbox: message %s accepted", shown(found.message_id or found.key))
        report.accepted.append(found.subject or "")
        self._move(imap, found, self.settings.mailbox_done_folder)

    def _quarantine(
        self, imap: imaplib.IMAP4, found: _Found, reason: str, report: FetchReport
    ) -> None:
        try:
            with transaction(self.runtime.sessions) as session:
                row = self._row(found, "quarantined", reason, None)
                session.add(row)
                session.flush()
                audit.record(
                    session,
                    None,
                    "mailbox.quarantine",
                    actor_login="system",
                    outcome="refused",
                    object_type="mailbox_message",
                    object_id=row.id,
                    channel=CHANNEL,
                    mailbox=self.label,
                    message_id=found.message_id,
                    size=found.size,
                    reason=reason,
                )
        except IntegrityError:
            self._move_remembered(imap, found, report)
            return
        log.warning(
            "mailbox: message %s quarantined: %s", shown(found.message_id or found.key), reason
        )
        report.quarantined.append((found.subject or "", reason))
        self._move(imap, found, self.settings.mailbox_quarantine_folder)

    def _row(
        self, found: _Found, outcome: str, reason: str | None, batch_id: object
    ) -> MailboxMessage:
        return MailboxMessage(
            mailbox=self.label,
            message_key=found.key,
            message_id=found.message_id[:300] if found.message_id else None,
            sender=found.sender,
            subject=found.subject,
            size_bytes=found.size,
            outcome=outcome,
            reason=reason,
            batch_id=batch_id,
        )

    def _move_remembered(self, imap: imaplib.IMAP4, found: _Found, report: FetchReport) -> bool:
        """A message taken before (its commit done, its move not): only moved now."""
        with transaction(self.runtime.sessions, read_only=True) as session:
            outcome = session.scalar(
                select(MailboxMessage.outcome).where(
                    MailboxMessage.mailbox == self.label, MailboxMessage.message_key == found.key
                )
            )
        if outcome is None:
            return False
        target = (
            self.settings.mailbox_done_folder
            if outcome == "accepted"
            else self.settings.mailbox_quarantine_folder
        )
        log.info(
            "mailbox: message %s was taken before; moving it to %s",
            shown(found.message_id or found.key),
            target,
        )
        self._move(imap, found, target)
        report.moved_again += 1
        return True

    # Side effects on the server, after the commit ----------------------------------------

    def _move(self, imap: imaplib.IMAP4, found: _Found, folder: str) -> None:
        quoted = encode_folder(folder)
        if "MOVE" in imap.capabilities:
            _ok(imap.uid("MOVE", found.uid, quoted), "das Verschieben")
        else:
            _ok(imap.uid("COPY", found.uid, quoted), "das Kopieren")
            _ok(imap.uid("STORE", found.uid, "+FLAGS.SILENT", r"(\Deleted)"), "das Markieren")
            if "UIDPLUS" in imap.capabilities:
                _ok(imap.uid("EXPUNGE", found.uid), "das Entfernen")
            else:
                _ok(imap.expunge(), "das Entfernen")
        with transaction(self.runtime.sessions) as session:
            row = session.scalar(
                select(MailboxMessage).where(
                    MailboxMessage.mailbox == self.label, MailboxMessage.message_key == found.key
                )
            )
            if row is not None:
                row.moved_at = utcnow()

    def _ensure_folders(self, imap: imaplib.IMAP4) -> None:
        for folder in (self.settings.mailbox_done_folder, self.settings.mailbox_quarantine_folder):
            quoted = encode_folder(folder)
            listed = _ok(imap.list('""', quoted), "die Ordnerliste")
            if not [item for item in listed if item]:
                _ok(imap.create(quoted), f"das Anlegen des Ordners {folder}")
                imap.subscribe(quoted)

    @contextmanager
    def _exclusive(self) -> Iterator[bool]:
        """Whether this process may fetch now; one fetcher at a time across the workers."""
        engine = self.runtime.engine
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                mine = connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": _PG_LOCK_KEY}
                ).scalar()
                connection.commit()
                try:
                    yield bool(mine)
                finally:
                    if mine:
                        connection.execute(
                            text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY}
                        )
                        connection.commit()
            return
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(
            self.settings.data_dir / LOCK_NAME,
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    # Polling -----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Fetch every mailbox_poll_seconds until stopped; an unreachable server is reported
        once and tried again on the next round."""
        log.info("mailbox: polling %s every %s s", self.label, self.settings.mailbox_poll_seconds)
        while not stop.is_set():
            try:
                self.fetch_once()
                if self._reported is not None:
                    log.info("mailbox: %s reachable again", self.label)
                self._reported = None
            except MailboxUnavailable as exc:
                if self._reported != str(exc):
                    log.error("mailbox: %s", exc)
                    self._reported = str(exc)
            except Exception:  # noqa: BLE001 - a failing round is retried; messages stay put
                log.exception("mailbox: fetching from %s failed", self.label)
            stop.wait(self.settings.mailbox_poll_seconds)


def start_polling(runtime: Runtime, stop: threading.Event) -> threading.Thread | None:
    """The polling thread when a mailbox is configured (off by default)."""
    if not runtime.settings.mailbox_enabled:
        return None
    thread = threading.Thread(
        target=Mailbox(runtime).run, args=(stop,), daemon=True, name="mailbox"
    )
    thread.start()
    return thread


# --- what the desk sees -----------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxStatus:
    accepted: int
    quarantined: int
    not_moved: int
    recent: list[MailboxMessage]


def status(runtime: Runtime, limit: int = 20) -> MailboxStatus:
    with transaction(runtime.sessions, read_only=True) as session:
        counts = dict(
            session.execute(
                select(MailboxMessage.outcome, func.count()).group_by(MailboxMessage.outcome)
            ).all()
        )
        not_moved = (
            session.scalar(select(func.count()).where(MailboxMessage.moved_at.is_(None))) or 0
        )
        recent = list(
            session.scalars(
                select(MailboxMessage)
                .order_by(MailboxMessage.taken_at.desc(), MailboxMessage.id.desc())
                .limit(limit)
            )
        )
        session.expunge_all()
    return MailboxStatus(counts.get("accepted", 0), counts.get("quarantined", 0), not_moved, recent)
