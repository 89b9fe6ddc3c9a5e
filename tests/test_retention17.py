"""The retention computation (records/retention.py), as pure functions."""

from __future__ import annotations

from datetime import date

from records.retention import DocumentFacts, FileFacts, Hold, Rules, TypeRule, compute

RULES = Rules(
    years=10,
    offer_to_archive=True,
    types={
        "kontoauszug": TypeRule("kontoauszug", 5, offer_to_archive=False),
        "gutachten": TypeRule("gutachten", 30, offer_to_archive=True),
    },
    source="test",
)


def _facts(**kw: object) -> FileFacts:
    base: dict[str, object] = {
        "household_id": 1,
        "bg_number": "12345BG0000001",
        "benefits_end": None,
        "closed_on": None,
    }
    base.update(kw)
    return FileFacts(**base)  # type: ignore[arg-type]


def test_a_running_file_has_no_date() -> None:
    result = compute(_facts(), RULES, date(2030, 1, 1))
    assert result.status == "open" and result.due_from is None


def test_ten_years_after_the_end_of_the_year_benefits_ended() -> None:
    result = compute(_facts(benefits_end=date(2014, 6, 30)), RULES, date(2024, 12, 31))
    assert result.ends_on == date(2024, 12, 31)
    assert result.due_from == date(2025, 1, 1)
    assert result.status == "running"
    assert compute(_facts(benefits_end=date(2014, 6, 30)), RULES, date(2025, 1, 1)).status == "due"


def test_benefits_ending_on_new_years_eve_and_day() -> None:
    eve = compute(_facts(benefits_end=date(2014, 12, 31)), RULES, date(2025, 1, 1))
    day = compute(_facts(benefits_end=date(2015, 1, 1)), RULES, date(2025, 1, 1))
    assert eve.due_from == date(2025, 1, 1) and eve.status == "due"
    assert day.due_from == date(2026, 1, 1) and day.status == "running"


def test_the_latest_event_counts_and_every_step_is_shown() -> None:
    facts = _facts(
        benefits_end=date(2014, 6, 30),
        last_case_concluded=(date(2016, 3, 1), "Klage erledigt"),
        last_document=date(2015, 2, 2),
    )
    result = compute(facts, RULES, date(2026, 1, 1))
    assert result.event_date == date(2016, 3, 1)
    assert result.due_from == date(2027, 1, 1)
    labels = [s.label for s in result.steps]
    assert "Letztes Verfahren abgeschlossen" in labels
    assert "Leistungsende laut Fachverfahren" in labels


def test_a_hold_blocks_a_due_file_until_it_ends() -> None:
    hold = Hold("erstattung", "Erstattung", date(2024, 1, 1), until=date(2026, 6, 30))
    facts = _facts(benefits_end=date(2014, 6, 30), holds=(hold,))
    assert compute(facts, RULES, date(2025, 1, 1)).status == "held"
    assert compute(facts, RULES, date(2026, 7, 1)).status == "due"


def test_document_types_with_shorter_and_longer_periods() -> None:
    short = _facts(
        benefits_end=date(2014, 6, 30),
        documents=(DocumentFacts("d1", "kontoauszug", date(2013, 1, 1)),),
    )
    result = compute(short, RULES, date(2020, 1, 1))
    assert result.status == "running"
    assert [d.document_id for d in result.documents_due] == ["d1"]
    long = _facts(
        benefits_end=date(2014, 6, 30),
        documents=(DocumentFacts("d2", "gutachten", date(2013, 1, 1)),),
    )
    assert compute(long, RULES, date(2030, 1, 1)).due_from == date(2045, 1, 1)
