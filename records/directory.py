"""Sign-in through the district's directory (LDAP, Active Directory) and the accounts kept in
step with it.

Sign-in: the service account binds and finds the entry of the user name typed (the filter
from the settings, the name escaped), a locked or disabled entry is refused, then a second
connection binds AS the user with the password given: only the directory ever sees it. The
entry's groups (a group search or memberOf) give role and team through records.identity.
Every connection runs over StartTLS or LDAPS with the certificate checked against the CA
file (plain only in demo mode), with a timeout; a directory that does not answer is
DirectoryUnavailable, never a wrong password.

Sync (`eakte directory sync`, and every `ldap_sync_minutes` in `eakte serve`): each active
account of source "ldap" is looked up by its user name; gone, locked, or in no mapped group
any more: deactivated (its sessions end); else role, team and name follow the groups. A
directory that cannot be reached deactivates nobody. No transaction is open while the
directory is asked.
"""

from __future__ import annotations

import logging
import math
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings, read_secret
from core.db import transaction, utcnow
from core.errors import BackendUnavailable, ConfigurationError, NotAuthenticated
from records import audit
from records.identity import ExternalIdentity, GroupMapping, deactivate, provision
from records.models import AuditEvent, User

log = logging.getLogger(__name__)

SOURCE = "ldap"
LOGIN_FAILED = "Anmeldung fehlgeschlagen: Benutzername oder Passwort ist falsch."
LOCKED = (
    "Anmeldung nicht möglich: Ihr Konto ist im Verzeichnisdienst gesperrt oder deaktiviert. "
    "Bitte wenden Sie sich an die Administration."
)
UNAVAILABLE = (
    "Der Verzeichnisdienst ist nicht erreichbar. Die Anmeldung ist gerade nicht möglich; "
    "bitte versuchen Sie es in einigen Minuten erneut. Hält die Störung an, wenden Sie sich "
    "an die IT."
)
NOBODY_FOUND = (
    "Der Verzeichnisdienst kennt keines der Konten. Das deutet auf eine falsche Einstellung "
    "(EAKTE_LDAP_USER_BASE, _USER_FILTER) oder fehlende Leserechte des Dienstkontos hin; "
    "es wurde niemand deaktiviert."
)
# Why sync deactivated an account (users.deactivated_reason, the audit log).
GONE = "Nicht mehr im Verzeichnisdienst."
LOCKED_THERE = "Im Verzeichnisdienst gesperrt oder deaktiviert."
NO_GROUP = "In keiner Gruppe des Verzeichnisdienstes, die einer Rolle zugeordnet ist."
# How often the scheduled sync looks whether its round is due.
CHECK_SECONDS = 60.0
# LDAP result code of a bind with a wrong password (or an unknown DN).
INVALID_CREDENTIALS = 49
PASSWORD_EXPIRED = (
    "Anmeldung nicht möglich: Ihr Passwort ist abgelaufen oder muss geändert werden. Bitte "
    "ändern Sie es an einem Windows-Arbeitsplatz und melden Sie sich dann erneut an."
)
# Active Directory says why a bind failed in the diagnostic message ("... data 775, ..."):
# locked out, disabled, expired account; expired password, password to be changed.
_AD_REASONS = {
    "775": (LOCKED, "account_locked"),
    "533": (LOCKED, "account_locked"),
    "701": (LOCKED, "account_locked"),
    "532": (PASSWORD_EXPIRED, "password_expired"),
    "773": (PASSWORD_EXPIRED, "password_expired"),
}


class DirectoryUnavailable(BackendUnavailable, code="directory_unavailable"):
    """The directory did not answer, refused TLS, or refused the service account."""


@dataclass(frozen=True)
class Entry:
    """A person's entry as the directory has it now."""

    identity: ExternalIdentity
    locked: bool


def group_mapping(settings: Settings) -> GroupMapping:
    return GroupMapping(settings.identity_group_roles, settings.identity_group_teams)


def _first(entry_attributes: dict[str, object], name: str) -> str | None:
    value = entry_attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else None


@dataclass
class Directory:
    """The directory of the settings; `Directory.from_settings` is None when none is set."""

    settings: Settings
    server: Server = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        assert s.ldap_url
        tls = None
        if s.ldap_security != "plain":
            # No version: ssl's default context (TLS 1.2 or newer); ldap3 checks the host name.
            tls = Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=str(s.ldap_ca_file) if s.ldap_ca_file else None,
            )
        self.server = Server(
            s.ldap_url,
            use_ssl=s.ldap_security == "ldaps",
            tls=tls,
            get_info=NONE,
            connect_timeout=s.ldap_timeout_seconds,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Directory | None:
        return cls(settings) if settings.ldap_url else None

    def _service_password(self) -> str:
        s = self.settings
        return read_secret(s.ldap_bind_password, s.ldap_bind_password_file)

    @contextmanager
    def _bound(self, dn: str, password: str) -> Iterator[tuple[Connection, bool, dict]]:
        """A connection over TLS bound as dn: (connection, bound, the bind's result); closed
        when the block ends."""
        connection = Connection(
            self.server,
            user=dn,
            password=password,
            # whole seconds: ldap3 packs it into the socket option
            receive_timeout=math.ceil(self.settings.ldap_timeout_seconds),
            read_only=True,
            raise_exceptions=False,
            # A referral would send the credentials to another server: never followed.
            auto_referrals=False,
        )
        try:
            try:
                connection.open()
                if self.settings.ldap_security == "starttls" and not connection.start_tls():
                    raise DirectoryUnavailable(UNAVAILABLE, reason="starttls refused")
                bound = connection.bind()
            except LDAPException as exc:
                log.warning("directory %s: %s", self.settings.ldap_url, exc)
                raise DirectoryUnavailable(UNAVAILABLE, reason=str(exc)) from exc
            yield connection, bool(bound), connection.result
        finally:
            # A failed TLS handshake leaves the socket closed: nothing to say goodbye on.
            with suppress(LDAPException):
                connection.unbind()

    @contextmanager
    def reader(self) -> Iterator[_Reader]:
        """Look-ups with the service account over one connection."""
        assert self.settings.ldap_bind_dn
        with self._bound(self.settings.ldap_bind_dn, self._service_password()) as (
            connection,
            bound,
            result,
        ):
            if not bound:
                log.error("directory: the service account was refused: %s", result)
                raise DirectoryUnavailable(UNAVAILABLE, reason="service account refused")
            yield _Reader(self.settings, connection)

    def authenticate(self, login: str, password: str) -> ExternalIdentity:
        """The identity of a user name and password the directory accepts; NotAuthenticated
        (wrong password, unknown, locked) or DirectoryUnavailable otherwise."""
        # An empty password would be an anonymous bind, which many servers accept.
        if not login.strip() or not password:
            raise NotAuthenticated(LOGIN_FAILED, code="login_failed")
        with self.reader() as reader:
            entry = reader.find(login.strip())
        if entry is None:
            raise NotAuthenticated(LOGIN_FAILED, code="not_in_directory")
        if entry.locked:
            raise NotAuthenticated(LOCKED, code="account_locked")
        with self._bound(entry.identity.external_id, password) as (_connection, bound, result):
            if not bound:
                raise bind_refused(result)
        return entry.identity


def bind_refused(result: dict) -> NotAuthenticated | DirectoryUnavailable:
    """Why the directory refused a user's bind, in German."""
    code = int(result.get("result", -1))
    if code != INVALID_CREDENTIALS:
        return DirectoryUnavailable(UNAVAILABLE, reason=f"user bind result {code}")
    diagnostic = re.search(r"\bdata ([0-9a-f]+)", str(result.get("message") or ""))
    message, reason = _AD_REASONS.get(diagnostic.group(1) if diagnostic else "", (None, None))
    if message and reason:
        return NotAuthenticated(message, code=reason)
    return NotAuthenticated(LOGIN_FAILED, code="login_failed")


@dataclass
class _Reader:
    settings: Settings
    connection: Connection

    def _search(
        self, base: str, query: str, scope: Literal["BASE", "SUBTREE"], attributes: list[str]
    ) -> list[dict]:
        try:
            ok = self.connection.search(base, query, search_scope=scope, attributes=attributes)
        except LDAPException as exc:
            raise DirectoryUnavailable(UNAVAILABLE, reason=str(exc)) from exc
        code = int(self.connection.result.get("result", -1))
        # Anything but success, also "no such object" (a base that does not exist): never
        # read as "nobody there", which would end every account at the next sync.
        if not ok and code != 0:
            log.error("directory: search under %s failed: %s", base, self.connection.result)
            raise DirectoryUnavailable(UNAVAILABLE, reason=f"search result {code}")
        return [e for e in self.connection.response or [] if e.get("type") == "searchResEntry"]

    def find(self, login: str) -> Entry | None:
        """The entry of a user name; None when there is none (or the name is not unique)."""
        s = self.settings
        attributes = [s.ldap_login_attribute, s.ldap_name_attribute, s.ldap_mail_attribute]
        if s.ldap_group_membership == "memberof":
            attributes.append("memberOf")
        query = s.ldap_user_filter.replace("{login}", escape_filter_chars(login))
        found = self._search(s.ldap_user_base, query, SUBTREE, attributes)
        if len(found) != 1:
            if found:
                log.warning("directory: %d entries for the user name %r", len(found), login)
            return None
        dn = str(found[0]["dn"])
        values: dict[str, object] = dict(found[0].get("attributes") or {})
        locked = bool(self._search(dn, s.ldap_locked_filter, BASE, ["1.1"]))
        identity = ExternalIdentity(
            source=SOURCE,
            external_id=dn,
            login=_first(values, s.ldap_login_attribute) or login,
            name=_first(values, s.ldap_name_attribute) or login,
            email=_first(values, s.ldap_mail_attribute),
            groups=self._groups(dn, values),
        )
        return Entry(identity, locked)

    def _groups(self, dn: str, values: dict[str, object]) -> tuple[str, ...]:
        s = self.settings
        if s.ldap_group_membership == "memberof":
            member_of = values.get("memberOf") or []
            return tuple(str(g) for g in (member_of if isinstance(member_of, list) else []))
        query = s.ldap_group_filter.replace("{dn}", escape_filter_chars(dn))
        base = s.ldap_group_base or s.ldap_user_base
        return tuple(str(g["dn"]) for g in self._search(base, query, SUBTREE, ["1.1"]))


# --- sync ------------------------------------------------------------------------------------

SYNC_ACTION = "directory.sync"
SYNC_ACTOR = f"{SOURCE}-sync"  # as records.identity names the directory's changes
# pg_advisory_xact_lock: one process at a time decides whether a scheduled sync is due.
_PG_LOCK_KEY = 720_416


@dataclass
class SyncReport:
    checked: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    skipped: int = 0  # the user name belongs to another account here (see the log)

    def counts(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "updated": self.updated,
            "deactivated": self.deactivated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }

    def german(self) -> str:
        text = (
            f"Verzeichnisabgleich: {self.checked} Konten geprüft, {self.updated} aktualisiert, "
            f"{self.deactivated} deaktiviert, {self.unchanged} unverändert"
        )
        return text + (f", {self.skipped} übersprungen." if self.skipped else ".")


def _snapshot(user: User) -> tuple[object, ...]:
    return (user.role, user.team_id, user.name, user.email, user.active)


def sync(sessions: sessionmaker[Session], settings: Settings) -> SyncReport:
    """Compare the directory with the accounts of source "ldap" (see the module's text);
    audited as `directory.sync` with the counts, or its failure."""
    directory = Directory.from_settings(settings)
    if directory is None:
        raise ConfigurationError("Kein Verzeichnisdienst eingerichtet (EAKTE_LDAP_URL).")
    try:
        report = _sync(sessions, settings, directory)
    except DirectoryUnavailable as exc:
        with transaction(sessions) as session:
            _audit_sync(session, "failed", error=exc.message)
        raise
    return report


def _audit_sync(session: Session, outcome: str, **fields: object) -> None:
    audit.record(session, None, SYNC_ACTION, outcome=outcome, actor_login=SYNC_ACTOR, **fields)


def _sync(sessions: sessionmaker[Session], settings: Settings, directory: Directory) -> SyncReport:
    mapping = group_mapping(settings)
    with transaction(sessions, read_only=True) as session:
        logins = list(
            session.scalars(select(User.login).where(User.source == SOURCE, User.active.is_(True)))
        )
    # Ask the directory with no transaction open; a failure here changes nothing.
    with directory.reader() as reader:
        entries = {login: reader.find(login) for login in logins}
    if len(logins) > 1 and not any(entries.values()):
        # Nobody found at all: a wrong base or a service account that lost its read rights,
        # not the whole staff leaving at once.
        raise DirectoryUnavailable(NOBODY_FOUND, reason="no account found in the directory")
    report = SyncReport(checked=len(logins))
    with transaction(sessions) as session:
        for login, entry in entries.items():
            user = session.scalar(select(User).where(User.login == login))
            if user is None or not user.active or user.source != SOURCE:
                continue
            reason = _leaves(entry, mapping)
            if reason is not None:
                deactivate(session, user, reason)
                report.deactivated += 1
                continue
            assert entry is not None
            before = _snapshot(user)
            try:
                with session.begin_nested():
                    provision(session, entry.identity, mapping)
            except NotAuthenticated as exc:
                log.warning("directory sync: %s kept as it was: %s", login, exc.message)
                report.skipped += 1
                continue
            if _snapshot(user) != before:
                report.updated += 1
            else:
                report.unchanged += 1
        _audit_sync(session, "ok", **report.counts())
    return report


def _leaves(entry: Entry | None, mapping: GroupMapping) -> str | None:
    """Why an account ends, or None when it stays."""
    if entry is None:
        return GONE
    if entry.locked:
        return LOCKED_THERE
    try:
        mapping.role_for(entry.identity.groups)
    except NotAuthenticated as exc:
        return NO_GROUP if exc.code == "no_mapped_group" else exc.message
    return None


# --- the scheduled run -------------------------------------------------------------------------


def claim_scheduled_sync(sessions: sessionmaker[Session], settings: Settings) -> bool:
    """Whether this process runs the scheduled sync now: none ran (by schedule or by
    command) within `ldap_sync_minutes`. The decision and its audit row are one transaction
    under a lock (SQLite: the write lock; PostgreSQL: an advisory lock), so of several
    processes and machines exactly one takes each round."""
    with transaction(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        last = session.scalar(
            select(func.max(AuditEvent.at)).where(
                AuditEvent.actor_login == SYNC_ACTOR, AuditEvent.action == SYNC_ACTION
            )
        )
        # A little early is still due: the rounds of a loop that wakes every minute.
        interval = timedelta(minutes=settings.ldap_sync_minutes) - timedelta(seconds=30)
        if last is not None and utcnow() - last < interval:
            return False
        _audit_sync(session, "started", scheduled=True)
    return True


def run_scheduled(
    sessions: sessionmaker[Session], settings: Settings, stop: threading.Event
) -> None:
    """Sync every `ldap_sync_minutes` until stopped (a thread of `eakte serve`); a failing
    round is logged and tried again at the next."""
    log.info("directory: sync every %s minutes", settings.ldap_sync_minutes)
    while not stop.wait(CHECK_SECONDS):
        try:
            if claim_scheduled_sync(sessions, settings):
                log.info("directory: %s", sync(sessions, settings).german())
        except DirectoryUnavailable as exc:
            log.error("directory sync: %s", exc.message)
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("directory sync failed")


def start_scheduled_sync(
    sessions: sessionmaker[Session], settings: Settings, stop: threading.Event
) -> threading.Thread | None:
    """The sync thread when a directory is configured with a sync interval."""
    if not settings.ldap_url or settings.ldap_sync_minutes <= 0:
        return None
    thread = threading.Thread(
        target=run_scheduled, args=(sessions, settings, stop), daemon=True, name="ldap-sync"
    )
    thread.start()
    return thread
