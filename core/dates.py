"""Dates as the job centre counts them: in German local time, not in UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Berlin")

MONTH_NAMES = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)

# The month words of dates written out ("3. März 2026", "3. Mrz. 2026"), lower case, with their
# numbers: the names, März also without its umlaut, and the usual abbreviations.
MONTH_WORDS = {
    "januar": 1, "jan": 1, "februar": 2, "feb": 2, "märz": 3, "maerz": 3, "marz": 3, "mär": 3,
    "mrz": 3, "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11, "dezember": 12, "dez": 12,
}  # fmt: skip


# The product's clock: the wall clock, unless a test (or a demonstration) sets another one with
# `set_clock`. Everything that asks "what day is it" (deadlines, follow-ups, accesses) asks
# `local_today`/`local_now`, so moving this clock moves the product's day.
_clock: Callable[[], datetime] | None = None


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the wall clock (a callable returning an aware datetime); None restores it."""
    global _clock
    _clock = clock


def local_now() -> datetime:
    return _clock().astimezone(LOCAL_TZ) if _clock is not None else datetime.now(LOCAL_TZ)


def local_today() -> date:
    return local_now().date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def german(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""
