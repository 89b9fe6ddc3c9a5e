"""Document types of third-party mail (issue 13): who writes and to whom decides.

An objection (`widerspruch`) is the client's or their representative's own declaration against
the job centre's decision; it opens the whole file to the objections office, so it is never
chosen on weak evidence. Another authority's decision with its own remedy notice, a court's or
a lawyer's mention of a past objection, a pay slip's small print and a form field are none.
A health insurer writing about sick pay is no doctor's sick note. Court summonses are court
mail; landlords' certificates, renewal forms and job-search records keep their types although
they mention other types' words.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from ingest.recognition import Catalogue, MasterData, load_catalogue, recognise


def _recognise(pages: list[str], catalogue: Catalogue):
    return recognise(pages, MasterData([]), catalogue)


def _target(code: str, catalogue: Catalogue) -> str:
    rule = catalogue.rule(code)
    assert rule is not None
    return rule.target


def _details(result) -> str:
    return " | ".join(e.detail for e in result.type_evidence)


# --- other authorities' decisions with their own remedy notice on the last page ---------------

DECISION_PAGE_ONE = {
    "alg": (
        "Agentur für Arbeit Stade\nBundesagentur für Arbeit\nHerrn Kemal Aslan\nAm Deich 4\n"
        "21680 Stade\nKundennummer 123D456789\nDatum 02.11.2026\nÄnderungsbescheid "
        "Arbeitslosengeld\nSehr geehrter Herr Aslan,\nIhr Arbeitslosengeld wird ab dem "
        "01.12.2026 neu festgesetzt. Der tägliche Leistungsbetrag beträgt 41,17 Euro."
    ),
    "wohngeld": (
        "Stadt Otterndorf – Der Bürgermeister\nWohngeldstelle\nFrau Jana Kruse\nLange Reihe 9\n"
        "21762 Otterndorf\nAktenzeichen WG-4711/26\nWohngeldbescheid\nSehr geehrte Frau Kruse,\n"
        "auf Ihren Antrag vom 01.09.2026 wird Ihnen Wohngeld als Mietzuschuss in Höhe von "
        "212,00 Euro monatlich bewilligt."
    ),
    "rente": (
        "Deutsche Rentenversicherung Oldenburg-Bremen\nHerrn Uwe Lührs\nBirkenweg 2\n"
        "27472 Cuxhaven\nVersicherungsnummer 12 010170 L 123\nRentenbescheid\nSehr geehrter "
        "Herr Lührs,\ndie Rente wegen teilweiser Erwerbsminderung wird ab 01.12.2026 neu "
        "berechnet. Der monatliche Zahlbetrag beträgt 612,40 Euro."
    ),
    "uvg": (
        "Landkreis Vogelsberg · Jugendamt\nUnterhaltsvorschusskasse\nFrau Elif Kaya\n"
        "Marktplatz 3\n36341 Lauterbach\nUV 318/26\nBescheid über Unterhaltsvorschuss\n"
        "Sehr geehrte Frau Kaya,\nfür Ihr Kind Emir werden ab November 2026 monatlich 227,00 "
        "Euro Unterhaltsvorschuss bewilligt."
    ),
}

REMEDY_NOTICES = [
    "Rechtsbehelfsbelehrung\nGegen diese Entscheidung kann innerhalb eines Monats nach "
    "Bekanntgabe\nWiderspruch erhoben werden. Der Widerspruch ist schriftlich oder zur "
    "Niederschrift bei der oben genannten Stelle einzulegen.",
    "Ihre Rechte\nSie können gegen diesen Bescheid binnen eines Monats, nachdem er Ihnen bekannt "
    "gegeben wurde, Widerspruch erheben. Richten Sie Ihren Widerspruch bitte an uns.",
    "Rechtsbehelfsbelehrung:\nGegen den Bescheid ist der Widerspruch zulässig. Er muss "
    "innerhalb eines Monats nach Zugang schriftlich bei uns erhoben werden. Ein Widerspruch "
    "hat keine aufschiebende Wirkung.",
]


@pytest.mark.parametrize("authority", sorted(DECISION_PAGE_ONE))
@pytest.mark.parametrize("notice", range(len(REMEDY_NOTICES)))
def test_other_authoritys_decision_with_a_remedy_notice_on_the_last_page(
    authority: str, notice: int, catalogue: Catalogue
) -> None:
    pages = [
        DECISION_PAGE_ONE[authority],
        "Seite 2\nBerechnung\nBerücksichtigtes Einkommen 812,00 €\nFreibetrag 100,00 €\n"
        + REMEDY_NOTICES[notice]
        + "\nMit freundlichen Grüßen\nIm Auftrag",
    ]
    result = _recognise(pages, catalogue)
    assert result.doc_type != "widerspruch", _details(result)
    assert _target(result.doc_type, catalogue) == "caseworker"


def test_a_remedy_notice_is_no_objection_even_when_the_sender_is_unreadable(
    catalogue: Catalogue,
) -> None:
    # The letterhead is a logo OCR cannot read: nothing tells who writes, and still the
    # wording of a remedy notice is no declaration of the client.
    pages = [
        "Herrn Kemal Aslan\nAm Deich 4\n21680 Stade\nBescheid\nIhr Anspruch wird ab dem "
        "01.12.2026 neu festgesetzt.",
        "Sie können gegen diesen Bescheid innerhalb eines Monats Widerspruch erheben. Haben "
        "Sie Fragen zum Widerspruch, rufen Sie uns an.",
    ]
    result = _recognise(pages, catalogue)
    assert result.doc_type != "widerspruch"
    # The desk reads why: the remedy notice on page 2 does not count.
    assert "Seite 2" in _details(result) and "zählt nicht für „Widerspruch“" in _details(result)


# --- mentions of a past objection ------------------------------------------------------------


PAST_OBJECTIONS = {
    "lawyer_file_request": (
        "Rechtsanwältin Sabine Kühl\nFachanwältin für Sozialrecht\nJobcenter Cuxhaven\n"
        "Postfach 12 34\n27472 Cuxhaven\nUnser Az.: 112/26\nAkteneinsicht\nSehr geehrte Damen "
        "und Herren,\nwir zeigen an, dass wir Frau Jana Kruse vertreten. Der Widerspruch unserer "
        "Mandantin gegen den Bescheid vom 02.07.2026 wurde mit Widerspruchsbescheid vom "
        "20.10.2026 zurückgewiesen. Wir haben damals fristgerecht Widerspruch eingelegt und "
        "bitten nun um Einsicht in die vollständige Leistungsakte."
    ),
    "lawyer_representation": (
        "Kanzlei Dr. Brandt & Kollegen\nRechtsanwälte\nJobcenter Vogelsberg\nVertretungsanzeige\n"
        "Sehr geehrte Damen und Herren,\nin der Angelegenheit unseres Mandanten Herrn Kemal "
        "Aslan ist das Widerspruchsverfahren abgeschlossen. Der Widerspruch gegen den Bescheid "
        "vom 12.05.2026 blieb ohne Erfolg. Bitte richten Sie künftige Schreiben an uns."
    ),
    "client_status_request": (
        "Jana Kruse\nLange Reihe 9\n21762 Otterndorf\nJobcenter Cuxhaven\nSachstandsanfrage\n"
        "Sehr geehrte Damen und Herren,\nmein Widerspruch vom 03.09.2026 gegen den Bescheid "
        "vom 20.08.2026 ist noch nicht beschieden. Wann kann ich mit einer Antwort rechnen?"
    ),
    "form_field": (
        "Jobcenter Cuxhaven\nAnlage EK – Einkommen\nName: Kruse, Jana\nWurde gegen einen "
        "Bescheid der Krankenkasse Widerspruch eingelegt? ja [ ] nein [x]\nWiderspruch: nein\n"
        "Arbeitgeber: Bäckerei Nord\nBrutto 820,00 EUR"
    ),
}


@pytest.mark.parametrize("name", sorted(PAST_OBJECTIONS))
def test_a_mention_of_a_past_objection_is_no_objection(name: str, catalogue: Catalogue) -> None:
    result = _recognise([PAST_OBJECTIONS[name]], catalogue)
    assert result.doc_type != "widerspruch", _details(result)


def test_a_courts_letter_naming_the_objection_decision_is_court_mail(catalogue: Catalogue) -> None:
    text = (
        "SOZIALGERICHT STADE\nAm Sande 4a, 21682 Stade\nJobcenter Landkreis Cuxhaven\n"
        "Geschäftsnummer: S 7 AS 311/26\nLadung zum Erörterungstermin\nIn der Streitsache "
        "Jana Kruse ./. Jobcenter Landkreis Cuxhaven\nwegen des Bescheides vom 02.07.2026 in "
        "Gestalt des Widerspruchsbescheides vom 20.10.2026\nwerden Sie auf Anordnung der "
        "Vorsitzenden zum Termin am Dienstag, dem 12. Januar 2027, 10:30 Uhr, Saal 3, geladen. "
        "Wer aus gesundheitlichen Gründen verhindert ist, legt ein ärztliches Attest vor."
    )
    result = _recognise([text], catalogue)
    assert result.doc_type == "klage", _details(result)
    assert "Absender ist ein Gericht" in _details(result)


@pytest.mark.parametrize(
    "heading",
    [
        "Ladung zum Termin zur mündlichen Verhandlung",
        "Terminsladung",
        "Ladung zum Erörterungstermin",
    ],
)
def test_court_hearing_summons_is_court_mail(heading: str, catalogue: Catalogue) -> None:
    # The court's name lost to a stamp: the summons' own words decide.
    text = (
        f"Geschäftsnummer S 12 AS 88/26\n{heading}\nIn dem Rechtsstreit Kemal Aslan gegen "
        "Jobcenter Stade werden Sie zu dem Termin am 14.01.2027 um 9:30 Uhr, Sitzungssaal 2, "
        "geladen. Das persönliche Erscheinen des Klägers ist angeordnet."
    )
    assert _recognise([text], catalogue).doc_type == "klage"


# --- genuine objections stay objections ---------------------------------------------------


GENUINE_OBJECTIONS = {
    "client": (
        "Jana Kruse\nLange Reihe 9\n21762 Otterndorf\nJobcenter Cuxhaven\nOtterndorf, "
        "02.11.2026\nWiderspruch gegen Ihren Bescheid vom 20.10.2026\nSehr geehrte Damen und "
        "Herren,\nhiermit lege ich gegen den Bescheid vom 20.10.2026 Widerspruch ein. Die "
        "Heizkosten wurden nicht vollständig übernommen.\nMit freundlichen Grüßen\nJana Kruse"
    ),
    "lawyer": (
        "Rechtsanwältin Dr. Merle Feddersen\nFachanwältin für Sozial- und Arbeitsrecht\n"
        "Jobcenter Cuxhaven\n– Widerspruchsstelle –\nUnser Zeichen 77/26\nKemal Aslan ./. "
        "Jobcenter Cuxhaven\nSehr geehrte Damen und Herren,\nnamens und in Vollmacht unseres "
        "Mandanten legen wir gegen den Aufhebungs- und Erstattungsbescheid vom 01.10.2026\n"
        "Widerspruch\nein. Eine Begründung folgt nach Akteneinsicht."
    ),
    "association": (
        "Sozialverband VdK, Beratungsstelle Lauterbach\nJobcenter Vogelsberg\nWiderspruch für "
        "Frau Elif Kaya\nSehr geehrte Damen und Herren,\nin ihrem Namen widersprechen wir dem "
        "Bescheid vom 14.10.2026. Der Mehrbedarf für Alleinerziehende fehlt."
    ),
    "subject_line_only": (
        "Kemal Aslan\nAm Deich 4\n21680 Stade\nBetreff: Widerspruch\nSehr geehrte Damen und "
        "Herren,\nden Bescheid vom 12.10.2026 halte ich für falsch. Das Kindergeld wurde doppelt "
        "angerechnet. Bitte prüfen Sie das noch einmal."
    ),
    "reasons_for_a_pending_objection": (
        "Rechtsanwalt Ömer Aydın\nJobcenter Vogelsberg\nWiderspruchsstelle\nBegründung des "
        "Widerspruchs vom 03.09.2026\nSehr geehrte Damen und Herren,\nnach Einsicht in die "
        "Akte begründen wir den Widerspruch unseres Mandanten wie folgt: Die Unterkunftskosten "
        "sind in tatsächlicher Höhe zu übernehmen."
    ),
    "wants_to_object": (
        "Elif Kaya\nMarktplatz 3\n36341 Lauterbach\nSehr geehrte Damen und Herren,\nich möchte "
        "gegen den Bescheid vom 03.11.2026 Widerspruch einlegen, weil meine Miete nicht voll "
        "übernommen wird."
    ),
}


@pytest.mark.parametrize("name", sorted(GENUINE_OBJECTIONS))
def test_genuine_objections_stay_objections(name: str, catalogue: Catalogue) -> None:
    result = _recognise([GENUINE_OBJECTIONS[name]], catalogue)
    assert result.doc_type == "widerspruch", _details(result)
    assert _target("widerspruch", catalogue) == "team:Widerspruchsstelle"
    # The desk sees the declaration the type rests on, with its page.
    first = result.type_evidence[0]
    assert first.page == 1
    assert first.detail.startswith(("Erklärung", "Betreffzeile")), first.detail


def test_an_objection_with_another_authoritys_decision_behind_it(catalogue: Catalogue) -> None:
    pages = [
        GENUINE_OBJECTIONS["client"],
        DECISION_PAGE_ONE["wohngeld"],
        "Seite 2\n" + REMEDY_NOTICES[1],
    ]
    assert _recognise(pages, catalogue).doc_type == "widerspruch"


def test_ocr_damaged_objection_is_still_read(catalogue: Catalogue) -> None:
    text = (
        "Jana Kruse\nOtterndorf, 02.11.2026\nhiermlt lcge lch gegen den Bescheid Widersprucb ein."
    )
    result = _recognise([text], catalogue)
    assert result.doc_type == "widerspruch", _details(result)
    assert "trotz Lesefehlern" in result.type_evidence[0].detail


# --- health insurer's sick-pay letters ------------------------------------------------------


SICK_PAY = [
    "Techniker Krankenkasse\nKrankengeld-Service\nFrau Jana Kruse\nLange Reihe 9\n21762 "
    "Otterndorf\nVersichertennummer K123456789\nIhr Krankengeld\nSehr geehrte Frau Kruse,\nIhre "
    "Arbeitsunfähigkeit besteht seit dem 21.09.2026. Ab dem 02.11.2026 erhalten Sie von uns "
    "Krankengeld in Höhe von 41,20 Euro je Kalendertag. Bitte achten Sie darauf, dass die "
    "weitere Arbeitsunfähigkeit lückenlos ärztlich festgestellt wird.\nFreundliche Grüße\n"
    "Ihre Techniker Krankenkasse",
    # The letterhead is a logo; only the closing names the insurer.
    "Frau Jana Kruse\nLange Reihe 9\n21762 Otterndorf\nZahlung von Krankengeld\nGuten Tag Frau "
    "Kruse,\nSie sind seit dem 21.09.2026 arbeitsunfähig erkrankt. Nach dem Ende der "
    "Entgeltfortzahlung zahlen wir Ihnen Krankengeld. Die Arbeitsunfähigkeitsbescheinigung "
    "Ihrer Praxis liegt uns vor.\nMit freundlichen Grüßen\nIhre AOK Niedersachsen",
]


@pytest.mark.parametrize("index", range(len(SICK_PAY)))
def test_an_insurers_sick_pay_letter_goes_to_the_caseworker(
    index: int, catalogue: Catalogue
) -> None:
    result = _recognise([SICK_PAY[index]], catalogue)
    assert result.doc_type != "arbeitsunfaehigkeitsbescheinigung", _details(result)
    assert result.doc_type != "widerspruch"
    assert _target(result.doc_type, catalogue) == "caseworker"


def test_an_insurers_two_page_letter_with_its_notice_is_neither(catalogue: Catalogue) -> None:
    second = (
        "Seite 2\nWichtige Hinweise\nSie können der Übermittlung Ihrer Daten jederzeit "
        "widersprechen.\nRechtsbehelfsbelehrung\nGegen diesen Bescheid können Sie innerhalb "
        "eines Monats Widerspruch erheben."
    )
    result = _recognise([SICK_PAY[0], second], catalogue)
    assert result.doc_type not in ("arbeitsunfaehigkeitsbescheinigung", "widerspruch")
    assert "Absender ist eine Krankenkasse" in _details(result)


# --- pay slips, landlords, renewal forms, job-search records ---------------------------------


# Letters that keep their own type although they use other types' words.
OWN_TYPE_DESPITE_OTHER_WORDS = {
    "pay_slip_with_objection_in_the_small_print": (
        "verdienstabrechnung",
        (
            "Fischräucherei Hansen GmbH\nHafenweg 12, 27472 Cuxhaven\nHerrn Kemal Aslan\n"
            "Lohnabrechnung Oktober 2026\nPers.-Nr. 0815\nWiderspruch Entgeltumwandlung keiner\n"
            "Grundlohn 1.640,00\n"
            "Lohnsteuer 80,00\nAuszahlung 1.230,00\n"
            "Einwände gegen diese Abrechnung bitte innerhalb "
            "von drei Monaten an das Lohnbüro richten. Ein Widerspruch gegen die betriebliche "
            "Altersversorgung ist bis zum Jahresende möglich."
        ),
    ),
    "landlords_certificate_in_a_cooperatives_words": (
        "mietbescheinigung",
        (
            "Wohnungsgenossenschaft Geestland eG\nMitgliederbetreuung\nJobcenter Cuxhaven\n"
            "Vermieterbestätigung\nMitglied / Mieter Herr Kemal Aslan\nWohnfläche 54 m²\n"
            "Nutzungsgebühr (kalt) 380,00 €\nBetriebskostenvorauszahlung 120,00 €\n"
            "Heizkostenvorauszahlung 75,00 €\nSumme monatlich 575,00 €\nRückstände bestehen nicht. "
            "Die Nebenkostenabrechnung 2025 ergab ein Guthaben."
        ),
    ),
    "renewal_form_with_a_checklist_of_enclosures": (
        "weiterbewilligungsantrag",
        (
            "Jobcenter Cuxhaven\nAntrag auf Weiterbewilligung von Leistungen zur Sicherung des "
            "Lebensunterhalts\nName, Vorname: Kruse, Jana\nHaben sich Änderungen ergeben? ja [ ] "
            "nein [x]\nBitte fügen Sie folgende Nachweise bei: "
            "Kontoauszüge der letzten drei Monate, "
            "Lohnabrechnungen, Mietbescheinigung bei Änderung der Miete, Nebenkostenabrechnung\n"
            "Anlagen: Kontoauszüge, Verdienstabrechnung\nUnterschrift"
        ),
    ),
    "job_search_record_as_a_table": (
        "eigenbemuehungen",
        (
            "Nachweis der Bemühungen um Arbeit\nName: Kemal Aslan\nBewerbungsdatum | Firma | "
            "Stellenbezeichnung | Bewerbungsart | Ergebnis\n03.11.2026 | Lidl | Verkäufer | online "
            "| Absage\n05.11.2026 | Spedition Nord | Fahrer | schriftlich | offen"
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(OWN_TYPE_DESPITE_OTHER_WORDS))
def test_a_letter_keeps_its_type_among_other_types_words(name: str, catalogue: Catalogue) -> None:
    doc_type, text = OWN_TYPE_DESPITE_OTHER_WORDS[name]
    result = _recognise([text], catalogue)
    assert result.doc_type == doc_type, _details(result)


def test_renewal_application_with_bank_statements_behind_it(catalogue: Catalogue) -> None:
    # The first page names the letter; the statements behind it are its enclosures.
    cover = (
        "Jana Kruse\nLange Reihe 9\n21762 Otterndorf\nJobcenter Cuxhaven\n"
        "Weiterbewilligungsantrag\nSehr geehrte Damen und Herren,\nanbei der ausgefüllte "
        "Antrag. Bitte zahlen Sie weiter.\nMit freundlichen Grüßen\nJana Kruse"
    )
    statement = (
        "Förde Sparkasse\nKontoauszug Nr. 10/2026\nKontoinhaber Jana Kruse\nBuchungstag "
        "Wertstellung Verwendungszweck Betrag\n02.10. 02.10. Lastschrift Stadtwerke -54,00\n"
        "08.10. 08.10. Dauerauftrag Miete -450,00\nAlter Saldo 312,10 Neuer Saldo 188,10"
    )
    result = _recognise([cover, statement, statement, statement], catalogue)
    assert result.doc_type == "weiterbewilligungsantrag", _details(result)
    # A cover note that names the statements themselves still makes them the letter.
    note = "Jana Kruse\nAnbei meine Kontoauszüge für Oktober."
    assert _recognise([note, statement], catalogue).doc_type == "kontoauszug"


# --- the catalogue ------------------------------------------------------------------------


def test_catalogue_rejects_a_broken_requirement(tmp_path: Path) -> None:
    from ingest.recognition import DEFAULT_CATALOGUE

    broken = tmp_path / "doctypes.toml"
    text = DEFAULT_CATALOGUE.read_text(encoding="utf-8")
    broken.write_text(text.replace("requires = [", 'requires = [\n    { regex = "(" },', 1))
    with pytest.raises(ValueError, match="kein gültiger regulärer Ausdruck"):
        load_catalogue(broken)
    broken.write_text(text.replace("points = { klage = 3 }", "points = { gibtsnicht = 3 }"))
    with pytest.raises(ValueError, match="points"):
        load_catalogue(broken)


# --- end to end: generated letters, scanned and read by tesseract ----------------------------

E2E_TEMPLATES = (
    "tp_housing_benefit",
    "tp_unemployment_benefit",
    "tp_sick_pay",
    "tp_payslip_fine_print",
    "tp_court_summons",
    "lawyer",
)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_generated_third_party_letters_through_scan_and_ocr(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    import numpy as np

    from ingest import prepare
    from ingest.ocr import ocr_page
    from tests import lettergen

    master = lettergen.build_master(13, 60)
    found: dict[str, lettergen.Plan] = {}
    for index in range(3000):
        plan = lettergen.plan_letter(master, 13, index)
        name = plan.template.name
        if name in E2E_TEMPLATES and name not in found and plan.case == "bg":
            found[name] = plan
        if len(found) == len(E2E_TEMPLATES):
            break
    assert set(found) == set(E2E_TEMPLATES)
    for name, plan in sorted(found.items()):
        pages, profile = lettergen.render(plan)
        # A clean office scan: this test is about the wording, not about damaged scans.
        profile = lettergen.ScanProfile(
            **{**profile.__dict__, "upside_down": False, "level": 0, "noise": 0.0}
        )
        texts = []
        for number, page in enumerate(pages, start=1):
            image, _info = lettergen.scan_page(
                page,
                plan.dpi,
                profile,
                random.Random(number),
                np.random.default_rng(number),
                stamp=None,
            )
            raw = tmp_path / f"{name}-{number}.png"
            image.save(raw, dpi=(plan.dpi, plan.dpi))
            analysis = prepare.analyse_page(raw, 60)
            upright = prepare.prepare_page(
                raw,
                tmp_path / f"{name}-{number}.pgm",
                rotation=analysis.rotation,
                skew=analysis.skew,
            )
            result = ocr_page(upright, tmp_path / f"{name}-{number}", "deu", 120, plan.dpi)
            texts.append(result.text)
        recognition = _recognise(texts, catalogue)
        expected = lettergen.expected_inbox(plan.doc_type, plan.household, plan.case)
        assert recognition.doc_type == plan.doc_type, (name, _details(recognition))
        if expected["kind"] == "team":
            assert _target(recognition.doc_type, catalogue) == f"team:{expected['team']}"
        else:
            assert recognition.doc_type != "widerspruch"


# --- a representative's letter whose declaration cannot be read --------------------------------

NOUR = "43201BG0557463"

LAWYER_HEAD = (
    "Kanzlei Dr. Brandt & Kollegen\nRechtsanwälte · Fachanwälte für Sozialrecht\n"
    "An das Jobcenter Vogelsberg\n– Widerspruchsstelle –\nGartenhof 2\n36341 Lauterbach\n"
    f"BG: {NOUR}\nNour Ibrahim, geboren am 26.07.1996 ./. Jobcenter Vogelsberg\n"
    "wegen Aufhebungs- und Erstattungsbescheid vom 05.11.2026\nSehr geehrte Damen und Herren,\n"
    "hiermit zeigen wir an, dass wir unsere Mandantin anwaltlich vertreten.\n"
)
LAWYER_TAIL = (
    "Der Bescheid ist rechtswidrig. Wir beantragen Akteneinsicht. Ferner wird beantragt, die "
    "Kosten des Widerspruchsverfahrens zu erstatten (§ 63 SGB X).\nHochachtungsvoll"
)


@pytest.fixture(scope="module")
def nour() -> MasterData:
    from datetime import date

    from ingest.recognition import HouseholdRecord, MemberRecord

    member = MemberRecord("Ibrahim", "Nour", date(1996, 7, 26))
    return MasterData([HouseholdRecord(NOUR, "Am Graben 4", "36341", "Lauterbach", (member,))])


def test_a_lawyers_letter_whose_declaration_is_unreadable_goes_to_the_desk(
    nour: MasterData, catalogue: Catalogue
) -> None:
    """A received stamp over "legen wir … Widerspruch ein" on a fax: neither the objections
    office (no declaration) nor the caseworker (it may be one) — the desk decides the type, with
    the household found offered."""
    stamped = LAWYER_HEAD + "Eingegangen\narylaysplegepgjir\nNamens und in Vollmacht unserer gen "
    stamped += "den Bescheid vom 05.11.2026\nein.\n" + LAWYER_TAIL
    result = recognise([stamped], nour, catalogue)
    assert result.bg_number is None and result.candidates[0] == NOUR
    assert result.doc_type != "widerspruch"
    assert "Dokumentart" in (result.clearing_reason or "")
    assert "Vertretung" in (result.clearing_reason or "")
    readable = LAWYER_HEAD + (
        "Namens und in Vollmacht unserer Mandantin legen wir gegen den Bescheid vom 05.11.2026\n"
        "Widerspruch\nein.\n"
    )
    declared = recognise([readable + LAWYER_TAIL], nour, catalogue)
    assert declared.bg_number == NOUR and declared.doc_type == "widerspruch"
    assert _target("widerspruch", catalogue) == "team:Widerspruchsstelle"


def test_a_clients_letter_that_mentions_an_objection_is_filed_as_before(
    nour: MasterData, catalogue: Catalogue
) -> None:
    """The doubt is the representative's: a client asking after their pending objection is
    filed into the household for the caseworker."""
    letter = (
        "Nour Ibrahim\nAm Graben 4\n36341 Lauterbach\nJobcenter Vogelsberg\nSachstandsanfrage\n"
        f"BG-Nummer {NOUR}\nSehr geehrte Damen und Herren,\nmein Widerspruch vom 03.09.2026 ist "
        "noch nicht beschieden. Wann kann ich mit einer Antwort rechnen?\nNour Ibrahim"
    )
    result = recognise([letter], nour, catalogue)
    assert result.bg_number == NOUR and result.doc_type == "sonstiges"


@pytest.mark.parametrize(
    "settled",
    [
        "Der Widerspruch unserer Mandantin ist mit Bescheid vom 13.10.2026 zurückgewiesen worden.",
        "Nach Zurückweisung ihres Widerspruchs prüfen wir eine Klage.",
        "Ihr Widerspruchsbescheid vom 02.10.2026 liegt uns vor.",
    ],
)
def test_a_representative_speaking_of_a_settled_objection_is_filed_for_the_caseworker(
    nour: MasterData, catalogue: Catalogue, settled: str
) -> None:
    """A lawyer asking to see the file after the objection was decided writes no objection,
    and there is no doubt to resolve: the letter goes to the household's caseworker."""
    letter = LAWYER_HEAD.replace(
        "wegen Aufhebungs- und Erstattungsbescheid vom 05.11.2026\n", "Bitte um Akteneinsicht\n"
    )
    letter += f"{settled}\nWir bitten um Übersendung der Leistungsakte.\nMit freundlichen Grüßen"
    result = recognise([letter], nour, catalogue)
    assert result.clearing_reason is None, result.clearing_reason
    assert result.bg_number == NOUR and result.doc_type == "sonstiges"
