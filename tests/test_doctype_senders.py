"""Document types that depend on who writes: another authority's remedy notice, a form field
and a health insurer's sick-pay letter are no objection and no doctor's sick note (issue 13)."""

from __future__ import annotations

import pytest

from ingest.recognition import Catalogue, MasterData, load_catalogue, recognise


def _type(pages: list[str], catalogue: Catalogue) -> str:
    return recognise(pages, MasterData([]), catalogue).doc_type


def _target(code: str, catalogue: Catalogue) -> str:
    rule = catalogue.rule(code)
    assert rule is not None
    return rule.target


FAMILY_BENEFIT_DECISION = [
    "Bundesagentur für Arbeit\nFamilienkasse Nord\n24143 Kiel\n\nFrau Lea Brandt\n"
    "Holtenauer Straße 90\n24105 Kiel\n\nKindergeldnummer 245FK123456\nKiel, 14.10.2026\n"
    "Bescheid über Kindergeld\nSehr geehrte Frau Brandt,\nfür Ihr Kind Mia wird ab Oktober "
    "2026 Kindergeld in Höhe von 255,00 EUR monatlich festgesetzt. Die Festsetzung für "
    "September 2026 wird aufgehoben.",
    "Seite 2\nRechtsbehelfsbelehrung\nGegen diese Entscheidung kann innerhalb eines Monats "
    "nach Bekanntgabe Widerspruch erhoben werden. Der Widerspruch ist schriftlich oder zur "
    "Niederschrift bei der Familienkasse Nord einzulegen. Ein Widerspruch gegen den Bescheid "
    "hat keine aufschiebende Wirkung.\nMit freundlichen Grüßen\nIhre Familienkasse",
]

PAY_SLIP = [
    "Holzbau Nordland GmbH\nPersonalabteilung\nHerrn Tim Jansen\n24837 Schleswig\n"
    "Abrechnung Oktober 2026\nPers.-Nr. 0815\nGrundlohn 1.840,00\nSozialversicherung 380,00\n"
    "Pfändung: keine   Widerspruch gegen Beitragsbescheid vom 01.09.2026: nein\n"
    "Auszahlung 1.460,00",
]

SICK_PAY_LETTER = [
    "AOK Schleswig-Holstein\nDie Gesundheitskasse\nPostfach 1234\n24100 Kiel\n\n"
    "Herrn Tim Jansen\nLanger Weg 3\n24837 Schleswig\n\nKiel, 05.11.2026\n"
    "Ihr Anspruch auf Krankengeld\nSehr geehrter Herr Jansen,\nSie sind seit dem "
    "28.09.2026 arbeitsunfähig erkrankt. Nach dem Ende der Entgeltfortzahlung zahlen wir Ihnen "
    "ab dem 09.11.2026 Krankengeld in Höhe von 48,20 EUR kalendertäglich. Bitte reichen Sie "
    "jede weitere Bescheinigung über die Arbeitsunfähigkeit bei uns ein.\n"
    "Mit freundlichen Grüßen\nIhre AOK",
]

OBJECTION = [
    "Lea Brandt\nHoltenauer Straße 90\n24105 Kiel\n\nJobcenter Kiel\nKiel, 20.10.2026\n"
    "Widerspruch gegen Ihren Bescheid vom 12.10.2026\nSehr geehrte Damen und Herren,\n"
    "hiermit lege ich Widerspruch gegen den Änderungsbescheid ein. Das Kindergeld wurde "
    "doppelt angerechnet.\nMit freundlichen Grüßen\nLea Brandt",
]

DOCTORS_NOTE = [
    "Krankenkasse bzw. Kostenträger\nAOK Schleswig-Holstein\nName, Vorname des Versicherten\n"
    "Jansen, Tim geb. am 02.03.1990\nArbeitsunfähigkeitsbescheinigung\nErstbescheinigung\n"
    "arbeitsunfähig seit 28.09.2026\nvoraussichtlich arbeitsunfähig bis 09.10.2026\n"
    "festgestellt am 28.09.2026\nPraxis Dr. med. Jens Hinrichs, Allgemeinmedizin",
]


def test_other_authoritys_decision_with_a_remedy_notice_is_no_objection(
    catalogue: Catalogue,
) -> None:
    code = _type(FAMILY_BENEFIT_DECISION, catalogue)
    assert code != "widerspruch"
    assert _target(code, catalogue) == "caseworker"


def test_remedy_notice_alone_on_a_later_page_is_no_objection(catalogue: Catalogue) -> None:
    # Only the notice page: nothing but the boilerplate speaks of an objection.
    assert _type(FAMILY_BENEFIT_DECISION[1:], catalogue) != "widerspruch"


def test_pay_slip_with_objection_in_a_form_field_is_no_objection(catalogue: Catalogue) -> None:
    code = _type(PAY_SLIP, catalogue)
    assert code != "widerspruch"
    assert _target(code, catalogue) == "caseworker"


def test_health_insurers_sick_pay_letter_goes_to_the_caseworker(catalogue: Catalogue) -> None:
    code = _type(SICK_PAY_LETTER, catalogue)
    assert code != "arbeitsunfaehigkeitsbescheinigung"
    assert _target(code, catalogue) == "caseworker"


def test_real_objection_is_still_an_objection(catalogue: Catalogue) -> None:
    assert _type(OBJECTION, catalogue) == "widerspruch"
    # The client's own objection may quote the deadline wording; it stays an objection.
    quoting = (
        "Anna Müller\nKiel, 02.11.2026\nHiermit lege ich innerhalb eines Monats nach Bekanntgabe "
        "Widerspruch gegen Ihren Bescheid vom 20.10.2026 ein."
    )
    assert _type([quoting], catalogue) == "widerspruch"
    # Naming an insurer or another authority in the body does not make them the sender.
    naming = (
        "Tim Jansen\nLanger Weg 3\n24837 Schleswig\nJobcenter Schleswig-Flensburg\n"
        "Betreff: Krankengeld der AOK und Kindergeld der Familienkasse\nSehr geehrte Damen und "
        "Herren,\nhiermit lege ich Widerspruch gegen Ihren Bescheid vom 01.11.2026 ein, weil Sie "
        "das Krankengeld der AOK doppelt angerechnet haben."
    )
    assert _type([naming], catalogue) == "widerspruch"


def test_objection_with_the_decision_attached_is_still_an_objection(
    catalogue: Catalogue,
) -> None:
    # The client's objection, with the contested decision (and its remedy notice) behind it.
    assert _type(OBJECTION + FAMILY_BENEFIT_DECISION, catalogue) == "widerspruch"


def test_doctors_sick_note_is_still_a_sick_note(catalogue: Catalogue) -> None:
    assert _type(DOCTORS_NOTE, catalogue) == "arbeitsunfaehigkeitsbescheinigung"


def test_a_narrow_modest_objection_gives_way_to_the_next_type(catalogue: Catalogue) -> None:
    # A landlord's certificate that mentions a past objection against a rent increase: some
    # objection wording, but the certificate is hardly weaker. Not the objections office.
    text = (
        "Hausverwaltung Förde GmbH\nVermieterbescheinigung\nMieterin: Lea Brandt, Holtenauer "
        "Straße 90, 24105 Kiel\nKaltmiete: 410,00 EUR\nDer Widerspruch gegen die Mieterhöhung "
        "vom 01.08.2026 wurde von der Mieterin zurückgenommen."
    )
    result = recognise([text], MasterData([]), catalogue)
    assert result.doc_type == "mietbescheinigung"
    # The desk sees why not: the writer is a landlord, and nobody declares an objection here.
    details = " ".join(e.detail for e in result.type_evidence)
    assert "Absender ist ein Vermieter" in details, details


def test_the_sender_kind_is_named_in_the_evidence(catalogue: Catalogue) -> None:
    result = recognise(SICK_PAY_LETTER, MasterData([]), catalogue)
    details = [e.detail for e in result.type_evidence]
    assert any("Absender ist eine Krankenkasse" in d and "AOK" in d for d in details), details


def test_catalogue_rejects_a_sender_kind_excluding_an_unknown_type(tmp_path) -> None:
    from ingest.recognition import DEFAULT_CATALOGUE

    broken = tmp_path / "doctypes.toml"
    text = DEFAULT_CATALOGUE.read_text(encoding="utf-8")
    broken.write_text(text.replace('excludes = ["widerspruch"]', 'excludes = ["gibtsnicht"]'))
    with pytest.raises(ValueError, match="excludes"):
        load_catalogue(broken)
