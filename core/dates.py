"""Dates as the job centre counts them: in German local time, not in UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Berlin")


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def german(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""
