"""Users, passwords and login sessions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from records.db import utcnow
from records.errors import InvalidInput, NotAuthenticated, NotFound
from records.models import LoginSession, User

_hasher = PasswordHasher()
# Verifying against a real hash for unknown logins keeps the answer time the same for both.
_DUMMY_HASH = _hasher.hash("no user has this password")
MIN_PASSWORD_LENGTH = 10
LOGIN_FAILED = "Anmeldung fehlgeschlagen: Benutzername oder Passwort ist falsch."


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
    return user


def authenticate(session: Session, login: str, password: str, *, demo_mode: bool) -> User:
    user = session.scalar(select(User).where(User.login == login))
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
        verified = user is not None and user.password_hash is not None
    except (VerificationError, InvalidHashError):
        verified = False
    if not verified or user is None or not user.active:
        raise NotAuthenticated(LOGIN_FAILED, code="login_failed")
    if user.is_demo and not demo_mode:
        raise NotAuthenticated(
            "Demo-Zugänge sind nur im Demo-Betrieb erlaubt. Bitte ein eigenes Passwort setzen "
            "(eakte user set-password).",
            code="demo_account_refused",
        )
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return user


def _token_hash(secret_key: str, token: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def open_login_session(session: Session, user: User, secret_key: str, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    session.add(
        LoginSession(
            token_hash=_token_hash(secret_key, token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def user_for_token(session: Session, secret_key: str, token: str) -> User:
    found = session.get(LoginSession, _token_hash(secret_key, token))
    if found is None or found.expires_at < utcnow() or not found.user.active:
        raise NotAuthenticated("Bitte melden Sie sich an.")
    return found.user


def close_login_session(session: Session, secret_key: str, token: str) -> None:
    session.execute(
        delete(LoginSession).where(LoginSession.token_hash == _token_hash(secret_key, token))
    )
