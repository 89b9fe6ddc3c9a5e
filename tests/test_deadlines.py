"""The deadline check against a calendar of real cases, every expected date reasoned by hand.

Weekdays used below (checked against a printed calendar):
2024: 30.12. Mo. 2025: 02.01. Do, 06.01. Mo, 02.02. So, 09.05. Fr, 09.06. Mo (Pfingstmontag),
24.11. Mo, 25.11. Di, 24.12. Mi, 25.12. Do, 31.10. Fr, 30.11. So.
2026: 06.03. Fr, 08.03. So, 03.04. Karfreitag, 06.04. Ostermontag, 14.05. Christi Himmelfahrt,
04.06. Fronleichnam (Do), 11.10. So, 31.10. Sa, 01.11. So.
2027: 01.01. Fr, 28.02. So, 06.03. Sa, 30.05. So. 2028: 31.01. Mo, 29.02. Di, 04.03. Sa.
2029: 28.02. Mi.
"""

from __future__ import annotations

from datetime import date

import pytest

from records.deadlines import (
    LANDS,
    PERIOD_MONTH,
    PERIOD_YEAR,
    Step,
    add_months,
    appeal_deadlines,
    inaction_warning,
    next_working_day,
    objection_deadline,
)


def d(text: str) -> date:
    day, month, year = (int(part) for part in text.split("."))
    return date(year, month, day)


def text_of(steps: list[Step]) -> str:
    return "\n".join(f"{step.label} | {step.value} | {step.note}" for step in steps)


# --- add_months: § 64 Abs. 2 SGG ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("31.01.2027", 1, "28.02.2027"),  # February 2027 has no 29th-31st: its last day
        ("31.01.2028", 1, "29.02.2028"),  # 2028 is a leap year
        ("29.01.2027", 1, "28.02.2027"),  # no 29 February 2027
        ("30.04.2026", 1, "30.05.2026"),  # same number, not the month's end (31.05.)
        ("31.03.2026", 1, "30.04.2026"),  # April has 30 days
        ("15.12.2026", 1, "15.01.2027"),  # across the year
        ("29.02.2028", 12, "28.02.2029"),  # one year from a leap day: last day of February
        ("28.02.2027", 12, "28.02.2028"),  # not pushed to the leap day
        ("30.11.2025", 3, "28.02.2026"),
        ("30.11.2027", 3, "29.02.2028"),
    ],
)
def test_add_months_same_number_or_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(d(start), months) == d(expected)


# --- next_working_day: Saturdays, Sundays, holidays of the Land --------------------------------


def test_working_day_is_kept() -> None:
    assert next_working_day(d("24.12.2025")) == (d("24.12.2025"), [])  # Heiligabend: no holiday


def test_reformation_day_on_saturday_in_sh() -> None:
    # Sa 31.10.2026 Reformationstag (SH since 2018), So 01.11. -> Mo 02.11.2026
    day, notes = next_working_day(d("31.10.2026"), "SH")
    assert day == d("02.11.2026")
    assert notes == [
        "Samstag, 31.10.2026 ist Reformationstag (gesetzlicher Feiertag in Schleswig-Holstein)",
        "Sonntag, 01.11.2026 ist Wochenende",
    ]


def test_reformation_day_on_friday_sh_but_not_nw() -> None:
    # Fr 31.10.2025: holiday in SH -> Sa, So skipped -> Mo 03.11.2025; in NW a normal Friday
    day, notes = next_working_day(d("31.10.2025"), "SH")
    assert day == d("03.11.2025")
    assert "Freitag, 31.10.2025 ist Reformationstag" in notes[0]
    assert len(notes) == 3
    assert next_working_day(d("31.10.2025"), "NW") == (d("31.10.2025"), [])


def test_all_saints_in_nw_is_named_even_on_a_sunday() -> None:
    # NW: Sa 31.10.2026 no holiday, So 01.11.2026 Allerheiligen -> Mo 02.11.2026
    day, notes = next_working_day(d("31.10.2026"), "NW")
    assert day == d("02.11.2026")
    assert notes[0] == "Samstag, 31.10.2026 ist Wochenende"
    assert "Allerheiligen" in notes[1] and "Nordrhein-Westfalen" in notes[1]


def test_easter_2026() -> None:
    # Fr 03.04. Karfreitag, Sa, So, Mo 06.04. Ostermontag -> Di 07.04.2026
    day, notes = next_working_day(d("03.04.2026"))
    assert day == d("07.04.2026")
    assert "Karfreitag" in notes[0] and "Ostermontag" in notes[3]


def test_land_is_checked_and_case_insensitive() -> None:
    assert next_working_day(d("31.10.2025"), "sh")[0] == d("03.11.2025")
    with pytest.raises(ValueError, match="Unbekanntes Bundesland"):
        next_working_day(d("31.10.2025"), "XX")


def test_lands() -> None:
    assert len(LANDS) == 16
    assert LANDS["SH"] == "Schleswig-Holstein"
    assert LANDS["NW"] == "Nordrhein-Westfalen"
    assert LANDS["BY"] == "Bayern"


# --- objection_deadline: a calendar of cases ---------------------------------------------------


@pytest.mark.parametrize(
    ("dispatch", "land", "notified", "deadline"),
    [
        # Old 3-day rule: Mo 30.12.2024 + 3 = Do 02.01.2025; + 1 month = So 02.02.2025 -> Mo 03.02.
        ("30.12.2024", "SH", "02.01.2025", "03.02.2025"),
        # New 4-day rule: Do 02.01.2025 + 4 = Mo 06.01.2025 (no holiday in SH) -> Do 06.02.2025
        ("02.01.2025", "SH", "06.01.2025", "06.02.2025"),
        # ... in Bayern 06.01. is Heilige Drei Könige: notification Di 07.01., deadline Fr 07.02.
        ("02.01.2025", "BY", "07.01.2025", "07.02.2025"),
        # Month end, leap year: Do 27.01.2028 + 4 = Mo 31.01.2028 -> Di 29.02.2028
        ("27.01.2028", "SH", "31.01.2028", "29.02.2028"),
        # Month end, no leap year: Mo 25.01.2027 + 4 = Fr 29.01.2027 -> 29.02. missing ->
        # So 28.02.2027 -> Mo 01.03.2027
        ("25.01.2027", "SH", "29.01.2027", "01.03.2027"),
        # Saturday: Mo 31.01.2028 + 4 = Fr 04.02.2028 -> Sa 04.03.2028 -> Mo 06.03.2028
        ("31.01.2028", "SH", "04.02.2028", "06.03.2028"),
        # Sunday: Mo 07.09.2026 + 4 = Fr 11.09.2026 -> So 11.10.2026 -> Mo 12.10.2026
        ("07.09.2026", "SH", "11.09.2026", "12.10.2026"),
        # 30th: Mo 26.04.2027 + 4 = Fr 30.04.2027 -> So 30.05.2027 (not 31.05.) -> Mo 31.05.2027
        ("26.04.2027", "SH", "30.04.2027", "31.05.2027"),
        # Easter: Fr 27.02.2026 + 4 = Di 03.03.2026 -> Fr 03.04. Karfreitag ... -> Di 07.04.2026
        ("27.02.2026", "SH", "03.03.2026", "07.04.2026"),
        # Ascension: Fr 10.04.2026 + 4 = Di 14.04.2026 -> Do 14.05. Himmelfahrt -> Fr 15.05.2026
        ("10.04.2026", "SH", "14.04.2026", "15.05.2026"),
        # Whit Monday: Mo 05.05.2025 + 4 = Fr 09.05.2025 -> Mo 09.06. Pfingstmontag -> Di 10.06.
        ("05.05.2025", "SH", "09.05.2025", "10.06.2025"),
        # Fronleichnam: Do 30.04.2026 + 4 = Mo 04.05.2026 -> Do 04.06.2026, a working day in SH
        ("30.04.2026", "SH", "04.05.2026", "04.06.2026"),
        # ... but a holiday in NW -> Fr 05.06.2026
        ("30.04.2026", "NW", "04.05.2026", "05.06.2026"),
        # Christmas: Fr 21.11.2025 + 4 = Di 25.11.2025 -> Do 25.12., Fr 26.12., Sa, So -> Mo 29.12.
        ("21.11.2025", "SH", "25.11.2025", "29.12.2025"),
        # Christmas Eve is no holiday: Do 20.11.2025 + 4 = Mo 24.11.2025 -> Mi 24.12.2025
        ("20.11.2025", "SH", "24.11.2025", "24.12.2025"),
        # New Year: Fr 27.11.2026 + 4 = Di 01.12.2026 -> Fr 01.01.2027 Neujahr, Sa, So -> Mo 04.01.
        ("27.11.2026", "SH", "01.12.2026", "04.01.2027"),
        # Fiction on New Year: Mo 28.12.2026 + 4 = Fr 01.01.2027 -> Mo 04.01.2027 -> Do 04.02.2027
        ("28.12.2026", "SH", "04.01.2027", "04.02.2027"),
        # Fiction on a Sunday: Mi 04.03.2026 + 4 = So 08.03.2026 -> Mo 09.03. -> Do 09.04.2026
        ("04.03.2026", "SH", "09.03.2026", "09.04.2026"),
        # ... in Berlin 08.03. is Frauentag as well; Monday stays the answer
        ("04.03.2026", "BE", "09.03.2026", "09.04.2026"),
        # Fiction on Reformationstag (Fr) in SH: Mo 27.10.2025 + 4 = Fr 31.10.2025 -> Mo 03.11.2025
        # -> Mi 03.12.2025
        ("27.10.2025", "SH", "03.11.2025", "03.12.2025"),
        # ... in NW Friday 31.10.2025 stays -> 30.11.2025 (no 31st) is a Sunday -> Mo 01.12.2025
        ("27.10.2025", "NW", "31.10.2025", "01.12.2025"),
        # Fiction on Sa 31.10.2026 (Reformationstag): Di 27.10.2026 + 4 -> Mo 02.11. -> Mi 02.12.
        ("27.10.2026", "SH", "02.11.2026", "02.12.2026"),
    ],
)
def test_objection_calendar(dispatch: str, land: str, notified: str, deadline: str) -> None:
    check = objection_deadline(dispatch_date=d(dispatch), receipt_date=d(dispatch), land=land)
    assert check.notification_date == d(notified)
    assert check.deadline == d(deadline)
    assert check.period == PERIOD_MONTH
    assert check.on_time


def test_three_day_rule_for_decisions_sent_in_2024() -> None:
    check = objection_deadline(dispatch_date=d("30.12.2024"), receipt_date=d("03.02.2025"))
    steps = text_of(check.steps)
    assert "Aufgabe zur Post + 3 Tage, § 37 Abs. 2 SGB X" in steps
    assert "bis 31.12.2024" in steps
    # The calculated end So 02.02.2025 is moved, and the step says why.
    assert "Sonntag, 02.02.2025 ist Wochenende" in steps
    assert "§ 64 Abs. 3 SGG" in steps
    assert check.on_time


def test_four_day_rule_from_2025_and_the_last_old_day() -> None:
    check = objection_deadline(dispatch_date=d("02.01.2025"), receipt_date=d("06.02.2025"))
    assert "Aufgabe zur Post + 4 Tage, § 37 Abs. 2 SGB X" in check.steps[1].label
    assert "Postrechtsmodernisierungsgesetz" in check.steps[1].note
    # Di 31.12.2024 is still the old law: + 3 = Fr 03.01.2025
    old = objection_deadline(dispatch_date=d("31.12.2024"), receipt_date=d("31.12.2024"))
    assert old.notification_date == d("03.01.2025")


def test_notification_fiction_on_sunday_is_moved_with_bsg_reference() -> None:
    check = objection_deadline(dispatch_date=d("04.03.2026"), receipt_date=d("01.04.2026"))
    fiction, moved = check.steps[1], check.steps[2]
    assert fiction.value == d("08.03.2026")
    assert moved.value == d("09.03.2026")
    assert "B 14 AS 12/09 R" in moved.label
    assert moved.note.startswith("Die Zugangsfiktion endet nicht an einem Wochenende")
    assert "Sonntag, 08.03.2026" in moved.note
    assert "Montag, 09.03.2026" in moved.note


def test_reformation_day_moves_notification_in_sh_with_german_note() -> None:
    check = objection_deadline(dispatch_date=d("27.10.2026"), receipt_date=d("02.12.2026"))
    steps = text_of(check.steps)
    assert (
        "Samstag, 31.10.2026 ist Reformationstag (gesetzlicher Feiertag in Schleswig-Holstein)"
        in (steps)
    )
    assert check.on_time
    assert check.summary == "Fristgerecht: Eingang 02.12.2026, Fristende 02.12.2026."


def test_month_end_rule_is_explained() -> None:
    # Fr 29.01.2027 -> 29.02.2027 missing -> So 28.02.2027 -> Mo 01.03.2027
    check = objection_deadline(dispatch_date=d("25.01.2027"), receipt_date=d("01.03.2027"))
    steps = text_of(check.steps)
    assert "§ 64 Abs. 2 Satz 2 SGG" in steps
    assert "Februar 2027" in steps
    assert "Sonntag, 28.02.2027" in steps
    assert [step.value for step in check.steps[-3:]] == [
        d("28.02.2027"),
        d("01.03.2027"),
        d("01.03.2027"),
    ]


def test_receipt_on_the_deadline_is_on_time_and_a_day_later_is_late() -> None:
    # Easter case: deadline Di 07.04.2026
    on_time = objection_deadline(dispatch_date=d("27.02.2026"), receipt_date=d("07.04.2026"))
    assert on_time.on_time
    assert on_time.summary == "Fristgerecht: Eingang 07.04.2026, Fristende 07.04.2026."
    steps = text_of(on_time.steps)
    assert "Karfreitag" in steps and "Ostermontag" in steps

    late = objection_deadline(dispatch_date=d("27.02.2026"), receipt_date=d("08.04.2026"))
    assert not late.on_time
    assert late.summary == "Verspätet: Eingang 08.04.2026, Fristende 07.04.2026 (1 Tag zu spät)."
    assert late.steps[-1].note == "1 Tag nach Fristende – verspätet"


@pytest.mark.parametrize(
    ("receipt", "proven", "notified", "deadline", "explained"),
    [
        # Mo 02.03.2026 + 4 = Fr 06.03.2026; proven receipt Di 10.03.2026 -> deadline Fr 10.04.2026
        pytest.param(
            "10.04.2026",
            "10.03.2026",
            "10.03.2026",
            "10.04.2026",
            "§ 37 Abs. 2 Satz 3 SGB X",
            id="later_receipt_replaces_the_fiction",
        ),
        # An actual receipt on Sa 07.03.2026 is the notification; only the fiction is moved.
        # -> deadline Di 07.04.2026 (a working day)
        pytest.param(
            "07.04.2026",
            "07.03.2026",
            "07.03.2026",
            "07.04.2026",
            None,
            id="receipt_on_saturday_is_not_moved",
        ),
        # Fiction Fr 06.03.2026 stays; +1 month = Mo 06.04.2026 Ostermontag -> Di 07.04.2026
        pytest.param(
            "07.04.2026",
            "05.03.2026",
            "06.03.2026",
            "07.04.2026",
            "ohne Wirkung",
            id="earlier_receipt_does_not_shorten_the_period",
        ),
    ],
)
def test_proven_receipt(
    receipt: str, proven: str, notified: str, deadline: str, explained: str | None
) -> None:
    check = objection_deadline(
        dispatch_date=d("02.03.2026"),
        receipt_date=d(receipt),
        proven_notification=d(proven),
    )
    assert check.notification_date == d(notified)
    assert check.deadline == d(deadline)
    assert check.on_time
    if explained is not None:
        assert explained in text_of(check.steps)


def test_missing_legal_remedy_notice_gives_one_year() -> None:
    # Fr 06.03.2026 + 1 year = Sa 06.03.2027 -> Mo 08.03.2027
    late_for_a_month = objection_deadline(
        dispatch_date=d("02.03.2026"), receipt_date=d("08.03.2027")
    )
    assert not late_for_a_month.on_time
    check = objection_deadline(
        dispatch_date=d("02.03.2026"),
        receipt_date=d("08.03.2027"),
        legal_remedy_notice_ok=False,
    )
    assert check.period == PERIOD_YEAR == "ein Jahr (§ 66 Abs. 2 SGG)"
    assert check.deadline == d("08.03.2027")
    assert check.on_time
    steps = text_of(check.steps)
    assert "§ 66 Abs. 2" in steps and "Rechtsbehelfsbelehrung" in steps
    assert "Samstag, 06.03.2027 ist Wochenende" in steps


def test_one_year_from_a_leap_day() -> None:
    # Fr 25.02.2028 + 4 = Di 29.02.2028; one month -> Mi 29.03.2028; one year -> Mi 28.02.2029
    month = objection_deadline(dispatch_date=d("25.02.2028"), receipt_date=d("25.02.2028"))
    assert month.deadline == d("29.03.2028")
    year = objection_deadline(
        dispatch_date=d("25.02.2028"), receipt_date=d("01.03.2029"), legal_remedy_notice_ok=False
    )
    assert year.deadline == d("28.02.2029")
    assert not year.on_time
    assert year.summary.endswith("(1 Tag zu spät).")


def test_one_year_in_nw_past_all_saints() -> None:
    # NW: Mo 27.10.2025 + 4 = Fr 31.10.2025 (no holiday) -> + 1 year Sa 31.10.2026,
    # So 01.11.2026 Allerheiligen -> Mo 02.11.2026
    check = objection_deadline(
        dispatch_date=d("27.10.2025"),
        receipt_date=d("02.11.2026"),
        land="NW",
        legal_remedy_notice_ok=False,
    )
    assert check.deadline == d("02.11.2026")
    assert "Allerheiligen" in text_of(check.steps)


def test_objection_steps_mention_the_law() -> None:
    check = objection_deadline(dispatch_date=d("27.02.2026"), receipt_date=d("01.04.2026"))
    steps = text_of(check.steps)
    for paragraph in ("§ 37 Abs. 2 SGB X", "§ 84 Abs. 1", "§ 64 Abs. 2 SGG", "§ 64 Abs. 3 SGG"):
        assert paragraph in steps
    assert check.steps[0] == Step("Aufgabe zur Post", d("27.02.2026"))
    assert check.steps[-1].label == "Eingang des Widerspruchs"


def test_objection_rejects_impossible_input() -> None:
    with pytest.raises(ValueError, match="vor der Aufgabe zur Post"):
        objection_deadline(
            dispatch_date=d("02.03.2026"),
            receipt_date=d("10.04.2026"),
            proven_notification=d("01.03.2026"),
        )
    with pytest.raises(ValueError, match="Eingang des Widerspruchs"):
        objection_deadline(dispatch_date=d("02.03.2026"), receipt_date=d("01.03.2026"))


# --- inaction_warning: § 88 Abs. 2 SGG --------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "level"),
    [
        ("20.01.2026", "ok"),
        ("31.03.2026", "ok"),  # 15 days before 15.04.
        ("01.04.2026", "bald"),  # 14 days before
        ("15.04.2026", "bald"),  # last day of the three months
        ("16.04.2026", "überschritten"),  # an Untätigkeitsklage is admissible
    ],
)
def test_inaction_warning_levels(today: str, level: str) -> None:
    # Objection received 15.01.2026 -> three months end 15.04.2026
    assert inaction_warning(d("15.01.2026"), d(today)) == (level, d("15.04.2026"))


def test_inaction_warning_month_end() -> None:
    # 30.11.2025 + 3 months: 30.02.2026 missing -> 28.02.2026
    assert inaction_warning(d("30.11.2025"), d("01.12.2025")) == ("ok", d("28.02.2026"))


# --- appeal_deadlines: § 104 SGG ---------------------------------------------------------------


def test_appeal_default_four_weeks_moved_past_reformation_day() -> None:
    # Served Fr 03.10.2025; + 4 weeks = Fr 31.10.2025, Reformationstag in SH -> Mo 03.11.2025.
    # The file: one month = Mo 03.11.2025 as well -> both due 03.11.2025.
    result = appeal_deadlines(served_on=d("03.10.2025"))
    assert result.statement_due == d("03.11.2025")
    assert result.file_due == d("03.11.2025")
    steps = text_of(result.steps)
    assert "Reformationstag" in steps and "§ 64 Abs. 3 SGG" in steps and "§ 104" in steps
    assert result.summary == (
        "Stellungnahme und Verwaltungsakte bis Montag, 03.11.2025 an das Gericht "
        "(zugestellt am 03.10.2025)."
    )


def test_appeal_in_nw_keeps_the_friday() -> None:
    result = appeal_deadlines(served_on=d("03.10.2025"), land="NW")
    assert result.statement_due == d("31.10.2025")
    assert result.file_due == d("31.10.2025")


def test_appeal_file_month_over_easter() -> None:
    # Served Di 03.03.2026: statement + 4 weeks = Di 31.03.2026; file: one month = Fr 03.04.
    # Karfreitag -> Di 07.04.2026, but it goes with the earlier statement: 31.03.2026.
    result = appeal_deadlines(served_on=d("03.03.2026"))
    assert result.statement_due == d("31.03.2026")
    assert result.file_due == d("31.03.2026")
    assert "Karfreitag" in text_of(result.steps)


def test_appeal_court_deadline_and_file_month() -> None:
    # Served Mo 02.03.2026, court sets Mo 20.04.2026: taken as written. The file is due one
    # month after service at the latest: Do 02.04.2026 (a working day).
    result = appeal_deadlines(served_on=d("02.03.2026"), court_deadline=d("20.04.2026"))
    assert result.statement_due == d("20.04.2026")
    assert result.file_due == d("02.04.2026")
    assert result.summary == (
        "Verwaltungsakte bis Donnerstag, 02.04.2026, Stellungnahme bis Montag, 20.04.2026 an "
        "das Gericht (zugestellt am 02.03.2026)."
    )


def test_appeal_court_deadline_on_a_saturday_is_not_moved() -> None:
    result = appeal_deadlines(served_on=d("02.03.2026"), court_deadline=d("28.03.2026"))
    assert result.statement_due == result.file_due == d("28.03.2026")


def test_appeal_custom_weeks_and_errors() -> None:
    # Served Mo 02.03.2026 + 2 weeks = Mo 16.03.2026
    assert appeal_deadlines(served_on=d("02.03.2026"), statement_weeks=2).statement_due == d(
        "16.03.2026"
    )
    with pytest.raises(ValueError, match="mindestens eine Woche"):
        appeal_deadlines(served_on=d("02.03.2026"), statement_weeks=0)
    with pytest.raises(ValueError, match="vor der Zustellung"):
        appeal_deadlines(served_on=d("02.03.2026"), court_deadline=d("01.03.2026"))
