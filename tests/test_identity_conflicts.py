"""Identity with conflict detection (issue 13): a printed household number and the person on the
paper that point to different households, or a number one digit off the person's own, send the
letter to clearing with both households offered and a reason that says which evidence pointed
where. Letters whose number and person agree are filed as before. Pure recognition, no OCR.
"""

from __future__ import annotations

import pytest

from ingest.recognition import ROUTE_THRESHOLD, Catalogue, MasterData, Recognition, recognise
from tests.support import IDENTITY_HOUSEHOLDS, household_records

HELGA = "95401BG1234567"  # Helga Brodersen, Husum
OLE = "95401BG1234568"  # Ole Carstensen, Heide: one digit off Helga's number
FRIEDA = "95402BG7700001"  # Frieda Jessen, Meldorf


@pytest.fixture(scope="module")
def master() -> MasterData:
    return MasterData(household_records(IDENTITY_HOUSEHOLDS, HELGA, OLE, FRIEDA))


def _run(pages: list[str], master: MasterData, catalogue: Catalogue) -> Recognition:
    return recognise(pages, master, catalogue)


OLE_HEADER = "Ole Carstensen\nMarkt 22\n25746 Heide\ngeb. 30.10.1991\n"


def _assert_conflict(result: Recognition, number: str, *households: str) -> None:
    assert result.bg_number is None, result.household_evidence
    reason = result.clearing_reason or ""
    assert number in reason, reason
    for bg in households:
        assert bg in result.candidates, result.candidates
        assert bg in reason, reason
    assert "bitte in der Klärung entscheiden" in reason, reason


def test_number_of_one_household_and_person_of_another_go_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    # Frieda Jessen's number on page 2, Ole Carstensen's name, birth date and address on page 1.
    pages = [
        OLE_HEADER + "\nHiermit reiche ich meine Kontoauszüge ein.\n",
        f"Anlage zum Schreiben vom 02.11.2026\nBG-Nummer: {FRIEDA}\n",
    ]
    result = _run(pages, master, catalogue)
    _assert_conflict(result, FRIEDA, FRIEDA, OLE)
    reason = result.clearing_reason or ""
    # Which evidence pointed where: the number (with its page) to Frieda's household, the
    # person's facts to Ole's.
    assert f"BG-Nummer {FRIEDA} auf Seite 2 gehört zum Haushalt von Frieda Jessen" in reason
    assert f"Name, Geburtsdatum und Anschrift passen zum Haushalt von Ole Carstensen ({OLE})" in (
        reason
    )


def test_existing_number_one_digit_off_the_persons_own_goes_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    # Helga Brodersen printed Ole Carstensen's number, which differs from hers in one digit.
    text = (
        "Helga Brodersen, geb. 09.02.1968\nNorderstraße 14, 25813 Husum\n"
        f"BG-Nr. {OLE}\nAnbei die Nebenkostenabrechnung.\n"
    )
    result = _run([text], master, catalogue)
    _assert_conflict(result, OLE, OLE, HELGA)
    assert "Name, Geburtsdatum und Anschrift passen zum Haushalt von Helga Brodersen" in (
        result.clearing_reason or ""
    )


def test_unknown_number_one_digit_off_the_persons_own_goes_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    # 95402BG7700009 exists nowhere; it is Frieda Jessen's number with the last digit changed.
    text = "Frieda Jessen\nZingel 3\n25704 Meldorf\nBG-Nr. 95402BG7700009\nAnbei dies.\n"
    result = _run([text], master, catalogue)
    _assert_conflict(result, "95402BG7700009", FRIEDA)
    assert "weicht in einer Ziffer von 95402BG7700001" in (result.clearing_reason or "")
    assert result.candidates == [FRIEDA]


def test_number_and_person_that_agree_are_filed(master: MasterData, catalogue: Catalogue) -> None:
    pages = [OLE_HEADER + f"BG-Nummer {OLE}\nAnbei meine Lohnabrechnung.\n", f"Seite 2 {OLE}\n"]
    result = _run(pages, master, catalogue)
    assert result.bg_number == OLE, result.clearing_reason
    assert result.clearing_reason is None
    assert result.household_confidence >= ROUTE_THRESHOLD


def test_number_with_the_name_only_is_filed_as_before(
    master: MasterData, catalogue: Catalogue
) -> None:
    # A name alone never overrides a printed number; here both agree.
    text = f"Helga Brodersen\nBG-Nr. {HELGA}\nAnbei die Unterlagen.\n"
    result = _run([text], master, catalogue)
    assert result.bg_number == HELGA, result.clearing_reason
    assert result.household_confidence >= ROUTE_THRESHOLD


@pytest.mark.parametrize(
    ("text", "number", "households"),
    [
        # 95401BG1234577 is one digit off Helga's number only; the person is clearly Frieda.
        pytest.param(
            "Frieda Jessen, geb. 01.06.1957\nZingel 3, 25704 Meldorf\n"
            "BG-Nr. 95401BG1234577\nIch beantrage die Weiterbewilligung.\n",
            "95401BG1234577",
            (HELGA, FRIEDA),
            id="number_near_another_household_and_a_strong_person",
        ),
        # 95401BG1234560 is one digit off both Helga's and Ole's numbers; the person is Helga.
        pytest.param(
            "Helga Brodersen, geb. 09.02.1968\nNorderstraße 14, 25813 Husum\n"
            "BG-Nr. 95401BG1234560\nAnbei die Unterlagen.\n",
            "95401BG1234560",
            (HELGA,),
            id="number_close_to_the_persons_own_and_another",
        ),
    ],
)
def test_a_number_near_a_household_with_a_person_that_disagrees_goes_to_clearing(
    master: MasterData, catalogue: Catalogue, text: str, number: str, households: tuple[str, ...]
) -> None:
    result = _run([text], master, catalogue)
    _assert_conflict(result, number, *households)
