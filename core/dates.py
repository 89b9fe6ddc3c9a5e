"""Dates as the job centre counts them: in German local time, not in UTC."""

from __future__ import annotations

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


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def german(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""
