"""New strong evidence for who a letter is from (issue 13): the member's IBAN on a bank statement
or form, the From address of an e-mail, household numbers read back from OCR letters, and the
weaker cases (namesakes told apart, a partner with another surname, a client who moved).

A key (number, IBAN, sender address) files a letter only with a person of its household on the
paper; keys and persons that disagree go to clearing with every household offered.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.db import transaction
from core.errors import InvalidInput
from ingest.filing import master_data, recognise_all
from ingest.recognition import (
    ROUTE_THRESHOLD,
    Catalogue,
    MasterData,
    Recognition,
    recognise,
)
from records.masterdata import HOUSEHOLD_COLUMNS, import_households, read_csv
from records.models import Household
from tests.support import (
    IDENTITY_HOUSEHOLDS,
    SAMPLES,
    household_record,
    household_records,
    make_settings,
    migrated_sessions,
)

HELGA = "95401BG1234567"  # Helga Brodersen, Husum; her account and e-mail address are known
OLE = "95401BG1234568"  # Ole Carstensen, Heide: one digit off Helga's number
FRIEDA = "95402BG7700001"  # Frieda Jessen, Meldorf: no account known
JAN_A = "95401BG3000001"  # Jan Petersen, born 1980, Husum
JAN_B = "95402BG3000002"  # Jan Petersen, born 1975, Heide (a namesake)
THOMSEN = "95403BG4000001"  # Kai Thomsen and his partner Maren Lorenzen, Tönning
BIRTE = "95401BG5000001"  # Birte Hansen, moved from Heide to Husum
TENANT = "95402BG5000002"  # Uwe Rasmussen, now living in Birte's old flat

HELGA_IBAN = "DE66217500000012345678"
OLE_IBAN = "DE08217500000087654321"
HELGA_IBAN_PRINTED = "DE66 2175 0000 0012 3456 78"
OLE_IBAN_PRINTED = "DE08 2175 0000 0087 6543 21"


@pytest.fixture(scope="module")
def master() -> MasterData:
    return MasterData(household_records(IDENTITY_HOUSEHOLDS))


def _statement(holder: str, iban_line: str) -> list[str]:
    return [
        "Nord-Ostsee Sparkasse\n"
        f"{holder}\n"
        "Kontoauszug 11/2026 Blatt 1 Datum 24.11.2026\n"
        f"Girokonto {iban_line} BIC NOLADE21NOS\n"
        "Alter Kontostand 412,80 EUR\n"
        "03.11. Lastschrift Stadtwerke Husum Abschlag Strom -62,00\n"
        "05.11. Kartenzahlung EDEKA Husum -31,45\n"
        "Neuer Kontostand vom 24.11.2026 319,35 EUR\n"
    ]


def _routed(result: Recognition, bg: str) -> None:
    assert result.bg_number == bg, (result.clearing_reason, result.household_evidence)
    assert result.household_confidence >= ROUTE_THRESHOLD


def _conflict(result: Recognition, *households: str) -> str:
    assert result.bg_number is None, result.household_evidence
    reason = result.clearing_reason or ""
    for bg in households:
        assert bg in result.candidates, (result.candidates, reason)
        assert bg in reason, reason
    assert "bitte in der Klärung entscheiden" in reason, reason
    return reason


# --- IBAN ---------------------------------------------------------------------------------


def test_known_iban_with_the_holders_name_routes_a_bank_statement(
    master: MasterData, catalogue: Catalogue
) -> None:
    # The statement names only the holder: before, that was a name alone, so clearing.
    result = recognise(
        _statement("BRODERSEN, HELGA", f"IBAN {HELGA_IBAN_PRINTED}"), master, catalogue
    )
    _routed(result, HELGA)
    iban = [e for e in result.household_evidence if e.kind == "iban"]
    assert iban and "IBAN DE66 2175 0000 0012 3456 78 auf Seite 1" in iban[0].detail
    assert "Helga Brodersen" in iban[0].detail


def test_the_same_statement_without_the_iban_waits_in_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    result = recognise(_statement("BRODERSEN, HELGA", "Kontonummer 12345678"), master, catalogue)
    assert result.bg_number is None


def test_compact_iban_counts_as_well(master: MasterData, catalogue: Catalogue) -> None:
    result = recognise(_statement("Helga Brodersen", f"IBAN: {HELGA_IBAN}"), master, catalogue)
    _routed(result, HELGA)


def test_iban_without_a_person_of_its_household_is_not_enough(
    master: MasterData, catalogue: Catalogue
) -> None:
    result = recognise(
        _statement("Kontoinhaber siehe Vertrag", f"IBAN {HELGA_IBAN_PRINTED}"), master, catalogue
    )
    assert result.bg_number is None
    assert HELGA in result.candidates
    assert "IBAN der Bedarfsgemeinschaft 95401BG1234567" in (result.clearing_reason or "")


def test_iban_of_one_household_with_the_person_of_another_goes_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    # Helga's account; Ole's name, address and birth date.
    text = (
        "Ole Carstensen\nMarkt 22\n25746 Heide\ngeb. 30.10.1991\n"
        f"Bitte zahlen Sie auf mein Konto IBAN {HELGA_IBAN_PRINTED}.\n"
    )
    result = recognise([text], master, catalogue)
    reason = _conflict(result, HELGA, OLE)
    assert "IBAN DE66 2175 0000 0012 3456 78 auf Seite 1 gehört zum Haushalt von Helga" in reason
    assert f"Name, Geburtsdatum und Anschrift passen zum Haushalt von Ole Carstensen ({OLE})" in (
        reason
    )


def test_iban_and_household_number_that_disagree_go_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    # Ole's number and name, Helga's account: two keys that point to different households.
    text = f"Ole Carstensen\nBG-Nummer {OLE}\nNeue Bankverbindung: IBAN {HELGA_IBAN_PRINTED}\n"
    result = recognise([text], master, catalogue)
    reason = _conflict(result, HELGA, OLE)
    assert f"BG-Nummer {OLE} auf Seite 1" in reason
    assert "IBAN DE66 2175 0000 0012 3456 78" in reason


def test_iban_and_number_that_agree_are_filed(master: MasterData, catalogue: Catalogue) -> None:
    text = f"Ole Carstensen\nBG-Nummer {OLE}\nIBAN {OLE_IBAN_PRINTED}\nAnbei der Auszug.\n"
    _routed(recognise([text], master, catalogue), OLE)


def test_iban_with_ocr_letter_slips_counts_when_the_checksum_then_holds(
    master: MasterData, catalogue: Catalogue
) -> None:
    # O for 0, l for 1, S for 5 (or 8): read back, the checksum holds for one reading only.
    slipped = "DE66 2l7S OOOO OOl2 3456 78"
    result = recognise(_statement("BRODERSEN, HELGA", f"IBAN {slipped}"), master, catalogue)
    _routed(result, HELGA)
    iban = next(e for e in result.household_evidence if e.kind == "iban")
    assert "OCR-Lesefehler" in iban.detail


def test_iban_with_a_wrong_digit_fails_the_checksum_and_is_ignored(
    master: MasterData, catalogue: Catalogue
) -> None:
    # One digit read as another: the checksum fails, so it is nobody's account, not a guess.
    wrong = "DE66 2175 0000 0012 3456 79"
    result = recognise(_statement("BRODERSEN, HELGA", f"IBAN {wrong}"), master, catalogue)
    assert result.bg_number is None
    assert not [e for e in result.household_evidence if e.kind == "iban"]


# --- e-mail sender ------------------------------------------------------------------------

MAIL_BODY = "Hallo,\nanbei meine Lohnabrechnung für Oktober.\nViele Grüße\nHelga Brodersen\n"


def test_known_sender_address_with_the_name_routes_the_mail(
    master: MasterData, catalogue: Catalogue
) -> None:
    # Case-insensitive, the display name around it does not matter.
    result = recognise(
        [MAIL_BODY],
        master,
        catalogue,
        sender_address="Helga B. <Helga.Brodersen@Example.ORG>",
    )
    _routed(result, HELGA)
    assert any(e.kind == "email" for e in result.household_evidence)


def test_the_same_mail_from_an_unknown_address_waits_in_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    assert recognise([MAIL_BODY], master, catalogue).bg_number is None
    other = recognise([MAIL_BODY], master, catalogue, sender_address="h.brodersen@example.org")
    assert other.bg_number is None


def test_sender_address_of_one_household_and_person_of_another_go_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    text = "Frieda Jessen\nZingel 3\n25704 Meldorf\ngeb. 01.06.1957\nAnbei der Bescheid.\n"
    result = recognise([text], master, catalogue, sender_address="helga.brodersen@example.org")
    reason = _conflict(result, HELGA, FRIEDA)
    assert "Absenderadresse helga.brodersen@example.org gehört zum Haushalt von Helga" in reason


# --- household numbers with OCR slips -----------------------------------------------------

OLE_PERSON = "Ole Carstensen\nMarkt 22\n25746 Heide\ngeb. 30.10.1991\n"
HELGA_PERSON = "Helga Brodersen, geb. 09.02.1968\nNorderstraße 14, 25813 Husum\n"


def test_ocr_letter_in_the_persons_own_number_is_read_back_and_filed(
    master: MasterData, catalogue: Catalogue
) -> None:
    # "S" is read as 5 first: 95401BG1234565 exists nowhere and is one digit off both Helga's
    # and Ole's number. As 8 it is Ole's own number, the only reading that exists.
    text = OLE_PERSON + "BG-Nr. 95401BG123456S\nAnbei meine Unterlagen.\n"
    result = recognise([text], master, catalogue)
    _routed(result, OLE)


def test_ocr_letter_read_back_to_another_households_number_goes_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    # The same printed number on Helga's letter: it can only be Ole's, so it disagrees.
    text = HELGA_PERSON + "BG-Nr. 95401BG123456S\nAnbei die Unterlagen.\n"
    result = recognise([text], master, catalogue)
    _conflict(result, OLE, HELGA)


def test_number_one_digit_off_the_persons_own_goes_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    # A digit printed as another digit: no OCR letter explains it, so the desk decides.
    text = "Frieda Jessen\nZingel 3\n25704 Meldorf\nBG-Nr. 95402BG7700007\nAnbei dies.\n"
    result = recognise([text], master, catalogue)
    reason = _conflict(result, FRIEDA)
    assert "weicht in einer Ziffer von 95402BG7700001" in reason


@pytest.mark.parametrize(
    ("printed", "routed"),
    [
        # "BG" read as three digits (B as 8, G as 56) in a number one digit off Frieda's own
        ("Mein Zeichen: 954028567700007", None),
        # the same reading of her own number files the letter
        ("Mein Zeichen: 954028567700001", FRIEDA),
        # "BG" as two digits and as one
        ("Unser Zeichen 95402867700007", None),
        ("95402567700007", None),
        # a stray stroke glued to the "BG" (a fax line, a speck): the number is still read
        ("BG-Nummer 95402 1BG7700001", FRIEDA),
        ("BG-Nummer 95402 |BG7700007", None),
    ],
)
def test_number_whose_bg_was_read_as_digits_is_still_compared(
    master: MasterData, catalogue: Catalogue, printed: str, routed: str | None
) -> None:
    text = f"Frieda Jessen\nZingel 3\n25704 Meldorf\n{printed}\nVielen Dank für die Hilfe.\n"
    result = recognise([text], master, catalogue)
    if routed is None:
        reason = _conflict(result, FRIEDA)
        assert "95402BG7700007" in reason
    else:
        _routed(result, routed)


def test_iban_with_a_number_one_digit_off_goes_to_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    # Ole's account and name, and a number one digit off his own: two keys that disagree.
    text = f"Ole Carstensen\nIBAN {OLE_IBAN_PRINTED}\nBG-Nr. 95401BG1234569\n"
    result = recognise([text], master, catalogue)
    assert result.bg_number is None
    assert OLE in result.candidates
    assert "95401BG1234569" in (result.clearing_reason or "")


# --- namesakes, partners, moves -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "household"),
    [
        pytest.param(
            "Jan Petersen\ngeb. 07.07.1975\nHiermit widerspreche ich dem Bescheid.\n",
            JAN_B,
            id="namesake_decided_by_birth_date",
        ),
        pytest.param(
            "Jan Petersen\nSüderstraße 5\n25813 Husum\nAnbei die Mietbescheinigung.\n",
            JAN_A,
            id="namesake_decided_by_address",
        ),
        pytest.param(
            "Maren Lorenzen\nAm Deich 3\n25832 Tönning\nAnbei meine Lohnabrechnung.\n",
            THOMSEN,
            id="partner_with_another_surname_is_filed_with_the_household",
        ),
        pytest.param(
            "Maren Lorenzen\nbei Thomsen\nAm Deich 3\n25832 Tönning\n"
            "geb. 02.11.1983\nAnbei meine Lohnabrechnung.\n",
            THOMSEN,
            id="partner_writing_care_of_the_household_head",
        ),
    ],
)
def test_namesakes_and_partners_are_told_apart(
    master: MasterData, catalogue: Catalogue, text: str, household: str
) -> None:
    _routed(recognise([text], master, catalogue), household)


def test_namesake_decided_by_an_address_that_wraps_in_running_text(
    master: MasterData, catalogue: Catalogue
) -> None:
    # A doctor's certificate: the street ends one line, the house number opens the next.
    text = (
        "Dr. med. Hanna Lorenzen\nÄrztliche Bescheinigung\n"
        "Hiermit wird bescheinigt, dass Herr Jan Petersen, wohnhaft Lange Reihe\n"
        "9, 25746 Heide, vom 23.10.2026 bis 03.11.2026 arbeitsunfähig erkrankt ist.\n"
    )
    result = recognise([text], master, catalogue)
    _routed(result, JAN_B)
    assert "Straße und Hausnummer" in " ".join(e.detail for e in result.household_evidence)


def test_namesake_decided_by_a_street_name_that_wraps_in_running_text(
    master: MasterData, catalogue: Catalogue
) -> None:
    # A landlord's certificate: "Lange" ends one line, "Reihe 9" opens the next.
    text = (
        "Hausverwaltung Nord GmbH\nMietbescheinigung\n"
        "Hiermit bestätigen wir, dass Herr Jan Petersen seit 2016 die Wohnung Lange\n"
        "Reihe 9 in 25746 Heide gemietet hat.\n"
    )
    _routed(recognise([text], master, catalogue), JAN_B)
    # The same with another house number is not his address: clearing.
    other = text.replace("Reihe 9 in", "Reihe 11 in")
    assert recognise([other], master, catalogue).bg_number is None


def test_namesake_with_the_name_alone_waits_in_clearing(
    master: MasterData, catalogue: Catalogue
) -> None:
    result = recognise(["Jan Petersen\nAnbei die Unterlagen.\n"], master, catalogue)
    assert result.bg_number is None
    assert {JAN_A, JAN_B} <= set(result.candidates)


@pytest.mark.parametrize(
    "sender",
    [
        "Kai und Maren Thomsen",  # the couple under the head's last name
        "Maren Thomsen",  # the partner under the head's last name
        "Thomsen, Maren",
        "Maren Lorenzen-Thomsen",  # a double name holding her own
        "Maren Thomsen-Lorenzen",
    ],
)
def test_partner_under_the_couples_common_name_with_the_households_address(
    master: MasterData, catalogue: Catalogue, sender: str
) -> None:
    text = f"{sender}\nAm Deich 3\n25832 Tönning\nAnbei meine Lohnabrechnung.\n"
    result = recognise([text], master, catalogue)
    _routed(result, THOMSEN)


def test_borrowed_last_name_without_the_address_is_not_enough(
    master: MasterData, catalogue: Catalogue
) -> None:
    # First name and the head's last name, at another address: nothing ties it to the couple.
    text = "Maren Thomsen\nHafenstraße 9\n25832 Tönning\nAnbei meine Lohnabrechnung.\n"
    assert recognise([text], master, catalogue).bg_number is None


def test_borrowed_last_name_that_is_someone_elses_real_name_goes_to_clearing(
    catalogue: Catalogue,
) -> None:
    [couple] = household_records(IDENTITY_HOUSEHOLDS, THOMSEN)  # Kai Thomsen, Maren Lorenzen
    other = household_record(
        "95403BG4000009", "Hafenstraße 9", "25832", "Tönning", ("Thomsen", "Maren", "1990-04-04")
    )
    text = "Maren Thomsen\nAm Deich 3\n25832 Tönning\nAnbei meine Lohnabrechnung.\n"
    result = recognise([text], MasterData([couple, other]), catalogue)
    reason = _conflict(result, THOMSEN, "95403BG4000009")
    assert "deren Nachname aber anders lautet" in reason


def test_client_who_moved_is_filed_by_name_and_birth_date(
    master: MasterData, catalogue: Catalogue
) -> None:
    # Birte Hansen's old address, where Uwe Rasmussen lives now.
    text = "Birte Hansen\nOsterstraße 7\n25746 Heide\ngeb. 15.01.1990\nAnbei meine Kontoauszüge.\n"
    result = recognise([text], master, catalogue)
    _routed(result, BIRTE)


# --- import of the master data ------------------------------------------------------------

HOUSEHOLDS = """\
bg_number,last_name,first_name,birth_date,street,postcode,town,caseworker,case_manager{extra}
95401BG0000001,Müller,Anna,1980-02-29,Hafenstraße 1,25813,Husum,,{anna}
95401BG0000001,Müller,Ben,2012-06-01,Hafenstraße 1,25813,Husum,,{ben}
"""


def _csv(anna: str = ",", ben: str = ",", columns: bool = True) -> bytes:
    """The export with the optional columns `iban,email` (`anna` and `ben` fill them)."""
    if not columns:
        return HOUSEHOLDS.format(extra="", anna="", ben="").encode()
    return HOUSEHOLDS.format(extra=",iban,email", anna="," + anna, ben="," + ben).encode()


@pytest.fixture
def sessions(database_url: str):  # type: ignore[no-untyped-def]
    engine, factory = migrated_sessions(database_url)
    yield factory
    engine.dispose()


def _import(sessions, data: bytes):  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        return import_households(session, read_csv(data, HOUSEHOLD_COLUMNS))


def _members(sessions) -> dict[str, tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        household = session.scalar(select(Household).options(selectinload(Household.members)))
        assert household is not None
        return {m.first_name: (m.iban, m.email) for m in household.members}


def test_import_reads_iban_and_email_and_the_snapshot_carries_them(sessions) -> None:  # type: ignore[no-untyped-def]
    _import(sessions, _csv(anna="de66 2175 0000 0012 3456 78,Anna.Mueller@Example.org"))
    assert _members(sessions) == {
        "Anna": (HELGA_IBAN, "anna.mueller@example.org"),
        "Ben": (None, None),
    }
    with transaction(sessions) as session:
        snapshot = master_data(session)
    assert [p.member.first_name for p in snapshot.persons_by_iban[HELGA_IBAN]] == ["Anna"]
    assert list(snapshot.persons_by_email) == ["anna.mueller@example.org"]


def test_changed_iban_is_an_update_and_renews_the_snapshot(sessions) -> None:  # type: ignore[no-untyped-def]
    _import(sessions, _csv(anna=f"{HELGA_IBAN},"))
    with transaction(sessions) as session:
        assert HELGA_IBAN in master_data(session).persons_by_iban
    report = _import(sessions, _csv(anna=f"{OLE_IBAN},"))
    assert report.updated == ["95401BG0000001"]
    assert _members(sessions)["Anna"] == (OLE_IBAN, None)
    with transaction(sessions) as session:
        snapshot = master_data(session)
    assert OLE_IBAN in snapshot.persons_by_iban and HELGA_IBAN not in snapshot.persons_by_iban
    assert _import(sessions, _csv(anna=f"{OLE_IBAN},")).unchanged == 1


def test_recognise_all_takes_each_documents_sender_address(sessions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _import(sessions, _csv(anna=",anna.mueller@example.org"))
    letter = ["Hallo,\nanbei meine Lohnabrechnung.\nGruß Anna Müller\n"]
    with transaction(sessions) as session:
        results = recognise_all(
            session,
            make_settings(tmp_path),
            [letter, letter, letter],
            ["Anna Müller <ANNA.MUELLER@example.org>", None],
        )
    assert [r.bg_number for r in results] == ["95401BG0000001", None, None]


def test_import_without_the_new_columns_is_accepted_unchanged(sessions) -> None:  # type: ignore[no-untyped-def]
    report = _import(sessions, _csv(columns=False))
    assert report.created == ["95401BG0000001"]
    assert _members(sessions) == {"Anna": (None, None), "Ben": (None, None)}
    # The samples' export has no IBAN or e-mail column either.
    assert b"iban" not in (SAMPLES / "households.csv").read_bytes().split(b"\n", 1)[0]
    _import(sessions, (SAMPLES / "households.csv").read_bytes())


@pytest.mark.parametrize(
    ("anna", "message"),
    [
        (
            "DE66 2175 0000 0012 3456 79,",
            "Zeile 2: IBAN 'DE66 2175 0000 0012 3456 79' ist ungültig",
        ),
        ("DE66 2175 0000 0012 3456,", "Zeile 2: IBAN 'DE66 2175 0000 0012 3456' ist ungültig"),
        (
            ",anna.mueller(at)example.org",
            "Zeile 2: E-Mail-Adresse 'anna.mueller(at)example.org' ist ungültig",
        ),
    ],
)
def test_invalid_iban_or_email_is_refused_with_the_line(sessions, anna: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        _import(sessions, _csv(anna=anna))
    with transaction(sessions) as session:
        assert session.scalar(select(Household)) is None
