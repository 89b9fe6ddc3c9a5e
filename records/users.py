"""Users, passwords and login sessions."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db import transaction, utcnow
from core.errors import EAkteError, InvalidInput, NotAuthenticated, NotFound
from records import audit
from records.models import LoginSession, LoginThrottle, User

_hasher = PasswordHasher()
# Verifying against a real hash for unknown logins keeps the answer time the same for both.
_DUMMY_HASH = _hasher.hash("no user has this password")
MIN_PASSWORD_LENGTH = 10
LOGIN_FAILED = "Anmeldung fehlgeschlagen: Benutzername oder Passwort ist falsch."
PLEASE_LOG_IN = "Bitte melden Sie sich an."
# A session's last request is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)


class LoginThrottled(EAkteError):
    code = "login_throttled"
    status = 429


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen lang sein.",
            code="weak_password",
        )
    return _hasher.hash(password)


def set_password(session: Session, login: str, password: str, *, demo: bool = False) -> User:
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        raise NotFound(f"Benutzer {login} ist nicht bekannt.")
    user.password_hash = hash_password(password)
    user.is_demo = demo
    # Whoever knew the old password may be logged in with it: every session ends.
    end_sessions(session, user.id)
    return user


def set_break_glass(session: Session, login: str, on: bool, *, actor: User | None = None) -> User:
    """Mark a local account as a break-glass account (it keeps its local password when a
    directory or single sign-on is configured) or end that; audited as `user.break_glass`."""
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        raise NotFound(f"Benutzer {login} ist nicht bekannt.")
    if user.source != "local":
        raise InvalidInput(
            f"{login} kommt aus dem Verzeichnisdienst oder der zentralen Anmeldung; nur lokale "
            "Konten können Notfallkonten sein.",
            code="not_local",
        )
    if user.break_glass != on:
        user.break_glass = on
        audit.record(
            session,
            actor,
            "user.break_glass",
            object_type="user",
            object_id=user.id,
            actor_login=None if actor else "cli",
            login=login,
            break_glass=on,
        )
    return user


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


# Logging in takes three steps so that Argon2 (slow on purpose) runs with no transaction open:
# on SQLite every transaction holds the one write lock, and a burst of wrong passwords would
# otherwise make every other user wait. read_credentials in a short transaction,
# password_matches outside any, then accept_login or record_login_failure in a short one.


@dataclass(frozen=True)
class Credentials:
    """What a login attempt is checked against; for an unknown login a stand-in hash."""

    user_id: int | None
    password_hash: str
    active: bool = False
    is_demo: bool = False
    break_glass: bool = False


def read_credentials(session: Session, login: str) -> Credentials:
    user = session.scalar(select(User).where(User.login == login))
    if user is None or not user.password_hash:
        return Credentials(None, _DUMMY_HASH)
    return Credentials(user.id, user.password_hash, user.active, user.is_demo, user.break_glass)


def local_password_allowed(credentials: Credentials, settings: Settings) -> bool:
    """With a directory configured only break-glass accounts (and demo accounts in demo
    mode) sign in with a local password; everybody else signs in through the directory."""
    if not settings.ldap_url:
        return True
    return credentials.break_glass or (settings.demo and credentials.is_demo)


def password_matches(credentials: Credentials, password: str) -> bool:
    """Verify with Argon2, as long for unknown logins as for known ones. No transaction open!"""
    try:
        _hasher.verify(credentials.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return credentials.user_id is not None


def new_hash_if_outdated(credentials: Credentials, password: str) -> str | None:
    """A hash with today's parameters when the stored one is older (slow: no transaction)."""
    if _hasher.check_needs_rehash(credentials.password_hash):
        return _hasher.hash(password)
    return None


def accept_login(
    session: Session,
    credentials: Credentials,
    *,
    demo_mode: bool,
    new_hash: str | None = None,
) -> User:
    """The user of verified credentials, if they still hold and may log in."""
    user = session.get(User, credentials.user_id) if credentials.user_id else None
    # The password may have changed between reading and verifying it.
    if user is None or not user.active or user.password_hash != credentials.password_hash:
        raise NotAuthenticated(LOGIN_FAILED, code="login_failed")
    if user.is_demo and not demo_mode:
        raise NotAuthenticated(
            "Demo-Zugänge sind nur im Demo-Betrieb erlaubt. Bitte ein eigenes Passwort setzen "
            "(eakte user set-password).",
            code="demo_account_refused",
        )
    if new_hash is not None:
        user.password_hash = new_hash
    return user


def check_login(
    sessions: sessionmaker[Session], login: str, password: str, *, demo_mode: bool
) -> User:
    """Log in without throttling (the command line): the same three steps as the web login."""
    with transaction(sessions) as session:
        credentials = read_credentials(session, login)
    if not password_matches(credentials, password):
        raise NotAuthenticated(LOGIN_FAILED, code="login_failed")
    new_hash = new_hash_if_outdated(credentials, password)
    with transaction(sessions) as session:
        return accept_login(session, credentials, demo_mode=demo_mode, new_hash=new_hash)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failed logins allowed per account and per client address within `window`; past them
    each further attempt waits `delay`, doubled per further failure, at most `max_delay`."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
            window=timedelta(minutes=settings.login_failure_window_minutes),
            delay=timedelta(seconds=settings.login_delay_seconds),
            max_delay=timedelta(minutes=settings.login_delay_max_minutes),
        )


def _throttle_keys(policy: ThrottlePolicy, login: str, address: str) -> list[tuple[str, str, int]]:
    return [
        ("account", login.strip().lower()[:100], policy.per_account),
        ("address", address[:100], policy.per_address),
    ]


def login_wait(session: Session, policy: ThrottlePolicy, login: str, address: str) -> int:
    """Seconds until this account and address may try again; 0: now."""
    now = utcnow()
    wait = 0
    for kind, key, _limit in _throttle_keys(policy, login, address):
        row = session.get(LoginThrottle, (kind, key))
        if row is not None and row.locked_until is not None and row.locked_until > now:
            wait = max(wait, math.ceil((row.locked_until - now).total_seconds()))
    return wait


def refuse_throttled(wait_seconds: int) -> LoginThrottled:
    return LoginThrottled(
        "Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie "
        f"{_duration_de(wait_seconds)} und versuchen Sie es dann erneut.",
        retry_after=wait_seconds,
    )


def _duration_de(seconds: int) -> str:
    if seconds < 60:
        return "1 Sekunde" if seconds == 1 else f"{seconds} Sekunden"
    minutes = math.ceil(seconds / 60)
    return "1 Minute" if minutes == 1 else f"{minutes} Minuten"


def record_login_failure(
    session: Session, policy: ThrottlePolicy, login: str, address: str
) -> None:
    now = utcnow()
    for kind, key, limit in _throttle_keys(policy, login, address):
        row = _throttle_row(session, kind, key, now)
        if now - row.last_failed_at > policy.window:
            row.failures = 0
        row.failures += 1
        row.last_failed_at = now
        if row.failures >= limit:
            doublings = min(row.failures - limit, 30)
            row.locked_until = now + min(policy.delay * 2**doublings, policy.max_delay)
    # Keys quiet for longer than any window or lock count from zero again.
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failed_at < now - max(policy.window, policy.max_delay)
        )
    )


def _throttle_row(session: Session, kind: str, key: str, now: datetime) -> LoginThrottle:
    row = session.get(LoginThrottle, (kind, key), with_for_update=True)
    if row is not None:
        return row
    row = LoginThrottle(kind=kind, key=key, failures=0, last_failed_at=now)
    try:
        # Another web process may count the same key's first failure at the same moment.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.get(
            LoginThrottle, (kind, key), with_for_update=True, populate_existing=True
        )
        assert found is not None
        return found
    return row


def clear_account_failures(session: Session, login: str) -> None:
    """A successful login forgives the account's failures (not the address's: one valid
    account must not reset the count of guesses at others)."""
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.kind == "account", LoginThrottle.key == login.strip().lower()[:100]
        )
    )


def _token_hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def open_login_session(
    session: Session,
    user: User,
    secret_key: str,
    hours: int,
    *,
    auth_method: str = "local",
    id_token_hint: str | None = None,
) -> str:
    """A new session of the user; its token for the cookie. Single sign-on keeps the ID token,
    sent back to the provider when the user signs out."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    session.add(
        LoginSession(
            token_hash=_token_hash(secret_key, token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            last_seen_at=now,
            auth_method=auth_method,
            id_token_hint=id_token_hint,
        )
    )
    return token


def find_login_session(session: Session, secret_key: str, token: str) -> LoginSession | None:
    """The login session of a cookie value, whatever its state (single sign-on marks its own)."""
    return session.get(LoginSession, _token_hash(secret_key, token))


def session_for_token(
    session: Session, secret_key: str, token: str, *, idle_minutes: int
) -> LoginSession:
    """The open login session of a cookie; refused when expired, idle too long or the user is
    deactivated."""
    found = session.get(LoginSession, _token_hash(secret_key, token))
    now = utcnow()
    if found is None or found.expires_at < now or not found.user.active:
        raise NotAuthenticated(PLEASE_LOG_IN)
    if now - (found.last_seen_at or found.created_at) > timedelta(minutes=idle_minutes):
        raise NotAuthenticated(
            f"Ihre Sitzung wurde nach {idle_minutes} Minuten ohne Aktivität beendet. "
            "Bitte melden Sie sich erneut an.",
            code="session_idle",
        )
    return found


def needs_touch(login_session: LoginSession) -> bool:
    seen = login_session.last_seen_at or login_session.created_at
    return utcnow() - seen >= TOUCH_INTERVAL


def touch_login_session(session: Session, token_hash: str) -> None:
    """Note the session's last request; a no-op when another process just did."""
    now = utcnow()
    session.execute(
        update(LoginSession)
        .where(
            LoginSession.token_hash == token_hash,
            or_(
                LoginSession.last_seen_at.is_(None),
                LoginSession.last_seen_at < now - TOUCH_INTERVAL,
            ),
        )
        .values(last_seen_at=now)
    )


def user_for_token(session: Session, secret_key: str, token: str, *, idle_minutes: int) -> User:
    return session_for_token(session, secret_key, token, idle_minutes=idle_minutes).user


def close_login_session(session: Session, secret_key: str, token: str) -> User | None:
    """End the session of a cookie; its user, if it was open."""
    found = session.get(LoginSession, _token_hash(secret_key, token))
    if found is None:
        return None
    user = found.user
    session.delete(found)
    return user


# --- staff as a whole ------------------------------------------------------------------------


def has_users(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is not None


def all_users(session: Session) -> list[User]:
    """Everybody, by role and login."""
    return list(session.scalars(select(User).order_by(User.role, User.login)))


def first_of_role(session: Session, role: str) -> User | None:
    return session.scalar(select(User).where(User.role == role).order_by(User.id))


# --- logging in and out on the web -----------------------------------------------------------


def refuse_login(
    session: Session, login: str | None, code: str, address: str, **details: object
) -> None:
    """Audit a refused sign-in (password, directory or single sign-on) with its reason code."""
    audit.record(
        session,
        None,
        "auth.login",
        actor_login=login,
        outcome="refused",
        code=code,
        address=address,
        **details,
    )


def log_in(
    sessions: sessionmaker[Session], settings: Settings, login: str, password: str, address: str
) -> tuple[User, str]:
    """The user and a new session token, or NotAuthenticated / LoginThrottled /
    DirectoryUnavailable; audited.

    Three short transactions with the slow check between them, none open while it runs: the
    Argon2 hash of a local password, or the directory's binds (records/directory.py) when a
    directory is configured and the account is no break-glass account. Failures are counted
    per account and per address in the database, so every web process of `eakte serve` sees
    them and a restart forgets none; a directory that does not answer counts as no failure."""
    # Imported here: records.identity (and so the directory) builds on this module.
    from records import directory as ldap
    from records.identity import provision

    policy = ThrottlePolicy.from_settings(settings)
    with transaction(sessions) as session:
        wait = login_wait(session, policy, login, address)
        if wait:
            refuse_login(session, login, "login_throttled", address)
        else:
            credentials = read_credentials(session, login)
    if wait:
        raise refuse_throttled(wait)
    failure: NotAuthenticated | ldap.DirectoryUnavailable | None = None
    identity = None
    verified = False
    new_hash = None
    directory = ldap.Directory.from_settings(settings)
    if directory is not None and not local_password_allowed(credentials, settings):
        try:
            identity = directory.authenticate(login, password)
        except (NotAuthenticated, ldap.DirectoryUnavailable) as exc:
            failure = exc
    else:
        verified = password_matches(credentials, password)
        new_hash = new_hash_if_outdated(credentials, password) if verified else None
    with transaction(sessions) as session:
        try:
            if failure is not None:
                raise failure
            if identity is not None:
                with session.begin_nested():
                    user = provision(session, identity, ldap.group_mapping(settings))
            elif not verified:
                raise NotAuthenticated(LOGIN_FAILED, code="login_failed")
            else:
                user = accept_login(
                    session, credentials, demo_mode=settings.demo, new_hash=new_hash
                )
        except (NotAuthenticated, ldap.DirectoryUnavailable) as exc:
            if not isinstance(exc, ldap.DirectoryUnavailable):
                record_login_failure(session, policy, login, address)
            refuse_login(session, login, exc.code, address)
            failure = exc
        else:
            clear_account_failures(session, login)
            method = "ldap" if identity is not None else "local"
            token = open_login_session(
                session,
                user,
                settings.secret_key.get_secret_value(),
                settings.session_hours,
                auth_method=method,
            )
            user.last_login_at = utcnow()
            # Every use of a break-glass account stands out in the audit log.
            action = "auth.break_glass" if method == "local" and user.break_glass else "auth.login"
            audit.record(session, user, action, address=address, method=method)
    if failure is not None:
        raise failure
    return user, token


def log_out(sessions: sessionmaker[Session], settings: Settings, token: str, address: str) -> None:
    """End the session of this token (if it is one); audited."""
    with transaction(sessions) as session:
        user = close_login_session(session, settings.secret_key.get_secret_value(), token)
        if user is not None:
            audit.record(session, user, "auth.logout", address=address)
