"""Search benchmark: latency of caseworkers' queries at 10k to 1M documents, both backends.

A seeded generator writes a synthetic corpus of German job-centre letters (about 300 words
each, 1-3 pages: pay slips, bank statements, service-charge statements, objections, court
letters, decisions, sick notes, ...), with households, names with umlauts, addresses, IBANs,
BG numbers, court file references, dates, amounts, a long tail of merchants and compound words,
and OCR slips in about 2 % of the words. The same documents go into the product's embedded
index (Tantivy, in a temporary folder) and into OpenSearch, through the product's adapters
(`index_many`, which runs the shared German analysis), and both are timed as indexing
throughput in documents per second.

Then a realistic query mix runs through `SearchIndex.search` exactly as `GET /api/search` calls
it (access filter of one caseworker inside the query, facets, 20 hits with page and snippet):
names (also spelled `Mueller`), BG numbers (compact and spaced), IBANs (spaced), single domain
words, two words, quoted phrases, compound parts, court references, dates, and filtered queries
(document type, receipt-date range, outgoing only, one household). Every query runs with the
permission set of one of 40 caseworkers, each seeing 50-500 households, and mostly asks about
that caseworker's own clients. The mix is run by 1 client and by 8 concurrent clients and
reported as p50, p95 and p99 latency and queries per second. Concurrent clients are spread over
`--processes` processes (default: one per core), each with its own handle on the index and its
clients as threads, as `eakte serve` answers requests in EAKTE_WEB_PROCESSES processes (one per
core) with a thread pool each; `--processes 1` puts all clients in one process.

As the reference on the same index and the same queries, the bare engine runs a plain term
query (the stems of the query words, AND, no filter, no facets, no snippets, 20 hits) - the
ratio shows what the product adds (access filter, compounds, fuzzy terms, facets, snippets).

With several sizes (`--docs 10000 100000`) the corpus grows between the measurements: the
first 10 000 documents are indexed and measured, then the next 90 000 are added, and so on.

OpenSearch: `--opensearch-url URL` uses that node; otherwise the script uses the test node at
EAKTE_TEST_OPENSEARCH_URL or starts it with services/opensearch.sh (and stops it afterwards if it
started it); `--skip-opensearch` leaves it out. The benchmark index is deleted at the end.

    .venv/bin/python bench/search.py --docs 10000 100000
    .venv/bin/python bench/search.py --docs 100000 --skip-opensearch --queries 1000
    .venv/bin/python bench/search.py --docs 1000000 --skip-embedded --json search.json
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import Pool, get_context
from pathlib import Path
from typing import Any

import harness

REPO = harness.REPO
harness.use_product()  # the product's tree: this checkout, or a reference's (--baseline)

from search import IndexedDocument, SearchIndex, SearchQuery  # noqa: E402
from search.analysis import analyze  # noqa: E402

GOAL_P95_MS = {"embedded": 50.0, "opensearch": 50.0}
GOAL_P95_MS_1M = {"opensearch": 100.0}

# --- the synthetic corpus ----------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words("""
Anna Maria Petra Laura Julia Sabine Claudia Monika Ursula Karin Heike Stefanie
Jessica Sandra Nicole Katharina Lena Sophie Emma Mia Hannah Lea Jana Wiebke Birte Frauke Inke
Sönke Jörg Jürgen Günter Björn Sven Kai Uwe Jan Finn Lars Thomas Michael Andreas Stefan Peter
Klaus Frank Markus Tobias Florian Dennis Kevin Marcel Sebastian Niklas Lukas Jonas Paul Ben
Mehmet Ahmet Ayşe Fatma Emine Hüseyin Mustafa Elif Zeynep Yusuf Ali Fatima Mohammed Omar Layla
Khaled Rania Ahmad Samira Piotr Agnieszka Katarzyna Tomasz Olena Oksana Dmytro Iryna Andrii
Natalia Ivan Svetlana Aleksandr Gheorghe Ioana Dragan Milica Ardit Arta""")
LAST_NAMES = _words("""
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer
Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann
Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König
Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel
Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster
Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß
Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn
Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer Carstensen Petersen Jensen Hansen
Christiansen Nissen Andresen Thomsen Paulsen Sörensen Ketelsen Jacobsen Feddersen Lorenzen
Yılmaz Kaya Demir Şahin Çelik Yıldız Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Koç
Al-Hassan Haddad Khalil Nasser Mansour Saleh Ibrahim Nowak Kowalski Wiśniewski Wójcik
Kowalczyk Kamiński Lewandowski Kovalenko Bondarenko Shevchenko Tkachenko Popescu Ionescu
Jovanović Petrović Hoxha Berisha""")
TOWNS = [("25813", "Husum"), ("25899", "Niebüll"), ("25938", "Wyk auf Föhr"),
         ("25980", "Sylt"), ("25832", "Tönning"), ("25840", "Friedrichstadt"),
         ("25821", "Bredstedt"), ("25917", "Leck"), ("25826", "St. Peter-Ording"),
         ("24937", "Flensburg"), ("25746", "Heide"), ("24768", "Rendsburg")]  # fmt: skip
STREET_HEADS = _words("""
Hafen Schul Linden Birken Kirch Bahnhof Markt Garten Mühlen Wald Feld Berg
Rosen Eichen Buchen Deich Marsch Geest Dorf Brunnen Schloss Osterende Süder Norder Wester
Friedrich Goethe Schiller Theodor-Storm Rathaus Post Mittel Kloster Wiesen Koog""")
STREET_TAILS = ["straße", "weg", "allee", "ring", "gasse", "platz", "damm", "stieg", "redder"]
BANKS = [("Nord-Ostsee Sparkasse", "NOLADE21NOS"), ("Sparkasse Nordfriesland", "NOLADE21HUS"),
         ("VR Bank Westküste", "GENODEF1HUM"), ("Commerzbank", "COBADEFFXXX"),
         ("Deutsche Bank", "DEUTDEDBKIE"), ("Postbank", "PBNKDEFFXXX"), ("ING", "INGDDEFFXXX"),
         ("DKB", "BYLADEM1001"), ("N26", "NTSBDEB1XXX")]  # fmt: skip
MERCHANTS = _words("""
REWE EDEKA ALDI LIDL Netto Penny Rossmann dm Kaufland Famila Vodafone Telekom
O2 Stadtwerke Husum E.ON Amazon Zalando Otto IKEA Deichmann Apotheke Tankstelle Shell Aral
Bäckerei Fleischerei Kiosk Fahrradladen Optiker Bücherei Volkshochschule Sportverein Kita
Schulverein Tierarzt Zahnarzt Hausarzt Physiotherapie Versicherung Rundfunkbeitrag GEZ
Mobilfunk Streamingdienst Fitnessstudio Nahverkehr Busunternehmen Taxiunternehmen""")
EMPLOYERS = """Nordsee Fisch GmbH;Husumer Reinigungsdienst GmbH;Pflegedienst Friesenhof;
Hotel Strandperle;Bäckerei Hansen;Logistik Nord GmbH;Windpark Service GmbH;Supermarkt Jensen;
Autohaus Petersen;Kita Regenbogen;Zeitarbeit Westküste GmbH;Gärtnerei Sommer;
Hausmeisterservice Lorenzen;Klinikum Nordfriesland;Paketdienst Nord""".replace("\n", "").split(";")
COURTS = ["Sozialgericht Schleswig", "Sozialgericht Itzehoe", "Sozialgericht Kiel",
          "Landessozialgericht Schleswig-Holstein"]  # fmt: skip
INSURERS = ["AOK Nordwest", "Techniker Krankenkasse", "BARMER", "DAK-Gesundheit", "IKK classic"]
MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember"]  # fmt: skip

# Nouns and compound material of the correspondence, and general words for filler sentences.
DOMAIN = _words("""
Antrag Bescheid Widerspruch Klage Leistungen Bürgergeld Regelbedarf Mehrbedarf
Unterkunft Heizung Heizkosten Nebenkosten Betriebskosten Nachzahlung Guthaben Erstattung
Rückforderung Aufhebung Änderung Veränderung Mitteilung Nachweis Unterlagen Einkommen Vermögen
Verdienst Lohn Gehalt Arbeitgeber Arbeitsvertrag Mietvertrag Miete Kaltmiete Warmmiete Vermieter
Kaution Umzug Wohnung Haushalt Bedarfsgemeinschaft Kindergeld Unterhalt Unterhaltsvorschuss
Wohngeld Kinderzuschlag Krankenversicherung Pflegeversicherung Rentenversicherung Beitrag
Kontoauszug Kontostand Überweisung Lastschrift Gutschrift Dauerauftrag Einzahlung Abhebung
Arbeitsunfähigkeit Krankmeldung Eingliederungsvereinbarung Kooperationsplan Maßnahme Bewerbung
Eigenbemühungen Vorstellungsgespräch Termin Meldeversäumnis Minderung Anhörung Frist Fristablauf
Sozialgericht Aktenzeichen Klageerwiderung Verhandlung Urteil Beschluss Vergleich Kostenfestsetzung
Stromabrechnung Abschlag Jahresabrechnung Zählerstand Heizkostenabrechnung Wasserverbrauch
Schulbedarf Klassenfahrt Mittagessen Lernförderung Teilhabe Bildungspaket Fahrtkosten
Weiterbewilligungsantrag Erstantrag Bewilligungszeitraum Änderungsbescheid Aufhebungsbescheid
Erstattungsbescheid Widerspruchsbescheid Darlehen Aufrechnung Ratenzahlung Stundung Mahnung
Vollmacht Betreuung Aufenthaltstitel Ausweis Meldebescheinigung Geburtsurkunde Schulbescheinigung
Immatrikulationsbescheinigung Ausbildungsvergütung Minijob Nebenkostenabrechnung Mietbescheinigung
Verdienstbescheinigung Einkommensbescheinigung Arbeitsbescheinigung Kündigung Zeugnis""")
GENERAL = _words("""
bitte prüfen beigefügt anbei hiermit entsprechend gemäß innerhalb bezüglich aufgrund
weiterhin zusätzlich bereits rechtzeitig vollständig unverzüglich schriftlich persönlich
monatlich jährlich einmalig laufend voraussichtlich tatsächlich insgesamt abzüglich zuzüglich
nachträglich vorläufig endgültig berücksichtigt angerechnet übernommen abgelehnt bewilligt
eingereicht vorgelegt nachgewiesen mitgeteilt beantragt erhalten überwiesen gezahlt gekündigt
geändert eingezogen festgesetzt zurückgefordert ausgezahlt Zeitraum Höhe Betrag Summe Anlage
Seite Kopie Original Unterschrift Datum Ort Grund Ergebnis Entscheidung Auskunft Rückfragen
Sprechzeiten Telefon Zimmer Sachbearbeitung Postfach Briefkasten Eingang Ausgang Hinweis
Rechtsbehelfsbelehrung Rechtsgrundlage Vorschrift Absatz Paragraph Sozialgesetzbuch""")
SENTENCES = [
    "Hiermit {verb} ich {noun_acc} für den Zeitraum {period}.",
    "Bitte {imp} Sie die {noun} bis zum {date} ein.",
    "Die {noun} für {month} {year} beträgt {amount} EUR.",
    "Anbei erhalten Sie {noun_acc} vom {date} zur Kenntnis.",
    "Gemäß § {para} SGB II wird {noun_acc} {participle}.",
    "Für Rückfragen stehen wir Ihnen unter {phone} zur Verfügung.",
    "Der Betrag von {amount} EUR wird auf das Konto {iban} überwiesen.",
    "Die {noun} wurde am {date} {participle} und {adverb} berücksichtigt.",
    "Wir bitten um Übersendung der {noun} {adverb} innerhalb von {days} Tagen.",
    "{general} {general} {noun} {general} {noun2} {general}.",
    "Es wird {adverb} darauf hingewiesen, dass die {noun} {participle} wurde.",
    "Die {noun} in Höhe von {amount} EUR ist {adverb} {participle}.",
    "Mit freundlichen Grüßen, im Auftrag {first} {last}",
    "Sehr geehrte Damen und Herren, {general} {noun} {general}.",
    "Zu Ihrem Schreiben vom {date} teilen wir mit: {noun} {participle}.",
    "Kartenzahlung {merchant} {date} {amount} EUR",
    "Lastschrift {merchant} Kundennummer {number} {amount} EUR",
    "Die {noun} ist {adverb} bis {date} vorzulegen, sonst {general} {noun2}.",
]
VERBS = ["beantrage", "übersende", "reiche", "widerrufe", "melde", "bestätige", "kündige"]
IMPERATIVES = ["reichen", "senden", "legen", "schicken", "bringen"]
PARTICIPLES = _words("""
berücksichtigt angerechnet übernommen abgelehnt bewilligt eingereicht vorgelegt
nachgewiesen mitgeteilt beantragt festgesetzt zurückgefordert ausgezahlt geprüft""")
ADVERBS = _words("""
bereits rechtzeitig vollständig unverzüglich vorläufig endgültig nachträglich
monatlich teilweise vollumfänglich insoweit""")

# doc_type -> (weight, subject lines, extra sentence templates)
TYPES: dict[str, tuple[int, list[str], list[str]]] = {
    "kontoauszug": (20, ["Kontoauszug {number}/{year}", "Kontoauszug Nr. {number}"],
                    ["Kontoauszug {bank} IBAN {iban_spaced} BIC {bic}",
                     "Alter Kontostand {amount} EUR, neuer Kontostand {amount} EUR",
                     "Gutschrift Jobcenter Nordfriesland {bg_spaced} Bürgergeld {amount} EUR",
                     "Dauerauftrag Miete {street} {amount} EUR"]),
    "verdienstabrechnung": (14, ["Verdienstabrechnung {month} {year}",
                                 "Lohnabrechnung {month} {year}"],
                            ["{employer}, Personalnummer {number}, Steuerklasse {digit}",
                             "Bruttolohn {amount} EUR, Nettolohn {amount} EUR, Auszahlung {amount}",
                             "Lohnsteuer {amount} Sozialversicherung {amount} Überweisung {iban}"]),
    "nebenkostenabrechnung": (8, ["Nebenkostenabrechnung {year}",
                                  "Betriebskostenabrechnung für {year}",
                                  "Heizkostenabrechnung {year}"],
                              ["Abrechnungszeitraum {period}, Wohnung {street}, {town}",
                               "Nachzahlung {amount} EUR fällig am {date}",
                               "Heizkosten {amount} EUR, Wasser {amount} EUR, Müll {amount}"]),
    "mietbescheinigung": (6, ["Mietbescheinigung", "Mietvertrag über die Wohnung {street}"],
                          ["Vermieter {first} {last}, Kaltmiete {amount} EUR, Nebenkosten {amount}",
                           "Wohnfläche {digit}{digit} m², Mietbeginn {date}"]),
    "weiterbewilligungsantrag": (8, ["Antrag auf Weiterbewilligung der Leistungen",
                                     "Weiterbewilligungsantrag"],
                                 ["Antrag auf Weiterbewilligung der Leistungen nach dem SGB II",
                                  "Es haben sich keine Änderungen ergeben seit {date}"]),
    "veraenderungsmitteilung": (7, ["Veränderungsmitteilung", "Mitteilung über Änderungen"],
                                ["Ich nehme ab {date} eine Arbeit bei {employer} auf",
                                 "Umzug nach {street}, {postcode} {town} zum {date}"]),
    "widerspruch": (6, ["Widerspruch gegen den Bescheid vom {date}",
                        "Widerspruch, BG-Nummer {bg}"],
                    ["Hiermit lege ich Widerspruch gegen den Bescheid vom {date} ein",
                     "Begründung: die Kosten der Unterkunft wurden nicht vollständig anerkannt",
                     "Widerspruchsbescheid beantragt, Akteneinsicht erbeten"]),
    "klage": (3, ["{court}, Az. {court_ref}", "Klage in dem Rechtsstreit {last} gegen Jobcenter"],
              ["In dem Rechtsstreit {first} {last} gegen Jobcenter Nordfriesland, Az. {court_ref}",
               "Termin zur mündlichen Verhandlung am {date}, Sitzungssaal {digit}",
               "Der Klageerwiderung wird binnen {days} Tagen entgegengesehen"]),
    "arbeitsunfaehigkeitsbescheinigung": (7, ["Arbeitsunfähigkeitsbescheinigung",
                                              "AU-Bescheinigung Erstbescheinigung"],
                                          ["arbeitsunfähig seit {date} voraussichtlich bis {date}",
                                           "{insurer}, Versichertennummer {number}"]),
    "eigenbemuehungen": (5, ["Nachweis der Eigenbemühungen {month} {year}"],
                         ["Bewerbung bei {employer} am {date} als Helfer",
                          "Vorstellungsgespräch am {date}, Ergebnis offen"]),
    "sonstiges": (16, ["Ihr Schreiben vom {date}", "Änderungsbescheid", "Aufhebungsbescheid",
                       "Einladung zum Termin am {date}", "Anfrage"],
                  ["Bescheid über Leistungen zur Sicherung des Lebensunterhalts",
                   "Einladung: Bitte kommen Sie am {date} um {digit}:30 Uhr ins Jobcenter"]),
}  # fmt: skip
OCR_SLIPS = [("e", "c"), ("rn", "m"), ("l", "1"), ("i", "l"), ("ü", "ii"), ("ß", "B"),
             ("h", "b"), ("n", "u"), ("a", "o"), ("g", "q")]  # fmt: skip
OFFICES = ["95401", "95402", "95403", "95404", "95405"]


@dataclass
class Household:
    bg_number: str
    members: list[tuple[str, str]]
    street: str
    postcode: str
    town: str
    iban: str


@dataclass
class Corpus:
    seed: int
    households: list[Household]
    clearing_share: float = 0.02
    court_refs: list[tuple[str, str]] = field(default_factory=list)  # (reference, bg)


def iban_for(rng: random.Random) -> str:
    bank = "".join(rng.choices("0123456789", k=8))
    account = "".join(rng.choices("0123456789", k=10))
    body = bank + account
    check = 98 - int(body + "131400") % 97  # D=13, E=14, then "00"
    return f"DE{check:02d}{body}"


def spaced(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def make_households(count: int, seed: int) -> list[Household]:
    rng = random.Random(seed)
    households = []
    serials = rng.sample(range(10**6, 10**7), count)
    for serial in serials:
        last = rng.choice(LAST_NAMES)
        members = [(rng.choice(FIRST_NAMES), last)]
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            members.append(
                (rng.choice(FIRST_NAMES), last if rng.random() < 0.7 else rng.choice(LAST_NAMES))
            )
        postcode, town = rng.choice(TOWNS)
        street = f"{rng.choice(STREET_HEADS)}{rng.choice(STREET_TAILS)} {rng.randint(1, 180)}"
        households.append(
            Household(
                f"{rng.choice(OFFICES)}BG{serial:07d}",
                members,
                street,
                postcode,
                town,
                iban_for(rng),
            )  # fmt: skip
        )
    return households


def _slip(word: str, rng: random.Random) -> str:
    for wrong, right in rng.sample(OCR_SLIPS, 3):
        if wrong in word:
            return word.replace(wrong, right, 1)
    return word


def make_document(corpus: Corpus, number: int) -> IndexedDocument:
    rng = random.Random(corpus.seed * 1_000_003 + number)
    households = corpus.households
    # A few households write a lot: a fifth of the letters come from a twentieth of them.
    busy = max(1, len(households) // 20)
    household = households[
        rng.randrange(busy) if rng.random() < 0.2 else rng.randrange(len(households))
    ]
    in_clearing = rng.random() < corpus.clearing_share
    doc_type = rng.choices(list(TYPES), weights=[t[0] for t in TYPES.values()])[0]
    _, subjects, specific = TYPES[doc_type]
    first, last = rng.choice(household.members)
    receipt = date(2019, 1, 1) + timedelta(days=rng.randrange(2890))
    direction = "out" if doc_type == "sonstiges" and rng.random() < 0.4 else "in"
    bank, bic = rng.choice(BANKS)
    court_ref = f"S {rng.randint(1, 40)} AS {rng.randint(1, 3000)}/{rng.randint(19, 26)}"
    if doc_type == "klage" and len(corpus.court_refs) < 5000:
        corpus.court_refs.append((court_ref, household.bg_number))

    # Each placeholder is drawn only when a template uses it (drawing all of them for every
    # line made the generator slower than the indexes it feeds).
    draws: dict[str, Callable[[], object]] = {
        "verb": lambda: rng.choice(VERBS), "imp": lambda: rng.choice(IMPERATIVES),
        "noun": lambda: rng.choice(DOMAIN), "noun2": lambda: rng.choice(DOMAIN),
        "noun_acc": lambda: f"die {rng.choice(DOMAIN)}", "general": lambda: rng.choice(GENERAL),
        "participle": lambda: rng.choice(PARTICIPLES), "adverb": lambda: rng.choice(ADVERBS),
        "month": lambda: rng.choice(MONTHS), "year": lambda: rng.randint(2019, 2026),
        "para": lambda: rng.randint(7, 67),
        "amount": lambda: f"{rng.randint(5, 2400)},{rng.randint(0, 99):02d}",
        "phone": lambda: f"04841 {rng.randint(100, 999)}-{rng.randint(10, 99)}",
        "iban": lambda: household.iban, "iban_spaced": lambda: spaced(household.iban),
        "bic": lambda: bic, "bank": lambda: bank, "days": lambda: rng.choice([7, 14, 30]),
        "first": lambda: first, "last": lambda: last,
        "merchant": lambda: rng.choice(MERCHANTS), "number": lambda: rng.randint(1, 99999),
        "digit": lambda: rng.randint(1, 9), "employer": lambda: rng.choice(EMPLOYERS),
        "street": lambda: household.street, "town": lambda: household.town,
        "postcode": lambda: household.postcode, "court": lambda: rng.choice(COURTS),
        "court_ref": lambda: court_ref, "insurer": lambda: rng.choice(INSURERS),
        "bg": lambda: household.bg_number,
        "bg_spaced": lambda: f"{household.bg_number[:5]} BG {household.bg_number[7:]}",
    }  # fmt: skip

    def some_day() -> date:
        return date(rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28))

    def spelled(day: date) -> str:
        return rng.choice(
            [f"{day:%d.%m.%Y}", f"{day.day}.{day.month}.{day.year}",
             f"{day.day}. {MONTHS[day.month - 1]} {day.year}"]
        )  # fmt: skip

    class Values(dict):  # type: ignore[type-arg]
        def __missing__(self, key: str) -> object:
            if key == "date":
                return spelled(some_day())
            if key == "period":
                day = some_day()
                return f"{day:%d.%m.%Y} bis {day + timedelta(days=180):%d.%m.%Y}"
            value = self[key] = draws[key]()
            return value

    def fill(template: str) -> str:
        return template.format_map(Values())

    lines = [
        f"{first} {last}, {household.street}, {household.postcode} {household.town}",
        fill(rng.choice(subjects)),
        f"BG-Nummer {household.bg_number}" if rng.random() < 0.7 else f"Zeichen {fill('{number}')}",
    ]
    lines += [fill(t) for t in rng.sample(specific, len(specific))]
    target = max(120, min(700, int(rng.gauss(300, 80))))
    words = sum(len(line.split()) for line in lines)
    while words < target:
        line = fill(rng.choice(SENTENCES))
        words += len(line.split())
        lines.append(line)
    text = " \n".join(lines)
    if rng.random() < 0.5:  # OCR slips in half of the scans, about 4 % of their words
        tokens = text.split(" ")
        for position in rng.sample(range(len(tokens)), max(1, len(tokens) // 25)):
            tokens[position] = _slip(tokens[position], rng)
        text = " ".join(tokens)
    page_words = rng.choice([180, 250, 400, 10_000])
    tokens = text.split(" ")
    pages = [" ".join(tokens[i : i + page_words]) for i in range(0, len(tokens), page_words)]
    received = datetime(receipt.year, receipt.month, receipt.day, 9, tzinfo=UTC)
    return IndexedDocument(
        document_id=str(uuid.UUID(int=rng.getrandbits(128))),
        source_name=f"scan-{number:07d}.pdf",
        received_at=received,
        pages=pages,
        bg_number=None if in_clearing else household.bg_number,
        doc_type=doc_type,
        receipt_date=receipt,
        direction=direction,
    )


def documents(corpus: Corpus, start: int, stop: int, batch: int) -> Iterator[list[IndexedDocument]]:
    for first in range(start, stop, batch):
        yield [make_document(corpus, n) for n in range(first, min(stop, first + batch))]


# Generation runs in worker processes beside the indexing (it is as costly as the analysis).
_WORKER_CORPUS: Corpus | None = None


def _init_worker(seed: int, households: list[Household]) -> None:
    global _WORKER_CORPUS
    _WORKER_CORPUS = Corpus(seed, households)


def _generate(span: tuple[int, int, bool]) -> tuple[list[Any], list[tuple[str, str]]]:
    """Documents start..stop, as IndexedDocument or (for OpenSearch) as prepared entries."""
    start, stop, as_source = span
    corpus = _WORKER_CORPUS
    assert corpus is not None
    corpus.court_refs = []
    made = [make_document(corpus, n) for n in range(start, stop)]
    if not as_source:
        return made, corpus.court_refs
    from search.opensearch import entry_source

    now = datetime.now(UTC)
    return [(d.document_id, entry_source(d, now)) for d in made], corpus.court_refs


# --- the queries -------------------------------------------------------------------------------

WORDS = ["Kontoauszug", "Nebenkostenabrechnung", "Miete", "Widerspruch", "Heizkosten", "Lohn",
         "Bescheid", "Umzug", "Kaution", "Nachzahlung", "Arbeitsunfähigkeitsbescheinigung",
         "Verdienstabrechnungen", "Kindergeld", "Unterhaltsvorschuss", "Klassenfahrt",
         "Stromabrechnung", "Mahnung", "Vorstellungsgespräch", "Abrechnung", "Kosten",
         "Zählerstand", "Aufhebungsbescheid", "Eingliederungsvereinbarung", "Rossmann",
         "Rundfunkbeitrag", "Fitnessstudio", "Kündigung", "Mietvertrag", "Bürgergeld"]  # fmt: skip
PAIRS = ["Widerspruch Bescheid", "Miete Juni", "Nachzahlung Heizkosten", "Lohn Oktober",
         "Kaution Darlehen", "Umzug Wohnung", "Kontoauszug Sparkasse", "Klage Termin"]  # fmt: skip
PHRASES = ['"Antrag auf Weiterbewilligung"', '"Kosten der Unterkunft"', '"mündlichen Verhandlung"',
           '"Sehr geehrte Damen und Herren"', '"keine Änderungen ergeben"']  # fmt: skip


@dataclass(frozen=True)
class Caseworker:
    allowed: frozenset[str]
    households: list[Household]


def caseworkers(corpus: Corpus, count: int, seed: int) -> list[Caseworker]:
    rng = random.Random(seed + 7)
    people = []
    for _ in range(count):
        size = min(len(corpus.households), rng.randint(50, 500))
        own = rng.sample(corpus.households, size)
        people.append(Caseworker(frozenset(h.bg_number for h in own), own))
    return people


def query_mix(
    corpus: Corpus, people: list[Caseworker], count: int, seed: int
) -> list[tuple[str, SearchQuery]]:  # noqa: E501
    rng = random.Random(seed + 11)
    mix: list[tuple[str, SearchQuery]] = []
    kinds = ["name", "bg", "iban", "word", "pair", "phrase", "court", "date", "filtered"]
    weights = [18, 12, 8, 22, 8, 7, 5, 5, 15]
    for _ in range(count):
        person = rng.choice(people)
        household = rng.choice(person.households)
        first, last = rng.choice(household.members)
        kind = rng.choices(kinds, weights)[0]
        extra: dict[str, object] = {}
        if kind == "name":
            spelled = last.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
            text = rng.choice([last, spelled, f"{first} {last}"])
        elif kind == "bg":
            bg = household.bg_number
            text = rng.choice([bg, f"{bg[:5]} BG {bg[7:]}"])
        elif kind == "iban":
            text = spaced(household.iban)
        elif kind == "word":
            text = rng.choice(WORDS)
        elif kind == "pair":
            text = rng.choice(PAIRS)
        elif kind == "phrase":
            text = rng.choice(PHRASES)
        elif kind == "court":
            reference, _bg = (
                rng.choice(corpus.court_refs) if corpus.court_refs else ("S 1 AS 1/26", "")
            )
            text = rng.choice([reference, reference.replace(" ", "")])
        elif kind == "date":
            day = date(2019, 1, 1) + timedelta(days=rng.randrange(2890))
            text = rng.choice(
                [f"{day:%d.%m.%Y}", f"{day.day}.{day.month}.{day.year}", day.isoformat()]
            )
        else:
            text = rng.choice(WORDS + [last])
            choice = rng.randrange(4)
            if choice == 0:
                extra["doc_types"] = frozenset({rng.choice(list(TYPES))})
            elif choice == 1:
                start = date(2019, 1, 1) + timedelta(days=rng.randrange(2500))
                extra["receipt_from"] = start
                extra["receipt_to"] = start + timedelta(days=rng.choice([30, 180, 365]))
            elif choice == 2:
                extra["direction"] = "out"
                text = rng.choice(["Bescheid", "Einladung", last])
            else:
                person = Caseworker(frozenset({household.bg_number}), [household])
        mix.append((kind, SearchQuery(text, person.allowed, limit=20, facets=True, **extra)))  # type: ignore[arg-type]
    return mix


# --- timing ------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


@dataclass
class Timing:
    clients: int
    latencies_ms: list[float]
    seconds: float
    by_kind: dict[str, list[float]]
    hits: int

    def summary(self) -> dict[str, float]:
        values = self.latencies_ms
        return {
            "clients": self.clients,
            "queries": len(values),
            "p50_ms": round(percentile(values, 0.50), 2),
            "p95_ms": round(percentile(values, 0.95), 2),
            "p99_ms": round(percentile(values, 0.99), 2),
            "max_ms": round(max(values), 2),
            "qps": round(len(values) / self.seconds, 1),
            "mean_total": round(self.hits / max(1, len(values)), 1),
        }


def run_mix(
    call: Callable[[SearchQuery], int],
    mix: list[tuple[str, SearchQuery]],
    clients: int,
) -> Timing:
    latencies: list[float] = [0.0] * len(mix)
    totals: list[int] = [0] * len(mix)
    position = iter(range(len(mix)))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            began = time.perf_counter()
            totals[index] = call(mix[index][1])
            latencies[index] = (time.perf_counter() - began) * 1000

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    seconds = time.perf_counter() - began
    by_kind: dict[str, list[float]] = {}
    for (kind, _), latency in zip(mix, latencies, strict=True):
        by_kind.setdefault(kind, []).append(latency)
    return Timing(clients, latencies, seconds, by_kind, sum(totals))


def open_handle(spec: tuple[str, ...]) -> SearchIndex:
    """A new handle on a benchmark index, as another web process of the product opens it."""
    if spec[0] == "embedded":
        from search.embedded import EmbeddedSearchIndex

        return EmbeddedSearchIndex(Path(spec[1]))
    from search.opensearch import OpenSearchIndex

    return OpenSearchIndex(spec[1], spec[2])


def handle_spec(index: SearchIndex, node: OpenSearchNode | None) -> tuple[str, ...]:
    if index.name == "embedded":
        return ("embedded", str(index.path))  # type: ignore[attr-defined]
    assert node is not None
    return ("opensearch", node.url, index.index_name)  # type: ignore[attr-defined]


def product_call(index: SearchIndex) -> Callable[[SearchQuery], int]:
    def product(query: SearchQuery) -> int:
        return index.search(query).total

    return product


def _serve_share(
    spec: tuple[str, ...],
    reference: bool,
    warm: list[tuple[str, SearchQuery]],
    share: list[tuple[str, SearchQuery]],
    clients: int,
    part: int,
    start: Any,
    results: Any,
) -> None:
    """One process's part of a concurrent run: its own index handle, warmed, then its clients."""
    index = open_handle(spec)
    call = engine_reference(index) if reference else product_call(index)
    run_mix(call, warm, 1)
    start.wait()
    timing = run_mix(call, share, clients)
    results.put((part, timing.latencies_ms, timing.seconds, timing.hits))
    index.close()


def run_mix_processes(
    spec: tuple[str, ...],
    reference: bool,
    warm: list[tuple[str, SearchQuery]],
    mix: list[tuple[str, SearchQuery]],
    clients: int,
    processes: int,
) -> Timing:
    """`clients` concurrent clients spread over `processes` processes (query i to i % processes).

    The processes are started afresh (spawn: no inherited engine threads or connections), open
    the index, warm up, and start together; the run lasts until the last one is done.
    """
    processes = max(1, min(processes, clients))
    context = get_context("spawn")
    start = context.Barrier(processes)
    results = context.Queue()
    workers = []
    for part in range(processes):
        threads = clients // processes + (1 if part < clients % processes else 0)
        share = mix[part::processes]
        worker = context.Process(
            target=_serve_share,
            args=(spec, reference, warm, share, threads, part, start, results),
        )
        worker.start()
        workers.append(worker)
    parts: dict[int, tuple[list[float], float, int]] = {}
    while len(parts) < len(workers):
        try:
            part, values, seconds, hits = results.get(timeout=5)
        except queue.Empty:
            if any(w.exitcode not in (None, 0) for w in workers):
                for worker in workers:
                    worker.kill()
                raise RuntimeError("a benchmark process failed (its error is above)") from None
            continue
        parts[part] = (values, seconds, hits)
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError(f"a benchmark process ended with {worker.exitcode}")
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    for part, (values, _, _) in sorted(parts.items()):
        latencies.extend(values)
        for (kind, _), latency in zip(mix[part::processes], values, strict=True):
            by_kind.setdefault(kind, []).append(latency)
    seconds = max(seconds for _, seconds, _ in parts.values())
    return Timing(clients, latencies, seconds, by_kind, sum(hits for _, _, hits in parts.values()))


# --- references: the bare engines --------------------------------------------------------------


def engine_reference(index: SearchIndex) -> Callable[[SearchQuery], int]:
    """The bare engine on the same index: the query words' stems, AND, 20 hits, no more."""
    if index.name == "embedded":
        import tantivy

        raw = index._index  # type: ignore[attr-defined]
        schema = index.schema  # type: ignore[attr-defined]

        def embedded(query: SearchQuery) -> int:
            terms = [t for t in analyze(query.text.replace('"', " "))]
            if not terms:
                return 0
            combined = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, tantivy.Query.term_query(schema, "text", t)) for t in terms]
            )
            searcher = raw.searcher()
            found = searcher.search(combined, limit=20, count=True)
            for _, address in found.hits:
                searcher.doc(address)
            return int(found.count or 0)

        return embedded

    client, name = index.client, index.index_name  # type: ignore[attr-defined]

    def opensearch(query: SearchQuery) -> int:
        body = {
            "query": {
                "match": {"text": {"query": query.text.replace('"', " "), "operator": "and"}}
            },
            "size": 20,
            "track_total_hits": True,
        }
        return int(client.search(index=name, body=body)["hits"]["total"]["value"])

    return opensearch


# --- backends ----------------------------------------------------------------------------------


class OpenSearchNode:
    """The node to measure against: given, already running, or started here (and stopped)."""

    def __init__(self, url: str | None) -> None:
        self.started = False
        self.url = url or os.environ.get("EAKTE_TEST_OPENSEARCH_URL") or "http://127.0.0.1:29200"
        if url is None and not self._healthy():
            print("OpenSearch: starting the test node with services/opensearch.sh ...", flush=True)
            subprocess.run(["bash", str(REPO / "services" / "opensearch.sh"), "start"], check=True)
            self.started = True

    def _healthy(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.url}/_cluster/health", timeout=3) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.started:
            subprocess.run(["bash", str(REPO / "services" / "opensearch.sh"), "stop"], check=False)


def open_backend(
    name: str, work: Path, node: OpenSearchNode | None, index_name: str | None = None
) -> SearchIndex:
    if name == "embedded":
        from search.embedded import EmbeddedSearchIndex

        return EmbeddedSearchIndex(work / "index")
    from search.opensearch import OpenSearchIndex

    assert node is not None
    index = OpenSearchIndex(node.url, index_name or f"bench-search-{uuid.uuid4().hex[:8]}")
    index.ensure_index()
    # Bulk loading: no refreshes while writing (one at the end of each size step).
    index.client.indices.put_settings(
        index=index.index_name, body={"index": {"refresh_interval": "-1"}}
    )
    return index


def load(index: SearchIndex, corpus: Corpus, start: int, stop: int, batch: int, pool: Any) -> float:
    """Index documents start..stop; returns documents per second of wall time.

    The letters are generated by the worker processes of `pool` while the index writes (for
    OpenSearch the workers also run the product's analysis, `entry_source`, as a web app or
    worker would before sending), so the figure is what the machine sustains with generation
    competing for the same cores: a lower bound of the index's own throughput.
    """
    from opensearchpy import helpers

    opensearch = index.name == "opensearch"
    spans = [(a, min(stop, a + batch), opensearch) for a in range(start, stop, batch)]
    began = time.perf_counter()
    pending: list[Any] = []
    position = 0
    while position < len(spans) or pending:
        while position < len(spans) and len(pending) < 3:  # bounded read-ahead
            pending.append(pool.apply_async(_generate, (spans[position],)))
            position += 1
        items, refs = pending.pop(0).get()
        corpus.court_refs.extend(refs[: max(0, 5000 - len(corpus.court_refs))])
        if opensearch:
            client, name = index.client, index.index_name  # type: ignore[attr-defined]
            actions = ({"_index": name, "_id": i, "_source": src} for i, src in items)
            for ok, info in helpers.parallel_bulk(
                client, actions, thread_count=2, chunk_size=500, request_timeout=300
            ):
                if not ok:
                    raise RuntimeError(f"bulk indexing failed: {info}")
        else:
            index.index_many(items)
        done = spans[position - len(pending) - 1][1]
        rate = (done - start) / (time.perf_counter() - began)
        print(f"\r  {index.name}: {done} documents indexed, {rate:.0f}/s", end="", flush=True)
    if opensearch:
        index.client.indices.refresh(index=index.index_name, request_timeout=3600)  # type: ignore[attr-defined]
    print()
    return (stop - start) / (time.perf_counter() - began)


def baseline_figures(result: dict) -> list[harness.Figure]:
    """The figures of one run's JSON that --baseline compares."""
    Figure = harness.Figure
    found = []
    for entry in result["results"]:
        at = f"{entry['backend']}, {entry['docs']} docs"
        found.append(Figure(f"{at}: indexing", entry["index_docs_per_s"], "docs/s", "higher"))
        for run in entry["runs"]:
            who = f"{at}, {run['clients']} client(s)"
            for name in ("p50_ms", "p95_ms", "p99_ms"):
                found.append(Figure(f"{who}: {name[:-3]}", run[name], "ms"))
            found.append(Figure(f"{who}: queries per second", run["qps"], "", "higher"))
            found.append(Figure(f"{who}: mean hits per query", run["mean_total"], "", "same"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--docs",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="index sizes to measure at, ascending (the corpus grows)",
    )
    parser.add_argument("--queries", type=int, default=600, help="queries per run")
    parser.add_argument("--warmup", type=int, default=100, help="untimed queries first")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="processes the concurrent clients are spread over, as `eakte serve` runs "
        "EAKTE_WEB_PROCESSES web processes (one per core); 1: all clients as threads of one",
    )
    parser.add_argument("--caseworkers", type=int, default=40)
    parser.add_argument("--docs-per-household", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=5_000, help="documents per index_many")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--opensearch-url", default=None)
    parser.add_argument("--skip-opensearch", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--opensearch-index",
        default=None,
        help="use (and keep) this OpenSearch index; a later run with the same name and seed "
        "continues from the documents it holds instead of indexing them again",
    )
    harness.add_baseline_options(parser)
    args = parser.parse_args(argv)  # fmt: skip
    if args.baseline:
        bare_engine_once = ["--skip-reference"]  # with the current side only
        return harness.compare(__file__, argv, args, baseline_figures, bare_engine_once)
    sizes = sorted(args.docs)
    households = make_households(max(50, int(sizes[-1] / args.docs_per_household)), args.seed)
    corpus = Corpus(args.seed, households)
    sample = make_document(corpus, 0)
    words = sum(len(page.split()) for page in sample.pages)
    print(
        f"Corpus: up to {sizes[-1]} documents, {len(households)} households, seed {args.seed}; "
        f"e.g. {sample.doc_type}, {len(sample.pages)} pages, {words} words"
    )
    backends = [b for b in ("embedded", "opensearch") if not getattr(args, f"skip_{b}")]
    node = OpenSearchNode(args.opensearch_url) if "opensearch" in backends else None
    work = Path(tempfile.mkdtemp(prefix="bench-search-", dir=args.work_dir))
    results: list[dict[str, object]] = []
    indexes: dict[str, SearchIndex] = {}
    kept = args.opensearch_index
    refs_file = (args.work_dir or Path(tempfile.gettempdir())) / f"{kept}.court-refs.json"
    pool = Pool(2, initializer=_init_worker, initargs=(args.seed, households))
    try:
        indexes = {name: open_backend(name, work, node, kept) for name in backends}
        held = {name: 0 for name in indexes}
        if kept and "opensearch" in indexes:
            held["opensearch"] = indexes["opensearch"].count()
            if held["opensearch"] and refs_file.exists():
                saved = json.loads(refs_file.read_text())
                corpus.court_refs = [tuple(pair) for pair in saved]  # type: ignore[misc]
            print(f"OpenSearch index {kept} holds {held['opensearch']} documents")
        for size in sizes:
            people = caseworkers(corpus, args.caseworkers, args.seed)
            for name, index in indexes.items():
                if held[name] >= size:
                    rate = float("nan")  # indexed by an earlier run
                else:
                    rate = load(index, corpus, held[name], size, args.batch, pool)
                    held[name] = size
                    if kept and name == "opensearch":
                        refs_file.write_text(json.dumps(corpus.court_refs))
                mix = query_mix(corpus, people, args.queries + args.warmup, args.seed + size)
                warm, timed = mix[: args.warmup], mix[args.warmup :]

                product = product_call(index)
                spec = handle_spec(index, node)
                run_mix(product, warm, 1)
                entry: dict[str, object] = {
                    "backend": name, "docs": size, "index_docs_per_s": round(rate, 1),
                    "index_count": index.count(), "runs": [],
                }  # fmt: skip
                entry["load_average"] = round(os.getloadavg()[0], 2)
                print(
                    f"{name} at {size} documents: indexing {rate:.0f} documents/s "
                    f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
                )
                entry["processes"] = args.processes
                for clients in args.clients:
                    if clients > 1 and args.processes > 1:
                        timing = run_mix_processes(
                            spec, False, warm, timed, clients, args.processes
                        )
                    else:
                        timing = run_mix(product, timed, clients)
                    summary = timing.summary()
                    kinds = {
                        kind: round(percentile(values, 0.95), 1)
                        for kind, values in sorted(timing.by_kind.items())
                    }
                    if not args.skip_reference:
                        if clients > 1 and args.processes > 1:
                            reference = run_mix_processes(
                                spec, True, warm, timed, clients, args.processes
                            ).summary()
                        else:
                            reference = run_mix(engine_reference(index), timed, clients).summary()
                        summary["reference_p50_ms"] = reference["p50_ms"]
                        summary["reference_p95_ms"] = reference["p95_ms"]
                        summary["p95_ratio"] = round(summary["p95_ms"] / reference["p95_ms"], 1)
                    summary["p95_by_kind_ms"] = kinds  # type: ignore[assignment]
                    entry["runs"].append(summary)  # type: ignore[union-attr]
                    goal = (GOAL_P95_MS_1M if size >= 1_000_000 else GOAL_P95_MS).get(name)
                    verdict = ""
                    if goal:
                        verdict = "meets" if summary["p95_ms"] <= goal else "MISSES"
                        verdict = f"  ({verdict} the goal p95 <= {goal:.0f} ms)"
                    shared = min(clients, args.processes)
                    where = f" in {shared} processes" if shared > 1 else ""
                    print(
                        f"  {clients} client(s){where}: p50 {summary['p50_ms']} ms, p95 "
                        f"{summary['p95_ms']} ms, p99 {summary['p99_ms']} ms, "
                        f"{summary['qps']} queries/s, mean total {summary['mean_total']}{verdict}"
                    )
                    if "reference_p95_ms" in summary:
                        print(f"    bare engine: p50 {summary['reference_p50_ms']} ms, p95 "
                              f"{summary['reference_p95_ms']} ms; product/engine p95 "
                              f"{summary['p95_ratio']}")  # fmt: skip
                    print(f"    p95 by kind (ms): {kinds}")
                results.append(entry)
    finally:
        pool.terminate()
        for index in indexes.values():
            if index.name == "opensearch" and not kept:
                index.client.indices.delete(index=index.index_name, ignore_unavailable=True)  # type: ignore[attr-defined]
            index.close()
        shutil.rmtree(work, ignore_errors=True)
        if node is not None:
            node.stop()
    if args.json:
        args.json.write_text(
            json.dumps({"results": results, "args": vars(args)}, default=str, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
