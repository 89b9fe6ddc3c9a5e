"""Legal deadlines of the objection (Widerspruch) and of court proceedings, computed step by step.

Pure functions without a database. Each computation keeps its steps (`Step`) so that the case
worker sees, in German, how the date came about and which provision applies:

- Bekanntgabe of a decision sent by post: fourth day after it was handed to the post (third day
  for decisions handed over before 1 January 2025), § 37 Abs. 2 SGB X as amended by the
  Postrechtsmodernisierungsgesetz. If that day is a Saturday, Sunday or public holiday, the
  notification itself moves to the next working day (BSG, 6.5.2010, B 14 AS 12/09 R). A proven
  later receipt replaces the fiction (§ 37 Abs. 2 Satz 3 SGB X); an earlier one does not.
- Objection period: one month (§ 84 Abs. 1 SGG), or one year if the legal remedy notice is
  missing or wrong (§ 66 Abs. 2 i. V. m. § 84 Abs. 2 Satz 3 SGG); the end is the same-numbered
  day or the last day of the month (§ 64 Abs. 2 SGG), moved past Saturdays, Sundays and the
  public holidays of the Land (§ 64 Abs. 3 SGG).
- Inaction: an Untätigkeitsklage is admissible once three months have passed since the
  objection (§ 88 Abs. 2 SGG).
- Court letters: the statement is due on the date the court set, else a number of weeks after
  service moved to the next working day; the administrative file with it, but no later than one
  month after service (§ 104 Satz 5 SGG).

Public holidays come from the `holidays` library for the configured Land (default
Schleswig-Holstein). Christmas Eve and New Year's Eve are not public holidays and do not move a
period.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

from core.dates import MONTH_NAMES, german

DEFAULT_LAND = "SH"

# Decisions handed to the post from this day on are deemed notified on the fourth day (§ 37
# Abs. 2 SGB X as amended by the Postrechtsmodernisierungsgesetz); before it on the third day.
FOUR_DAY_RULE_FROM = date(2025, 1, 1)

# § 88 Abs. 2 SGG: three months; the warning turns to "bald" this many days before they end.
INACTION_MONTHS = 3
INACTION_WARNING_DAYS = 14


WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")

# German state codes → names, exactly as the holidays library knows them (SH, NW, BY, ...).
LANDS: dict[str, str] = {
    code: name
    for name, code in sorted(holidays.DE.subdivisions_aliases.items(), key=lambda item: item[1])
    if len(code) == 2
}

PERIOD_MONTH = "ein Monat (§ 84 Abs. 1 SGG)"
PERIOD_YEAR = "ein Jahr (§ 66 Abs. 2 SGG)"


@dataclass(frozen=True)
class Step:
    """One line of a computation, shown to the user in German."""

    label: str
    value: date
    note: str = ""


@dataclass(frozen=True)
class DeadlineCheck:
    """Whether an objection came in time, with the way the deadline was computed."""

    notification_date: date
    deadline: date
    receipt_date: date
    on_time: bool
    period: str
    steps: list[Step]
    summary: str


@dataclass(frozen=True)
class AppealDeadlines:
    """What the job centre owes the social court after being served a claim or a court letter."""

    served_on: date
    statement_due: date
    file_due: date
    steps: list[Step]
    summary: str


def long_date(day: date) -> str:
    """'Samstag, 31.10.2026'."""
    return f"{WEEKDAYS[day.weekday()]}, {german(day)}"


def _land(land: str) -> str:
    code = land.strip().upper()
    if code not in LANDS:
        known = ", ".join(LANDS)
        raise ValueError(f"Unbekanntes Bundesland „{land}“ – erlaubt sind: {known}.")
    return code


@lru_cache(maxsize=256)
def _holidays(land: str, year: int) -> holidays.HolidayBase:
    # One fixed year per object, never expanded later: safe to share between threads.
    return holidays.country_holidays("DE", subdiv=land, years=year, expand=False, language="de")


def holiday_name(day: date, land: str = DEFAULT_LAND) -> str | None:
    """German name of the public holiday on `day` in the Land, or None."""
    return _holidays(_land(land), day.year).get(day)


def is_working_day(day: date, land: str = DEFAULT_LAND) -> bool:
    """Neither Saturday, Sunday nor a public holiday of the Land (§ 64 Abs. 3 SGG)."""
    return day.weekday() < 5 and holiday_name(day, land) is None


def next_working_day(day: date, land: str = DEFAULT_LAND) -> tuple[date, list[str]]:
    """`day` itself if it is a working day, else the next one; with a German note per skipped day.

    A note reads e.g. "Samstag, 31.10.2026 ist Reformationstag (gesetzlicher Feiertag in
    Schleswig-Holstein)" or "Sonntag, 01.11.2026 ist Wochenende".
    """
    code = _land(land)
    notes: list[str] = []
    while not is_working_day(day, code):
        name = holiday_name(day, code)
        if name:
            notes.append(f"{long_date(day)} ist {name} (gesetzlicher Feiertag in {LANDS[code]})")
        else:
            notes.append(f"{long_date(day)} ist Wochenende")
        day += timedelta(days=1)
    return day, notes


def add_months(start: date, months: int) -> date:
    """The day of the month `months` later with the same number, or that month's last day.

    § 64 Abs. 2 SGG (like § 188 Abs. 2, 3 BGB): 31.01. + 1 month → 28.02. (29.02. in a leap
    year), 30.04. → 30.05., 29.02.2028 + 12 months → 28.02.2029.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last))


def _moved_note(notes: list[str], target: date) -> str:
    return "; ".join(notes) + f" – nächster Werktag: {long_date(target)}"


def _period_end_steps(start: date, months: int, label: str, land: str) -> tuple[date, list[Step]]:
    """End of a period of `months` from `start` (§ 64 Abs. 2, 3 SGG), with its steps."""
    end = add_months(start, months)
    note = ""
    if end.day != start.day:
        note = (
            f"Der {start.day}. fehlt im {_month_name(end)} – die Frist endet mit dem letzten "
            "Tag des Monats (§ 64 Abs. 2 Satz 2 SGG)"
        )
    steps = [Step(label, end, note)]
    moved, reasons = next_working_day(end, land)
    if moved != end:
        steps.append(
            Step(
                "Fristende verschoben auf den nächsten Werktag (§ 64 Abs. 3 SGG)",
                moved,
                _moved_note(reasons, moved),
            )
        )
    return moved, steps


def _month_name(day: date) -> str:
    return f"{MONTH_NAMES[day.month - 1]} {day.year}"


def notification_steps(
    dispatch_date: date, land: str = DEFAULT_LAND, proven_notification: date | None = None
) -> tuple[date, list[Step]]:
    """Bekanntgabe of a decision sent by post (§ 37 Abs. 2 SGB X), with its steps."""
    code = _land(land)
    if proven_notification is not None and proven_notification < dispatch_date:
        raise ValueError(
            f"Der nachgewiesene Zugang ({german(proven_notification)}) liegt vor der Aufgabe "
            f"zur Post ({german(dispatch_date)})."
        )
    if dispatch_date >= FOUR_DAY_RULE_FROM:
        days = 4
        rule = (
            "vierter Tag nach Aufgabe zur Post (§ 37 Abs. 2 Satz 1 SGB X in der Fassung des "
            "Postrechtsmodernisierungsgesetzes, für Bescheide ab dem 01.01.2025)"
        )
    else:
        days = 3
        rule = (
            "dritter Tag nach Aufgabe zur Post (§ 37 Abs. 2 Satz 1 SGB X in der bis 31.12.2024 "
            "geltenden Fassung, Bescheid vor dem 01.01.2025 aufgegeben)"
        )
    steps = [Step("Aufgabe zur Post", dispatch_date)]
    fiction = dispatch_date + timedelta(days=days)
    steps.append(
        Step(f"Bekanntgabe (Aufgabe zur Post + {days} Tage, § 37 Abs. 2 SGB X)", fiction, rule)
    )
    notified, reasons = next_working_day(fiction, code)
    if notified != fiction:
        steps.append(
            Step(
                "Bekanntgabe verschoben auf den nächsten Werktag "
                "(BSG, Urteil vom 06.05.2010, B 14 AS 12/09 R)",
                notified,
                "Die Zugangsfiktion endet nicht an einem Wochenende oder Feiertag: "
                + _moved_note(reasons, notified),
            )
        )
    if proven_notification is not None:
        if proven_notification > notified:
            steps.append(
                Step(
                    "Bekanntgabe am nachgewiesenen späteren Zugang (§ 37 Abs. 2 Satz 3 SGB X)",
                    proven_notification,
                    f"Zugang nachweislich erst am {long_date(proven_notification)} – er ersetzt "
                    f"den fingierten Tag {german(notified)}",
                )
            )
            notified = proven_notification
        else:
            steps.append(
                Step(
                    "Nachgewiesener Zugang (ohne Wirkung auf die Bekanntgabe)",
                    proven_notification,
                    f"Nicht später als der fingierte Tag {german(notified)} – ein früherer "
                    "Zugang verkürzt die Frist nicht (§ 37 Abs. 2 Satz 3 SGB X)",
                )
            )
    return notified, steps


def objection_deadline(
    *,
    dispatch_date: date,
    receipt_date: date,
    land: str = DEFAULT_LAND,
    proven_notification: date | None = None,
    legal_remedy_notice_ok: bool = True,
) -> DeadlineCheck:
    """Was the objection against a decision sent by post received in time?

    The Land decides which public holidays move the notification and the end of the period.
    Raises ValueError (German message) for an unknown Land, a proven receipt before dispatch or
    an objection received before the decision was even sent.
    """
    code = _land(land)
    if receipt_date < dispatch_date:
        raise ValueError(
            f"Der Eingang des Widerspruchs ({german(receipt_date)}) liegt vor der Aufgabe des "
            f"Bescheids zur Post ({german(dispatch_date)})."
        )
    notified, steps = notification_steps(dispatch_date, code, proven_notification)
    if legal_remedy_notice_ok:
        period = PERIOD_MONTH
        months = 1
        label = "Fristende rechnerisch (ein Monat ab Bekanntgabe, § 84 Abs. 1, § 64 Abs. 2 SGG)"
    else:
        period = PERIOD_YEAR
        months = 12
        label = (
            "Fristende rechnerisch (ein Jahr ab Bekanntgabe, Rechtsbehelfsbelehrung fehlt oder "
            "ist unrichtig: § 66 Abs. 2 i. V. m. § 84 Abs. 2 Satz 3 SGG, § 64 Abs. 2 SGG)"
        )
    deadline, end_steps = _period_end_steps(notified, months, label, code)
    steps.extend(end_steps)
    on_time = receipt_date <= deadline
    late_days = (receipt_date - deadline).days
    if on_time:
        receipt_note = "am oder vor dem Fristende – fristgerecht"
        summary = f"Fristgerecht: Eingang {german(receipt_date)}, Fristende {german(deadline)}."
    else:
        days = "1 Tag" if late_days == 1 else f"{late_days} Tage"
        receipt_note = f"{days} nach Fristende – verspätet"
        summary = (
            f"Verspätet: Eingang {german(receipt_date)}, Fristende {german(deadline)} "
            f"({days} zu spät)."
        )
    steps.append(Step("Eingang des Widerspruchs", receipt_date, receipt_note))
    return DeadlineCheck(
        notification_date=notified,
        deadline=deadline,
        receipt_date=receipt_date,
        on_time=on_time,
        period=period,
        steps=steps,
        summary=summary,
    )


def overdue_since(due: date | None, today: date) -> date | None:
    """The first day a deadline is missed – the day after it – once that day has come, else
    None: a statement due on 30.11.2026 is overdue on 06.12.2026, "seit 01.12.2026"."""
    if due is None or today <= due:
        return None
    return due + timedelta(days=1)


def inaction_warning(received: date, today: date) -> tuple[str, date]:
    """How close an objection is to an admissible Untätigkeitsklage (§ 88 Abs. 2 SGG).

    Returns the level and the day the three months since the objection end (§ 64 Abs. 2 SGG,
    not moved past weekends: a warning should rather come early). From the following day on a
    claim for inaction is admissible. Levels: "überschritten" after that day, "bald" from 14
    days before it up to and including it, else "ok".
    """
    end = add_months(received, INACTION_MONTHS)
    if today > end:
        return "überschritten", end
    if (end - today).days <= INACTION_WARNING_DAYS:
        return "bald", end
    return "ok", end


def appeal_deadlines(
    *,
    served_on: date,
    land: str = DEFAULT_LAND,
    statement_weeks: int = 4,
    court_deadline: date | None = None,
) -> AppealDeadlines:
    """When the statement and the administrative file (§ 104 SGG) are due to the court.

    Statement: the date the court set (`court_deadline`), taken as written – the earlier date is
    the safe one for the job centre; without one `statement_weeks` weeks after service as an
    internal target (the court's period itself should not be shorter than a month, § 104 Satz 3
    SGG), ending on the same weekday (§ 64 Abs. 2 SGG) and moved to the next working day
    (§ 64 Abs. 3 SGG).
    Administrative file: together with the statement, but not later than one month after the
    court's request arrived (§ 104 Satz 5 SGG), that month end moved past non-working days too.
    """
    code = _land(land)
    steps = [Step("Zustellung des gerichtlichen Schreibens", served_on)]
    if court_deadline is not None:
        if court_deadline < served_on:
            raise ValueError(
                f"Die gerichtliche Frist ({german(court_deadline)}) liegt vor der Zustellung "
                f"({german(served_on)})."
            )
        statement_due = court_deadline
        steps.append(
            Step(
                "Stellungnahme: vom Gericht gesetzte Frist (§ 104 Satz 3 SGG)",
                statement_due,
                "Datum aus dem gerichtlichen Schreiben – unverändert übernommen",
            )
        )
    else:
        if statement_weeks < 1:
            raise ValueError("Die Frist zur Stellungnahme muss mindestens eine Woche betragen.")
        weeks = "1 Woche" if statement_weeks == 1 else f"{statement_weeks} Wochen"
        end = served_on + timedelta(weeks=statement_weeks)
        steps.append(
            Step(
                f"Stellungnahme: Zustellung + {weeks} (§ 64 Abs. 2 SGG)",
                end,
                "Das Gericht hat kein Datum gesetzt – interne Zielfrist für die Klageerwiderung",
            )
        )
        statement_due, reasons = next_working_day(end, code)
        if statement_due != end:
            steps.append(
                Step(
                    "Stellungnahme: verschoben auf den nächsten Werktag (§ 64 Abs. 3 SGG)",
                    statement_due,
                    _moved_note(reasons, statement_due),
                )
            )
    month_end = add_months(served_on, 1)
    file_limit, reasons = next_working_day(month_end, code)
    note = "spätestens ein Monat nach Eingang der Aufforderung"
    if file_limit != month_end:
        note += (
            f" ({german(month_end)}); " + _moved_note(reasons, file_limit) + " (§ 64 Abs. 3 SGG)"
        )
    steps.append(Step("Verwaltungsakte: Höchstfrist (§ 104 Satz 5 SGG)", file_limit, note))
    file_due = min(statement_due, file_limit)
    steps.append(
        Step(
            "Verwaltungsakte an das Gericht (§ 104 SGG)",
            file_due,
            "zusammen mit der Stellungnahme"
            if file_due == statement_due
            else "vor der Stellungnahme – die Monatsfrist des § 104 Satz 5 SGG endet früher",
        )
    )
    if file_due == statement_due:
        summary = (
            f"Stellungnahme und Verwaltungsakte bis {long_date(statement_due)} an das Gericht "
            f"(zugestellt am {german(served_on)})."
        )
    else:
        summary = (
            f"Verwaltungsakte bis {long_date(file_due)}, Stellungnahme bis "
            f"{long_date(statement_due)} an das Gericht (zugestellt am {german(served_on)})."
        )
    return AppealDeadlines(
        served_on=served_on,
        statement_due=statement_due,
        file_due=file_due,
        steps=steps,
        summary=summary,
    )
