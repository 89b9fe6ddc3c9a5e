"""Settings an administrator may change while the product runs (issue 16).

Only the settings in `CHANGEABLE` can be changed: each is read through `Runtime.settings` at
the moment it is needed (a request, a job), so a change takes effect without a restart. A
change is validated with the Settings field's own constraints, stored in `runtime_settings`
(who, when) and audited; resetting deletes the row, and the configured value applies again.

Every process keeps the overrides for a few seconds (`REFRESH_SECONDS`); the process that
made a change forgets its copy at once, the others follow within that time.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from core.config import Settings
from core.db import transaction, utcnow
from core.errors import InvalidInput, NotFound
from records.access import Capability, Gate
from records.models import RuntimeSetting

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class Changeable:
    """A setting the administration may change at run time: its German label and help."""

    key: str
    label: str
    help: str
    unit: str = ""


CHANGEABLE: dict[str, Changeable] = {
    c.key: c
    for c in (
        Changeable(
            "session_idle_minutes",
            "Abmeldung nach Untätigkeit",
            "Eine Sitzung ohne Anfrage endet nach dieser Zeit.",
            "Minuten",
        ),
        Changeable(
            "login_failures_per_account",
            "Fehlversuche bis zur Wartezeit",
            "So viele falsche Anmeldungen je Konto, dann muss gewartet werden.",
        ),
        Changeable(
            "deputy_max_days",
            "Längste Vertretung",
            "So lange darf ein Vertretungseintrag höchstens dauern.",
            "Tage",
        ),
        Changeable(
            "qa_required",
            "Qualitätskontrolle der Scanstelle",
            "Gescannte Briefe erreichen Akte und Postkorb erst nach der Qualitätskontrolle.",
        ),
        Changeable(
            "live_poll_seconds",
            "Aktualisierung offener Seiten",
            "So oft fragen Postkorb und E-Akte nach Änderungen.",
            "Sekunden",
        ),
        Changeable(
            "saved_views_max",
            "Gespeicherte Ansichten je Person",
            "So viele Ansichten darf eine Person speichern.",
        ),
    )
}


def _adapter(key: str) -> TypeAdapter[Any]:
    field = Settings.model_fields[key]
    annotated: Any = (
        Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    )
    return TypeAdapter(annotated)


def validate(key: str, value: object) -> Any:
    """The value as the setting's field takes it (its type and bounds), else InvalidInput
    with a German message."""
    if key not in CHANGEABLE:
        raise NotFound("Diese Einstellung kann nicht zur Laufzeit geändert werden.")
    if _kind(key) == "bool" and value in ("ja", "nein"):
        value = value == "ja"  # as the page offers it
    if _kind(key) == "float" and isinstance(value, str):
        value = value.replace(",", ".")  # 7,5 as typed in German
    try:
        return _adapter(key).validate_python(value)
    except ValidationError as error:
        problem = error.errors()[0]
        bounds = {
            "greater_than_equal": "mindestens {ge}",
            "less_than_equal": "höchstens {le}",
            "greater_than": "größer als {gt}",
            "less_than": "kleiner als {lt}",
        }
        ctx = {
            name: f"{bound:g}".replace(".", ",") if isinstance(bound, float) else bound
            for name, bound in (problem.get("ctx") or {}).items()
        }
        template = bounds.get(problem["type"])
        reason = template.format(**ctx) if template else "kein gültiger Wert"
        raise InvalidInput(
            f"{CHANGEABLE[key].label}: Der Wert muss {reason} sein."
            if template
            else f"{CHANGEABLE[key].label}: {value!r} ist {reason}.",
            code="setting_value",
            setting=key,
        ) from None


def overrides(session: Session) -> dict[str, Any]:
    """The changed settings in force (only whitelisted keys whose value still validates)."""
    result: dict[str, Any] = {}
    for row in session.scalars(select(RuntimeSetting)):
        if row.key not in CHANGEABLE:
            continue
        try:
            result[row.key] = validate(row.key, row.value)
        except InvalidInput:
            log.warning("runtime setting %s: stored value no longer valid, ignored", row.key)
    return result


def effective(session: Session, settings: Settings) -> Settings:
    """The configured settings with the administrator's changes."""
    changed = overrides(session)
    return settings.model_copy(update=changed) if changed else settings


class OverrideCache:
    """One process's copy of the overrides, read again after REFRESH_SECONDS; the same
    effective Settings object until then (readers may cache by it).

    With a database URL it reads through an engine of its own without a pool (a connection
    per refresh): the product's engine, its pool and whatever listens to it (statement counts)
    see nothing of it, whichever request happens to refresh."""

    def __init__(self, database_url: str | None = None, refresh_seconds: float = REFRESH_SECONDS):
        self._lock = threading.Lock()
        self._refresh = refresh_seconds
        self._values: dict[str, Any] = {}
        self._read_at: float | None = None
        self._made: tuple[Settings, Settings] | None = None  # (configured, effective)
        self._engine: Engine | None = None
        if database_url and ":memory:" not in database_url:
            self._engine = create_engine(database_url, poolclass=NullPool)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def forget(self) -> None:
        with self._lock:
            self._read_at = None

    def effective(self, sessions: sessionmaker[Session], settings: Settings) -> Settings:
        now = time.monotonic()
        with self._lock:
            fresh = self._read_at is not None and now - self._read_at < self._refresh
            made = self._made
        if fresh and made is not None and made[0] is settings:
            return made[1]
        if not fresh:
            try:
                if self._engine is not None:
                    with Session(self._engine) as session:
                        values = overrides(session)
                else:
                    with transaction(sessions, read_only=True) as session:
                        values = overrides(session)
            except SQLAlchemyError:
                # No table yet (a command before `eakte migrate`) or the database is away:
                # the configured values; the next read tries again.
                log.warning("runtime settings unreadable; configured values apply", exc_info=True)
                values = {}
        else:
            values = self._values
        result = settings.model_copy(update=values) if values else settings
        with self._lock:
            self._values, self._made = values, (settings, result)
            if not fresh:
                self._read_at = now
        return result


# --- the administration's page --------------------------------------------------------------


@dataclass(frozen=True)
class SettingView:
    key: str
    label: str
    help: str
    unit: str
    kind: str  # "bool", "int", "float"
    configured: Any
    current: Any
    changed: bool
    changed_at: datetime | None
    changed_by: str | None


def _kind(key: str) -> str:
    annotation: Any = Settings.model_fields[key].annotation
    kinds: dict[Any, str] = {bool: "bool", int: "int", float: "float"}
    return kinds.get(annotation, "text")


def list_settings(gate: Gate, configured: Settings) -> list[SettingView]:
    gate.require(Capability.ADMINISTER, "settings.read")
    rows = {row.key: row for row in gate.session.scalars(select(RuntimeSetting))}
    current = effective(gate.session, configured)
    views = []
    for key, spec in CHANGEABLE.items():
        row = rows.get(key)
        views.append(
            SettingView(
                key,
                spec.label,
                spec.help,
                spec.unit,
                _kind(key),
                getattr(configured, key),
                getattr(current, key),
                row is not None,
                row.changed_at if row else None,
                row.changed_by_login if row else None,
            )
        )
    return views


def change(gate: Gate, configured: Settings, key: str, raw: object) -> Any:
    """Set a setting at run time; audited `settings.changed` with before and after (a refusal
    of the value too)."""
    gate.require(Capability.ADMINISTER, "settings.changed", setting=key)
    try:
        value = validate(key, raw)
    except InvalidInput as error:
        error.after_rollback = gate.refuse(
            "settings.changed", error.message, setting=key, value=str(raw)[:100]
        ).after_rollback
        raise
    row = gate.session.get(RuntimeSetting, key)
    before = row.value if row is not None else getattr(configured, key)
    if row is None:
        row = RuntimeSetting(key=key, value=value)
        gate.session.add(row)
    row.value = value
    row.changed_at = utcnow()
    row.changed_by_login = gate.user.login
    gate.session.flush()
    gate.record(
        "settings.changed", object_type="setting", object_id=key, before=before, after=value
    )
    return value


def reset(gate: Gate, configured: Settings, key: str) -> None:
    """Back to the configured value; audited `settings.reset`."""
    gate.require(Capability.ADMINISTER, "settings.reset", setting=key)
    if key not in CHANGEABLE:
        raise NotFound("Diese Einstellung kann nicht zur Laufzeit geändert werden.")
    row = gate.session.get(RuntimeSetting, key)
    if row is None:
        return
    before = row.value
    gate.session.delete(row)
    gate.session.flush()
    gate.record(
        "settings.reset",
        object_type="setting",
        object_id=key,
        before=before,
        after=getattr(configured, key),
    )
