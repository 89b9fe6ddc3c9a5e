"""Synthetic scanned incoming mail for tests and the routing benchmark.

`generate(out_dir, count, seed)` writes a folder in the format of `../shared/samples`:
`staff.csv`, `households.csv`, `docs/NNNN.pdf` (image-only scans, one letter each) and
`truth.jsonl`. Everything here is invented: names, numbers, addresses, employers, wording. The
letters are written independently of the samples and of the product's recognition rules, so
that a benchmark on them measures how well those rules generalise.

Every letter is planned first (document type, who wrote it, which identifying details are
printed, which template, how it is scanned), then laid out on A4 at the scan resolution,
degraded like a scan and written as an image-only PDF. A few letters must go to the clearing
inbox: unknown senders, namesakes without anything that tells them apart, a bare name, a printed
household number that does not exist.

Truth fields beyond the samples': `case` (how the sender can be identified), `template_name`,
`font`, `bg_format` (how the household number is printed, or null) and `printed_bg` (the
number as printed, also when it does not exist).

    python -m tests.lettergen OUT --count 200 --seed 7
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

from records.masterdata import HOUSEHOLD_COLUMNS, HOUSEHOLD_OPTIONAL_COLUMNS, STAFF_COLUMNS

# --------------------------------------------------------------------------------------------
# Regions: one job centre per generated folder, with its offices, places and courts.


@dataclass(frozen=True)
class Office:
    town: str
    code: str  # the office part of the BG number
    street: str  # the office's own address, never a client's street
    postcode: str
    places: tuple[tuple[str, str], ...]  # (postcode, town) where its clients live


@dataclass(frozen=True)
class Region:
    jobcenter: str
    short: str
    po_box: str
    po_postcode: str
    po_town: str
    offices: tuple[Office, ...]
    court: str
    court_address: str
    higher_court: str
    higher_court_address: str
    family_office: str
    state: str


REGIONS: tuple[Region, ...] = (
    Region(
        jobcenter="Jobcenter Landkreis Cuxhaven",
        short="Jobcenter Cuxhaven",
        po_box="Postfach 21 60",
        po_postcode="27451",
        po_town="Cuxhaven",
        offices=(
            Office(
                "Cuxhaven",
                "35101",
                "Konrad-Adenauer-Allee 9",
                "27472",
                (("27472", "Cuxhaven"), ("27474", "Cuxhaven"), ("27476", "Cuxhaven")),
            ),
            Office(
                "Otterndorf",
                "35102",
                "Am Amtsgericht 3",
                "21762",
                (("21762", "Otterndorf"), ("21745", "Hemmoor"), ("21775", "Ihlienworth")),
            ),
            Office(
                "Geestland",
                "35103",
                "Verwaltungsring 14",
                "27607",
                (
                    ("27607", "Geestland"),
                    ("27616", "Beverstedt"),
                    ("27628", "Hagen im Bremischen"),
                ),
            ),
        ),
        court="Sozialgericht Stade",
        court_address="Am Sande 4a, 21682 Stade",
        higher_court="Landessozialgericht Niedersachsen-Bremen",
        higher_court_address="Georg-Wilhelm-Straße 1, 29223 Celle",
        family_office="Familienkasse Niedersachsen-Bremen",
        state="Niedersachsen",
    ),
    Region(
        jobcenter="Kommunales Jobcenter Vogelsbergkreis",
        short="Jobcenter Vogelsberg",
        po_box="Postfach 11 41",
        po_postcode="36331",
        po_town="Lauterbach",
        offices=(
            Office(
                "Lauterbach",
                "43201",
                "Gartenhof 2",
                "36341",
                (("36341", "Lauterbach"), ("36364", "Bad Salzschlirf"), ("36369", "Lautertal")),
            ),
            Office(
                "Alsfeld",
                "43202",
                "Hersfelder Tor 6",
                "36304",
                (("36304", "Alsfeld"), ("36320", "Kirtorf"), ("35325", "Mücke")),
            ),
            Office(
                "Schotten",
                "43203",
                "Vogelsbergstraße 140",
                "63679",
                (("63679", "Schotten"), ("63688", "Gedern"), ("36355", "Grebenhain")),
            ),
        ),
        court="Sozialgericht Gießen",
        court_address="Ostanlage 19, 35390 Gießen",
        higher_court="Hessisches Landessozialgericht",
        higher_court_address="Steubenplatz 14, 64293 Darmstadt",
        family_office="Familienkasse Hessen",
        state="Hessen",
    ),
    Region(
        jobcenter="Jobcenter Ostprignitz-Ruppin",
        short="Jobcenter OPR",
        po_box="Postfach 14 55",
        po_postcode="16802",
        po_town="Neuruppin",
        offices=(
            Office(
                "Neuruppin",
                "61501",
                "Trenckmannstraße 15",
                "16816",
                (("16816", "Neuruppin"), ("16827", "Alt Ruppin"), ("16833", "Fehrbellin")),
            ),
            Office(
                "Kyritz",
                "61502",
                "Perleberger Straße 2",
                "16866",
                (
                    ("16866", "Kyritz"),
                    ("16845", "Neustadt (Dosse)"),
                    ("16868", "Wusterhausen/Dosse"),
                ),
            ),
            Office(
                "Wittstock",
                "61503",
                "Polthierstraße 8",
                "16909",
                (("16909", "Wittstock/Dosse"), ("16909", "Heiligengrabe"), ("16831", "Rheinsberg")),
            ),
        ),
        court="Sozialgericht Neuruppin",
        court_address="Karl-Marx-Straße 18a, 16816 Neuruppin",
        higher_court="Landessozialgericht Berlin-Brandenburg",
        higher_court_address="Försterweg 2-6, 14482 Potsdam",
        family_office="Familienkasse Berlin-Brandenburg",
        state="Brandenburg",
    ),
)

# fmt: off
STREETS = (
    'Bahnhofstraße', 'Hauptstraße', 'Lindenweg', 'Am Markt', 'Schulstraße', 'Gartenstraße',
    'Mühlenweg', 'Kirchstraße', 'Goethestraße', 'Friedrich-Ebert-Straße', 'Ringstraße',
    'Wiesengrund', 'Birkenallee', 'Zum Sportplatz', 'Dorfstraße', 'An der Weide', 'Rosenstraße',
    'Lange Straße', 'Breite Straße', 'Schillerplatz', 'Marktplatz', 'Fliederweg', 'Ahornweg',
    'Am Deich', 'Deichstraße', 'Hafenstraße', 'Poststraße', 'Feldstraße', 'Waldstraße',
    'Kastanienallee', 'Eichendorffstraße', 'Heinrich-Heine-Straße', 'Bürgermeister-Smidt-Straße',
    'Am Mühlenteich', 'Mittelweg', 'Käthe-Kollwitz-Straße', 'Karl-Liebknecht-Straße',
    'Rathausstraße', 'Neue Straße', 'Grüner Weg', 'Tannenweg', 'Am Sonnenhang', 'Wilhelmstraße',
    'Brunnenstraße', 'Jahnstraße', 'Weserstraße', 'Bergstraße', 'Im Winkel', 'Zur Mühle',
    'Georgstraße', 'Lessingstraße', 'Sandweg', 'Wassertorstraße', 'Eulenkamp', 'Möwenweg',
    'Fröbelstraße', 'Straße der Einheit', 'Kleiststraße', 'Große Straße', 'Querstraße',
    'Holunderweg', 'Am Bahndamm', 'Schützenstraße', 'Uhlandstraße', 'Gänseweide',
)
# fmt: on

# (first names female, first names male, last names) per group of origin
# fmt: off
NAME_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    'de': (
        (
            'Anna', 'Sabine', 'Claudia', 'Jessica', 'Nicole', 'Stefanie', 'Sandra', 'Kerstin',
            'Jana', 'Melanie', 'Katrin', 'Julia', 'Lea', 'Hannah', 'Sophie', 'Marie', 'Lena',
            'Jennifer', 'Sarah', 'Tanja', 'Birgit', 'Heike', 'Ute', 'Gisela', 'Doris', 'Anja',
            'Annika', 'Mareike', 'Jacqueline', 'Chantal', 'Mandy', 'Franziska', 'Anna-Lena',
            'Lisa-Marie', 'Ines', 'Silke', 'Jördis', 'Bärbel', 'Sönke', 'Mia', 'Emma', 'Greta',
        ),
        (
            'Thomas', 'Michael', 'Andreas', 'Stefan', 'Frank', 'Jürgen', 'Uwe', 'Dirk', 'Sven',
            'Jan', 'Tobias', 'Kevin', 'Dennis', 'Marcel', 'Patrick', 'Florian', 'Lukas', 'Finn',
            'Jonas', 'Timo', 'Björn', 'Jörg', 'Günter', 'Klaus', 'Horst', 'Ralf', 'Marco', 'René',
            'Karl-Heinz', 'Hans-Jürgen', 'Hauke', 'Malte', 'Nils', 'Ole', 'Torsten', 'Maik',
            'Ronny', 'Paul', 'Ben', 'Leon', 'Noah', 'Elias',
        ),
        (
            'Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker',
            'Schulz', 'Hoffmann', 'Schäfer', 'Koch', 'Bauer', 'Richter', 'Klein', 'Wolf',
            'Schröder', 'Neumann', 'Schwarz', 'Zimmermann', 'Braun', 'Krüger', 'Hofmann',
            'Hartmann', 'Lange', 'Werner', 'Krause', 'Lehmann', 'Köhler', 'Weiß', 'Groß', 'Jäger',
            'Möller', 'Böhm', 'Günther', 'Strauß', 'Voß', 'Fuß', 'Brückner', 'Lüdemann',
            'Oltmanns', 'Tiedemann', 'Harms', 'Rohde', 'Bruns', 'Janßen', 'Grüning', 'Thießen',
            'Meißner', 'Kühn', 'Dörr', 'Jürgens', 'Schütte', 'Heinrichs', 'Ehlers', 'Wendt',
            'Schulte-Brinkmann', 'Meyer-Rüther', 'Behrens', 'Gößling', 'Nüßler', 'Pöhlmann',
        ),
    ),
    'tr': (
        (
            'Ayşe', 'Fatma', 'Elif', 'Zeynep', 'Emine', 'Hatice', 'Merve', 'Büşra', 'Özlem', 'Gül',
        ),
        (
            'Mehmet', 'Mustafa', 'Ahmet', 'Ali', 'Hüseyin', 'Hasan', 'İbrahim', 'Emre', 'Murat',
        ),
        (
            'Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik', 'Öztürk', 'Aydın', 'Özdemir', 'Arslan',
            'Doğan', 'Kılıç', 'Koç', 'Yıldız', 'Güneş', 'Erdoğan',
        ),
    ),
    'pl': (
        (
            'Agnieszka', 'Katarzyna', 'Małgorzata', 'Joanna', 'Magdalena', 'Ewa', 'Zofia',
        ),
        (
            'Piotr', 'Krzysztof', 'Tomasz', 'Paweł', 'Łukasz', 'Marek', 'Jakub', 'Michał',
        ),
        (
            'Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik', 'Kamiński', 'Lewandowski', 'Zieliński',
            'Szymański', 'Dąbrowski', 'Król', 'Wróbel', 'Jankowski',
        ),
    ),
    'ar': (
        (
            'Fatima', 'Amina', 'Rania', 'Layla', 'Yasmin', 'Nour', 'Huda', 'Samira', 'Mariam',
        ),
        (
            'Mohammad', 'Ahmad', 'Omar', 'Khaled', 'Youssef', 'Hassan', 'Ibrahim', 'Karim',
            'Tarek',
        ),
        (
            'Al-Hassan', 'Haddad', 'Khalil', 'Hamdan', 'Nasser', 'Saleh', 'Mansour', 'Darwish',
            'Al Ahmad', 'Abboud', 'Ibrahim', 'Suleiman',
        ),
    ),
    'ru': (
        (
            'Olga', 'Natalia', 'Irina', 'Swetlana', 'Tatjana', 'Oksana', 'Viktoria', 'Jelena',
        ),
        (
            'Sergej', 'Alexander', 'Dmitri', 'Andrej', 'Wladimir', 'Oleksandr', 'Jurij', 'Artem',
        ),
        (
            'Schmidt', 'Iwanow', 'Petrenko', 'Kowalenko', 'Bondarenko', 'Smirnow', 'Schewtschenko',
            'Melnyk', 'Wolkow', 'Tkachenko',
        ),
    ),
    'ro': (
        (
            'Elena', 'Ioana', 'Mihaela', 'Andreea', 'Gabriela', 'Daniela', 'Ana',
        ),
        (
            'Ion', 'Gheorghe', 'Florin', 'Adrian', 'Marius', 'Bogdan', 'Dragoș',
        ),
        (
            'Popescu', 'Ionescu', 'Popa', 'Dumitru', 'Stoica', 'Constantin', 'Marinescu', 'Lungu',
        ),
    ),
    'af': (
        (
            'Zahra', 'Maryam', 'Parwana', 'Farida', 'Shabnam',
        ),
        (
            'Ahmad', 'Mohammad', 'Ali', 'Reza', 'Jawad', 'Naveed',
        ),
        (
            'Ahmadi', 'Rahimi', 'Hashimi', 'Karimi', 'Sultani', 'Noori', 'Hakimi',
        ),
    ),
}
# fmt: on
NAME_GROUP_WEIGHTS = {"de": 62, "tr": 10, "pl": 7, "ar": 8, "ru": 6, "ro": 4, "af": 3}

TITLES = ("Dr.", "Dipl.-Ing.", "Dr. med.")

# fmt: off
MONTHS = (
    'Januar', 'Februar', 'März', 'April', 'Mai', 'Juni', 'Juli', 'August', 'September', 'Oktober',
    'November', 'Dezember',
)
# fmt: on
# fmt: off
MONTHS_SHORT = (
    'Jan.', 'Feb.', 'März', 'Apr.', 'Mai', 'Juni', 'Juli', 'Aug.', 'Sep.', 'Okt.', 'Nov.', 'Dez.',
)
# fmt: on
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")

# Letters arrive in this window; stamps are a few days later.
FIRST_DAY = date(2026, 10, 19)
LAST_DAY = date(2026, 12, 11)

# fmt: off
EMPLOYERS = (
    ('Küstenlogistik Meinert GmbH & Co. KG', 'Lager und Umschlag'),
    ('Bäckerei Harmsen', 'Bäckerei und Café'),
    ('Pflegedienst Lichtblick gGmbH', 'Ambulante Pflege'),
    ('Gebäudeservice Glanzpunkt GmbH', 'Gebäudereinigung'),
    ('Autohaus Wenzel & Söhne', 'Kfz-Handel und Werkstatt'),
    ('Hotel Seeblick Betriebs-GmbH', 'Hotellerie'), ('Spedition Tiedje GmbH', 'Transporte'),
    ('Landschlachterei Brümmer', 'Fleischerei'),
    ('Seniorenresidenz Am Lindenhof', 'Stationäre Pflege'),
    ('Prowork Personaldienste GmbH', 'Arbeitnehmerüberlassung'),
    ('Getränkemarkt Hoops OHG', 'Getränkehandel'),
    ('Gärtnerei Blumen-Rieck', 'Garten- und Landschaftsbau'),
    ('Paketzustellung Flink & Fair GmbH', 'Kurierdienst'), ('Café Kranich', 'Gastronomie'),
    ('Frischemarkt Ollmann e.K.', 'Lebensmitteleinzelhandel'),
    ('Malerbetrieb Sörensen', 'Maler und Lackierer'),
    ('Städtische Kita Sonnenkamp', 'Kindertagesstätte'), ('Recyclinghof Nord GmbH', 'Entsorgung'),
    ('Tankstelle Ahrens', 'Tankstelle und Shop'), ('Bio-Hof Wiesengrün', 'Landwirtschaft'),
)
# fmt: on

# fmt: off
JOBS = (
    'Lagerhelfer/in', 'Verkäufer/in', 'Reinigungskraft', 'Küchenhilfe', 'Pflegehelfer/in',
    'Berufskraftfahrer/in', 'Produktionshelfer/in', 'Kassierer/in', 'Servicekraft',
    'Hausmeister/in', 'Bürokaufmann/-frau', 'Kommissionierer/in', 'Zusteller/in', 'Erzieher/in',
    'Gärtner/in', 'Maler/in', 'Staplerfahrer/in', 'Sicherheitsdienst',
)
# fmt: on

# fmt: off
LANDLORDS_ORG = (
    'Wohnungsbaugenossenschaft Eintracht eG', 'Kreiswohnungsbau GmbH',
    'Hausverwaltung Behrendt & Partner', 'Immobilienverwaltung Kruse GbR',
    'Gemeinnützige Wohnungsgesellschaft Heimstatt mbH', 'Vonovia-Partner Hausservice Nord GmbH',
    'Hausverwaltung Lindner Immobilien', 'Wohnbau Mittelland eG',
)
# fmt: on
# fmt: off
LANDLORDS_PRIVATE = (
    'Gerda Oltrogge', 'Heinrich Lüdecke', 'Monika Steenbock', 'Werner Bredehorn',
    'Ilse Wachtendorf', 'Rüdiger Gehrken', 'Erika Vosgerau', 'Manfred Tönjes',
)
# fmt: on
METERING = ("Wärmemess Nord GmbH", "Thermocal Abrechnungsdienst GmbH", "Minol-Partner Ost GmbH")

# fmt: off
BANKS = (
    ('Sparkasse Weserland', 'NOLADE21WSL', '29250000'),
    ('Volksbank Geest eG', 'GENODEF1GST', '29162394'),
    ('Kreissparkasse Oberhessen', 'HELADEF1OHS', '51850079'),
    ('Raiffeisenbank Vogelsberg eG', 'GENODE51RVB', '50961685'),
    ('Mittelbrandenburgische Sparkasse', 'WELADED1MBS', '16050000'),
    ('Norddeutsche Direktbank AG', 'NODDDEHHXXX', '20070024'),
    ('Postbank Filiale Nord', 'PBNKDEFFXXX', '20010020'),
    ('Consors Privatbank', 'CSDBDE71XXX', '76030080'),
)
# fmt: on

# fmt: off
INSURERS = (
    'AOK Niedersachsen', 'Techniker Krankenkasse', 'BARMER', 'DAK-Gesundheit', 'IKK classic',
    'AOK Hessen', 'AOK Nordost', 'KKH Kaufmännische Krankenkasse', 'hkk Krankenkasse',
)
# fmt: on

# fmt: off
DOCTORS = (
    ('Dr. med. Hanna Lorenzen', 'Fachärztin für Allgemeinmedizin'),
    ('Dr. med. Volker Sprenger', 'Facharzt für Innere Medizin'),
    ('Gemeinschaftspraxis Dres. Behrens & Aksoy', 'Hausärztliche Versorgung'),
    ('MVZ Am Stadtpark', 'Orthopädie und Unfallchirurgie'),
    ('Dr. med. Ingrid Tammen', 'Fachärztin für Psychiatrie und Psychotherapie'),
    ('Praxis Dr. Konstantin Rehberg', 'Facharzt für Orthopädie'),
    ('Dr. med. Silvia Ohlrogge', 'Fachärztin für Hals-Nasen-Ohrenheilkunde'),
    ('Zahnarztpraxis Dr. Fenja Kück', 'Zahnheilkunde'),
)
# fmt: on

# fmt: off
LAWYERS = (
    ('Rechtsanwältin Sabine Kühl', 'Fachanwältin für Sozialrecht', 'f'),
    ('Kanzlei Dr. Brandt & Kollegen', 'Rechtsanwälte · Fachanwälte für Sozialrecht', 'p'),
    ('Rechtsanwalt Ömer Aydın', 'Sozialrecht · Mietrecht · Familienrecht', 'm'),
    ('Rechtsanwältin Dr. Merle Feddersen', 'Fachanwältin für Sozial- und Arbeitsrecht', 'f'),
    ('Anwaltsbüro Quast & Nordmann', 'Rechtsanwälte in Bürogemeinschaft', 'p'),
)
# fmt: on

ASSOCIATIONS = (
    "Sozialverband Deutschland e.V. (SoVD), Kreisverband",
    "Sozialverband VdK, Beratungsstelle",
    "Caritasverband, Allgemeine Sozialberatung",
    "Diakonisches Werk, Schuldner- und Sozialberatung",
    "Arbeitslosenzentrum Mittendrin e.V.,",
)

# fmt: off
SCHOOLS = (
    'Grundschule am Wasserturm', 'Oberschule Geestland', 'Gesamtschule Am Park',
    'Berufsbildende Schulen II', 'Kooperative Gesamtschule Süd', 'Gymnasium am Wall',
)
# fmt: on

COURT_STAFF = ("Schwanke", "Otten", "Dreyer", "Hinrichsen", "Kemper", "Paulsen", "Rademacher")
JUDGES = ("Dr. Reimers", "Wittenberg", "Claußen", "Dr. Ahlers", "Mertens", "Feldhusen")
PHONE_PREFIX = ("04721", "04751", "04743", "06641", "06631", "06044", "03391", "033971", "03394")


# --------------------------------------------------------------------------------------------
# Master data


@dataclass
class Person:
    last_name: str
    first_name: str
    birth_date: date
    sex: str  # "f" or "m"

    @property
    def full(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Household:
    bg_number: str
    members: list[Person]
    street: str
    number: str
    postcode: str
    town: str
    caseworker: str
    case_manager: str
    office: Office
    # The account the benefit is paid to and the head's e-mail address, where the
    # Fachverfahren holds them (households.csv's optional columns `iban` and `email`).
    iban: str | None = None  # spaced as printed: "DE89 3704 0044 0532 0130 00"
    email: str | None = None


@dataclass
class Staff:
    login: str
    name: str
    team: str
    role: str


@dataclass
class Master:
    region: Region
    staff: list[Staff]
    households: list[Household]
    name_count: Counter[tuple[str, str]]
    full_names: set[str]
    addresses: set[tuple[str, str, str]]
    bg_numbers: set[str]

    def staff_by_login(self, login: str) -> Staff:
        return next(s for s in self.staff if s.login == login)


def _pick_group(rng: random.Random) -> str:
    groups = list(NAME_GROUP_WEIGHTS)
    return rng.choices(groups, weights=[NAME_GROUP_WEIGHTS[g] for g in groups])[0]


def _first_name(rng: random.Random, group: str, sex: str) -> str:
    female, male, _ = NAME_GROUPS[group]
    return rng.choice(female if sex == "f" else male)


def _last_name(rng: random.Random, group: str) -> str:
    return rng.choice(NAME_GROUPS[group][2])


def _birth(rng: random.Random, first_year: int, last_year: int) -> date:
    start = date(first_year, 1, 1).toordinal()
    end = date(last_year, 12, 31).toordinal()
    return date.fromordinal(rng.randint(start, end))


def build_master(seed: int, households: int) -> Master:
    rng = random.Random(f"lettergen-master:{seed}")
    region = REGIONS[rng.randrange(len(REGIONS))]
    taken_names: set[str] = set()

    def staff_name() -> str:
        while True:
            group = _pick_group(rng)
            name = f"{_first_name(rng, group, rng.choice('fm'))} {_last_name(rng, group)}"
            if name not in taken_names:
                taken_names.add(name)
                return name

    staff: list[Staff] = []
    caseworkers: dict[str, list[str]] = {}
    for office in region.offices:
        for k in range(1, rng.randint(3, 4) + 1):
            login = f"lsb.{office.code}.{k}"
            staff.append(Staff(login, staff_name(), f"Leistung {office.town}", "leistung"))
            caseworkers.setdefault(office.code, []).append(login)
    managers = [f"fm.{k}" for k in range(1, rng.randint(4, 6) + 1)]
    staff += [Staff(m, staff_name(), "Fallmanagement", "fallmanagement") for m in managers]
    staff += [
        Staff(f"ws.{k}", staff_name(), "Widerspruchsstelle", "widerspruch")
        for k in range(1, rng.randint(2, 3) + 1)
    ]
    staff += [
        Staff(f"scan.{k}", staff_name(), "Scanstelle", "scanstelle")
        for k in range(1, rng.randint(1, 2) + 1)
    ]

    result: list[Household] = []
    bg_numbers: set[str] = set()
    addresses: set[tuple[str, str, str]] = set()
    office_weights = [5, 3, 3][: len(region.offices)]
    for _ in range(households):
        office = rng.choices(region.offices, weights=office_weights)[0]
        postcode, town = rng.choice(office.places)
        while True:
            street = rng.choice(STREETS)
            number = str(rng.randint(1, 148)) + (rng.choice("abc") if rng.random() < 0.12 else "")
            if (street, number, postcode) not in addresses:
                addresses.add((street, number, postcode))
                break
        while True:
            bg = f"{office.code}BG{rng.randrange(10**7):07d}"
            if bg not in bg_numbers:
                bg_numbers.add(bg)
                break
        group = _pick_group(rng)
        family = _last_name(rng, group)
        head_sex = rng.choice("fm")
        members = [
            Person(family, _first_name(rng, group, head_sex), _birth(rng, 1958, 2004), head_sex)
        ]
        shape = rng.choices(
            ["single", "couple", "parent", "family", "grown_child"], weights=[44, 14, 17, 20, 5]
        )[0]
        if shape in ("couple", "family"):
            sex = "m" if head_sex == "f" else "f"
            partner_group = group if rng.random() < 0.85 else _pick_group(rng)
            last = family if rng.random() < 0.6 else _last_name(rng, partner_group)
            born = members[0].birth_date + timedelta(days=rng.randint(-3000, 3000))
            born = min(born, date(2005, 6, 30))
            members.append(Person(last, _first_name(rng, partner_group, sex), born, sex))
        if shape in ("parent", "family"):
            for _ in range(rng.choice([1, 1, 2, 2, 3])):
                sex = rng.choice("fm")
                last = family
                if len(members) > 1 and members[1].last_name != family and rng.random() < 0.2:
                    last = f"{family}-{members[1].last_name}"
                members.append(
                    Person(last, _first_name(rng, group, sex), _birth(rng, 2009, 2024), sex)
                )
        if shape == "grown_child":
            sex = rng.choice("fm")
            members.append(
                Person(family, _first_name(rng, group, sex), _birth(rng, 2000, 2007), sex)
            )
        # No two members of one household share a first name.
        seen: set[str] = set()
        unique = []
        for m in members:
            if m.first_name not in seen:
                seen.add(m.first_name)
                unique.append(m)
        result.append(
            Household(
                bg,
                unique,
                street,
                number,
                postcode,
                town,
                rng.choice(caseworkers[office.code]),
                rng.choice(managers),
                office,
            )
        )

    # Namesakes on purpose: the same first and last name in two households, half of them in
    # the same town, always with different birth dates.
    for _ in range(max(2, households // 25)):
        a, b = rng.sample(result, 2)
        if rng.random() < 0.5:
            same_town = [h for h in result if h.town == a.town and h is not a]
            if same_town:
                b = rng.choice(same_town)
        source = a.members[0]
        target = b.members[0]
        if source.birth_date == target.birth_date or any(
            m.first_name == source.first_name for m in b.members[1:]
        ):
            continue
        b.members[0] = Person(source.last_name, source.first_name, target.birth_date, source.sex)

    # Accounts and e-mail addresses from their own random stream, so that everything above
    # stays as it was for a seed.
    keys = random.Random(f"lettergen-identity:{seed}")
    ibans: set[str] = set()
    for h in result:
        if keys.random() < 0.85:
            while True:
                iban = iban_for(keys, keys.choice(BANKS)[2])
                if iban not in ibans:
                    ibans.add(iban)
                    h.iban = iban
                    break
        if keys.random() < 0.3:
            head = h.members[0]
            local = transliterate(f"{head.first_name}.{head.last_name}").lower().replace(" ", "")
            h.email = f"{local}.{h.bg_number[-4:]}@{keys.choice(MAIL_DOMAINS)}"

    names = Counter((m.first_name, m.last_name) for h in result for m in h.members)
    full_names = {m.full for h in result for m in h.members} | {s.name for s in staff}
    return Master(
        region,
        staff,
        result,
        names,
        full_names,
        {(h.street, h.number, h.postcode) for h in result},
        bg_numbers,
    )


def write_master(master: Master, out_dir: Path) -> None:
    with (out_dir / "staff.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(STAFF_COLUMNS)
        for s in master.staff:
            writer.writerow([s.login, s.name, s.team, s.role])
    with (out_dir / "households.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HOUSEHOLD_COLUMNS + HOUSEHOLD_OPTIONAL_COLUMNS)
        for h in master.households:
            for k, m in enumerate(h.members):
                writer.writerow(
                    [
                        h.bg_number,
                        m.last_name,
                        m.first_name,
                        m.birth_date.isoformat(),
                        f"{h.street} {h.number}",
                        h.postcode,
                        h.town,
                        h.caseworker,
                        h.case_manager,
                        h.iban if k == 0 and h.iban else "",
                        h.email if k == 0 and h.email else "",
                    ]
                )


# --------------------------------------------------------------------------------------------
# How people write names, dates, addresses, amounts and household numbers


TRANSLITERATION = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "Ä": "Ae",
        "Ö": "Oe",
        "Ü": "Ue",
        "ß": "ss",
        "ş": "s",
        "Ş": "S",
        "ı": "i",
        "İ": "I",
        "ğ": "g",
        "ç": "c",
        "Ç": "C",
        "ł": "l",
        "Ł": "L",
        "ś": "s",
        "ń": "n",
        "ć": "c",
        "ż": "z",
        "ź": "z",
        "ą": "a",
        "ę": "e",
        "ó": "o",
        "é": "e",
        "ș": "s",
        "ț": "t",
    }
)


def transliterate(text: str) -> str:
    return text.translate(TRANSLITERATION)


def ascii_upper(text: str) -> str:
    return transliterate(text).upper()


def fmt_date(d: date, style: str) -> str:
    if style == "dotted":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    if style == "short":
        return f"{d.day}.{d.month}.{d.year}"
    if style == "twodigit":
        return f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}"
    if style == "long":
        return f"{d.day}. {MONTHS[d.month - 1]} {d.year}"
    if style == "iso":
        return d.isoformat()
    raise ValueError(style)


def money(value: float, unit: str = "") -> str:
    sign = "-" if value < 0 else ""
    cents = round(abs(value) * 100)
    euros, rest = divmod(cents, 100)
    text = f"{euros:,}".replace(",", ".") + f",{rest:02d}"
    return f"{sign}{text}{' ' + unit if unit else ''}"


def street_variant(rng: random.Random, street: str) -> str:
    """Straße as people write it: Str., Strasse, str. ..."""
    if street.endswith("straße") or street.endswith("Straße"):
        stem = street[: -len("straße")]
        form = rng.choices(["straße", "str.", "strasse"], weights=[55, 35, 10])[0]
        if street.endswith("Straße"):
            form = form.capitalize()
        return stem + form
    return street


def bg_variant(rng: random.Random, bg: str) -> tuple[str, str]:
    office, digits = bg[:5], bg[7:]
    kind = rng.choices(
        ["compact", "spaced", "dashes", "half_spaced", "lower", "comb"],
        weights=[53, 20, 13, 9.5, 1.5, 3],
    )[0]
    text = {
        "compact": bg,
        "spaced": f"{office} BG {digits}",
        "dashes": f"{office}-BG-{digits}",
        "half_spaced": f"{office}BG {digits}",
        "lower": f"{office}bg{digits}",
        "comb": bg,
    }[kind]
    return kind, text


# fmt: off
BG_LABELS = (
    'BG-Nr.:', 'BG-Nummer:', 'Nummer der Bedarfsgemeinschaft:', 'Ihr Zeichen:', 'Aktenzeichen:',
    'BG:', 'Bedarfsgemeinschaft:', 'Az.:', 'Mein Zeichen:', 'BG-Nr',
)
# fmt: on


MAIL_DOMAINS = ("web.de", "gmx.de", "t-online.de", "gmail.com", "posteo.de", "outlook.de")


def iban_for(rng: random.Random, blz: str) -> str:
    account = f"{rng.randrange(10**10):010d}"
    bban = blz + account
    numeric = int(bban + "131400")
    check = 98 - numeric % 97
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def phone(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"01{rng.choice('567')}{rng.randint(0, 9)} {rng.randint(1000000, 9999999)}"
    return f"{rng.choice(PHONE_PREFIX)} {rng.randint(10000, 999999)}"


def customer_number(rng: random.Random) -> str:
    return f"{rng.randint(100, 999)}{rng.choice('ABCDE')}{rng.randint(100000, 999999)}"


# --------------------------------------------------------------------------------------------
# Fonts and layout: A4 pages drawn at the scan resolution, text recorded line by line


FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/opentype/urw-base35"))


@dataclass(frozen=True)
class Family:
    name: str
    regular: str
    bold: str
    italic: str


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("DejaVu Sans", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"),
        Family("DejaVu Serif", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf"),
        Family(
            "DejaVu Sans Condensed",
            "DejaVuSansCondensed.ttf",
            "DejaVuSansCondensed-Bold.ttf",
            "DejaVuSansCondensed-Oblique.ttf",
        ),
        Family(
            "DejaVu Sans Mono",
            "DejaVuSansMono.ttf",
            "DejaVuSansMono-Bold.ttf",
            "DejaVuSansMono-Oblique.ttf",
        ),
        Family(
            "Nimbus Sans", "NimbusSans-Regular.otf", "NimbusSans-Bold.otf", "NimbusSans-Italic.otf"
        ),
        Family(
            "Nimbus Roman",
            "NimbusRoman-Regular.otf",
            "NimbusRoman-Bold.otf",
            "NimbusRoman-Italic.otf",
        ),
        Family(
            "Nimbus Sans Narrow",
            "NimbusSansNarrow-Regular.otf",
            "NimbusSansNarrow-Bold.otf",
            "NimbusSansNarrow-Oblique.otf",
        ),
        Family(
            "Nimbus Mono PS",
            "NimbusMonoPS-Regular.otf",
            "NimbusMonoPS-Bold.otf",
            "NimbusMonoPS-Italic.otf",
        ),
        Family("C059", "C059-Roman.otf", "C059-Bold.otf", "C059-Italic.otf"),
        Family("P052", "P052-Roman.otf", "P052-Bold.otf", "P052-Italic.otf"),
        Family(
            "URW Bookman",
            "URWBookman-Light.otf",
            "URWBookman-Demi.otf",
            "URWBookman-LightItalic.otf",
        ),
        Family(
            "URW Gothic", "URWGothic-Book.otf", "URWGothic-Demi.otf", "URWGothic-BookOblique.otf"
        ),
    )
}
SANS = ("DejaVu Sans", "Nimbus Sans", "DejaVu Sans Condensed", "URW Gothic", "Nimbus Sans Narrow")
SERIF = ("DejaVu Serif", "Nimbus Roman", "C059", "P052", "URW Bookman")
MONO = ("Nimbus Mono PS", "DejaVu Sans Mono")


@cache
def _font_path(file: str) -> str:
    for folder in FONT_DIRS:
        if (folder / file).exists():
            return str(folder / file)
    raise FileNotFoundError(f"font {file} not found in {FONT_DIRS}")


@lru_cache(maxsize=512)
def _font(file: str, px: int) -> ImageFont.FreeTypeFont:
    # Basic layout: no ligatures (some URW fonts would print 'Nr.' as a numero sign).
    return ImageFont.truetype(_font_path(file), px, layout_engine=ImageFont.Layout.BASIC)


def available_families(names: tuple[str, ...]) -> tuple[str, ...]:
    ok = []
    for name in names:
        fam = FAMILIES[name]
        try:
            for file in (fam.regular, fam.bold, fam.italic):
                _font_path(file)
        except FileNotFoundError:
            continue
        ok.append(name)
    return tuple(ok) or ("DejaVu Sans",)


PAGE_W, PAGE_H = 210.0, 297.0
PT = 25.4 / 72  # mm per point


class PageOverflow(Exception):
    """A template produced more pages than a letter may have."""


@dataclass
class Page:
    image: Image.Image
    draw: ImageDraw.ImageDraw
    lines: list[str] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int, bool]] = field(default_factory=list)


class Doc:
    """A flowing A4 document: a cursor `y` in mm, margins, a font family and a base size."""

    def __init__(
        self,
        dpi: int,
        family: str,
        size: float,
        ink: int,
        rng: random.Random,
        *,
        left: float = 24,
        right: float = 20,
        top: float = 18,
        bottom: float = 22,
        spacing: float = 1.28,
        max_pages: int = 3,
        landscape: bool = False,
    ) -> None:
        self.dpi, self.family, self.size, self.ink, self.rng = dpi, family, size, ink, rng
        # A landscape page (wide tables) is printed across A4; the scan turns it by 90 degrees.
        self.landscape = landscape
        self.page_w, self.page_h = (PAGE_H, PAGE_W) if landscape else (PAGE_W, PAGE_H)
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.spacing = spacing
        self.max_pages = max_pages
        self.pages: list[Page] = []
        self.continuation: Callable[[Doc], None] | None = None
        self.y = top
        self.new_page()

    # geometry
    @property
    def page(self) -> Page:
        return self.pages[-1]

    @property
    def width(self) -> float:
        return self.page_w - self.left - self.right

    @property
    def x_right(self) -> float:
        return self.page_w - self.right

    def px(self, mm: float) -> int:
        return round(mm * self.dpi / 25.4)

    def font(
        self,
        size: float | None = None,
        bold: bool = False,
        italic: bool = False,
        family: str | None = None,
    ) -> ImageFont.FreeTypeFont:
        fam = FAMILIES[family or self.family]
        file = fam.bold if bold else fam.italic if italic else fam.regular
        return _font(file, max(6, round((size or self.size) * self.dpi / 72)))

    def lh(self, size: float | None = None) -> float:
        return (size or self.size) * PT * self.spacing

    def text_width(self, text: str, **kw: object) -> float:
        return self.font(**kw).getlength(text) * 25.4 / self.dpi  # type: ignore[arg-type]

    def new_page(self) -> None:
        if len(self.pages) >= self.max_pages:
            raise PageOverflow
        w, h = self.px(self.page_w), self.px(self.page_h)
        image = Image.new("L", (w, h), 255)
        self.pages.append(Page(image, ImageDraw.Draw(image)))
        self.y = self.top
        if len(self.pages) > 1 and self.continuation is not None:
            self.continuation(self)

    def ensure(self, height: float) -> None:
        if self.y + height > self.page_h - self.bottom:
            self.new_page()

    # drawing
    def put(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float | None = None,
        bold: bool = False,
        italic: bool = False,
        family: str | None = None,
        align: str = "left",
        ink: int | None = None,
        record: bool = True,
        bg: bool = False,
    ) -> float:
        if not text:
            return 0.0
        font = self.font(size, bold, italic, family)
        width = font.getlength(text) * 25.4 / self.dpi
        if align == "right":
            x -= width
        elif align == "center":
            x -= width / 2
        x0, y0 = self.px(x), self.px(y)
        self.page.draw.text(
            (x0, y0), text, font=font, fill=self.ink if ink is None else ink, anchor="la"
        )
        if record:
            self.page.lines.append(text.replace("\u00a0", " "))
            x1 = x0 + self.px(width)
            y1 = y0 + round(font.size * 1.15)
            self.page.boxes.append((x0, y0, x1, y1, bg))
        return width

    def line(
        self,
        text: str,
        x: float | None = None,
        *,
        size: float | None = None,
        gap: float = 0.0,
        **kw: object,
    ) -> None:
        self.ensure(self.lh(size))
        self.put(self.left if x is None else x, self.y, text, size=size, **kw)  # type: ignore[arg-type]
        self.y += self.lh(size) + gap

    def wrap(self, text: str, width: float, **kw: object) -> list[str]:
        font = self.font(**kw)  # type: ignore[arg-type]
        limit = width * self.dpi / 25.4
        lines: list[str] = []
        current = ""
        for word in (w for w in text.split(" ") if w):  # not at no-break spaces
            trial = f"{current} {word}" if current else word
            if current and font.getlength(trial) > limit:
                lines.append(current)
                current = word
            else:
                current = trial
        if current:
            lines.append(current)
        return lines

    def para(
        self,
        text: str,
        *,
        x: float | None = None,
        width: float | None = None,
        size: float | None = None,
        gap: float | None = None,
        bold: bool = False,
        italic: bool = False,
        family: str | None = None,
        bg: bool = False,
        align: str = "left",
    ) -> None:
        x = self.left if x is None else x
        width = (self.x_right - x) if width is None else width
        for text_line in self.wrap(text, width, size=size, bold=bold, italic=italic, family=family):
            self.ensure(self.lh(size))
            ax = x + width / 2 if align == "center" else x + width if align == "right" else x
            self.put(
                ax,
                self.y,
                text_line,
                size=size,
                bold=bold,
                italic=italic,
                family=family,
                bg=bg,
                align=align,
            )
            self.y += self.lh(size)
        self.y += self.lh(size) * 0.55 if gap is None else gap

    def gap(self, mm: float) -> None:
        self.y += mm

    def hline(
        self,
        x0: float,
        x1: float,
        y: float | None = None,
        width: float = 0.35,
        ink: int | None = None,
    ) -> None:
        y = self.y if y is None else y
        self.page.draw.line(
            [(self.px(x0), self.px(y)), (self.px(x1), self.px(y))],
            fill=self.ink if ink is None else ink,
            width=max(1, self.px(width)),
        )

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        width: float = 0.3,
        ink: int | None = None,
        fill: int | None = None,
    ) -> None:
        self.page.draw.rectangle(
            [self.px(x), self.px(y), self.px(x + w), self.px(y + h)],
            outline=self.ink if ink is None else ink,
            width=max(1, self.px(width)),
            fill=fill,
        )

    def checkbox(self, x: float, y: float, checked: bool, size: float = 3.2) -> None:
        self.rect(x, y, size, size, width=0.3)
        if checked:
            d = self.page.draw
            w = max(2, self.px(0.45))
            d.line(
                [
                    (self.px(x + 0.5), self.px(y + 0.5)),
                    (self.px(x + size - 0.5), self.px(y + size - 0.5)),
                ],
                fill=self.ink,
                width=w,
            )
            d.line(
                [
                    (self.px(x + size - 0.5), self.px(y + 0.5)),
                    (self.px(x + 0.5), self.px(y + size - 0.5)),
                ],
                fill=self.ink,
                width=w,
            )

    def option(self, x: float, label: str, checked: bool, *, size: float | None = None) -> float:
        """A checkbox with its label on the current line; returns the x after it."""
        s = size or self.size
        box = s * PT * 0.8
        self.checkbox(x, self.y + s * PT * 0.12, checked, box)
        w = self.put(x + box + 1.5, self.y, label, size=s)
        return x + box + 1.5 + w + 5

    def field(
        self,
        x: float,
        y: float,
        w: float,
        label: str,
        value: str,
        *,
        h: float = 10.0,
        label_size: float = 7.5,
        value_size: float | None = None,
        bg: bool = False,
        record_empty: bool = True,
    ) -> None:
        """A form field: a box, a small label in its corner and the filled-in value."""
        self.rect(x, y, w, h, width=0.25)
        self.put(x + 1.2, y + 0.8, label, size=label_size)
        if value:
            self.put(
                x + 2.0,
                y + 0.8 + label_size * PT * 1.25,
                value,
                size=value_size or self.size,
                bg=bg,
            )

    def comb(
        self,
        x: float,
        y: float,
        chars: str,
        label: str,
        *,
        cell: float | None = None,
        bg: bool = True,
        style: str | None = None,
    ) -> float:
        """Characters written into a row of boxes (one box per character), as on forms.

        A space in `chars` starts a new group of boxes a little apart; a "." or "/" stands
        between two groups without a box of its own ("TT.MM.JJJJ"). Styles, as printed forms
        have them: "boxes" (light frames), "dark" (frames in the text's ink), "ticks" (a base
        line with short walls, open at the top). Returns the width in mm.
        """
        rng = self.rng
        style = style or rng.choices(["boxes", "dark", "ticks"], weights=[35, 45, 20])[0]
        cell = cell or rng.uniform(4.3, 6.0)
        height = cell * rng.uniform(1.05, 1.35)
        line_ink = self.ink if style == "dark" else min(200, self.ink + rng.randint(50, 100))
        width = rng.uniform(0.18, 0.35)
        size = min(self.size + 0.5, 11.5, height / PT * 0.72)
        self.put(x, y, label, size=7.5)
        top = y + 7.5 * PT * 1.3
        cx = x
        group_start = x
        boxes: list[float] = []

        def close_group(end: float) -> None:
            if end <= group_start:
                return
            if style == "ticks":
                self.hline(group_start, end, top + height, width=width, ink=line_ink)
                for bx in boxes:
                    for wall in (bx, bx + cell):
                        self.page.draw.line(
                            [
                                (self.px(wall), self.px(top + height * 0.55)),
                                (self.px(wall), self.px(top + height)),
                            ],
                            fill=line_ink,
                            width=max(1, self.px(width)),
                        )
            else:
                for bx in boxes:
                    self.rect(bx, top, cell, height, width=width, ink=line_ink)

        for ch in chars:
            if ch in " ./-":
                close_group(cx)
                boxes = []
                if ch != " ":
                    base = top + height - size * PT - 0.4
                    self.put(cx + cell * 0.3, base, ch, size=size, record=False)
                cx += cell * (0.6 if ch == " " else 0.9)
                group_start = cx
                continue
            boxes.append(cx)
            self.put(
                cx + cell / 2 + rng.uniform(-0.3, 0.3),
                top + (height - size * PT) / 2 - 0.3 + rng.uniform(-0.3, 0.3),
                ch,
                size=size,
                align="center",
                record=False,
            )
            cx += cell
        close_group(cx)
        # One recorded line for the whole number, so the truth reads as printed.
        x0, y0 = self.px(x), self.px(top)
        self.page.lines.append(" ".join(ch for ch in chars if ch != " "))
        self.page.boxes.append((x0, y0, self.px(cx), y0 + self.px(height), bg))
        return cx - x

    def table(
        self,
        cols: list[tuple[str, float, str]],
        rows: list[list[str]],
        *,
        x: float | None = None,
        size: float | None = None,
        header: bool = True,
        grid: str = "rules",
        pad: float = 1.3,
        header_bold: bool = True,
        repeat_header: bool = True,
    ) -> None:
        """cols: (title, width mm, align l/r/c). Cells wrap inside their column."""
        x = self.left if x is None else x
        size = size or self.size
        total = sum(c[1] for c in cols)
        line_h = self.lh(size)

        def draw_row(cells: list[str], bold: bool) -> None:
            wrapped = [
                self.wrap(text, w - 2 * pad, size=size, bold=bold) or [""]
                for text, (_, w, _) in zip(cells, cols, strict=True)
            ]
            height = max(len(w) for w in wrapped) * line_h + pad * 1.6
            self.ensure(height + 1)
            top = self.y
            cx = x
            for lines, (_, w, align) in zip(wrapped, cols, strict=True):
                for k, text in enumerate(lines):
                    ty = top + pad * 0.8 + k * line_h
                    if align == "r":
                        self.put(cx + w - pad, ty, text, size=size, bold=bold, align="right")
                    elif align == "c":
                        self.put(cx + w / 2, ty, text, size=size, bold=bold, align="center")
                    else:
                        self.put(cx + pad, ty, text, size=size, bold=bold)
                cx += w
            if grid == "box":
                cx = x
                for _, w, _ in cols:
                    self.rect(cx, top, w, height, width=0.2)
                    cx += w
            elif grid == "rules":
                self.hline(x, x + total, top + height, width=0.2)
            self.y = top + height

        if header:
            if grid == "rules":
                self.hline(x, x + total, self.y, width=0.35)
            draw_row([c[0] for c in cols], header_bold)
            if grid == "rules":
                self.hline(x, x + total, self.y, width=0.35)
        for row in rows:
            if header and repeat_header and self.y + line_h * 2 > self.page_h - self.bottom:
                self.new_page()
                draw_row([c[0] for c in cols], header_bold)
            draw_row(row, False)

    def signature(self, x: float | None = None, width: float = 38.0) -> None:
        """A scribbled signature: not text, not recorded."""
        x = self.left if x is None else x
        rng = self.rng
        base = self.y + 5
        points = []
        steps = 40
        amp = rng.uniform(2.0, 4.5)
        freq = rng.uniform(2.5, 5.5)
        phase = rng.uniform(0, math.pi)
        for i in range(steps + 1):
            t = i / steps
            px_ = x + t * width * rng.uniform(0.98, 1.02)
            py = base - amp * math.sin(freq * math.pi * t + phase) * (1 - 0.6 * t)
            py += rng.uniform(-0.4, 0.4)
            points.append((self.px(px_), self.px(py)))
        self.page.draw.line(
            points,
            fill=max(0, self.ink - 10) if self.ink > 40 else 40,
            width=max(2, self.px(0.45)),
            joint="curve",
        )
        self.y += 10

    def stamp_box(self, x: float, y: float, lines: list[str], *, ink: int = 95) -> None:
        """A company stamp (landlord, practice): outlined, gray, not recorded as text."""
        size = 8.0
        w = max(self.text_width(t, size=size) for t in lines) + 5
        h = len(lines) * self.lh(size) + 3
        self.rect(x, y, w, h, width=0.45, ink=ink)
        for i, t in enumerate(lines):
            self.put(
                x + 2.5,
                y + 1.5 + i * self.lh(size),
                t,
                size=size,
                ink=ink,
                record=False,
                bold=i == 0,
            )


# --------------------------------------------------------------------------------------------
# The letter's context: who writes, what identifies them, when


@dataclass
class Ident:
    """The person a letter is about, as printed on it."""

    first: str
    last: str
    sex: str
    title: str
    birth: date | None  # printed only if show_birth
    street: str  # as printed (Str./Strasse variants)
    postcode: str
    town: str
    show_birth: bool
    show_address: bool
    show_town: bool  # the town may appear (date line) even without an address
    bg_text: str | None
    bg_format: str | None
    bg_label: str
    birth_style: str
    iban: str | None = None  # the household's account, printed on its bank statements

    @property
    def name(self) -> str:
        return f"{self.title + ' ' if self.title else ''}{self.first} {self.last}"

    @property
    def formal(self) -> str:
        return f"{self.last}, {self.first}"

    @property
    def mr(self) -> str:
        return "Frau" if self.sex == "f" else "Herr"

    @property
    def mr_acc(self) -> str:
        return "Frau" if self.sex == "f" else "Herrn"

    @property
    def birth_text(self) -> str:
        assert self.birth is not None
        return fmt_date(self.birth, self.birth_style)

    @property
    def place(self) -> str:
        return f"{self.postcode} {self.town}"


@dataclass
class Ctx:
    rng: random.Random
    master: Master
    ident: Ident
    household: Household | None
    date: date
    office: Office
    caseworker: Staff | None
    date_style: str
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def region(self) -> Region:
        return self.master.region

    def any_place(self) -> tuple[str, str]:
        """Some (postcode, town) of the region: for third parties, not about the client."""
        return self.rng.choice([p for o in self.region.offices for p in o.places])

    def ago(self, lo: int, hi: int) -> date:
        return self.date - timedelta(days=self.rng.randint(lo, hi))

    def ahead(self, lo: int, hi: int) -> date:
        return self.date + timedelta(days=self.rng.randint(lo, hi))

    def df(self, d: date, style: str | None = None) -> str:
        return fmt_date(d, style or self.date_style)

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def town_for_date(self) -> str:
        return self.ident.town if self.ident.show_town else ""

    def birth_phrase(self) -> str:
        i = self.ident
        label = self.pick("geb. am", "geboren am", "geb.", "*")
        return f"{label} {i.birth_text}"

    def bg_phrase(self) -> str:
        return f"{self.ident.bg_label} {self.ident.bg_text}"

    def members_other(self) -> list[Person]:
        if not self.household or self.extra.get("case") in CLEARING_CASES:
            return []
        return [m for m in self.household.members if m is not self.extra.get("person")]

    def child(self) -> Person | None:
        # Letters that must go to clearing name nobody else of the household.
        if not self.household or self.extra.get("case") in CLEARING_CASES:
            return None
        kids = [
            m
            for m in self.household.members
            if m.birth_date.year >= 2008 and m is not self.extra.get("person")
        ]
        return self.rng.choice(kids) if kids else None


def recipient_lines(c: Ctx, *, team: str | None = None) -> list[str]:
    region, office = c.region, c.office
    lines = [c.pick(region.jobcenter, region.jobcenter, region.short, "An das " + region.short)]
    if team:
        lines.append(team)
    elif c.caseworker and c.chance(0.2):
        last = c.caseworker.name.split()[-1]
        lines.append(
            f"z. Hd. {c.pick('Frau', 'Herrn')} {last}"
            if c.chance(0.5)
            else f"Leistungsabteilung {office.town}"
        )
    if c.chance(0.5):
        lines += [region.po_box, f"{region.po_postcode} {region.po_town}"]
    else:
        if len(lines) == 1 and c.chance(0.5):
            lines.append(f"Geschäftsstelle {office.town}")
        lines += [office.street, f"{office.postcode} {office.town}"]
    return lines


def date_text(c: Ctx, *, with_town: bool = True) -> str:
    d = c.df(c.date)
    town = c.town_for_date() if with_town else ""
    if town:
        return c.pick(f"{town}, {d}", f"{town}, den {d}", f"{town}, {d}")
    return c.pick(d, f"Datum: {d}", f"den {d}")


def sender_lines(c: Ctx, *, with_phone: bool | None = None) -> list[str]:
    i = c.ident
    lines = [c.pick(i.name, i.name, i.formal) if not i.title else i.name]
    if i.show_address:
        lines += [i.street, i.place]
    if with_phone if with_phone is not None else c.chance(0.3):
        lines.append(f"Tel. {phone(c.rng)}")
    return lines


def ident_lines(c: Ctx, *, with_name: bool = False) -> list[str]:
    """Identifying lines in a client's letter, below the date or above the subject."""
    i = c.ident
    lines = []
    if with_name:
        lines.append(f"Name: {i.formal}" if c.chance(0.5) else f"{i.name}")
    if i.bg_text:
        lines.append(c.bg_phrase())
    if i.show_birth:
        lines.append(
            c.pick(
                f"Geburtsdatum: {i.birth_text}",
                f"geb. am {i.birth_text}",
                f"Geb.-Datum: {i.birth_text}",
                f"geboren am {i.birth_text}",
            )
        )
    return lines


def client_letter_head(doc: Doc, c: Ctx, *, team: str | None = None) -> None:
    """Sender, recipient, date and identifying lines of a letter a client writes himself."""
    i = c.ident
    variant = c.rng.randrange(3)
    sender = sender_lines(c)
    birth_in_sender = i.show_birth and c.chance(0.35)
    if birth_in_sender:
        sender.insert(1, c.birth_phrase())
    idents = ident_lines(c)
    if birth_in_sender:
        idents = [t for t in idents if "geb" not in t.lower() and "Geburt" not in t]
    if variant == 0:
        doc.y = doc.top
        for t in sender:
            doc.line(t)
        doc.y = max(doc.y + 8, 50)
        for t in recipient_lines(c, team=team):
            doc.line(t)
        doc.y = max(doc.y + 6, 88)
        doc.line(date_text(c), x=doc.x_right - doc.text_width(date_text(c)) - 2)
        doc.gap(4)
        for t in idents:
            doc.line(t, bg=c.ident.bg_text is not None and t.endswith(c.ident.bg_text or "#"))
    elif variant == 1:
        doc.y = doc.top
        for t in sender:
            doc.put(doc.x_right, doc.y, t, align="right")
            doc.y += doc.lh()
        doc.y = max(doc.y + 10, 52)
        for t in recipient_lines(c, team=team):
            doc.line(t)
        doc.gap(10)
        when = date_text(c)
        doc.line(when, x=min(doc.x_right - 60, doc.x_right - doc.text_width(when)))
        doc.gap(4)
        for t in idents:
            doc.line(t, bg=bool(i.bg_text) and (i.bg_text or "#") in t)
    else:
        doc.y = 40
        small = max(7.5, doc.size - 3)
        # Name, birth date (when it goes with the sender) and address: all that identifies.
        shown = sender[: 1 + (1 if birth_in_sender else 0) + (2 if i.show_address else 0)]
        head = " · ".join(shown)
        if doc.text_width(head, size=small) > doc.x_right - doc.left - 5 and len(shown) > 2:
            doc.line(" · ".join(shown[:-2]), size=small)
            head = " · ".join(shown[-2:])
        doc.line(head, size=small)
        doc.hline(doc.left, doc.left + 85, doc.y - 0.8, width=0.15)
        doc.gap(2)
        for t in recipient_lines(c, team=team):
            doc.line(t)
        doc.gap(8)
        rows = [("Datum", c.df(c.date))]
        if i.bg_text:
            rows.append((i.bg_label.rstrip(":"), i.bg_text))
        if i.show_birth and not birth_in_sender:
            rows.append(("Geburtsdatum", i.birth_text))
        if len(sender) > 1 and sender[-1].startswith("Tel."):
            rows.append(("Telefon", sender[-1][5:]))
        col = label_column(doc, [label + ":" for label, _ in rows], 30, size=doc.size - 1)
        x = min(doc.left + 100, doc.x_right - col - 42)
        for label, value in rows:
            doc.put(x, doc.y, label + ":", size=doc.size - 1)
            doc.put(x + col, doc.y, value, size=doc.size - 1, bg=value == i.bg_text)
            doc.y += doc.lh(doc.size - 1)
    doc.gap(7)


def closing(
    doc: Doc,
    c: Ctx,
    *,
    formula: str | None = None,
    name: str | None = None,
    role: str | None = None,
) -> None:
    doc.ensure(28)
    doc.line(
        formula
        or c.pick(
            "Mit freundlichen Grüßen",
            "Mit freundlichen Grüßen",
            "Freundliche Grüße",
            "Viele Grüße",
            "Hochachtungsvoll",
        )
    )
    doc.signature()
    doc.line(name or c.ident.name)
    if role:
        doc.line(role, size=doc.size - 1.5)


def annotate_bg(doc: Doc, c: Ctx) -> None:
    """The client wrote the household number on top of a third party's document."""
    i = c.ident
    if not i.bg_text:
        return
    text = c.pick(
        f"BG-Nr. {i.bg_text}",
        f"BG {i.bg_text}",
        i.bg_text,
        f"BG-Nummer {i.bg_text}",
        f"{i.formal}, BG {i.bg_text}",
    )
    family = c.pick("URW Gothic", "DejaVu Sans", "Nimbus Sans", "DejaVu Sans Condensed")
    families = available_families((family,))
    size = c.rng.uniform(11.0, 13.5)
    width = doc.text_width(text, size=size, bold=True, family=families[0])
    x = c.rng.choice([doc.left, max(doc.left, PAGE_W - doc.right - width - 2)])
    doc.put(
        x,
        c.rng.uniform(5.0, 8.0),
        text,
        size=size,
        bold=True,
        family=families[0],
        ink=min(90, doc.ink + 30),
        bg=True,
    )


def letterhead(
    doc: Doc,
    c: Ctx,
    name: str,
    sub: str,
    address: str,
    *,
    contact: str | None = None,
    style: int | None = None,
) -> None:
    style = c.rng.randrange(3) if style is None else style
    doc.y = doc.top - 4
    # A long name gets a smaller letterhead rather than running off the page.
    head = doc.size + 5
    while head > doc.size and doc.text_width(name, size=head, bold=True) > doc.width:
        head -= 0.5
    if style == 0:
        doc.put(doc.left, doc.y, name, size=head, bold=True)
        doc.y += doc.lh(head)
        doc.line(sub, size=doc.size - 1)
        doc.hline(doc.left, doc.x_right, doc.y + 1, width=0.5)
        doc.gap(3)
    elif style == 1:
        doc.put(PAGE_W / 2, doc.y, name, size=min(head, doc.size + 4), bold=True, align="center")
        doc.y += doc.lh(min(head, doc.size + 4))
        doc.put(PAGE_W / 2, doc.y, sub, size=doc.size - 1, align="center")
        doc.y += doc.lh(doc.size - 1) + 2
    else:
        doc.put(doc.x_right, doc.y, name, size=min(head, doc.size + 3), bold=True, align="right")
        doc.y += doc.lh(min(head, doc.size + 3))
        doc.put(doc.x_right, doc.y, sub, size=doc.size - 1.5, align="right")
        doc.y += doc.lh(doc.size - 1.5)
        doc.put(doc.x_right, doc.y, address, size=doc.size - 1.5, align="right")
        doc.y += doc.lh(doc.size - 1.5)
        if contact:
            doc.put(doc.x_right, doc.y, contact, size=doc.size - 1.5, align="right")
            doc.y += doc.lh(doc.size - 1.5)
        return
    doc.line(address, size=doc.size - 1.5)
    if contact:
        doc.line(contact, size=doc.size - 1.5)


def window(
    doc: Doc, c: Ctx, lines: list[str], *, sender_line: str | None = None, y: float = 48.0
) -> None:
    """The address window of a business letter (DIN 5008)."""
    doc.y = max(doc.y + 4, y)
    if sender_line:
        doc.line(sender_line, size=7.5)
        doc.hline(
            doc.left,
            doc.left + min(85, doc.text_width(sender_line, size=7.5)),
            doc.y - 0.6,
            width=0.12,
        )
        doc.gap(2.5)
    for t in lines:
        doc.line(t)


def recipient_of_third_party(c: Ctx) -> list[str]:
    i = c.ident
    lines = []
    if c.chance(0.6):
        lines.append(i.mr_acc)
    lines.append(i.name)
    if i.show_address:
        lines += [i.street, i.place]
    return lines


def info_block(
    doc: Doc,
    pairs: list[tuple[str, str]],
    *,
    x: float = 125.0,
    y: float | None = None,
    size: float | None = None,
    bg_value: str | None = None,
) -> None:
    y = doc.y if y is None else y
    size = size or doc.size - 1.5
    col = label_column(doc, [label for label, _ in pairs], 32, size=size)
    widest = max(doc.text_width(value, size=size) for _, value in pairs)
    x = min(x, doc.x_right - col - widest)  # long labels push the block left, not off the page
    for label, value in pairs:
        doc.put(x, y, label, size=size)
        doc.put(x + col, y, value, size=size, bg=bg_value is not None and value == bg_value)
        y += doc.lh(size)
    doc.y = max(doc.y, y)


def label_column(doc: Doc, labels: list[str], minimum: float, **kw: object) -> float:
    """Width of a label column: at least `minimum` mm, never narrower than its labels."""
    return max([minimum] + [doc.text_width(t, **kw) + 3 for t in labels])


def footer(doc: Doc, parts: list[str]) -> None:
    y = PAGE_H - doc.bottom + 6
    doc.hline(doc.left, doc.x_right, y - 1.2, width=0.15)
    for k, t in enumerate(parts):
        doc.put(doc.left, y + k * doc.lh(7.5), t, size=7.5)


def page_header_simple(title: str) -> Callable[[Doc], None]:
    def draw(doc: Doc) -> None:
        n = len(doc.pages)
        doc.put(doc.left, doc.top - 6, title, size=8)
        doc.put(doc.x_right, doc.top - 6, f"Seite {n}", size=8, align="right")
        doc.y = doc.top + 2

    return draw


# --------------------------------------------------------------------------------------------
# Templates. Each draws one letter; the planner decides what identifies the sender.


OBJECTION_REASONS = (
    "Bei den Kosten der Unterkunft haben Sie nur einen Teil meiner Heizkosten anerkannt. Ich "
    "zahle monatlich {a1} Euro Abschlag an den Energieversorger und kann den Rest nicht aus dem "
    "Regelsatz bezahlen.",
    "Als Einkommen haben Sie {a1} Euro angerechnet. Dieses Geld habe ich in dem Monat aber gar "
    "nicht bekommen, mein Arbeitgeber zahlt den Lohn immer erst zur Mitte des Folgemonats aus.",
    "In der Berechnung fehlt der Mehrbedarf für Alleinerziehende, obwohl mein Kind seit der "
    "Trennung ausschließlich bei mir wohnt.",
    "Die geforderte Erstattung von {a1} Euro ist für mich nicht nachvollziehbar. Jede Änderung "
    "habe ich Ihnen sofort schriftlich mitgeteilt, die Kopien habe ich noch.",
    "Die Minderung meiner Leistungen halte ich für falsch. Zum Termin am {d1} konnte ich nicht "
    "kommen, weil ich krank war. Das Attest habe ich damals in den Briefkasten geworfen.",
    "Sie haben die Übernahme der Mietkaution abgelehnt, obwohl mir vor dem Umzug schriftlich "
    "zugesichert worden ist, dass die neue Wohnung angemessen ist.",
    "Mein Antrag auf Erstausstattung für Küche und Kinderzimmer wurde ohne Begründung "
    "abgelehnt. Wir haben nach dem Wohnungsbrand nichts mehr.",
    "Das Kindergeld für meinen Sohn wurde zweimal als Einkommen angerechnet, einmal bei ihm und "
    "einmal bei mir.",
    "Die Nachzahlung aus der Betriebskostenabrechnung über {a1} Euro wurde nicht übernommen, "
    "obwohl die Wohnung von Ihnen als angemessen anerkannt ist.",
    "Sie gehen davon aus, dass mein Bruder zu unserer Bedarfsgemeinschaft gehört. Er wohnt nur "
    "zur Untermiete bei uns und zahlt seinen Anteil selbst.",
)
# fmt: off
OBJECTION_KINDS = (
    'Bescheid', 'Änderungsbescheid', 'Bewilligungsbescheid', 'Aufhebungs- und Erstattungsbescheid',
    'Ablehnungsbescheid', 'Bescheid über die Minderung des Bürgergeldes',
)
# fmt: on


def _reason(c: Ctx) -> str:
    return c.rng.choice(OBJECTION_REASONS).format(
        a1=money(c.rng.uniform(40, 900)), d1=c.df(c.ago(30, 60))
    )


def tpl_objection_formal(doc: Doc, c: Ctx) -> None:
    client_letter_head(doc, c)
    decided = c.ago(7, 28)
    kind = c.rng.choice(OBJECTION_KINDS)
    doc.para(
        c.pick(
            f"Widerspruch gegen den {kind} vom {c.df(decided)}",
            f"Widerspruch – Ihr {kind} vom {c.df(decided)}",
            f"Betreff: Widerspruch gegen Ihren {kind} vom {c.df(decided)}",
        ),
        bold=True,
        gap=5,
    )
    cw = c.caseworker
    if cw and c.chance(0.25):
        doc.line(f"Sehr geehrte{'r Herr' if c.chance(0.5) else ' Frau'} {cw.name.split()[-1]},")
    else:
        doc.line("Sehr geehrte Damen und Herren,")
    doc.gap(2)
    doc.para(
        c.pick(
            f"gegen Ihren {kind} vom {c.df(decided)} lege ich hiermit fristgerecht Widerspruch "
            "ein.",
            f"mit diesem Schreiben widerspreche ich dem {kind} vom {c.df(decided)}.",
            f"hiermit erhebe ich Widerspruch gegen den oben genannten Bescheid, der mir am "
            f"{c.df(decided + timedelta(days=3))} zugegangen ist.",
        )
    )
    doc.para(_reason(c))
    if c.chance(0.4):
        doc.para(_reason(c))
    doc.para(
        c.pick(
            "Ich bitte Sie, den Bescheid zu überprüfen und mir einen berichtigten Bescheid zu "
            "schicken.",
            "Bitte bestätigen Sie mir den Eingang meines Widerspruchs schriftlich.",
            "Eine ausführliche Begründung reiche ich nach, sobald ich die Unterlagen beisammen "
            "habe.",
            "Ich beantrage außerdem, die Vollziehung bis zur Entscheidung über den Widerspruch "
            "auszusetzen.",
        )
    )
    closing(doc, c)
    if c.chance(0.15):
        doc.new_page()
        doc.line("Anlage zum Widerspruch: meine monatlichen Ausgaben", bold=True, gap=3)
        items = c.rng.sample(
            [
                "Miete kalt",
                "Nebenkosten",
                "Heizung",
                "Strom",
                "Telefon/Internet",
                "Fahrkarte",
                "Kita-Beitrag",
                "Ratenzahlung",
                "Versicherung",
                "Schulsachen",
            ],
            c.rng.randint(5, 9),
        )
        rows = [[item, money(c.rng.uniform(15, 480)) + " €"] for item in items]
        doc.table([("Ausgabe", 70, "l"), ("Betrag", 35, "r")], rows, grid="box")
        doc.gap(4)
        doc.line(f"{c.ident.first} {c.ident.last}")


def tpl_objection_plain(doc: Doc, c: Ctx) -> None:
    """A client's objection in plain words, sometimes called Einspruch."""
    i = c.ident
    doc.y = doc.top + 4
    parts = [i.name] + ([i.street, i.place] if i.show_address else [])
    doc.para(", ".join(parts))
    if i.show_birth:
        doc.line(c.birth_phrase())
    if i.bg_text:
        doc.line(c.bg_phrase(), bg=True)
    doc.gap(6)
    for t in recipient_lines(c)[:1]:
        doc.line(t)
    doc.gap(4)
    doc.line(date_text(c))
    doc.gap(8)
    word = c.pick("Einspruch", "Widerspruch", "Widerspruch")
    doc.line(word, bold=c.chance(0.6), size=doc.size + 1)
    doc.gap(3)
    decided = c.ago(5, 25)
    doc.para(c.pick("Hallo,", "Guten Tag,", "Sehr geehrte Damen und Herren,"))
    money_then = money(c.rng.uniform(300, 700))
    doc.para(
        c.pick(
            f"ich bin mit dem Bescheid vom {c.df(decided)} nicht einverstanden. Ich habe diesen "
            "Monat "
            f"nur {money_then} Euro bekommen und weiß nicht warum. Deshalb lege ich {word} ein.",
            f"mit dem Schreiben vom {c.df(decided)} bin ich nicht einverstanden und lege dagegen "
            f"{word} ein. Das Geld reicht nicht für die Miete.",
            f"ich widerspreche Ihrem Schreiben vom {c.df(decided)}, weil die Rechnung nicht "
            "stimmen "
            "kann. Mein Mann verdient nicht mehr so viel wie früher.",
            f"hiermit lege ich {word} ein gegen das was sie mir am {c.df(decided)} geschickt "
            "haben. "
            "Meine Tochter wohnt seit dem Sommer nicht mehr bei mir, das habe ich aber gemeldet.",
        )
    )
    if c.chance(0.5):
        doc.para(f"Bitte rufen Sie mich an: {phone(c.rng)}. Ich bin ab 14 Uhr zu Hause.")
    doc.para(c.pick("Danke", "Mit freundlichen Grüßen", "Gruß"), gap=0)
    doc.signature()
    doc.line(f"{i.first} {i.last}")


def tpl_objection_lawyer(doc: Doc, c: Ctx) -> None:
    i = c.ident
    firm, sub, _ = c.rng.choice(LAWYERS)
    office_town = c.pick(c.region.po_town, c.region.court.split()[-1])
    street = (
        f"{c.rng.choice(('Am Wall', 'Domstraße', 'Neuer Markt', 'Kanzleistraße'))} "
        f"{c.rng.randint(2, 60)}"
    )
    letterhead(
        doc,
        c,
        firm,
        sub,
        f"{street} · {office_town}",
        contact=f"Telefon {phone(c.rng)} · kanzlei@{transliterate(firm.split()[-1]).lower()}.de",
    )
    window(
        doc,
        c,
        recipient_lines(c, team=c.pick("– Widerspruchsstelle –", "Rechtsbehelfsstelle")),
        sender_line=f"{firm} · {street} · {office_town}",
    )
    doc.gap(6)
    pairs = [("Unser Zeichen:", f"{c.rng.randint(10, 999)}/26 {c.pick('KÜ', 'BR', 'AY', 'FE')}")]
    if i.bg_text:
        pairs.append(("Ihr Zeichen:" if c.chance(0.6) else i.bg_label, i.bg_text))
    pairs.append(("Datum:", c.df(c.date)))
    info_block(doc, pairs, bg_value=i.bg_text)
    doc.gap(6)
    mandant = "unsere Mandantin" if i.sex == "f" else "unseren Mandanten"
    subject = f"{i.name} ./. {c.region.jobcenter}"
    if i.show_birth:
        subject = f"{i.name}, {c.birth_phrase()} ./. {c.region.short}"
    doc.para(subject, bold=True, gap=0.5)
    decided = c.ago(10, 28)
    doc.para(f"wegen {c.rng.choice(OBJECTION_KINDS)} vom {c.df(decided)}", bold=True)
    doc.line("Sehr geehrte Damen und Herren,", gap=1)
    where = f", {i.street}, {i.place}" if i.show_address else ""
    doc.para(
        f"hiermit zeigen wir an, dass wir {mandant}, {i.mr_acc} {i.first} {i.last}{where}, "
        "anwaltlich vertreten. Eine auf uns lautende Vollmacht fügen wir bei."
    )
    doc.para(
        f"Namens und in Vollmacht {'unserer Mandantin' if i.sex == 'f' else 'unseres Mandanten'}"
        f" legen wir gegen den Bescheid vom {c.df(decided)}"
    )
    doc.line("Widerspruch", x=PAGE_W / 2 - 12, bold=True, gap=1)
    doc.para("ein.")
    doc.para(
        c.pick(
            "Der Bescheid ist rechtswidrig. Die Angemessenheitsgrenze für die Unterkunftskosten "
            "beruht "
            "nicht auf einem schlüssigen Konzept; es sind daher die tatsächlichen Aufwendungen zu "
            "übernehmen.",
            "Die Anrechnung von Einkommen ist fehlerhaft erfolgt. Die Absetzbeträge nach § 11b "
            "SGB II "
            "wurden nicht berücksichtigt, insbesondere nicht die Fahrtkosten zur Arbeitsstätte.",
            "Eine Anhörung nach § 24 SGB X hat vor Erlass des Bescheides nicht stattgefunden. "
            "Schon "
            "deshalb ist der Bescheid aufzuheben.",
        )
    )
    doc.para(
        "Wir beantragen Akteneinsicht durch Übersendung der vollständigen Verwaltungsakte an "
        "unsere Kanzlei. Eine weitere Begründung bleibt ausdrücklich vorbehalten."
    )
    doc.para(
        "Ferner wird beantragt, die Hinzuziehung eines Bevollmächtigten für notwendig zu "
        "erklären und die Kosten des Widerspruchsverfahrens zu erstatten (§ 63 SGB X)."
    )
    doc.continuation = page_header_simple(f"{firm} – Schreiben vom {c.df(c.date)}")
    if c.chance(0.45):
        doc.new_page()
        doc.line("Begründung", bold=True, gap=2)
        for text in c.rng.sample(LAWYER_REASONS, c.rng.randint(2, 4)):
            doc.para(text)
    closing(
        doc,
        c,
        name=firm.replace("Kanzlei ", "").replace("Anwaltsbüro ", ""),
        role=c.pick("Rechtsanwältin", "Rechtsanwalt", "Rechtsanwälte"),
    )
    bank = c.rng.choice(BANKS)
    footer(
        doc,
        [
            f"Bankverbindung: {bank[0]} · IBAN {iban_for(c.rng, bank[2])}",
            "Bürozeiten: Mo bis Do 8:30 – 17:00 Uhr, Fr 8:30 – 13:00 Uhr",
        ],
    )


LAWYER_REASONS = (
    "Die Beklagte hat den Bedarf unserer Mandantschaft fehlerhaft ermittelt. Insbesondere wurden "
    "die tatsächlichen Aufwendungen für Unterkunft und Heizung ohne vorherige "
    "Kostensenkungsaufforderung gekürzt.",
    "Soweit der Bescheid auf eine fehlende Mitwirkung gestützt wird, fehlt es an einer "
    "ordnungsgemäßen schriftlichen Belehrung über die Rechtsfolgen nach § 66 Abs. 3 SGB I.",
    "Das angerechnete Einkommen ist nicht im Zuflussmonat berücksichtigt worden. Nach dem "
    "Zuflussprinzip ist allein der Monat maßgeblich, in dem das Geld tatsächlich zufließt.",
    "Die Voraussetzungen einer Aufhebung nach § 48 SGB X liegen nicht vor. Eine wesentliche "
    "Änderung in den Verhältnissen ist nicht eingetreten; jedenfalls fehlt es an grober "
    "Fahrlässigkeit.",
    "Die Heizkosten sind in tatsächlicher Höhe zu übernehmen. Der bundesweite Heizspiegel ist "
    "nur ein Indiz und ersetzt keine Prüfung im Einzelfall.",
    "Wir regen an, den Bescheid im Rahmen der Abhilfe aufzuheben. Andernfalls wird unsere "
    "Mandantschaft nach Erlass des Widerspruchsbescheides Klage zum Sozialgericht erheben.",
)


def tpl_objection_association(doc: Doc, c: Ctx) -> None:
    i = c.ident
    org = c.rng.choice(ASSOCIATIONS)
    town = c.office.town
    advisor = (
        f"{c.pick('Renate', 'Holger', 'Birte', 'Kai', 'Dagmar')} "
        f"{c.pick('Westphal', 'Hinsch', 'Ottens', 'Marquardt', 'Budde')}"
    )
    letterhead(
        doc,
        c,
        f"{org} {town}",
        "Sozialberatung · Widerspruchs- und Klageverfahren",
        f"{c.pick('Bürgerhaus', 'Haus der Vereine')}, {c.pick('Mühlenstraße', 'Am Alten Bahnhof')} "
        f"{c.rng.randint(1, 30)}, {c.office.postcode} {town}",
        style=c.rng.choice([0, 1]),
    )
    window(doc, c, recipient_lines(c))
    doc.gap(8)
    doc.line(date_text(c, with_town=False), x=125)
    doc.gap(6)
    subject = f"Widerspruch für {i.mr_acc} {i.first} {i.last}"
    if i.show_birth:
        subject += f", {c.birth_phrase()}"
    doc.para(subject, bold=True, gap=0.5)
    if i.bg_text:
        doc.line(c.bg_phrase(), bold=True, bg=True)
    doc.gap(4)
    doc.line("Sehr geehrte Damen und Herren,", gap=1)
    where = f", wohnhaft {i.street}, {i.place}," if i.show_address else ""
    decided = c.ago(8, 25)
    doc.para(
        f"{'unsere Mitgliedin' if i.sex == 'f' else 'unser Mitglied'} {i.first} {i.last}"
        f"{where} hat uns mit der Wahrnehmung {'ihrer' if i.sex == 'f' else 'seiner'} "
        f"Interessen beauftragt. In {'ihrem' if i.sex == 'f' else 'seinem'} Namen legen wir "
        f"gegen den {c.rng.choice(OBJECTION_KINDS)} vom {c.df(decided)} Widerspruch ein."
    )
    doc.para("Begründung: " + _reason(c))
    doc.para(
        "Wir bitten um Übersendung einer Kopie der Berechnungsbögen und um kurzfristige "
        "Entscheidung. Eine Vollmacht liegt bei."
    )
    closing(doc, c, name=f"i. A. {advisor}", role="Sozialberatung")


# fmt: off
COURT_SUBJECTS = (
    'Kosten der Unterkunft und Heizung', 'Leistungen nach dem SGB II', 'Erstattungsforderung',
    'Minderung des Bürgergeldes', 'Anrechnung von Einkommen', 'Mehrbedarf', 'Erstausstattung',
)
# fmt: on


def _court_ref(c: Ctx, eil: bool = False, higher: bool = False) -> str:
    chamber = c.rng.randint(1, 42)
    number = c.rng.randint(1, 1999)
    if higher:
        return f"L {c.rng.randint(1, 32)} AS {number}/26 B ER"
    return f"S {chamber} AS {number}/26{' ER' if eil else ''}"


def _court_head(doc: Doc, c: Ctx, *, higher: bool = False, eil: bool = False) -> str:
    r = c.region
    court = r.higher_court if higher else r.court
    address = r.higher_court_address if higher else r.court_address
    ref = _court_ref(c, eil=eil, higher=higher)
    style = c.rng.randrange(2)
    doc.y = doc.top - 4
    if style == 0:
        doc.line(court, size=doc.size + 4, bold=True)
        doc.line(address, size=doc.size - 1.5)
    else:
        doc.put(
            PAGE_W / 2,
            doc.y,
            court.upper() if c.chance(0.4) else court,
            size=doc.size + 3,
            bold=True,
            align="center",
        )
        doc.y += doc.lh(doc.size + 3)
        doc.put(PAGE_W / 2, doc.y, "Die Geschäftsstelle", size=doc.size - 1, align="center")
        doc.y += doc.lh(doc.size - 1)
    lines = recipient_lines(
        c, team=c.pick("– Widerspruchsstelle –", "Rechtsstelle", "Prozessvertretung")
    )
    window(doc, c, lines, sender_line=f"{court}, {address}", y=46)
    pairs = [("Aktenzeichen:" if c.chance(0.6) else "Az.:", ref)]
    i = c.ident
    if i.bg_text:
        pairs.append(("Ihr Zeichen:", i.bg_text))
    elif c.chance(0.4):
        pairs.append(("Ihr Zeichen:", f"W {c.rng.randint(100, 4999)}/26"))
    pairs.append(("Datum:", c.df(c.date)))
    info_block(doc, pairs, y=52, bg_value=i.bg_text)
    doc.gap(8)
    doc.line(
        "Bitte bei allen Schreiben das Aktenzeichen angeben.", size=doc.size - 2.5, italic=True
    )
    doc.gap(3)
    return ref


def _court_rubrum(doc: Doc, c: Ctx, *, role: str) -> None:
    i = c.ident
    first = role if i.sex == "m" else role + "in"
    doc.line("In dem Rechtsstreit" if "Kläger" in role else "In dem Verfahren", bold=True)
    doc.gap(1)
    parts = [i.name]
    if i.show_birth:
        parts.append(c.birth_phrase())
    if i.show_address:
        parts += [i.street, i.place]
    doc.para(", ".join(parts), x=doc.left + 10, gap=0.5)
    doc.line(f"– {first} –", x=doc.left + 10, gap=1)
    doc.line("gegen", x=doc.left + 10, gap=1)
    other = "Beklagter" if "Kläger" in role else "Antragsgegner"
    doc.para(
        f"{c.region.jobcenter}, {c.region.po_box}, {c.region.po_postcode} {c.region.po_town}",
        x=doc.left + 10,
        gap=0.5,
    )
    doc.line(f"– {other} –", x=doc.left + 10, gap=3)
    doc.line(f"wegen {c.rng.choice(COURT_SUBJECTS)}", gap=4)


def _court_close(doc: Doc, c: Ctx) -> None:
    doc.gap(4)
    kind = c.rng.randrange(3)
    if kind == 0:
        doc.line("Auf Anordnung")
        doc.signature()
        doc.line(c.rng.choice(COURT_STAFF))
        doc.line(
            c.pick(
                "Justizbeschäftigte", "Justizhauptsekretär", "Urkundsbeamtin der Geschäftsstelle"
            ),
            size=doc.size - 1.5,
        )
    elif kind == 1:
        doc.line("Der Vorsitzende" if c.chance(0.5) else "Die Vorsitzende")
        doc.signature()
        doc.line(f"{c.rng.choice(JUDGES)}")
        doc.line("Richter/in am Sozialgericht", size=doc.size - 1.5)
    else:
        doc.line("Beglaubigt")
        doc.line(
            f"{c.rng.choice(COURT_STAFF)}, Urkundsbeamtin der Geschäftsstelle", size=doc.size - 1.5
        )
        doc.line(
            "Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig.",
            size=doc.size - 2.5,
        )
    footer(
        doc,
        [
            f"Sprechzeiten der Geschäftsstelle: Mo – Fr 9:00 – 12:00 Uhr · Telefon {phone(c.rng)}",
            "Hinweis: Schriftsätze können elektronisch über das beBPo/EGVP eingereicht werden.",
        ],
    )


def tpl_court_service(doc: Doc, c: Ctx) -> None:
    _court_head(doc, c)
    _court_rubrum(doc, c, role="Kläger")
    filed = c.ago(3, 14)
    doc.para(
        c.pick(
            f"wird Ihnen die Klageschrift vom {c.df(filed)} nebst Anlagen zur Kenntnis und "
            "Stellungnahme innerhalb von vier Wochen übersandt.",
            f"erhalten Sie anbei eine Abschrift der am {c.df(filed)} eingegangenen Klage mit der "
            "Bitte, sich binnen eines Monats zu äußern.",
        )
    )
    doc.para(
        "Sie werden gebeten, die vollständigen Verwaltungsvorgänge einschließlich der "
        "Widerspruchsakte paginiert vorzulegen. Sollte eine Vorlage nicht möglich sein, wird "
        "um Mitteilung der Gründe gebeten."
    )
    if c.chance(0.5):
        doc.para(
            "Es wird angeregt zu prüfen, ob der Rechtsstreit durch ein Anerkenntnis oder "
            "einen Vergleich beendet werden kann."
        )
    _court_close(doc, c)
    if c.chance(0.3):
        i = c.ident
        doc.new_page()
        doc.line("Abschrift", italic=True, gap=4)
        doc.line("Klage", bold=True, size=doc.size + 3, gap=3)
        who = f"{i.name}" + (f", {i.street}, {i.place}" if i.show_address else "")
        doc.para(f"der {'Frau' if i.sex == 'f' else 'Herrn'} {who}", gap=0.5)
        doc.line("– Kläger/in –", gap=2)
        doc.para(f"gegen das {c.region.jobcenter}", gap=0.5)
        doc.line("– Beklagter –", gap=3)
        doc.para(
            f"Ich erhebe Klage gegen den Bescheid vom {c.df(c.ago(60, 120))} in Gestalt des "
            f"Widerspruchsbescheides vom {c.df(c.ago(20, 50))} und beantrage, den Beklagten "
            "zu verurteilen, mir höhere Leistungen zu gewähren."
        )
        doc.para(_reason(c))
        doc.signature()


def tpl_court_hearing(doc: Doc, c: Ctx) -> None:
    _court_head(doc, c)
    _court_rubrum(doc, c, role="Kläger")
    when = c.ahead(20, 70)
    while when.weekday() > 4:
        when += timedelta(days=1)
    kind = c.pick("Erörterung des Sachverhalts", "mündlichen Verhandlung")
    doc.line(c.pick("Ladung", "Terminsmitteilung"), bold=True, size=doc.size + 1, gap=2)
    doc.para(f"Termin zur {kind} ist bestimmt auf")
    doc.line(
        f"{WEEKDAYS[when.weekday()]}, {fmt_date(when, 'dotted')}, "
        f"{c.rng.choice(['9:30', '10:00', '11:15', '13:30', '14:00'])} Uhr,",
        bold=True,
    )
    doc.line(f"Sitzungssaal {c.rng.randint(1, 12)}, {c.region.court_address}", gap=3)
    doc.para(
        "Zu diesem Termin werden Sie hiermit geladen. Für den Beklagten hat ein mit der "
        "Sache vertrauter und zum Abschluss eines Vergleichs bevollmächtigter Vertreter zu "
        "erscheinen."
    )
    doc.para("Bei Ausbleiben kann nach Lage der Akten entschieden werden.")
    _court_close(doc, c)


def tpl_court_urgent(doc: Doc, c: Ctx) -> None:
    _court_head(doc, c, eil=True)
    _court_rubrum(doc, c, role="Antragsteller")
    until = c.ahead(3, 6)
    doc.para("Eilt! Einstweiliger Rechtsschutz", bold=True)
    doc.para(
        f"Sie erhalten den Antrag auf Erlass einer einstweiligen Anordnung vom "
        f"{c.df(c.ago(1, 4))} mit der Bitte um Stellungnahme bis zum {c.df(until)}."
    )
    doc.para(
        "Die Kammer beabsichtigt, nach Ablauf der Frist ohne mündliche Verhandlung durch "
        "Beschluss zu entscheiden. Die Verwaltungsakte wird zeitgleich erbeten."
    )
    doc.para(
        c.pick(
            "Bis zur Entscheidung wird gebeten, von Vollstreckungsmaßnahmen abzusehen.",
            "Es wird um Mitteilung gebeten, ob dem Begehren abgeholfen werden kann.",
        )
    )
    _court_close(doc, c)


def tpl_court_judgment(doc: Doc, c: Ctx) -> None:
    higher = c.chance(0.35)
    ref = _court_head(doc, c, higher=higher)
    _court_rubrum(doc, c, role="Kläger")
    doc.para(
        c.pick(
            f"erhalten Sie anbei eine Ausfertigung des Urteils vom {c.df(c.ago(5, 20))} zugestellt "
            "gegen Empfangsbekenntnis.",
            f"wird Ihnen der Beschluss vom {c.df(c.ago(5, 20))} in beglaubigter Abschrift "
            "zugestellt.",
            f"übersende ich den Gerichtsbescheid vom {c.df(c.ago(5, 20))} zu Ihrer Kenntnis.",
        )
    )
    doc.para(
        "Bitte senden Sie das beigefügte Empfangsbekenntnis unverzüglich unterschrieben und "
        "mit Datum versehen zurück."
    )
    _court_close(doc, c)
    if c.chance(0.5):
        doc.new_page()
        doc.line("Empfangsbekenntnis", bold=True, size=doc.size + 3, gap=4)
        doc.para(
            f"In der Sache {c.ident.name} ./. {c.region.jobcenter}, Az. {ref}, habe ich "
            "heute folgendes Schriftstück erhalten:"
        )
        doc.para("Ausfertigung der Entscheidung vom oben genannten Datum")
        doc.gap(10)
        doc.line("Datum: ______________      Unterschrift: ____________________________")
        doc.gap(4)
        doc.line("(Stempel der Behörde)", size=doc.size - 2)


def _form_title(doc: Doc, c: Ctx, title: str, sub: str) -> None:
    doc.y = doc.top - 4
    doc.line(c.region.jobcenter, size=doc.size - 1)
    doc.gap(2)
    doc.line(title, size=doc.size + 4, bold=True)
    doc.para(sub, size=doc.size - 1, gap=2, width=doc.width - 55)  # beside the stamp box


# Share of forms that print the household number one character per box, as many printed
# forms of job centres and employers do; those forms print dates in boxes too.
FORM_BOX_SHARE = 0.5


def _boxed(number: str, rng: random.Random) -> str:
    """A printed number as it goes into boxes: one group, or office, "BG" and serial apart."""
    raw = "".join(ch for ch in number if ch.isalnum())
    if len(raw) == 14 and rng.random() < 0.4:
        return f"{raw[:5]} {raw[5:7]} {raw[7:]}"
    return raw


def _date_boxes(doc: Doc, c: Ctx, x: float, y: float, day: date, label: str) -> float:
    """A date written into eight boxes: "TT.MM.JJJJ" or three groups apart."""
    digits = day.strftime("%d%m%Y")
    sep = "." if c.chance(0.5) else " "
    chars = f"{digits[:2]}{sep}{digits[2:4]}{sep}{digits[4:]}"
    return doc.comb(x, y, chars, label, cell=c.rng.uniform(3.8, 4.3))


def _bg_field(doc: Doc, c: Ctx, x: float, y: float, w: float, label: str) -> None:
    i = c.ident
    if i.bg_text and (i.bg_format == "comb" or c.chance(FORM_BOX_SHARE)):
        c.extra["boxes"] = True
        doc.comb(x, y, _boxed(i.bg_text, c.rng), label)
    else:
        doc.field(x, y, w, label, i.bg_text or "", bg=True)


def _person_fields(doc: Doc, c: Ctx, *, y: float | None = None) -> None:
    i = c.ident
    y = doc.y if y is None else y
    x = doc.left
    w = doc.width
    doc.field(x, y, w * 0.4, "Familienname", i.last)
    doc.field(x + w * 0.4, y, w * 0.35, "Vorname", i.first)
    if i.show_birth and c.extra.get("boxes") and c.chance(0.7):
        _date_boxes(doc, c, x + w * 0.75 + 1.5, y, i.birth, "Geburtsdatum")
    else:
        doc.field(x + w * 0.75, y, w * 0.25, "Geburtsdatum", i.birth_text if i.show_birth else "")
    y += 11
    doc.field(x, y, w * 0.55, "Straße, Hausnummer", i.street if i.show_address else "")
    doc.field(x + w * 0.55, y, w * 0.45, "Postleitzahl, Wohnort", i.place if i.show_address else "")
    doc.y = y + 13


def _yes_no_rows(doc: Doc, c: Ctx, questions: list[str], yes: set[int]) -> None:
    size = doc.size - 1
    for k, q in enumerate(questions):
        doc.ensure(doc.lh(size) * 2)
        lines = doc.wrap(q, doc.width - 40, size=size)
        top = doc.y
        for t in lines:
            doc.put(doc.left, doc.y, t, size=size)
            doc.y += doc.lh(size)
        saved = doc.y
        doc.y = top
        x = doc.option(doc.x_right - 36, "ja", k in yes, size=size)
        doc.option(x - 2, "nein", k not in yes, size=size)
        doc.y = saved + 1.2
        doc.hline(doc.left, doc.x_right, doc.y - 0.6, width=0.12)


def tpl_wba_form(doc: Doc, c: Ctx) -> None:
    i = c.ident
    _form_title(
        doc,
        c,
        c.pick("Weiterbewilligungsantrag", "Antrag auf Weiterbewilligung von Bürgergeld"),
        "Leistungen zur Sicherung des Lebensunterhalts nach dem Zweiten Buch "
        "Sozialgesetzbuch (SGB II)",
    )
    doc.rect(doc.x_right - 48, doc.top - 4, 48, 22, width=0.2)
    doc.put(doc.x_right - 46, doc.top - 3, "Eingangsstempel", size=7)
    doc.y = max(doc.y, doc.top + 22)
    _bg_field(doc, c, doc.left, doc.y, 80, "Nummer der Bedarfsgemeinschaft")
    doc.field(
        doc.left + 95, doc.y, 60, "Kundennummer", customer_number(c.rng) if c.chance(0.3) else ""
    )
    doc.y += 14
    doc.line("1. Angaben zur antragstellenden Person", bold=True, gap=1)
    _person_fields(doc, c)
    until = c.ahead(10, 45)
    doc.line("2. Weiterbewilligung", bold=True, gap=1)
    doc.para(
        f"Ich beantrage die Weiterbewilligung der Leistungen ab dem {c.df(until)} für alle "
        "Mitglieder meiner Bedarfsgemeinschaft.",
        size=doc.size - 0.5,
    )
    doc.line("3. Haben sich seit der letzten Antragstellung Änderungen ergeben?", bold=True, gap=1)
    qs = [
        "Zusammensetzung der Bedarfsgemeinschaft (Ein- oder Auszug, Geburt)",
        "Einkommen (z. B. Arbeitsentgelt, Kindergeld, Unterhalt, Renten)",
        "Vermögen (z. B. Sparguthaben, Fahrzeuge)",
        "Kosten für Unterkunft und Heizung",
        "Kranken- und Pflegeversicherung",
        "Bankverbindung",
    ]
    yes = {k for k in range(len(qs)) if c.chance(0.2)}
    _yes_no_rows(doc, c, qs, yes)
    doc.continuation = page_header_simple(f"Weiterbewilligungsantrag – {i.formal}")
    if c.chance(0.6):
        doc.new_page()
    else:
        doc.gap(4)
    doc.line("4. Erläuterungen zu den Änderungen", bold=True, gap=1)
    if yes:
        doc.para(
            c.pick(
                f"Seit dem {c.df(c.ago(20, 90))} arbeite ich {c.rng.randint(8, 25)} Stunden pro "
                "Woche. Die Lohnabrechnungen reiche ich ein.",
                "Meine Miete ist gestiegen, das Schreiben des Vermieters liegt bei.",
                "Mein Sohn ist ausgezogen und wohnt jetzt in einer eigenen Wohnung.",
                "Ich bin jetzt bei einer anderen Krankenkasse versichert.",
            )
        )
    else:
        doc.para("keine")
    doc.gap(3)
    doc.line("5. Erklärung", bold=True, gap=1)
    doc.para(
        "Ich versichere, dass meine Angaben vollständig sind und der Wahrheit entsprechen. "
        "Mir ist bekannt, dass ich jede Änderung in meinen Verhältnissen unverzüglich "
        "mitteilen muss und zu Unrecht erhaltene Leistungen zu erstatten sind.",
        size=doc.size - 1,
    )
    doc.gap(6)
    doc.line(f"{date_text(c)}")
    doc.signature(x=doc.left + 70)
    doc.line("Ort, Datum                                   Unterschrift", size=7.5)
    others = c.members_other()
    if others and c.extra.get("case") not in CLEARING_CASES and c.chance(0.35):
        doc.new_page()
        doc.line("Anlage WEP – weitere Personen der Bedarfsgemeinschaft", bold=True, gap=3)
        rows = [
            [
                m.last_name,
                m.first_name,
                fmt_date(m.birth_date, "dotted"),
                c.pick("Partner/in", "Kind", "Angehörige/r")
                if m.birth_date.year < 2008
                else "Kind",
            ]
            for m in others
        ]
        doc.table(
            [
                ("Familienname", 45, "l"),
                ("Vorname", 40, "l"),
                ("Geburtsdatum", 32, "l"),
                ("Verhältnis", 40, "l"),
            ],
            rows,
            grid="box",
        )
        doc.gap(6)
        doc.para(
            "Für jede weitere Person ab 15 Jahren ist die Anlage EK beizufügen, wenn sie "
            "Einkommen hat.",
            size=doc.size - 1,
        )


def tpl_wba_letter(doc: Doc, c: Ctx) -> None:
    client_letter_head(doc, c)
    end = c.ahead(10, 40)
    doc.line(
        c.pick(
            "Antrag auf Weiterbewilligung",
            "Weiterbewilligung meiner Leistungen",
            "Weiterbewilligungsantrag",
            "Folgeantrag Bürgergeld",
        ),
        bold=True,
        gap=4,
    )
    doc.line("Sehr geehrte Damen und Herren,", gap=1)
    doc.para(
        c.pick(
            f"mein Bewilligungszeitraum endet am {c.df(end)}. Hiermit beantrage ich die "
            "Weiterbewilligung des Bürgergeldes für mich und meine Familie.",
            "ich stelle hiermit den Antrag auf Weiterbewilligung der Leistungen nach dem SGB II "
            "ab "
            f"dem {c.df(end + timedelta(days=1))}.",
            "ich möchte, dass meine Leistungen weiter gezahlt werden, und beantrage deshalb die "
            "Weiterbewilligung.",
        )
    )
    doc.para(
        c.pick(
            "In meinen Verhältnissen hat sich nichts geändert.",
            "Seit dem letzten Antrag hat sich nur meine Nebenkostenvorauszahlung geändert, die "
            "Bescheinigung lege ich bei.",
            "Meine Tochter hat eine Ausbildung angefangen, die Ausbildungsvergütung reiche ich "
            "nach.",
            "Es gibt keine Änderungen bei Einkommen, Vermögen oder Wohnung.",
        )
    )
    if c.chance(0.4):
        doc.para("Falls Sie noch Unterlagen brauchen, geben Sie mir bitte Bescheid.")
    closing(doc, c)


def tpl_wba_questions(doc: Doc, c: Ctx) -> None:
    i = c.ident
    doc.y = doc.top - 2
    doc.put(doc.x_right, doc.y, c.region.short, size=doc.size - 1, align="right")
    doc.y += 8
    doc.para(
        "Antrag auf Fortzahlung der Leistungen nach dem SGB II (Weiterbewilligungsantrag)",
        bold=True,
        size=doc.size + 2,
    )
    rows = [("Name, Vorname", i.formal)]
    if i.show_birth:
        rows.append(("Geburtsdatum", i.birth_text))
    if i.show_address:
        rows.append(("Anschrift", f"{i.street}, {i.place}"))
    if i.bg_text:
        rows.append(
            (i.bg_label.rstrip(":") if "Zeichen" not in i.bg_label else "BG-Nummer", i.bg_text)
        )
    col = label_column(doc, [label + ":" for label, _ in rows], 50)
    for label, value in rows:
        doc.put(doc.left, doc.y, label + ":")
        doc.put(doc.left + col, doc.y, value, bg=value == i.bg_text)
        doc.y += doc.lh() + 1
        doc.hline(doc.left + col - 1, doc.x_right, doc.y - 1.2, width=0.15)
    doc.gap(5)
    questions = [
        "1. Hat sich Ihre Anschrift oder Ihre Miete geändert?",
        "2. Ist jemand in Ihren Haushalt eingezogen oder ausgezogen?",
        "3. Haben Sie oder ein Mitglied Ihrer Bedarfsgemeinschaft Einkommen?",
        "4. Besitzen Sie Vermögen über 15.000 Euro?",
        "5. Sind Sie arbeitsunfähig erkrankt oder schwanger?",
        "6. Erhalten Sie Leistungen anderer Stellen (Wohngeld, Kinderzuschlag, Rente)?",
    ]
    _yes_no_rows(doc, c, questions, {k for k in range(len(questions)) if c.chance(0.15)})
    doc.gap(4)
    doc.para(
        "Bitte fügen Sie Nachweise über alle Änderungen bei. Ohne vollständige Unterlagen "
        "kann über Ihren Antrag nicht entschieden werden.",
        size=doc.size - 1,
    )
    doc.gap(6)
    doc.line(date_text(c))
    doc.signature(x=doc.left + 80)


VAEM_TOPICS = (
    (
        "Arbeitsaufnahme",
        "Ich habe am {d} eine Beschäftigung als {job} bei {emp} aufgenommen. "
        "Der Verdienst beträgt voraussichtlich {amt} Euro brutto im Monat.",
    ),
    (
        "Ende einer Beschäftigung",
        "Mein Arbeitsverhältnis bei {emp} endet zum {d}. Die Kündigung liegt in Kopie bei.",
    ),
    ("Geburt eines Kindes", "Am {d} ist unser Kind geboren. Die Geburtsurkunde reiche ich nach."),
    ("Auszug", "Mein Sohn ist zum {d} ausgezogen und gehört nicht mehr zu unserem Haushalt."),
    (
        "Änderung der Miete",
        "Die Miete erhöht sich ab dem {d} auf {amt} Euro warm. Das Schreiben "
        "der Hausverwaltung liegt bei.",
    ),
    (
        "Schwangerschaft",
        "Ich bin schwanger, der voraussichtliche Entbindungstermin ist der {d}. "
        "Eine Kopie des Mutterpasses liegt bei.",
    ),
    ("Einzug", "Mein Lebensgefährte zieht am {d} bei mir ein."),
    (
        "Krankengeld",
        "Ich beziehe seit dem {d} Krankengeld von der Krankenkasse in Höhe von {amt} "
        "Euro monatlich.",
    ),
)


# The changes a change-notice form offers to tick.
VAEM_OPTIONS = (
    "Arbeitsaufnahme",
    "Ende einer Beschäftigung",
    "Umzug",
    "Geburt eines Kindes",
    "Auszug",
    "Einzug",
    "Änderung der Miete",
    "Schwangerschaft",
    "Krankengeld",
    "Sonstiges",
)


def _vaem_text(c: Ctx) -> tuple[str, str]:
    topic, text = c.rng.choice(VAEM_TOPICS)
    emp = c.rng.choice(EMPLOYERS)[0]
    return topic, text.format(
        d=c.df(c.ahead(-20, 25)),
        job=c.rng.choice(JOBS),
        emp=emp,
        amt=money(c.rng.uniform(520, 2600)),
    )


def tpl_vaem_form(doc: Doc, c: Ctx) -> None:
    _form_title(
        doc,
        c,
        c.pick("Veränderungsmitteilung", "Veränderungsmitteilung (VÄM)"),
        "Mitteilung über Änderungen in den persönlichen und wirtschaftlichen Verhältnissen",
    )
    doc.gap(2)
    _bg_field(doc, c, doc.left, doc.y, 80, c.pick("BG-Nummer", "Nummer der Bedarfsgemeinschaft"))
    doc.y += 14
    _person_fields(doc, c)
    topic, text = _vaem_text(c)
    doc.line("Folgende Änderung teile ich mit:", bold=True, gap=1.5)
    options = list(VAEM_OPTIONS)
    for k in range(0, len(options), 2):
        x = doc.option(doc.left, options[k], options[k] == topic, size=doc.size - 1)
        if k + 1 < len(options):
            doc.option(
                max(x, doc.left + 80), options[k + 1], options[k + 1] == topic, size=doc.size - 1
            )
        doc.y += doc.lh(doc.size - 1) + 1
    doc.gap(4)
    doc.line("Erläuterung:", bold=True)
    doc.para(text)
    doc.gap(2)
    doc.para(
        "Ich versichere die Richtigkeit meiner Angaben. Nachweise sind beigefügt.",
        size=doc.size - 1,
    )
    doc.gap(6)
    doc.line(date_text(c))
    doc.signature(x=doc.left + 80)
    doc.line("Unterschrift", x=doc.left + 80, size=7.5)


def tpl_vaem_letter(doc: Doc, c: Ctx) -> None:
    topic, text = _vaem_text(c)
    client_letter_head(doc, c)
    doc.line(
        c.pick(
            f"Änderungsmitteilung – {topic}",
            "Mitteilung einer Änderung",
            f"{topic}",
            "Veränderungsmitteilung",
            "Änderung meiner Verhältnisse",
        ),
        bold=True,
        gap=4,
    )
    doc.line("Sehr geehrte Damen und Herren,", gap=1)
    doc.para(
        c.pick(
            "hiermit teile ich Ihnen eine Änderung mit:",
            "ich möchte Ihnen mitteilen, dass sich bei mir etwas geändert hat.",
            "wie vorgeschrieben melde ich Ihnen folgende Änderung:",
        )
    )
    doc.para(text)
    doc.para(
        c.pick(
            "Bitte berücksichtigen Sie dies bei der Berechnung meiner Leistungen.",
            "Für Rückfragen bin ich telefonisch erreichbar.",
            "Bitte teilen Sie mir mit, ob Sie weitere Unterlagen benötigen.",
        )
    )
    closing(doc, c)


def tpl_vaem_note(doc: Doc, c: Ctx) -> None:
    """A short note on a sheet without letterhead, e.g. about a child's apprenticeship."""
    i = c.ident
    doc.y = doc.top + 6
    doc.line(c.pick("An das Jobcenter", "Jobcenter – Leistungsabteilung", c.region.short), gap=2)
    doc.line(date_text(c), gap=6)
    who = [i.name]
    if i.show_birth:
        who.append(c.birth_phrase())
    if i.show_address:
        who.append(f"{i.street}, {i.place}")
    if i.bg_text:
        who.append(c.bg_phrase())
    for t in who:
        doc.line(t, bg=t == c.bg_phrase() if i.bg_text else False)
    doc.gap(6)
    kid = c.child()
    if kid and c.chance(0.6):
        doc.para(
            f"Hiermit melde ich, dass meine {'Tochter' if kid.sex == 'f' else 'Sohn'} "
            f"{kid.first_name} seit dem {c.df(c.ago(5, 60))} "
            f"{c.pick('eine Ausbildung', 'ein Praktikum', 'einen Minijob')} bei "
            f"{c.rng.choice(EMPLOYERS)[0]} hat. Die Vergütung beträgt "
            f"{money(c.rng.uniform(200, 1100))} € im Monat.".replace("meine Sohn", "mein Sohn")
        )
    else:
        doc.para("Hiermit melde ich: " + _vaem_text(c)[1])
    doc.para(c.pick("Nachweis anbei.", "Den Vertrag lege ich in Kopie bei.", "Danke."))
    doc.signature()
    doc.line(f"{i.first} {i.last}")


def _landlord(c: Ctx) -> tuple[str, str, bool]:
    """A landlord: name, address line, is a company."""
    # The landlord's town tells nothing about the tenant unless the tenant's address is printed.
    postcode, town = c.any_place()
    if c.ident.show_address and c.chance(0.6):
        postcode, town = c.ident.postcode, c.ident.town
    streets = ("Marktstraße", "Am Stadtgraben", "Industrieweg", "Kaiserstraße", "Parkallee")
    street = f"{c.rng.choice(streets)} {c.rng.randint(1, 90)}"
    if c.chance(0.7):
        return c.rng.choice(LANDLORDS_ORG), f"{street}, {postcode} {town}", True
    return c.rng.choice(LANDLORDS_PRIVATE), f"{street}, {postcode} {town}", False


# fmt: off
COST_KINDS = (
    'Grundsteuer', 'Wasser/Abwasser', 'Niederschlagswasser', 'Müllabfuhr', 'Straßenreinigung',
    'Gebäudeversicherung', 'Haftpflichtversicherung', 'Hauswart', 'Treppenhausreinigung',
    'Gartenpflege', 'Allgemeinstrom', 'Schornsteinfeger', 'Aufzug', 'Kabelanschluss',
    'Rauchwarnmelder-Wartung',
)
# fmt: on


def _costs(c: Ctx, n: int) -> list[tuple[str, float, float]]:
    kinds = c.rng.sample(COST_KINDS, n)
    out = []
    for k in kinds:
        total = c.rng.uniform(150, 9000)
        share = total * c.rng.uniform(0.03, 0.12)
        out.append((k, total, share))
    return out


def _flat(c: Ctx) -> str:
    i = c.ident
    return (
        f"{i.street}, {c.pick('EG', '1. OG', '2. OG', 'DG', '1. OG links', '3. OG rechts')}"
        if i.show_address
        else c.pick("Whg. Nr. 4", "Wohnung 12", "Whg. 2.03")
    )


def tpl_utility_table(doc: Doc, c: Ctx) -> None:
    name, address, _ = _landlord(c)
    if name in LANDLORDS_PRIVATE:
        name = c.rng.choice(LANDLORDS_ORG)
    annotate_bg(doc, c)
    letterhead(doc, c, name, "Vermietung und Verwaltung", address, contact=f"Tel. {phone(c.rng)}")
    window(doc, c, recipient_of_third_party(c), sender_line=f"{name} · {address}")
    doc.gap(4)
    info_block(
        doc,
        [
            ("Mieter-Nr.:", f"{c.rng.randint(1000, 99999)}"),
            ("Objekt:", f"{c.rng.randint(100, 999)}"),
            ("Datum:", c.df(c.date)),
        ],
        y=52,
    )
    doc.gap(8)
    year = c.date.year - 1
    doc.line(
        c.pick(
            f"Betriebskostenabrechnung {year}",
            f"Nebenkostenabrechnung für {year}",
            f"Abrechnung der Betriebskosten {year}",
        ),
        bold=True,
        size=doc.size + 1,
    )
    doc.line(
        f"Abrechnungszeitraum 01.01.{year} – 31.12.{year}   Mietobjekt: {_flat(c)}",
        size=doc.size - 1,
        gap=3,
    )
    doc.para(
        c.pick(
            "Sehr geehrte Mieterin, sehr geehrter Mieter,",
            "Guten Tag,",
            f"Sehr geehrte{'r Herr' if c.ident.sex == 'm' else ' Frau'} {c.ident.last},",
        )
    )
    doc.para(
        "nachstehend erhalten Sie die Abrechnung der umlagefähigen Betriebskosten nach der "
        "Betriebskostenverordnung für den genannten Zeitraum."
    )
    costs = _costs(c, c.rng.randint(6, 11))
    keys = ("Wohnfläche", "Personen", "Einheiten", "Verbrauch")
    rows = [[k, money(t), c.rng.choice(keys), money(s)] for k, t, s in costs]
    doc.table(
        [
            ("Kostenart", 55, "l"),
            ("Gesamtkosten €", 35, "r"),
            ("Schlüssel", 32, "l"),
            ("Ihr Anteil €", 32, "r"),
        ],
        rows,
        size=doc.size - 1,
    )
    mine = sum(s for _, _, s in costs)
    paid = mine + c.rng.uniform(-350, 250)
    doc.gap(3)
    for label, value in (("Summe Ihrer Kosten", mine), ("abzüglich Ihrer Vorauszahlungen", paid)):
        doc.put(doc.left, doc.y, label)
        doc.put(doc.left + 154, doc.y, money(value) + " €", align="right")
        doc.y += doc.lh()
    diff = mine - paid
    doc.put(doc.left, doc.y, "Nachzahlung" if diff > 0 else "Guthaben", bold=True)
    doc.put(doc.left + 154, doc.y, money(abs(diff)) + " €", bold=True, align="right")
    doc.y += doc.lh() + 4
    doc.continuation = page_header_simple(f"{name} – Betriebskostenabrechnung {year}")
    doc.para(
        c.pick(
            f"Bitte überweisen Sie die Nachzahlung bis zum {c.df(c.ahead(20, 30))}."
            if diff > 0
            else "Das Guthaben wird mit der nächsten Miete verrechnet.",
            f"Die monatliche Vorauszahlung beträgt ab {c.df(c.ahead(30, 60))} "
            f"{money(mine / 12 + 5)} €.",
        )
    )
    if c.chance(0.5):
        doc.para(
            "Die Belege können nach Terminvereinbarung in unserer Geschäftsstelle eingesehen "
            "werden. Einwendungen sind innerhalb von zwölf Monaten nach Zugang mitzuteilen.",
            size=doc.size - 1,
        )
    doc.line("Mit freundlichen Grüßen")
    doc.line(name, gap=0)
    if c.chance(0.35):
        doc.new_page()
        doc.line("Erläuterungen zur Abrechnung", bold=True, size=doc.size + 1, gap=3)
        keys = [
            ("Wohnfläche", "Verteilung nach dem Anteil Ihrer Wohnfläche an der Gesamtfläche."),
            ("Personen", "Verteilung nach der Zahl der im Jahresdurchschnitt gemeldeten Personen."),
            ("Einheiten", "Gleichmäßige Verteilung auf alle Wohnungen der Liegenschaft."),
            ("Verbrauch", "Verteilung nach den abgelesenen Zählerständen."),
        ]
        for key, text in keys:
            doc.line(key, bold=True)
            doc.para(text)
        doc.para(
            "Heizkosten werden nach der Heizkostenverordnung zu 70 % nach Verbrauch und zu 30 % "
            "nach Wohnfläche verteilt. Die Einzelabrechnung des Messdienstes liegt bei."
        )
        doc.para(
            f"Ihre neue monatliche Vorauszahlung: {money(mine / 12 + c.rng.uniform(0, 20))} € "
            f"ab dem {c.df(c.ahead(30, 60))}."
        )


def tpl_utility_coop(doc: Doc, c: Ctx) -> None:
    name = c.pick(
        "Wohnungsgenossenschaft Frohe Zukunft eG",
        "Bauverein Mittelland eG",
        "Wohnungsbaugenossenschaft Eintracht eG",
    )
    annotate_bg(doc, c)
    address = f"Genossenschaftsweg {c.rng.randint(1, 20)}, {c.office.postcode} {c.office.town}"
    letterhead(doc, c, name, "Mitgliederservice", address, style=c.rng.choice([1, 2]))
    window(doc, c, recipient_of_third_party(c), sender_line=f"{name} · {address}")
    doc.gap(8)
    year = c.date.year - 1
    info_block(
        doc,
        [
            (
                "Nutzer-Nr.:",
                f"{c.rng.randint(10, 99)}.{c.rng.randint(100, 999)}.{c.rng.randint(1, 9)}",
            ),
            ("Wohnfläche:", f"{c.rng.randint(38, 96)},{c.rng.randint(0, 99):02d} m²"),
            ("Datum:", c.df(c.date)),
        ],
        x=120,
    )
    doc.gap(6)
    doc.line(f"Heiz- und Betriebskostenabrechnung {year}", bold=True, size=doc.size + 1, gap=3)
    costs = _costs(c, c.rng.randint(5, 9))
    size = doc.size - 0.5
    for k, _t, s in costs:
        doc.ensure(doc.lh(size))
        w = doc.put(doc.left, doc.y, k, size=size)
        dots = "." * max(3, int((118 - w) / max(0.6, doc.text_width(".", size=size))))
        doc.put(doc.left + w + 1, doc.y, dots, size=size, record=False)
        doc.put(doc.left + 150, doc.y, money(s) + " EUR", size=size, align="right")
        doc.y += doc.lh(size)
    heat = c.rng.uniform(400, 1300)
    doc.put(doc.left, doc.y, "Heizung und Warmwasser lt. Anlage", size=size)
    doc.put(doc.left + 150, doc.y, money(heat) + " EUR", size=size, align="right")
    doc.y += doc.lh(size) + 2
    total = sum(s for *_, s in costs) + heat
    paid = total + c.rng.uniform(-300, 300)
    doc.hline(doc.left, doc.left + 150)
    doc.gap(1.5)
    for label, value, bold in (
        ("Gesamtkosten", total, False),
        ("Vorauszahlungen", paid, False),
        ("Ergebnis", total - paid, True),
    ):
        doc.put(doc.left, doc.y, label, bold=bold)
        doc.put(doc.left + 150, doc.y, money(value) + " EUR", align="right", bold=bold)
        doc.y += doc.lh()
    doc.gap(4)
    doc.para(
        "Ein positives Ergebnis ist eine Nachzahlung, ein negatives ein Guthaben. Beträge "
        "unter 5,00 EUR werden nicht erstattet.",
        size=doc.size - 1.5,
    )
    doc.line("Ihre Genossenschaft")


def tpl_utility_private(doc: Doc, c: Ctx) -> None:
    i = c.ident
    name, address, _ = _landlord(c)
    if name not in LANDLORDS_PRIVATE:
        name = c.rng.choice(LANDLORDS_PRIVATE)
    annotate_bg(doc, c)
    doc.y = doc.top
    doc.line(name)
    doc.line(address)
    doc.gap(14)
    for t in recipient_of_third_party(c):
        doc.line(t)
    doc.gap(8)
    doc.line(f"{address.split(', ')[-1].split(' ', 1)[1]}, {c.df(c.date)}", x=120, gap=6)
    year = c.date.year - 1
    doc.line(f"Nebenkostenabrechnung für das Jahr {year}", bold=True)
    if i.show_address:
        doc.line(f"Wohnung {i.street}, {i.place}", gap=3)
    doc.line(f"Liebe{'r Herr' if i.sex == 'm' else ' Frau'} {i.last},", gap=1)
    doc.para("hier die Abrechnung der Nebenkosten für das vergangene Jahr:")
    costs = _costs(c, c.rng.randint(4, 7))
    for k, _t, s in costs:
        doc.put(doc.left + 5, doc.y, k)
        doc.put(doc.left + 110, doc.y, money(s) + " €", align="right")
        doc.y += doc.lh()
    total = sum(s for *_, s in costs)
    paid = round(total / 12 + c.rng.uniform(-25, 15)) * 12
    doc.hline(doc.left + 5, doc.left + 110)
    doc.gap(1)
    doc.put(doc.left + 5, doc.y, "Summe")
    doc.put(doc.left + 110, doc.y, money(total) + " €", align="right")
    doc.y += doc.lh()
    doc.put(doc.left + 5, doc.y, f"gezahlt (12 x {money(paid / 12)} €)")
    doc.put(doc.left + 110, doc.y, money(paid) + " €", align="right")
    doc.y += doc.lh() + 3
    diff = total - paid
    bank = c.rng.choice(BANKS)
    if diff > 0:
        doc.para(
            f"Es ergibt sich eine Nachzahlung von {money(diff)} €. Bitte überweisen Sie den "
            f"Betrag bis Ende des nächsten Monats auf mein Konto bei der {bank[0]}, IBAN "
            f"{iban_for(c.rng, bank[2])}."
        )
    else:
        doc.para(
            f"Sie bekommen {money(-diff)} € zurück, ich überweise den Betrag in den nächsten Tagen."
        )
    closing(doc, c, formula="Mit freundlichen Grüßen", name=name)


def tpl_utility_heating(doc: Doc, c: Ctx) -> None:
    i = c.ident
    company = c.rng.choice(METERING)
    annotate_bg(doc, c)
    letterhead(
        doc,
        c,
        company,
        "Verbrauchsabrechnung für Heizung und Warmwasser",
        f"Servicecenter · Postfach {c.rng.randint(1000, 9999)} · "
        f"{c.rng.randint(10000, 99999)} {c.pick('Hannover', 'Kassel', 'Berlin', 'Bremen')}",
        style=0,
    )
    window(doc, c, recipient_of_third_party(c), y=46)
    year = c.date.year - 1
    info_block(
        doc,
        [
            ("Liegenschaft:", f"{c.rng.randint(10000, 99999)}"),
            ("Nutzer:", f"{c.rng.randint(1, 40):03d}"),
            ("Zeitraum:", f"01.01.{year % 100:02d}–31.12.{year % 100:02d}"),
        ],
        y=50,
        x=128,
    )
    doc.gap(10)
    doc.line("Heizkosten- und Warmwasserkostenabrechnung", bold=True, size=doc.size + 1, gap=1)
    if i.show_address:
        doc.line(f"Nutzeinheit: {i.street}, {i.place}", size=doc.size - 1, gap=3)
    rows = []
    for room in c.rng.sample(["Wohnen", "Schlafen", "Kind", "Küche", "Bad", "Flur"], 4):
        start = c.rng.randint(100, 3000)
        used = c.rng.randint(80, 900)
        rows.append(
            [f"{c.rng.randint(1000000, 9999999)}", room, str(start), str(start + used), str(used)]
        )
    doc.table(
        [
            ("Gerät-Nr.", 30, "l"),
            ("Raum", 30, "l"),
            ("Anfang", 28, "r"),
            ("Ende", 28, "r"),
            ("Verbrauch", 30, "r"),
        ],
        rows,
        size=doc.size - 1,
        grid="box",
    )
    doc.gap(4)
    total_units = sum(int(r[4]) for r in rows)
    price = c.rng.uniform(0.3, 1.1)
    base = c.rng.uniform(150, 400)
    for label, value in (
        ("Grundkosten (30 % nach Wohnfläche)", base),
        (
            f"Verbrauchskosten {total_units} Einheiten x {price:.4f} €".replace(".", ","),
            total_units * price,
        ),
        ("Warmwasser", c.rng.uniform(90, 300)),
    ):
        doc.put(doc.left, doc.y, label)
        doc.put(doc.x_right - 5, doc.y, money(value) + " €", align="right")
        doc.y += doc.lh()
    doc.gap(3)
    doc.para(
        "Diese Abrechnung ist Bestandteil der Betriebskostenabrechnung Ihres Vermieters. "
        "Zahlungen leisten Sie bitte nur an Ihren Vermieter.",
        size=doc.size - 1.5,
    )


BOOKING_TEXTS = (
    ("Lastschrift", "Stadtwerke {town} Abschlag Strom Kd {n}", -1, 40, 95),
    ("Dauerauftrag", "Miete {month} {landlord}", -1, 380, 720),
    ("Kartenzahlung", "{shop} {town}", -1, 4, 85),
    ("Lastschrift", "Telefonica Germany Mobilfunk Rg {n}", -1, 10, 35),
    ("Lastschrift", "Rundfunk ARD ZDF DRadio Beitragsnr {n}", -1, 18, 19),
    ("Gutschrift", "Familienkasse Kindergeld Kg-Nr {n}", 1, 255, 255),
    ("Gutschrift", "{jc} Buergergeld {month}", 1, 280, 1400),
    ("Gutschrift", "{employer} Lohn/Gehalt {month}", 1, 300, 1800),
    ("Bargeldauszahlung", "Geldautomat {bank}", -1, 20, 200),
    ("Überweisung", "Paypal Europe Kaeuferschutz {n}", -1, 9, 120),
    ("Lastschrift", "HUK-Coburg Kfz-Versicherung {n}", -1, 20, 60),
    ("Kartenzahlung", "Apotheke am Markt {town}", -1, 5, 30),
)
# fmt: off
SHOPS = (
    'Lidl', 'ALDI Nord', 'Netto Marken-Discount', 'Rossmann', 'EDEKA', 'Penny', 'REWE',
    'Kik Textil', 'Action',
)
# fmt: on


def _bookings(c: Ctx, n: int, *, bg_in_text: bool) -> list[tuple[date, str, str, float]]:
    month = MONTHS[(c.date.month - 2) % 12]
    start = c.date - timedelta(days=35)
    out = []
    for k in range(n):
        kind, text, sign, lo, hi = c.rng.choice(BOOKING_TEXTS)
        text = text.format(
            town=transliterate(c.ident.town if c.ident.show_address else c.any_place()[1]),
            n=c.rng.randint(100000, 9999999),
            month=month,
            landlord=transliterate(c.rng.choice(LANDLORDS_ORG)),
            shop=c.rng.choice(SHOPS),
            jc=transliterate(c.region.short),
            employer=transliterate(c.rng.choice(EMPLOYERS)[0]),
            bank=c.rng.choice(BANKS)[0],
        )
        if "Buergergeld" in text and bg_in_text:
            text += f" {c.ident.bg_text}"
        out.append(
            (
                start + timedelta(days=k * 30 // max(1, n) + c.rng.randint(0, 2)),
                kind,
                text,
                sign * c.rng.uniform(lo, hi),
            )
        )
    if bg_in_text and not any(c.ident.bg_text and c.ident.bg_text in b[2] for b in out):
        out.insert(
            1,
            (
                start + timedelta(days=2),
                "Gutschrift",
                f"{transliterate(c.region.short)} Buergergeld {month} {c.ident.bg_text}",
                c.rng.uniform(280, 1400),
            ),
        )
    return out


def _own_bank(c: Ctx) -> tuple[str, str, str] | None:
    iban = c.ident.iban
    if not iban:
        return None
    known = iban.replace(" ", "")[4:12]
    return next((b for b in BANKS if b[2] == known), None)


def _statement_bank(c: Ctx) -> tuple[str, str, str]:
    """The statement's bank: the household's own where the master data holds its account (a
    letter about a known client), else some bank. Drawn either way, so that the random stream
    of the rest of the letter stays as it was."""
    drawn = c.rng.choice(BANKS)
    return _own_bank(c) or drawn


def _statement_iban(c: Ctx, blz: str) -> str:
    drawn = iban_for(c.rng, blz)
    return c.ident.iban if _own_bank(c) is not None and c.ident.iban else drawn


def _account_holder(c: Ctx, upper: bool) -> str:
    i = c.ident
    return ascii_upper(f"{i.last}, {i.first}") if upper else i.name


def tpl_bank_statement(doc: Doc, c: Ctx) -> None:
    i = c.ident
    bank, bic, blz = _statement_bank(c)
    iban = _statement_iban(c, blz)
    bg_in_text = bool(i.bg_text) and c.chance(0.5)
    if not bg_in_text:
        annotate_bg(doc, c)
    doc.y = doc.top - 2
    doc.put(doc.x_right, doc.y, bank, size=doc.size + 4, bold=True, align="right")
    doc.y += doc.lh(doc.size + 4)
    number = c.rng.randint(1, 12)
    window(
        doc,
        c,
        [c.pick(i.name, _account_holder(c, True))]
        + ([i.street, i.place] if i.show_address else []),
        y=40,
    )
    info_block(
        doc,
        [("Kontoauszug", f"{number}/{c.date.year}"), ("Blatt", "1"), ("Datum", c.df(c.date))],
        x=130,
        y=42,
    )
    doc.gap(8)
    doc.line(f"Girokonto  IBAN {iban}  BIC {bic}", size=doc.size - 1, gap=2)
    bookings = _bookings(c, c.rng.randint(8, 40), bg_in_text=bg_in_text)
    balance = c.rng.uniform(-400, 1500)
    doc.put(doc.left, doc.y, "Alter Kontostand", bold=True)
    doc.put(doc.x_right, doc.y, money(balance) + " EUR", align="right", bold=True)
    doc.y += doc.lh() + 1
    doc.continuation = page_header_simple(f"{bank} · Kontoauszug {number}/{c.date.year}")
    rows = []
    for day, kind, text, amount in bookings:
        balance += amount
        rows.append([f"{day.day:02d}.{day.month:02d}.", kind + " " + text, money(amount, "")])
    doc.table(
        [("Buchung", 20, "l"), ("Vorgang / Verwendungszweck", 110, "l"), ("Betrag EUR", 36, "r")],
        rows,
        size=doc.size - 1.5,
        grid="rules",
    )
    doc.gap(2)
    doc.put(doc.left, doc.y, f"Neuer Kontostand vom {c.df(c.date)}", bold=True)
    doc.put(doc.x_right, doc.y, money(balance) + " EUR", align="right", bold=True)
    doc.y += doc.lh()
    footer(
        doc,
        [
            f"{bank} · Anstalt des öffentlichen Rechts · Rechnungsabschluss vierteljährlich",
            "Bitte prüfen Sie Ihre Kontoauszüge. Einwendungen sind unverzüglich zu erheben.",
        ],
    )


def tpl_bank_online(doc: Doc, c: Ctx) -> None:
    i = c.ident
    bank, _bic, blz = _statement_bank(c)
    bg_in_text = bool(i.bg_text) and c.chance(0.5)
    if not bg_in_text:
        annotate_bg(doc, c)
    doc.y = doc.top
    doc.line(f"{bank} – Online-Banking", size=doc.size - 1)
    doc.line("Umsatzanzeige", bold=True, size=doc.size + 3, gap=2)
    pairs = [("Konto", f"Girokonto IBAN {_statement_iban(c, blz)}"), ("Kontoinhaber", i.name)]
    if i.show_address:
        pairs.append(("Anschrift", f"{i.street}, {i.place}"))
    pairs.append(("Zeitraum", f"{c.df(c.date - timedelta(days=30))} – {c.df(c.date)}"))
    col = label_column(doc, [label for label, _ in pairs], 32, size=doc.size - 1)
    for label, value in pairs:
        doc.put(doc.left, doc.y, label, size=doc.size - 1)
        doc.put(doc.left + col, doc.y, value, size=doc.size - 1)
        doc.y += doc.lh(doc.size - 1)
    doc.gap(4)
    rows = []
    for day, kind, text, amount in _bookings(c, c.rng.randint(10, 48), bg_in_text=bg_in_text):
        who, _, rest = text.partition(" ")
        rows.append([fmt_date(day, "dotted"), f"{who} {rest}".strip(), kind, money(amount, "€")])
    doc.continuation = page_header_simple(f"Umsatzanzeige – {i.name}")
    doc.table(
        [
            ("Datum", 24, "l"),
            ("Empfänger/Auftraggeber, Verwendungszweck", 86, "l"),
            ("Art", 28, "l"),
            ("Betrag", 28, "r"),
        ],
        rows,
        size=doc.size - 2,
        grid="rules",
    )
    doc.gap(3)
    doc.line(
        f"Ausdruck vom {c.df(c.date)}, {c.rng.randint(8, 20)}:{c.rng.randint(10, 59)} Uhr",
        size=doc.size - 2.5,
    )


def tpl_bank_mono(doc: Doc, c: Ctx) -> None:
    i = c.ident
    bank, bic, blz = _statement_bank(c)
    bg_in_text = bool(i.bg_text) and c.chance(0.5)
    if not bg_in_text:
        annotate_bg(doc, c)
    doc.family = c.pick(*available_families(MONO))
    doc.y = doc.top
    doc.line(ascii_upper(bank), bold=True)
    number = c.rng.randint(1, 30)
    doc.line(f"KONTOAUSZUG NR. {number:03d} VOM {fmt_date(c.date, 'dotted')}   BLATT 1")
    doc.gap(6)
    doc.line(_account_holder(c, c.chance(0.7)))
    if i.show_address:
        doc.line(ascii_upper(i.street) if c.chance(0.5) else i.street)
        doc.line(i.place)
    doc.gap(6)
    doc.line(f"IBAN {_statement_iban(c, blz)}   BIC {bic}", size=doc.size - 1, gap=3)
    doc.line("BU-TAG WERT  VORGANG" + " " * 30 + "BETRAG EUR", size=doc.size - 1.5)
    doc.hline(doc.left, doc.x_right)
    doc.gap(1)
    size = doc.size - 1.5
    doc.continuation = page_header_simple(f"KONTOAUSZUG NR. {number:03d}")
    for day, kind, text, amount in _bookings(c, c.rng.randint(6, 30), bg_in_text=bg_in_text):
        doc.ensure(doc.lh(size) * 2)
        d = f"{day.day:02d}.{day.month:02d}"
        doc.put(doc.left, doc.y, f"{d} {d}  {ascii_upper(kind)}", size=size)
        doc.put(
            doc.x_right,
            doc.y,
            # Credit and debit by the sign (a lone "S" or "H" at the margin is lost to OCR).
            ("+" if amount > 0 else "") + money(amount),
            size=size,
            align="right",
        )
        doc.y += doc.lh(size)
        doc.put(doc.left + 28, doc.y, ascii_upper(text)[:58], size=size)
        doc.y += doc.lh(size) + 0.5
    doc.gap(3)
    doc.line(f"NEUER KONTOSTAND  {money(c.rng.uniform(-300, 900))} EUR", bold=True)


def _employer_address(c: Ctx) -> tuple[str, str]:
    emp = c.rng.choice(EMPLOYERS)[0]
    street = (
        f"{c.rng.choice(('Gewerbering', 'Industriestraße', 'Hafenweg', 'Am Großmarkt'))} "
        f"{c.rng.randint(1, 80)}"
    )
    return emp, f"{street}, {c.rng.choice(c.office.places)[0]} {c.office.town}"


def _payslip_person_block(doc: Doc, c: Ctx, x: float, y: float) -> None:
    i = c.ident
    pairs = [("Personalnummer", f"{c.rng.randint(1, 99999):05d}")]
    if i.show_birth:
        pairs.append(("Geburtsdatum", i.birth_text))
    pairs += [
        ("Eintritt", fmt_date(c.ago(100, 2000), "dotted")),
        ("Steuerklasse", c.pick("I", "II", "III", "IV", "V")),
        ("Krankenkasse", c.rng.choice(INSURERS)),
    ]
    if i.show_birth and c.chance(0.5):
        b = i.birth
        assert b is not None
        pairs.append(
            (
                "SV-Nummer",
                f"{c.rng.randint(10, 65)} {b.day:02d}{b.month:02d}"
                f"{b.year % 100:02d} {i.last[0].upper()} "
                f"{c.rng.randint(100, 999)}",
            )
        )
    info_block(doc, pairs, x=x, y=y, size=doc.size - 2)


def tpl_payslip_datev(doc: Doc, c: Ctx) -> None:
    annotate_bg(doc, c)
    emp, address = _employer_address(c)
    month = MONTHS[(c.date.month - 2) % 12]
    doc.y = doc.top - 3
    doc.line(f"{emp} · {address}", size=7.5)
    window(doc, c, recipient_of_third_party(c), y=30)
    _payslip_person_block(doc, c, 118, 28)
    doc.y = max(doc.y, 66)
    doc.line(
        c.pick(
            f"Abrechnung der Brutto/Netto-Bezüge für {month} {c.date.year}",
            f"Verdienstabrechnung {month} {c.date.year}",
            f"Entgeltabrechnung {month} {c.date.year}",
        ),
        bold=True,
        size=doc.size + 1,
        gap=2,
    )
    hours = c.rng.randint(40, 170)
    rate = c.rng.uniform(12.82, 19.5)
    gross = hours * rate
    rows = [["1000", "Stundenlohn", f"{hours},00", money(rate), money(gross)]]
    extra = 0.0
    if c.chance(0.6):
        extra = c.rng.uniform(20, 180)
        rows.append(
            [
                "1200",
                c.pick("Nachtzuschlag", "Sonntagszuschlag", "Feiertagszuschlag"),
                "",
                "",
                money(extra),
            ]
        )
    if c.chance(0.3):
        rows.append(["2300", "Fahrgeld", "", "", money(c.rng.uniform(20, 60))])
    doc.table(
        [
            ("Lohnart", 20, "l"),
            ("Bezeichnung", 56, "l"),
            ("Menge", 24, "r"),
            ("Faktor", 28, "r"),
            ("Betrag", 32, "r"),
        ],
        rows,
        size=doc.size - 1,
    )
    total = gross + extra
    tax = max(0.0, (total - 1200) * 0.12)
    sv = total * 0.2 if total > 603 else 0.0
    doc.gap(3)
    for label, value in (
        ("Gesamtbrutto", total),
        ("Lohnsteuer", -tax),
        ("Solidaritätszuschlag", 0.0),
        ("Kirchensteuer", 0.0),
        ("Krankenversicherung", -sv * 0.41),
        ("Rentenversicherung", -sv * 0.47),
        ("Arbeitslosenversicherung", -sv * 0.06),
        ("Pflegeversicherung", -sv * 0.06),
    ):
        doc.put(doc.left, doc.y, label, size=doc.size - 1)
        doc.put(doc.left + 160, doc.y, money(value), size=doc.size - 1, align="right")
        doc.y += doc.lh(doc.size - 1)
    net = total - tax - sv
    doc.hline(doc.left, doc.left + 160, width=0.4)
    doc.gap(1)
    doc.put(doc.left, doc.y, "Auszahlungsbetrag", bold=True)
    doc.put(doc.left + 160, doc.y, money(net) + " EUR", bold=True, align="right")
    doc.y += doc.lh() + 3
    bank = c.rng.choice(BANKS)
    doc.line(f"Überweisung an IBAN {iban_for(c.rng, bank[2])}", size=doc.size - 1.5)


def tpl_payslip_minijob(doc: Doc, c: Ctx) -> None:
    i = c.ident
    annotate_bg(doc, c)
    emp, address = _employer_address(c)
    month = MONTHS[(c.date.month - 2) % 12]
    letterhead(doc, c, emp, c.rng.choice(EMPLOYERS)[1], address, style=c.rng.choice([0, 1]))
    doc.gap(8)
    doc.line(f"Lohnabrechnung {month} {c.date.year} – geringfügige Beschäftigung", bold=True, gap=3)
    pairs = [("Mitarbeiter/in:", i.name)]
    if i.show_birth:
        pairs.append(("geboren am:", i.birth_text))
    if i.show_address:
        pairs.append(("Anschrift:", f"{i.street}, {i.place}"))
    pairs.append(("Beschäftigt als:", c.rng.choice(JOBS)))
    col = label_column(doc, [label for label, _ in pairs], 42)
    for label, value in pairs:
        doc.put(doc.left, doc.y, label)
        doc.put(doc.left + col, doc.y, value)
        doc.y += doc.lh()
    doc.gap(4)
    hours = c.rng.randint(10, 42)
    rate = c.rng.uniform(12.82, 14.5)
    rows = [["Arbeitsstunden", f"{hours}", money(rate) + " €", money(hours * rate) + " €"]]
    doc.table(
        [("Position", 60, "l"), ("Anzahl", 25, "r"), ("Satz", 35, "r"), ("Betrag", 40, "r")],
        rows,
        grid="box",
    )
    doc.gap(4)
    doc.para(f"Auszahlungsbetrag: {money(hours * rate)} €", bold=True)
    doc.para(
        "Die Pauschalabgaben zur Sozialversicherung und die Pauschsteuer trägt der "
        "Arbeitgeber. Von der Rentenversicherungspflicht wurde keine Befreiung beantragt.",
        size=doc.size - 1,
    )
    doc.gap(4)
    doc.line(f"{c.office.town}, {c.df(c.date)}")
    doc.signature()
    doc.line("Unterschrift Arbeitgeber", size=7.5)


def tpl_payslip_corporate(doc: Doc, c: Ctx) -> None:
    annotate_bg(doc, c)
    emp, address = _employer_address(c)
    month = MONTHS[(c.date.month - 2) % 12]
    doc.y = doc.top - 3
    doc.put(doc.left, doc.y, emp.upper(), bold=True, size=doc.size + 1)
    doc.put(
        doc.x_right, doc.y, f"Entgeltabrechnung {month} {c.date.year}", align="right", bold=True
    )
    doc.y += 6
    doc.hline(doc.left, doc.x_right, width=0.6)
    window(doc, c, recipient_of_third_party(c), sender_line=f"{emp}, {address}", y=34)
    _payslip_person_block(doc, c, 122, 36)
    doc.y = max(doc.y, 72)
    rows = []
    gross = 0.0
    for label in c.rng.sample(
        [
            "Gehalt",
            "Schichtzulage",
            "Überstunden 25 %",
            "Vermögenswirksame Leistungen",
            "Urlaubsgeld",
            "Prämie",
            "Jobticket",
        ],
        c.rng.randint(2, 5),
    ):
        value = c.rng.uniform(1400, 2600) if label == "Gehalt" else c.rng.uniform(15, 300)
        gross += value
        rows.append([label, money(value), "L S" if c.chance(0.7) else "L", ""])
    doc.table(
        [("Bezüge", 70, "l"), ("Betrag EUR", 32, "r"), ("St/SV", 22, "c"), ("", 36, "l")],
        rows,
        size=doc.size - 1,
    )
    doc.gap(3)
    tax = gross * c.rng.uniform(0.05, 0.14)
    sv = gross * 0.205
    doc.table(
        [("Abzüge", 70, "l"), ("Betrag EUR", 32, "r")],
        [["Lohnsteuer", money(tax)], ["Sozialversicherung Arbeitnehmeranteil", money(sv)]],
        size=doc.size - 1,
    )
    doc.gap(3)
    doc.put(doc.left, doc.y, "Netto-Verdienst", bold=True)
    doc.put(doc.left + 102, doc.y, money(gross - tax - sv), bold=True, align="right")
    doc.y += doc.lh() + 4
    doc.continuation = page_header_simple(f"{emp} – Entgeltabrechnung {month}")
    if c.chance(0.4):
        doc.new_page()
        doc.line("Jahressummen", bold=True, gap=2)
        rows = [
            [label, money(c.rng.uniform(1000, 25000))]
            for label in ("Steuerbrutto", "Lohnsteuer", "KV-Brutto", "RV-Brutto", "Nettobezüge")
        ]
        doc.table([("Summe", 70, "l"), ("lfd. Jahr EUR", 40, "r")], rows)
        doc.gap(4)
        doc.line(
            f"Resturlaub: {c.rng.randint(0, 24)} Tage   Zeitkonto: "
            f"{c.rng.randint(-10, 40)},{c.rng.randint(0, 99):02d} Std."
        )


def _option_row(doc: Doc, options: list[str], ticked: set[str], *, x: float | None = None) -> None:
    """Options with checkboxes in one line, wrapping to the next when full."""
    size = doc.size - 1
    x = doc.left if x is None else x
    start = x
    for label in options:
        if x + doc.text_width(label, size=size) + 8 > doc.x_right:
            doc.y += doc.lh(size) + 1
            x = start
        x = doc.option(x, label, label in ticked, size=size)
    doc.y += doc.lh(size) + 1.5


def tpl_income_cert(doc: Doc, c: Ctx) -> None:
    """An employer's income certificate for the job centre (Einkommensbescheinigung)."""
    emp, address = _employer_address(c)
    letterhead(doc, c, emp, c.rng.choice(EMPLOYERS)[1], address, style=c.rng.choice([0, 1]))
    doc.gap(3)
    doc.line(
        c.pick("Einkommensbescheinigung", "Bescheinigung über Einkommen aus Beschäftigung"),
        size=doc.size + 3,
        bold=True,
    )
    doc.para(
        "Nachweis über die Höhe des Arbeitsentgelts nach § 58 SGB II – vom Arbeitgeber "
        "auszufüllen und der Arbeitnehmerin / dem Arbeitnehmer auszuhändigen",
        size=doc.size - 1.5,
        gap=2,
    )
    _bg_field(doc, c, doc.left, doc.y, 80, c.pick("BG-Nummer", "Nummer der Bedarfsgemeinschaft"))
    doc.y += 14
    doc.line("A. Angaben zur Arbeitnehmerin / zum Arbeitnehmer", bold=True, gap=1)
    _person_fields(doc, c)
    doc.line("B. Angaben zum Beschäftigungsverhältnis", bold=True, gap=1)
    since = c.ago(60, 1500)
    if c.extra.get("boxes"):
        _date_boxes(doc, c, doc.left, doc.y, since, "Beschäftigt seit")
    else:
        doc.field(doc.left, doc.y, 50, "Beschäftigt seit", fmt_date(since, "dotted"))
    doc.field(doc.left + 60, doc.y, 60, "Tätigkeit", c.rng.choice(JOBS))
    doc.y += 13
    kind = c.pick("Vollzeit", "Teilzeit", "geringfügig entlohnt", "Ausbildung")
    doc.put(doc.left, doc.y, "Art der Beschäftigung:", size=doc.size - 1)
    doc.y += doc.lh(doc.size - 1)
    _option_row(doc, ["Vollzeit", "Teilzeit", "geringfügig entlohnt", "Ausbildung"], {kind})
    doc.put(doc.left, doc.y, "Das Arbeitsverhältnis ist befristet:", size=doc.size - 1)
    limited = c.chance(0.3)
    x = doc.option(doc.left + 75, "ja", limited, size=doc.size - 1)
    doc.option(x, "nein", not limited, size=doc.size - 1)
    doc.y += doc.lh(doc.size - 1) + 3
    doc.line("C. Arbeitsentgelt der letzten Monate", bold=True, gap=1.5)
    rows = []
    hours = c.rng.randint(10, 40)
    for back in range(3, 0, -1):
        month = MONTHS[(c.date.month - 1 - back) % 12]
        gross = hours * 4.33 * c.rng.uniform(12.82, 17.5)
        net = gross * c.rng.uniform(0.68, 0.8) if gross > 556 else gross
        rows.append([month, f"{hours}", money(gross) + " €", money(net) + " €", money(net) + " €"])
    doc.table(
        [
            ("Monat", 30, "l"),
            ("Std./Woche", 24, "r"),
            ("Bruttoarbeitsentgelt", 40, "r"),
            ("Nettoarbeitsentgelt", 38, "r"),
            ("Auszahlungsbetrag", 34, "r"),
        ],
        rows,
        grid="box",
        size=doc.size - 1,
    )
    doc.gap(3)
    doc.para(
        "Einmalzahlungen (z. B. Urlaubs- oder Weihnachtsgeld) sind in den Beträgen nicht "
        "enthalten. Das Arbeitsentgelt wird jeweils zum Monatsende auf das Konto der "
        "Arbeitnehmerin / des Arbeitnehmers überwiesen.",
        size=doc.size - 1,
    )
    doc.gap(6)
    doc.line(f"{c.office.town}, {c.df(c.date)}")
    doc.signature(x=doc.left + 80)
    doc.line("Stempel und Unterschrift des Arbeitgebers", x=doc.left + 80, size=7.5)


def tpl_vaem_boxes(doc: Doc, c: Ctx) -> None:
    """A change notice of another layout: numbered sections, a grid of boxes to tick."""
    _form_title(
        doc,
        c,
        c.pick("Änderungsmitteilung", "Mitteilung über Änderungen"),
        "in den persönlichen und wirtschaftlichen Verhältnissen – Leistungen nach dem SGB II",
    )
    doc.gap(2)
    _bg_field(doc, c, doc.left, doc.y, 80, "Nummer der Bedarfsgemeinschaft")
    doc.y += 14
    _person_fields(doc, c)
    topic, text = _vaem_text(c)
    doc.line("Welche Änderung ist eingetreten? (bitte ankreuzen)", bold=True, gap=1.5)
    options = list(VAEM_OPTIONS)
    _option_row(doc, options, {topic if topic in options else "Sonstiges"})
    doc.gap(2)
    when = c.ago(3, 40)
    if c.extra.get("boxes"):
        _date_boxes(doc, c, doc.left, doc.y, when, "Die Änderung gilt ab")
    else:
        doc.field(doc.left, doc.y, 50, "Die Änderung gilt ab", fmt_date(when, "dotted"))
    doc.y += 13
    doc.line("Beschreibung der Änderung:", bold=True)
    doc.para(text)
    doc.hline(doc.left, doc.x_right, width=0.15)
    doc.gap(3)
    doc.put(doc.left, doc.y, "Nachweise liegen bei:", size=doc.size - 1)
    attached = c.chance(0.7)
    x = doc.option(doc.left + 45, "ja", attached, size=doc.size - 1)
    doc.option(x, "werden nachgereicht", not attached, size=doc.size - 1)
    doc.y += doc.lh(doc.size - 1) + 5
    doc.line(date_text(c))
    doc.signature(x=doc.left + 80)
    doc.line("Unterschrift", x=doc.left + 80, size=7.5)


def tpl_wba_boxes(doc: Doc, c: Ctx) -> None:
    """A renewal application of another layout: boxes, a table of yes/no questions."""
    i = c.ident
    _form_title(
        doc,
        c,
        c.pick("Weiterbewilligungsantrag (WBA)", "Antrag auf Weiterbewilligung"),
        "von Bürgergeld nach dem SGB II für den nächsten Bewilligungszeitraum",
    )
    doc.gap(2)
    _bg_field(doc, c, doc.left, doc.y, 80, "Nummer der Bedarfsgemeinschaft")
    if c.extra.get("boxes"):
        _date_boxes(doc, c, doc.left + 110, doc.y, c.ahead(5, 40), "Weiterbewilligung ab")
    doc.y += 14
    doc.line("Antragstellende Person", bold=True, gap=1)
    _person_fields(doc, c)
    doc.line("Haben sich seit der letzten Antragstellung Änderungen ergeben?", bold=True, gap=1)
    questions = [
        "Personen in der Bedarfsgemeinschaft",
        "Einkommen aus Erwerbstätigkeit",
        "Sonstiges Einkommen (Unterhalt, Kindergeld, Renten)",
        "Vermögen",
        "Miete und Heizkosten",
        "Krankenversicherung",
    ]
    yes = {k for k in range(len(questions)) if c.chance(0.2)}
    size = doc.size - 1
    top = doc.y - 0.8
    for k, question in enumerate(questions):
        doc.put(doc.left + 1.5, doc.y, question, size=size)
        x = doc.option(doc.x_right - 38, "ja", k in yes, size=size)
        doc.option(x - 2, "nein", k not in yes, size=size)
        doc.y += doc.lh(size) + 1.6
        doc.hline(doc.left, doc.x_right, doc.y - 1.2, width=0.15)
    doc.rect(doc.left, top, doc.width, doc.y - 1.2 - top, width=0.25)
    doc.gap(4)
    doc.para(
        "Ich beantrage die Weiterbewilligung der Leistungen für alle Mitglieder meiner "
        "Bedarfsgemeinschaft. Änderungen weise ich mit den beigefügten Unterlagen nach.",
        size=size,
    )
    doc.gap(6)
    doc.line(date_text(c))
    doc.signature(x=doc.left + 80)
    doc.line(f"Unterschrift {i.formal}", x=doc.left + 80, size=7.5)


def tpl_rent_form(doc: Doc, c: Ctx) -> None:
    i = c.ident
    name, address, company = _landlord(c)
    _form_title(
        doc,
        c,
        "Mietbescheinigung",
        "zur Vorlage beim Jobcenter – vom Vermieter bzw. der Hausverwaltung auszufüllen",
    )
    _bg_field(doc, c, doc.left, doc.y, 80, c.pick("BG-Nummer", "Nummer der Bedarfsgemeinschaft"))
    doc.y += 14
    w = doc.width
    doc.field(doc.left, doc.y, w * 0.6, "Name, Vorname der Mieterin / des Mieters", i.formal)
    doc.field(
        doc.left + w * 0.6, doc.y, w * 0.4, "Geburtsdatum", i.birth_text if i.show_birth else ""
    )
    doc.y += 11
    doc.field(
        doc.left,
        doc.y,
        w,
        "Anschrift der Wohnung (Straße, Hausnummer, PLZ, Ort, Lage)",
        f"{i.street}, {i.place}, {_flat(c).split(', ')[-1]}" if i.show_address else "",
    )
    doc.y += 11
    rooms = c.rng.randint(1, 5)
    area = c.rng.randint(32, 98)
    rent = area * c.rng.uniform(5.5, 9.5)
    side = area * c.rng.uniform(1.4, 2.6)
    heat = area * c.rng.uniform(0.9, 1.8)
    fields = [
        ("Mietbeginn", c.df(c.ago(200, 3000))),
        ("Wohnfläche", f"{area} m²"),
        ("Zimmer", str(rooms)),
        ("Personen im Haushalt", str(len(c.members_other()) + 1)),
    ]
    x = doc.left
    for label, value in fields:
        doc.field(x, doc.y, w / 4, label, value)
        x += w / 4
    doc.y += 13
    doc.line("Monatliche Miete", bold=True, gap=1)
    for label, value in (
        ("Grundmiete (Kaltmiete)", rent),
        ("Betriebskosten ohne Heizung", side),
        ("Heizkosten", heat),
        ("Gesamtmiete", rent + side + heat),
    ):
        doc.put(doc.left + 4, doc.y, label, bold=label == "Gesamtmiete")
        doc.put(
            doc.left + 120, doc.y, money(value) + " €", align="right", bold=label == "Gesamtmiete"
        )
        doc.y += doc.lh() + 0.6
    doc.gap(3)
    doc.line("Die Wohnung wird beheizt durch:", gap=1)
    kinds = ["Zentralheizung", "Gasetagenheizung", "Fernwärme", "Einzelöfen"]
    chosen = c.rng.choice(kinds)
    x = doc.left
    for k in kinds:
        x = doc.option(x, k, k == chosen, size=doc.size - 1)
    doc.y += doc.lh() + 2
    doc.line("Warmwasser wird zentral bereitet:", gap=0)
    doc.y -= doc.lh()
    x = doc.option(doc.left + 80, "ja", c.chance(0.5), size=doc.size - 1)
    doc.option(x, "nein", False, size=doc.size - 1)
    doc.y += doc.lh() + 4
    doc.field(
        doc.left,
        doc.y,
        w,
        "Vermieter / Hausverwaltung",
        name,
    )
    doc.y += 10
    doc.field(doc.left, doc.y, w, "Anschrift, Telefon", f"{address}, Tel. {phone(c.rng)}")
    doc.y += 14
    doc.line(f"{c.office.town}, {c.df(c.date)}")
    doc.signature(x=doc.left + 70)
    if company:
        doc.stamp_box(
            doc.left + 110, doc.y - 18, [name, address.split(", ")[0], address.split(", ")[-1]]
        )


def tpl_rent_confirmation(doc: Doc, c: Ctx) -> None:
    i = c.ident
    name, address, company = _landlord(c)
    letterhead(doc, c, name, "Vermietung" if company else "Privatvermieter/in", address)
    window(doc, c, recipient_lines(c) if c.chance(0.5) else recipient_of_third_party(c))
    doc.gap(8)
    doc.line(c.df(c.date), x=140, gap=6)
    doc.line(
        c.pick(
            "Mietbescheinigung",
            "Bestätigung über die Mietkosten",
            "Bescheinigung über Miete und Nebenkosten",
        ),
        bold=True,
        gap=4,
    )
    doc.line(c.pick("Sehr geehrte Damen und Herren,", "Guten Tag,"), gap=1)
    who = f"{i.mr} {i.first} {i.last}"
    if i.show_birth:
        who += f", {c.birth_phrase()},"
    where = f"die Wohnung {i.street} in {i.place}" if i.show_address else "eine Wohnung bei uns"
    since = c.df(c.ago(300, 4000))
    doc.para(
        f"hiermit bestätigen wir, dass {who} seit dem {since} {where} gemietet hat.".replace(
            ",, ", ", "
        )
    )
    area = c.rng.randint(30, 95)
    rent = area * c.rng.uniform(5.5, 9.5)
    side = c.rng.uniform(60, 220)
    heat = c.rng.uniform(40, 140)
    doc.para(f"Die Wohnung ist {area} m² groß. Die monatliche Miete setzt sich wie folgt zusammen:")
    rows = [
        ["Grundmiete", money(rent) + " €"],
        ["Nebenkosten", money(side) + " €"],
        ["Heizkosten", money(heat) + " €"],
        ["Gesamt", money(rent + side + heat) + " €"],
    ]
    doc.table([("", 60, "l"), ("", 35, "r")], rows, header=False, grid="none", x=doc.left + 10)
    doc.gap(3)
    if i.bg_text:
        doc.para(
            f"Auf Wunsch der Mieterseite geben wir die Nummer der Bedarfsgemeinschaft an: "
            f"{i.bg_text}",
            bg=True,
        )
    doc.para(
        c.pick(
            "Die Miete wird pünktlich gezahlt. Mietrückstände bestehen nicht.",
            "Die Zahlung der Miete direkt an uns ist ausdrücklich erwünscht.",
            "Bei Fragen stehen wir Ihnen gerne zur Verfügung.",
        )
    )
    closing(doc, c, name=name)


def tpl_rent_contract(doc: Doc, c: Ctx) -> None:
    i = c.ident
    name, address, _company = _landlord(c)
    start = c.ago(200, 3000)  # a copy of the contract the client lives under
    doc.y = doc.top
    doc.put(PAGE_W / 2, doc.y, "Wohnraummietvertrag", size=doc.size + 6, bold=True, align="center")
    doc.y += doc.lh(doc.size + 6) + 4
    doc.line("Zwischen", gap=1)
    doc.para(f"{name}, {address}", x=doc.left + 10, gap=0.5)
    doc.line("– nachfolgend Vermieter genannt –", x=doc.left + 10, gap=2)
    doc.line("und", gap=1)
    tenant = f"{i.mr} {i.name}"
    if i.show_birth:
        tenant += f", {c.birth_phrase()}"
    doc.para(tenant, x=doc.left + 10, gap=0.5)
    doc.line("– nachfolgend Mieter genannt –", x=doc.left + 10, gap=3)
    doc.para("wird folgender Mietvertrag geschlossen:")
    doc.continuation = page_header_simple("Wohnraummietvertrag")
    where = f"{i.street}, {i.place}" if i.show_address else "im Hause des Vermieters"
    paragraphs = [
        (
            "§ 1 Mietsache",
            f"Vermietet wird die Wohnung {where}, "
            f"{c.pick('Erdgeschoss', '1. Obergeschoss', 'Dachgeschoss')}, bestehend "
            f"aus {c.rng.randint(1, 4)} Zimmern, Küche, Bad/WC und Flur. Die "
            f"Wohnfläche beträgt ca. {c.rng.randint(30, 95)} m².",
        ),
        (
            "§ 2 Mietzeit",
            f"Das Mietverhältnis beginnt am {c.df(start)} und läuft auf unbestimmte Zeit.",
        ),
        (
            "§ 3 Miete",
            f"Die Grundmiete beträgt monatlich {money(c.rng.uniform(250, 650))} Euro. "
            f"Daneben zahlt der Mieter eine Vorauszahlung auf die Betriebskosten von "
            f"{money(c.rng.uniform(60, 200))} Euro und auf die Heizkosten von "
            f"{money(c.rng.uniform(40, 140))} Euro.",
        ),
        (
            "§ 4 Mietsicherheit",
            "Der Mieter leistet eine Kaution in Höhe von drei "
            "Nettokaltmieten, zahlbar in drei gleichen Raten.",
        ),
        (
            "§ 5 Schönheitsreparaturen",
            "Die Schönheitsreparaturen trägt der Mieter, soweit sie "
            "durch seine Nutzung erforderlich werden.",
        ),
        (
            "§ 6 Tierhaltung",
            "Die Haltung von Kleintieren ist gestattet. Hunde und Katzen nur mit "
            "Zustimmung des Vermieters.",
        ),
        ("§ 7 Hausordnung", "Die beigefügte Hausordnung ist Bestandteil dieses Vertrages."),
        (
            "§ 8 Betriebskosten",
            "Der Mieter trägt die Betriebskosten im Sinne der Betriebskostenverordnung. Über die "
            "Vorauszahlungen wird jährlich abgerechnet; Nachforderungen sind innerhalb von 30 "
            "Tagen nach Zugang der Abrechnung fällig.",
        ),
        (
            "§ 9 Kündigung",
            "Die Kündigung bedarf der Schriftform. Für den Mieter beträgt die Kündigungsfrist drei "
            "Monate; für den Vermieter gelten die gesetzlichen Fristen.",
        ),
        (
            "§ 10 Schlüssel",
            f"Dem Mieter werden {c.rng.randint(2, 5)} Haus- und Wohnungsschlüssel sowie ein "
            "Briefkastenschlüssel übergeben. Der Verlust ist unverzüglich anzuzeigen.",
        ),
        (
            "§ 11 Sonstige Vereinbarungen",
            "Änderungen und Ergänzungen dieses Vertrages bedürfen der Schriftform. Sollte eine "
            "Bestimmung unwirksam sein, bleibt der Vertrag im Übrigen wirksam.",
        ),
    ]
    for title, text in paragraphs[: c.rng.randint(5, len(paragraphs))]:
        doc.ensure(20)
        doc.line(title, bold=True, gap=0.5)
        doc.para(text)
    if i.bg_text:
        doc.para(
            f"Zusatz: Die Miete wird direkt vom Jobcenter überwiesen ({i.bg_label} {i.bg_text}).",
            bg=True,
        )
    doc.ensure(35)
    doc.gap(6)
    doc.line(f"{c.office.town}, {c.df(start - timedelta(days=c.rng.randint(7, 40)))}")
    top = doc.y
    doc.signature()
    doc.line("Vermieter", size=8)
    doc.y = top
    doc.signature(x=doc.left + 90)
    doc.line("Mieter", x=doc.left + 90, size=8)
    if c.chance(0.4):
        doc.new_page()
        doc.line("Anlage: Hausordnung", bold=True, size=doc.size + 2, gap=3)
        for text in HOUSE_RULES:
            doc.para(text)


HOUSE_RULES = (
    "1. Ruhezeiten: Zwischen 22 Uhr und 6 Uhr sowie an Sonn- und Feiertagen ist jede "
    "vermeidbare Lärmbelästigung zu unterlassen.",
    "2. Treppenhaus und Flure sind von den Mietparteien im wöchentlichen Wechsel zu reinigen; "
    "der Plan hängt im Hausflur aus.",
    "3. Fahrräder und Kinderwagen dürfen nicht im Treppenhaus abgestellt werden. Dafür steht der "
    "Abstellraum im Keller zur Verfügung.",
    "4. Müll ist getrennt in den dafür vorgesehenen Behältern zu entsorgen. Sperrmüll darf nicht "
    "auf dem Grundstück gelagert werden.",
    "5. Die Haustür ist in der Zeit von 22 Uhr bis 6 Uhr geschlossen zu halten.",
    "6. Das Grillen mit Holzkohle auf Balkonen ist nicht gestattet.",
    "7. Wasch- und Trockenräume stehen nach Absprache allen Mietparteien zur Verfügung.",
    "8. Schäden in der Wohnung oder am Gebäude sind der Hausverwaltung unverzüglich zu melden.",
)


def _au_dates(c: Ctx) -> tuple[date, date, date]:
    since = c.ago(0, 6)
    until = since + timedelta(days=c.rng.randint(3, 20))
    return since, until, since + timedelta(days=c.rng.randint(0, 2))


def tpl_au_form(doc: Doc, c: Ctx) -> None:
    i = c.ident
    doctor, speciality = c.rng.choice(DOCTORS)
    annotate_bg(doc, c)
    doc.y = doc.top
    w = doc.width
    doc.field(doc.left, doc.y, w * 0.6, "Krankenkasse bzw. Kostenträger", c.rng.choice(INSURERS))
    doc.put(doc.left + w * 0.62, doc.y, "Arbeitsunfähigkeits-", bold=True, size=doc.size + 2)
    doc.put(
        doc.left + w * 0.62,
        doc.y + doc.lh(doc.size + 2),
        "bescheinigung",
        bold=True,
        size=doc.size + 2,
    )
    doc.y += 11
    doc.field(doc.left, doc.y, w * 0.6, "Name, Vorname des Versicherten", i.formal, h=14)
    if i.show_address:
        doc.put(doc.left + 2, doc.y + 9.5, f"{i.street}, {i.place}", size=doc.size - 1)
    doc.field(
        doc.left + w * 0.6,
        doc.y,
        w * 0.4,
        "geb. am",
        fmt_date(i.birth, "twodigit") if i.show_birth and i.birth else "",
        h=14,
    )
    doc.y += 15
    doc.field(
        doc.left, doc.y, w * 0.3, "Kostenträgerkennung", f"10{c.rng.randint(1000000, 9999999)}"
    )
    doc.field(
        doc.left + w * 0.3,
        doc.y,
        w * 0.35,
        "Versicherten-Nr.",
        f"{c.rng.choice('ABCDGHKMS')}{c.rng.randint(100000000, 999999999)}",
    )
    doc.field(doc.left + w * 0.65, doc.y, w * 0.35, "Status", "1000000")
    doc.y += 11
    doc.field(doc.left, doc.y, w * 0.3, "Betriebsstätten-Nr.", str(c.rng.randint(10**8, 10**9 - 1)))
    doc.field(doc.left + w * 0.3, doc.y, w * 0.35, "Arzt-Nr.", str(c.rng.randint(10**8, 10**9 - 1)))
    doc.field(doc.left + w * 0.65, doc.y, w * 0.35, "Datum", fmt_date(c.date, "twodigit"))
    doc.y += 14
    since, until, seen = _au_dates(c)
    first = c.chance(0.7)
    x = doc.option(doc.left, "Erstbescheinigung", first)
    doc.option(x + 10, "Folgebescheinigung", not first)
    doc.y += doc.lh() + 2
    rows = [
        ("arbeitsunfähig seit", fmt_date(since, "dotted")),
        ("voraussichtlich arbeitsunfähig bis einschließlich", fmt_date(until, "dotted")),
        ("festgestellt am", fmt_date(seen, "dotted")),
    ]
    col = label_column(doc, [label for label, _ in rows], 110)
    for label, value in rows:
        doc.put(doc.left, doc.y, label)
        doc.put(doc.left + col, doc.y, value, bold=True)
        doc.y += doc.lh() + 1.5
    doc.gap(2)
    x = doc.option(doc.left, "Arbeitsunfall, Arbeitsunfallfolgen", False, size=doc.size - 1)
    doc.y += doc.lh() + 1
    doc.option(doc.left, "dem Durchgangsarzt zugewiesen", False, size=doc.size - 1)
    doc.y += doc.lh() + 5
    doc.para(
        c.pick(
            "Ausfertigung zur Vorlage bei der Agentur für Arbeit / dem Jobcenter",
            "Ausfertigung für Versicherte",
        ),
        size=doc.size - 1,
        bold=True,
    )
    doc.gap(4)
    doc.stamp_box(
        doc.left + 85, doc.y, [doctor, speciality, f"{c.office.town} · Tel. {phone(c.rng)}"]
    )
    doc.y += 22
    doc.signature(x=doc.left + 90)
    doc.line("Vertragsarztstempel / Unterschrift des Arztes", x=doc.left + 85, size=7.5)


def tpl_au_eau(doc: Doc, c: Ctx) -> None:
    i = c.ident
    doctor, speciality = c.rng.choice(DOCTORS)
    annotate_bg(doc, c)
    doc.y = doc.top
    doc.line(doctor, bold=True)
    doc.line(speciality, size=doc.size - 1)
    doc.gap(8)
    doc.para(
        c.pick(
            "Ausdruck der elektronischen Arbeitsunfähigkeitsbescheinigung (eAU)",
            "Bescheinigung über Arbeitsunfähigkeit – Ausfertigung für Versicherte",
        ),
        bold=True,
        size=doc.size + 1,
    )
    doc.gap(2)
    since, until, seen = _au_dates(c)
    pairs = [("Versicherte/r", f"{i.last}, {i.first}")]
    if i.show_birth:
        pairs.append(("Geburtsdatum", i.birth_text))
    if i.show_address:
        pairs.append(("Anschrift", f"{i.street}, {i.place}"))
    pairs += [
        ("Krankenkasse", c.rng.choice(INSURERS)),
        ("Versichertennummer", f"{c.rng.choice('ABCDGHKMS')}{c.rng.randint(100000000, 999999999)}"),
        ("Art", c.pick("Erstbescheinigung", "Folgebescheinigung")),
        ("Arbeitsunfähig seit", fmt_date(since, "dotted")),
        ("Voraussichtlich bis", fmt_date(until, "dotted")),
        ("Festgestellt am", fmt_date(seen, "dotted")),
        ("Unfall / Arbeitsunfall", "nein"),
    ]
    col = label_column(doc, [label for label, _ in pairs], 55)
    for label, value in pairs:
        doc.put(doc.left, doc.y, label)
        doc.put(doc.left + col, doc.y, value)
        doc.y += doc.lh() + 1
    doc.gap(6)
    doc.para(
        "Die Krankenkasse wurde elektronisch über die Arbeitsunfähigkeit informiert. Dieser "
        "Ausdruck dient als Nachweis für Versicherte, z. B. zur Vorlage beim Jobcenter.",
        size=doc.size - 1,
    )
    doc.gap(4)
    doc.line(f"{c.office.town}, {c.df(c.date)}")
    doc.signature()


def tpl_au_letter(doc: Doc, c: Ctx) -> None:
    i = c.ident
    doctor, speciality = c.rng.choice(DOCTORS)
    streets = ("Lindenstraße", "Marktplatz", "Am Gesundheitszentrum")
    street = f"{c.pick('Ärztehaus am Bahnhof, ', '')}{c.rng.choice(streets)} {c.rng.randint(1, 40)}"
    annotate_bg(doc, c)
    letterhead(
        doc,
        c,
        doctor,
        speciality,
        f"{street} · {c.office.postcode} {c.office.town}",
        contact=f"Telefon {phone(c.rng)} · Sprechzeiten nach Vereinbarung",
    )
    doc.gap(14)
    doc.line(c.df(c.date), x=140, gap=6)
    doc.line(
        c.pick("Ärztliche Bescheinigung", "Attest", "Bescheinigung zur Vorlage beim Jobcenter"),
        bold=True,
        size=doc.size + 1,
        gap=4,
    )
    since, until, _ = _au_dates(c)
    who = f"{i.mr} {i.first} {i.last}"
    if i.show_birth:
        who += f", {c.birth_phrase()}"
    if i.show_address:
        who += f", wohnhaft {i.street}, {i.place}"
    doc.para(
        f"Hiermit wird bescheinigt, dass {who}, vom {c.df(since)} bis voraussichtlich "
        f"{c.df(until)} arbeitsunfähig erkrankt ist."
    )
    doc.para(
        c.pick(
            "Die Teilnahme an Terminen und Maßnahmen des Jobcenters ist in diesem "
            "Zeitraum aus medizinischen Gründen nicht möglich.",
            "Eine Wiedervorstellung in der Praxis ist vereinbart.",
            "Die Bescheinigung wird auf Wunsch des Patienten ausgestellt.",
        )
    )
    doc.gap(8)
    doc.signature()
    doc.line(doctor.replace("Gemeinschaftspraxis ", ""))


# fmt: off
APPLICATION_RESULTS = (
    'Absage', 'offen', 'Vorstellungsgespräch', 'keine Rückmeldung', 'Absage per E-Mail',
    'Probearbeit vereinbart',
)
# fmt: on
APPLICATION_KINDS = ("schriftlich", "online", "per E-Mail", "persönlich", "telefonisch")


def _applications(c: Ctx, n: int) -> list[list[str]]:
    start = c.date - timedelta(days=40)
    rows = []
    for k in range(n):
        emp = c.rng.choice(EMPLOYERS)[0]
        when = start + timedelta(days=k * 35 // max(1, n))
        rows.append(
            [
                fmt_date(when, "dotted"),
                emp,
                c.rng.choice(JOBS),
                c.rng.choice(APPLICATION_KINDS),
                c.rng.choice(APPLICATION_RESULTS),
            ]
        )
    return rows


def tpl_applications_table(doc: Doc, c: Ctx) -> None:
    i = c.ident
    doc.y = doc.top - 4
    doc.line(c.region.jobcenter, size=doc.size - 1, gap=2)
    doc.line(
        c.pick(
            "Nachweis der Eigenbemühungen", "Nachweis über Eigenbemühungen", "Bewerbungsnachweis"
        ),
        bold=True,
        size=doc.size + 3,
        gap=3,
    )
    rows = [("Name, Vorname", i.formal)]
    if i.show_birth:
        rows.append(("Geburtsdatum", i.birth_text))
    if i.show_address:
        rows.append(("Anschrift", f"{i.street}, {i.place}"))
    if i.bg_text:
        rows.append((c.pick("BG-Nummer", "Nummer der BG", "BG-Nr."), i.bg_text))
    rows.append(("Zeitraum", f"{c.df(c.date - timedelta(days=40))} bis {c.df(c.date)}"))
    col = label_column(doc, [label + ":" for label, _ in rows], 45)
    for label, value in rows:
        doc.put(doc.left, doc.y, label + ":")
        doc.put(doc.left + col, doc.y, value, bg=value == i.bg_text)
        doc.y += doc.lh() + 0.5
    doc.gap(4)
    doc.continuation = page_header_simple(f"Eigenbemühungen – {i.formal}")
    apps = _applications(c, c.rng.randint(5, 30))
    doc.table(
        [
            ("Nr.", 9, "r"),
            ("Datum", 22, "l"),
            ("Arbeitgeber", 50, "l"),
            ("Stelle", 35, "l"),
            ("Art", 22, "l"),
            ("Ergebnis", 28, "l"),
        ],
        [[str(k + 1)] + r for k, r in enumerate(apps)],
        size=doc.size - 2,
        grid="box",
    )
    doc.gap(5)
    doc.para(
        "Ich versichere, dass die Angaben richtig sind. Nachweise (Anschreiben, Absagen) "
        "liegen bei.",
        size=doc.size - 1,
    )
    doc.line(date_text(c), gap=0)
    doc.signature(x=doc.left + 80)


def tpl_applications_list(doc: Doc, c: Ctx) -> None:
    i = c.ident
    doc.y = doc.top + 2
    for t in sender_lines(c, with_phone=False):
        doc.line(t)
    if i.show_birth:
        doc.line(c.birth_phrase())
    if i.bg_text:
        doc.line(c.bg_phrase(), bg=True)
    doc.gap(10)
    month = MONTHS[(c.date.month - 2) % 12]
    doc.line(
        c.pick(
            f"Meine Bewerbungen im {month}", f"Liste meiner Bewerbungen – {month}", "Bewerbungen"
        ),
        bold=True,
        size=doc.size + 1,
        gap=4,
    )
    for k, (when, emp, job, kind, result) in enumerate(_applications(c, c.rng.randint(4, 10))):
        doc.para(f"{k + 1}) {when} – {job} bei {emp} – {kind} – {result}", gap=1)
    doc.gap(4)
    doc.line(date_text(c))
    doc.signature()
    doc.line(f"{i.first} {i.last}")


def tpl_applications_letter(doc: Doc, c: Ctx) -> None:
    client_letter_head(doc, c)
    doc.line(
        c.pick("Nachweis meiner Bewerbungsbemühungen", "Eigenbemühungen", "Bewerbungsnachweise"),
        bold=True,
        gap=4,
    )
    doc.line("Sehr geehrte Damen und Herren,", gap=1)
    doc.para(
        c.pick(
            f"wie im Kooperationsplan vom {c.df(c.ago(40, 120))} vereinbart, reiche ich meine "
            "Bewerbungen für den letzten Monat ein:",
            "anbei sende ich Ihnen die Liste meiner Bewerbungen, die ich bei unserem Gespräch "
            "zugesagt habe:",
        )
    )
    apps = _applications(c, c.rng.randint(4, 9))
    doc.table(
        [("Datum", 24, "l"), ("Firma", 56, "l"), ("Stelle", 42, "l"), ("Antwort", 40, "l")],
        [[r[0], r[1], r[2], r[4]] for r in apps],
        size=doc.size - 1.5,
    )
    doc.gap(3)
    doc.para(
        c.pick(
            "Die Absagen lege ich in Kopie bei.",
            "Von den übrigen Firmen habe ich noch keine Antwort.",
            "Bitte nehmen Sie die Nachweise zu meiner Akte.",
        )
    )
    closing(doc, c)


def tpl_other_question(doc: Doc, c: Ctx) -> None:
    client_letter_head(doc, c)
    topic = c.rng.randrange(5)
    subject, text = [
        (
            "Frage zu meinem Bescheid",
            f"in Ihrem Schreiben vom {c.df(c.ago(5, 30))} steht, dass ich noch Unterlagen "
            "nachreichen soll. Leider ist nicht angegeben, welche Unterlagen gemeint sind. Können "
            "Sie mir das bitte kurz mitteilen?",
        ),
        (
            "Bitte um Rückruf",
            "ich habe mehrmals versucht, Sie telefonisch zu erreichen, bin aber nie durchgekommen. "
            f"Bitte rufen Sie mich zurück unter {phone(c.rng)}, am besten vormittags.",
        ),
        (
            "Terminanfrage",
            "ich möchte gerne einen persönlichen Termin, um über eine Weiterbildung als "
            f"{c.rng.choice(JOBS)} zu sprechen. Ich habe dazu schon Informationen gesammelt.",
        ),
        (
            "Antrag auf Übernahme der Kosten für eine Klassenfahrt",
            f"die Klasse meines Kindes fährt vom {c.df(c.ahead(30, 60))} an für fünf Tage in ein "
            f"Schullandheim. Die Kosten betragen {money(c.rng.uniform(180, 420))} Euro. Die "
            "Bestätigung der Schule liegt bei. Ich bitte um Übernahme im Rahmen von Bildung und "
            "Teilhabe.",
        ),
        (
            "Adresse für Post",
            "bitte schicken Sie Ihre Post in den nächsten drei Wochen an meine Schwester, da ich "
            "im "
            "Krankenhaus bin und meinen Briefkasten nicht leeren kann.",
        ),
    ][topic]
    doc.line(subject, bold=True, gap=4)
    doc.line("Sehr geehrte Damen und Herren,", gap=1)
    doc.para(text)
    if c.chance(0.4):
        doc.para("Vielen Dank im Voraus für Ihre Hilfe.")
    closing(doc, c)


def tpl_other_bank_change(doc: Doc, c: Ctx) -> None:
    bank, bic, blz = c.rng.choice(BANKS)
    client_letter_head(doc, c)
    doc.line(
        c.pick("Neue Bankverbindung", "Änderung meiner Kontoverbindung", "Kontowechsel"),
        bold=True,
        gap=4,
    )
    doc.line("Sehr geehrte Damen und Herren,", gap=1)
    doc.para(
        c.pick(
            "bitte überweisen Sie meine Leistungen ab sofort auf mein neues Konto:",
            f"ab dem {c.df(c.ahead(5, 30))} habe ich ein neues Girokonto. Bitte zahlen "
            "Sie ab dann nur noch auf dieses Konto:",
        )
    )
    for label, value in (
        ("Kontoinhaber", c.ident.name),
        ("IBAN", iban_for(c.rng, blz)),
        ("BIC", bic),
        ("Bank", bank),
    ):
        doc.put(doc.left + 10, doc.y, label + ":")
        doc.put(doc.left + 45, doc.y, value)
        doc.y += doc.lh() + 0.5
    doc.gap(3)
    doc.para(
        c.pick(
            "Das alte Konto wird zum Monatsende aufgelöst.",
            "Eine Kopie der Bankkarte lege ich bei.",
        )
    )
    closing(doc, c)


def tpl_other_thanks(doc: Doc, c: Ctx) -> None:
    client_letter_head(doc, c)
    cw = c.caseworker.name.split()[-1] if c.caseworker else "Schulte"
    doc.line(c.pick("Dankeschön", "Vielen Dank", ""), bold=True, gap=4)
    doc.para(c.pick("Liebe Mitarbeiterinnen und Mitarbeiter,", "Sehr geehrte Damen und Herren,"))
    doc.para(
        c.pick(
            f"ich möchte mich auf diesem Weg für die schnelle Hilfe bedanken. Besonders Frau {cw} "
            "hat sich viel Zeit für mich genommen und mir alles gut erklärt.",
            "nach langer Zeit habe ich endlich wieder eine feste Arbeit gefunden. Ohne die "
            "Unterstützung in den letzten Monaten hätte ich das nicht geschafft. Danke dafür!",
            f"herzlichen Dank für die unkomplizierte Bearbeitung meines Antrags. Herr {cw} war "
            "immer freundlich und geduldig, auch wenn ich viele Fragen hatte.",
        )
    )
    closing(
        doc,
        c,
        formula=c.pick("Herzliche Grüße", "Alles Gute und viele Grüße", "Mit freundlichen Grüßen"),
    )


def tpl_other_appointment(doc: Doc, c: Ctx) -> None:
    """A practice confirms a patient's appointment; clients send it to excuse a missed date."""
    i = c.ident
    doctor, speciality = c.rng.choice(DOCTORS)
    annotate_bg(doc, c)
    letterhead(
        doc,
        c,
        doctor,
        speciality,
        f"{c.rng.choice(('Hafenplatz', 'Poststraße', 'Am Klinikum'))} {c.rng.randint(1, 30)}"
        f" · {c.office.postcode} {c.office.town}",
        contact=f"Tel. {phone(c.rng)}",
    )
    window(doc, c, recipient_of_third_party(c))
    doc.gap(8)
    doc.line(c.df(c.date), x=140, gap=6)
    doc.line(
        c.pick("Terminbestätigung", "Ihr Termin in unserer Praxis", "Einladung zur Untersuchung"),
        bold=True,
        gap=4,
    )
    doc.line(f"Sehr geehrte{'r Herr' if i.sex == 'm' else ' Frau'} {i.last},", gap=1)
    when = c.ahead(2, 20)
    who = (
        f"Ihr Termin am {WEEKDAYS[when.weekday()]}, {fmt_date(when, 'dotted')}, um "
        f"{c.rng.randint(8, 17)}:{c.pick('00', '15', '30', '45')} Uhr"
    )
    doc.para(
        c.pick(f"hiermit bestätigen wir {who}.", f"wir möchten Sie an Folgendes erinnern: {who}.")
    )
    if i.show_birth:
        doc.para(f"Patient/in: {i.name}, {c.birth_phrase()}")
    doc.para(
        c.pick(
            "Bitte bringen Sie Ihre Versichertenkarte, eine Überweisung und aktuelle "
            "Befunde mit. Planen Sie etwa zwei Stunden ein.",
            "Bitte kommen Sie nüchtern. Sollten Sie den Termin nicht wahrnehmen können, "
            "sagen Sie bitte mindestens 24 Stunden vorher ab.",
        )
    )
    doc.line("Ihr Praxisteam")
    if c.chance(0.5):
        doc.gap(10)
        doc.para(
            c.pick(
                "Deshalb kann ich zum Termin beim Jobcenter nicht kommen.",
                "Bitte neuen Termin beim Jobcenter!",
            ),
            family=available_families(("URW Gothic", "DejaVu Sans"))[0],
            italic=True,
        )


def tpl_other_family_benefit(doc: Doc, c: Ctx) -> None:
    """A child benefit notice of the family office; its legal notice mentions Einspruch."""
    i = c.ident
    annotate_bg(doc, c)
    office = c.region.family_office
    letterhead(
        doc,
        c,
        office,
        "Bundesagentur für Arbeit",
        f"{c.rng.randint(10000, 99999)} {c.pick('Hannover', 'Kassel', 'Cottbus')}",
        style=0,
    )
    window(doc, c, recipient_of_third_party(c), sender_line=f"{office}, {c.region.state}")
    kg = f"{c.rng.randint(100, 999)}FK{c.rng.randint(100000, 999999)}"
    info_block(doc, [("Kindergeld-Nr.:", kg), ("Datum:", c.df(c.ago(3, 20)))], y=52)
    doc.gap(10)
    doc.line(
        c.pick(
            "Bescheid über Kindergeld",
            "Änderung der Kindergeldfestsetzung",
            "Festsetzung von Kindergeld",
        ),
        bold=True,
        size=doc.size + 1,
        gap=3,
    )
    doc.line(f"Sehr geehrte{'r Herr' if i.sex == 'm' else ' Frau'} {i.last},", gap=1)
    kid = c.child()
    name = kid.first_name if kid else c.pick("Mia", "Leon", "Elif", "Jonas")
    doc.para(
        f"für Ihr Kind {name} wird Kindergeld ab {MONTHS[c.date.month % 12]} "
        f"{c.date.year} in Höhe von 255,00 Euro monatlich festgesetzt."
    )
    doc.para(
        "Die Zahlung erfolgt auf das uns bekannte Konto. Bitte teilen Sie uns alle "
        "Änderungen mit, die für den Anspruch von Bedeutung sind."
    )
    doc.line("Rechtsbehelfsbelehrung", bold=True, gap=0.5)
    doc.para(
        "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Einspruch "
        f"eingelegt werden. Der Einspruch ist bei der {office} schriftlich einzureichen oder "
        "zur Niederschrift zu erklären.",
        size=doc.size - 1,
    )
    doc.line("Mit freundlichen Grüßen")
    doc.line(f"Ihre {office}")


def tpl_other_school(doc: Doc, c: Ctx) -> None:
    i = c.ident
    school = c.rng.choice(SCHOOLS)
    annotate_bg(doc, c)
    letterhead(
        doc,
        c,
        school,
        f"Schulleitung · Sekretariat Tel. {phone(c.rng)}",
        f"{c.pick('Schulweg', 'Am Schulzentrum', 'Lindenallee')} {c.rng.randint(1, 20)}, "
        f"{c.office.postcode} {c.office.town}",
    )
    doc.gap(20)
    doc.line(c.df(c.date), x=140, gap=8)
    doc.line("Schulbescheinigung", bold=True, size=doc.size + 3, gap=6)
    who = f"{i.first} {i.last}"
    if i.show_birth:
        who += f", {c.birth_phrase()}"
    if i.show_address:
        who += f", wohnhaft {i.street}, {i.place}"
    doc.para(
        f"Hiermit wird bescheinigt, dass {who}, im Schuljahr {c.date.year}/{c.date.year + 1} "
        f"die Klasse {c.rng.randint(1, 12)}{c.pick('a', 'b', 'c')} unserer Schule besucht."
    )
    doc.para(
        "Der Schulbesuch endet voraussichtlich mit Ablauf des Schuljahres "
        f"{c.date.year + c.rng.randint(1, 5)}/{c.date.year + 6}.".replace(f"/{c.date.year + 6}", "")
    )
    doc.para("Diese Bescheinigung wird zur Vorlage beim Jobcenter ausgestellt.")
    doc.gap(6)
    doc.signature()
    doc.line(c.pick("Schulleitung", "Sekretariat", "i. A. Sekretariat"))


# --------------------------------------------------------------------------------------------
# issue 13: third-party senders. Letters whose wording brushes against another type: another
# authority's decision with its own remedy notice, an insurer writing about sick pay, a
# lawyer who mentions a finished objection, a pay slip with the word in its small print.


def _tp_client_line(c: Ctx) -> str:
    """The addressee's identifiers as an authority prints them under its reference."""
    i = c.ident
    parts = [f"{i.mr} {i.first} {i.last}"]
    if i.show_birth:
        parts.append(f"geb. {i.birth_text}")
    return ", ".join(parts)


def _tp_remedy_notice(doc: Doc, c: Ctx, office: str, *, heading: str | None = None) -> None:
    """Another authority's own legal-remedy notice, in one of several wordings."""
    doc.line(
        heading or c.pick("Rechtsbehelfsbelehrung", "Rechtsbehelfsbelehrung:", "Ihre Rechte"),
        bold=True,
        gap=0.5,
    )
    small = doc.size - 1.5
    doc.para(
        c.pick(
            f"Gegen diese Entscheidung kann innerhalb eines Monats nach ihrer Bekanntgabe "
            f"Widerspruch erhoben werden. Der Widerspruch ist schriftlich oder zur Niederschrift "
            f"bei der {office} einzulegen.",
            f"Sie können gegen diesen Bescheid binnen eines Monats, nachdem er Ihnen bekannt "
            f"gegeben wurde, Widerspruch einlegen. Richten Sie den Widerspruch bitte an die "
            f"{office}.",
            "Gegen den Bescheid ist der Widerspruch zulässig. Er muss innerhalb eines Monats "
            f"nach Zugang schriftlich, elektronisch oder zur Niederschrift bei der {office} "
            "erhoben werden.",
        ),
        size=small,
    )
    if c.chance(0.5):
        doc.para(
            c.pick(
                "Ein Widerspruch hat keine aufschiebende Wirkung; die Entscheidung bleibt "
                "bis zur Entscheidung über den Widerspruch wirksam.",
                "Bei schriftlicher Einlegung ist die Frist nur gewahrt, wenn der Widerspruch "
                "vor Ablauf der Frist bei der Behörde eingegangen ist.",
            ),
            size=small,
        )


# Authorities other than the job centre: (letterhead, department, decision title, subject of
# the decision, amount label). Their decisions reach the job centre as income evidence.
# fmt: off
TP_AUTHORITIES = {
    "wohngeld": (
        "Stadt {town} – Der Bürgermeister", "Wohngeldstelle",
        ("Wohngeldbescheid", "Bescheid über Wohngeld (Mietzuschuss)"),
        "Wohngeld als Mietzuschuss", "monatliches Wohngeld",
    ),
    "rente": (
        "Deutsche Rentenversicherung", "Oldenburg-Bremen",
        ("Rentenbescheid", "Bescheid über die Neufeststellung Ihrer Rente"),
        "Rente wegen teilweiser Erwerbsminderung", "monatlicher Zahlbetrag",
    ),
    "unterhaltsvorschuss": (
        "Landkreis {town} · Jugendamt", "Unterhaltsvorschusskasse",
        ("Bescheid über Unterhaltsvorschuss", "Bewilligung von Unterhaltsvorschussleistungen"),
        "Unterhaltsvorschuss nach dem Unterhaltsvorschussgesetz", "monatliche Leistung",
    ),
    "alg": (
        "Agentur für Arbeit {town}", "Bundesagentur für Arbeit",
        ("Bewilligungsbescheid über Arbeitslosengeld", "Änderungsbescheid Arbeitslosengeld"),
        "Arbeitslosengeld", "täglicher Leistungsbetrag",
    ),
}
# fmt: on


def _tp_decision(doc: Doc, c: Ctx, which: str) -> None:
    """Another authority's decision: page 1 the decision, last page its remedy notice."""
    i = c.ident
    head, dept, titles, subject, amount_label = TP_AUTHORITIES[which]
    town = c.office.town
    head = head.format(town=town)
    office = dept if which != "alg" else head
    office_article = office if which != "rente" else "Deutschen Rentenversicherung"
    annotate_bg(doc, c)
    letterhead(
        doc,
        c,
        head,
        dept,
        f"{c.pick('Rathausplatz', 'Am Markt', 'Bahnhofstraße', 'Kreishaus, Kirchplatz')} "
        f"{c.rng.randint(1, 40)}, {c.office.postcode} {town}",
        contact=f"Telefon {phone(c.rng)}",
    )
    window(doc, c, recipient_of_third_party(c), sender_line=f"{head} · {dept}")
    ref = {
        "wohngeld": f"WG-{c.rng.randint(1000, 99999)}/{c.date.year % 100}",
        "rente": f"{c.rng.randint(10, 65)} {c.rng.randint(100000, 999999)} "
        f"{c.pick('M', 'W', 'K')} {c.rng.randint(100, 999)}",
        "unterhaltsvorschuss": f"UV {c.rng.randint(100, 9999)}/{c.date.year % 100}",
        "alg": f"{c.rng.randint(100, 999)}D{c.rng.randint(100000, 999999)}",
    }[which]
    pairs = [
        (c.pick("Aktenzeichen:", "Unser Zeichen:", "Kundennummer:"), ref),
        ("Datum:", c.df(c.ago(3, 25))),
    ]
    if i.show_birth:
        pairs.insert(1, ("Geburtsdatum:", i.birth_text))
    info_block(doc, pairs, y=max(doc.y, 50))
    doc.gap(8)
    doc.line(c.pick(*titles), bold=True, size=doc.size + 1, gap=1)
    doc.line(f"für {_tp_client_line(c)}", size=doc.size - 1, gap=3)
    doc.line(f"Sehr geehrte{'r Herr' if i.sex == 'm' else ' Frau'} {i.last},", gap=1)
    start = date(c.date.year, c.date.month, 1) + timedelta(days=32)
    start = start.replace(day=1)
    value = c.rng.uniform(90, 780) if which != "alg" else c.rng.uniform(28, 74)
    doc.para(
        f"auf Ihren Antrag vom {c.df(c.ago(40, 90))} wird Ihnen {subject} ab dem "
        f"{fmt_date(start, 'dotted')} bewilligt. Der {amount_label} beträgt {money(value)} Euro."
    )
    doc.para(
        c.pick(
            "Die Berechnung entnehmen Sie bitte der Anlage. Die Zahlung erfolgt jeweils zum "
            "Monatsanfang auf Ihr Konto.",
            "Die Einzelheiten der Berechnung sind auf der folgenden Seite aufgeführt.",
            "Bitte prüfen Sie die der Berechnung zugrunde gelegten Angaben.",
        )
    )
    doc.para(
        "Sie sind verpflichtet, jede Änderung der Verhältnisse, die für die Leistung erheblich "
        "ist, unverzüglich mitzuteilen. Zu Unrecht erhaltene Leistungen sind zu erstatten."
    )
    doc.continuation = page_header_simple(f"{head} – {ref}")
    doc.new_page()
    doc.line(c.pick("Berechnung", "Anlage zur Berechnung", "Berechnungsbogen"), bold=True, gap=2)
    rows = [
        [label, money(c.rng.uniform(50, 900)) + " €"]
        for label in c.rng.sample(
            [
                "Berücksichtigtes Einkommen",
                "Freibetrag",
                "Zu berücksichtigende Miete",
                "Anzahl der Haushaltsmitglieder",
                "Bemessungsentgelt",
                "Pauschalierter Abzug",
            ],
            3,
        )
    ]
    rows.append([amount_label.capitalize(), money(value) + " €"])
    doc.table([("Position", 90, "l"), ("Betrag", 40, "r")], rows, size=doc.size - 1)
    doc.gap(6)
    _tp_remedy_notice(doc, c, f"{office_article}" if which == "rente" else office)
    doc.gap(3)
    doc.line("Mit freundlichen Grüßen")
    doc.line(c.pick(f"Ihre {office}", "Im Auftrag", f"{dept}"))


def tpl_tp_housing_benefit(doc: Doc, c: Ctx) -> None:
    _tp_decision(doc, c, "wohngeld")


def tpl_tp_pension(doc: Doc, c: Ctx) -> None:
    _tp_decision(doc, c, "rente")


def tpl_tp_maintenance_advance(doc: Doc, c: Ctx) -> None:
    _tp_decision(doc, c, "unterhaltsvorschuss")


def tpl_tp_unemployment_benefit(doc: Doc, c: Ctx) -> None:
    _tp_decision(doc, c, "alg")


def tpl_tp_sick_pay(doc: Doc, c: Ctx) -> None:
    """A health insurer writes about sick pay: income for the caseworker, no sick note."""
    i = c.ident
    insurer = c.rng.choice(INSURERS)
    annotate_bg(doc, c)
    letterhead(
        doc,
        c,
        insurer,
        c.pick("Krankengeld-Service", "Geschäftsstelle", "Team Krankengeld"),
        f"Postfach {c.rng.randint(1000, 9999)}, {c.office.postcode} {c.office.town}",
        contact=f"Servicetelefon {phone(c.rng)}",
    )
    window(doc, c, recipient_of_third_party(c), sender_line=f"{insurer} · Postfach")
    pairs = [("Versichertennummer:", f"{i.last[0].upper()}{c.rng.randint(100000000, 999999999)}")]
    if i.show_birth:
        pairs.append(("geboren am:", i.birth_text))
    pairs.append(("Datum:", c.df(c.date)))
    info_block(doc, pairs, y=max(doc.y, 50))
    doc.gap(8)
    since = c.ago(30, 70)
    paid_from = since + timedelta(days=42)
    doc.line(
        c.pick(
            "Ihr Krankengeld",
            f"Zahlung von Krankengeld ab {fmt_date(paid_from, 'dotted')}",
            "Krankengeld – Mitteilung über die Höhe",
        ),
        bold=True,
        gap=3,
    )
    doc.line(
        f"Guten Tag {i.mr} {i.last},"
        if c.chance(0.4)
        else f"Sehr geehrte{'r Herr' if i.sex == 'm' else ' Frau'} {i.last},",
        gap=1,
    )
    daily = c.rng.uniform(28, 78)
    doc.para(
        f"Ihre Arbeitsunfähigkeit besteht seit dem {fmt_date(since, 'dotted')}. Ihr Arbeitgeber "
        f"hat das Entgelt sechs Wochen lang fortgezahlt. Ab dem {fmt_date(paid_from, 'dotted')} "
        f"erhalten Sie von uns Krankengeld in Höhe von {money(daily)} Euro brutto je Kalendertag."
    )
    doc.para(
        c.pick(
            "Von diesem Betrag führen wir Beiträge zur Renten-, Arbeitslosen- und "
            "Pflegeversicherung ab. Ausgezahlt werden "
            f"{money(daily * 0.88)} Euro kalendertäglich.",
            f"Nach Abzug der Sozialversicherungsbeiträge zahlen wir Ihnen {money(daily * 0.88)} "
            "Euro für jeden Kalendertag aus.",
        )
    )
    doc.para(
        c.pick(
            "Damit wir weiter zahlen können, brauchen wir lückenlos jede ärztliche Feststellung "
            "der Arbeitsunfähigkeit. Ihre Praxis übermittelt sie uns elektronisch.",
            "Bitte achten Sie darauf, dass die weitere Arbeitsunfähigkeit spätestens am nächsten "
            "Werktag nach dem Ende der letzten Feststellung ärztlich bescheinigt wird.",
        )
    )
    if i.bg_text and c.chance(0.5):
        doc.para(
            f"Eine Kopie dieses Schreibens erhält auf Ihren Wunsch das Jobcenter "
            f"({i.bg_label} {i.bg_text}).",
            bg=True,
        )
    if c.chance(0.5):
        doc.continuation = page_header_simple(f"{insurer} – Krankengeld")
        doc.new_page()
        doc.line("Wichtige Hinweise", bold=True, gap=2)
        doc.para(
            "Das Krankengeld ist Einkommen. Beziehen Sie zusätzlich Bürgergeld, teilen Sie dem "
            "Jobcenter bitte die Höhe des Krankengeldes mit.",
            size=doc.size - 1,
        )
        doc.para(
            "Sie können der Übermittlung Ihrer Daten an Dritte jederzeit widersprechen; "
            "wenden Sie sich dazu an Ihre Geschäftsstelle.",
            size=doc.size - 1,
        )
        _tp_remedy_notice(doc, c, insurer, heading="Rechtsbehelfsbelehrung")
    doc.gap(3)
    doc.line("Freundliche Grüße")
    doc.line(f"Ihre {insurer}")


def tpl_tp_court_summons(doc: Doc, c: Ctx) -> None:
    """A court summons in another layout: a hearing or a discussion date, sent to the job
    centre as the defendant; it names the objection decision the action is about."""
    i = c.ident
    r = c.region
    doc.y = doc.top - 4
    doc.put(doc.left, doc.y, r.court.upper(), bold=True, size=doc.size + 2)
    doc.y += doc.lh(doc.size + 2)
    doc.line(r.court_address, size=doc.size - 2)
    doc.hline(doc.left, doc.x_right, doc.y + 0.5, width=0.3)
    window(doc, c, recipient_lines(c), y=44)
    ref = _court_ref(c)
    pairs = [("Geschäftsnummer:", ref), ("Datum:", c.df(c.date))]
    if i.bg_text:
        pairs.insert(1, ("Ihr Zeichen:", i.bg_text))
    info_block(doc, pairs, y=50, bg_value=i.bg_text)
    doc.gap(10)
    kind = c.rng.randrange(2)
    doc.line(
        ("Ladung zum Termin zur mündlichen Verhandlung", "Ladung zum Erörterungstermin")[kind],
        bold=True,
        size=doc.size + 1,
        gap=3,
    )
    who = f"{i.name}" + (f", {i.street}, {i.place}" if i.show_address else "")
    if i.show_birth:
        who += f", {c.birth_phrase()}"
    doc.para(f"In der Streitsache {who} ./. {r.jobcenter}")
    decided = c.ago(90, 200)
    doc.para(
        f"wegen des Bescheides vom {c.df(decided)} in Gestalt des Widerspruchsbescheides vom "
        f"{c.df(decided + timedelta(days=c.rng.randint(30, 80)))}",
        size=doc.size - 0.5,
    )
    when = c.ahead(25, 80)
    while when.weekday() > 4:
        when += timedelta(days=1)
    doc.para(
        f"werden Sie auf Anordnung der Vorsitzenden zum Termin am {WEEKDAYS[when.weekday()]}, "
        f"dem {fmt_date(when, 'long')}, um {c.pick('9:00', '10:30', '12:45', '14:15')} Uhr, "
        f"Saal {c.rng.randint(1, 9)}, geladen."
    )
    doc.para(
        c.pick(
            "Die Beklagte wird gebeten, eine mit der Sache vertraute Person zu entsenden, die "
            "zum Abschluss eines Vergleichs ermächtigt ist.",
            "Das persönliche Erscheinen des Klägers ist angeordnet. Für die Beklagte genügt die "
            "Entsendung einer bevollmächtigten Vertretung.",
        )
    )
    doc.para(
        "Die Verwaltungsakte einschließlich der Widerspruchsakte ist, soweit noch nicht "
        "geschehen, bis spätestens zwei Wochen vor dem Termin zu übersenden."
    )
    doc.gap(4)
    doc.line(c.pick("Auf Anordnung", "Mit freundlichen Grüßen"))
    doc.signature()
    doc.line(
        f"{c.rng.choice(COURT_STAFF)}, Urkundsbeamtin der Geschäftsstelle", size=doc.size - 1.5
    )


def tpl_tp_lawyer_file_request(doc: Doc, c: Ctx) -> None:
    """A lawyer announces the representation and asks for the file; the objection is over."""
    i = c.ident
    firm, sub, _ = c.rng.choice(LAWYERS)
    street = c.pick("Bahnhofsplatz", "Lange Straße", "Am Hafen", "Rosenstraße")
    street = f"{street} {c.rng.randint(1, 50)}"
    letterhead(doc, c, firm, sub, f"{street} · {c.office.postcode} {c.office.town}")
    window(doc, c, recipient_lines(c), sender_line=f"{firm} · {street}")
    pairs = [("Unser Az.:", f"{c.rng.randint(10, 499)}/{c.date.year % 100}")]
    if i.bg_text:
        pairs.append((i.bg_label, i.bg_text))
    pairs.append(("Datum:", c.df(c.date)))
    info_block(doc, pairs, bg_value=i.bg_text)
    doc.gap(6)
    subject = f"{i.name}" + (f", {c.birth_phrase()}" if i.show_birth else "")
    doc.para(subject, bold=True, gap=0.5)
    doc.para(c.pick("Vertretungsanzeige und Bitte um Akteneinsicht", "Akteneinsicht"), bold=True)
    doc.line("Sehr geehrte Damen und Herren,", gap=1)
    where = f", {i.street}, {i.place}," if i.show_address else ""
    client = "unsere Mandantin" if i.sex == "f" else "unseren Mandanten"
    doc.para(
        f"wir zeigen an, dass wir {client} {i.first} {i.last}{where} vertreten. Eine Vollmacht "
        "ist beigefügt."
    )
    decided = c.ago(20, 60)
    doc.para(
        c.pick(
            f"Das Widerspruchsverfahren ist mit dem Widerspruchsbescheid vom {c.df(decided)} "
            "abgeschlossen. Wir prüfen derzeit, ob ein gerichtliches Verfahren Aussicht auf "
            "Erfolg hat.",
            f"Der Widerspruch unserer Mandantschaft wurde mit Bescheid vom {c.df(decided)} "
            "zurückgewiesen. Vor einer Entscheidung über das weitere Vorgehen benötigen wir die "
            "Unterlagen.",
        )
    )
    doc.para(
        "Wir bitten daher um Einsicht in die vollständige Leistungsakte, gern durch Übersendung "
        "einer Kopie oder als elektronische Akte. Die Kosten der Akteneinsicht tragen wir."
    )
    closing(
        doc, c, name=firm.replace("Kanzlei ", ""), role=c.pick("Rechtsanwältin", "Rechtsanwalt")
    )


def tpl_tp_rent_cooperative(doc: Doc, c: Ctx) -> None:
    """A housing cooperative confirms the costs of a flat (its own words: Nutzungsgebühr)."""
    i = c.ident
    name = c.pick(
        "Wohnungsgenossenschaft Geestland eG",
        "Bauverein Nord eG",
        "Gemeinnützige Wohnungsbaugesellschaft mbH",
        "Hausverwaltung Kröger & Sohn",
    )
    _, address, _ = _landlord(c)
    letterhead(doc, c, name, c.pick("Mitgliederbetreuung", "Vermietung", "Mieterservice"), address)
    window(doc, c, recipient_lines(c) if c.chance(0.6) else recipient_of_third_party(c))
    doc.gap(6)
    doc.line(c.df(c.date), x=140, gap=6)
    doc.line(
        c.pick(
            "Bestätigung des Vermieters über die Wohnkosten",
            "Vermieterbestätigung",
            "Bescheinigung über die Mietkosten",
        ),
        bold=True,
        gap=4,
    )
    area = c.rng.randint(35, 90)
    base = area * c.rng.uniform(5.2, 8.8)
    side = c.rng.uniform(70, 210)
    heat = c.rng.uniform(45, 130)
    rows = [["Mitglied / Mieter", f"{i.mr} {i.first} {i.last}"]]
    if i.show_birth:
        rows.append(["Geburtsdatum", i.birth_text])
    rows += [
        ["Wohnung", f"{i.street}, {i.place}" if i.show_address else f"Nr. {c.rng.randint(1, 80)}"],
        ["Wohnfläche", f"{area} m²"],
        ["Nutzungsgebühr (kalt)", money(base) + " €"],
        ["Betriebskostenvorauszahlung", money(side) + " €"],
        ["Heizkostenvorauszahlung", money(heat) + " €"],
        ["Summe monatlich", money(base + side + heat) + " €"],
    ]
    doc.table([("", 62, "l"), ("", 80, "l")], rows, header=False, grid="box")
    doc.gap(4)
    if i.bg_text:
        doc.para(f"{i.bg_label} {i.bg_text}", bg=True)
    doc.para(
        c.pick(
            f"Das Nutzungsverhältnis besteht seit dem {c.df(c.ago(400, 4000))} ungekündigt.",
            "Rückstände bestehen nicht. Die Zahlung erfolgt per Dauerauftrag.",
        )
    )
    closing(doc, c, name=name, formula="Mit freundlichen Grüßen")


def tpl_tp_payslip_fine_print(doc: Doc, c: Ctx) -> None:
    """A pay slip whose small print and fields use the word Widerspruch."""
    i = c.ident
    annotate_bg(doc, c)
    emp, address = _employer_address(c)
    month = MONTHS[(c.date.month - 2) % 12]
    doc.y = doc.top - 2
    doc.line(emp, bold=True)
    doc.line(address, size=doc.size - 2)
    window(doc, c, recipient_of_third_party(c), y=36)
    doc.gap(6)
    doc.line(f"Lohnabrechnung {month} {c.date.year}", bold=True, size=doc.size + 1, gap=2)
    pairs = [("Pers.-Nr.", f"{c.rng.randint(100, 9999)}")]
    if i.show_birth:
        pairs.append(("Geb.-Datum", i.birth_text))
    pairs += [
        ("Steuerklasse", c.pick("I", "III", "IV")),
        ("Widerspruch Entgeltumwandlung", c.pick("nein", "keiner")),
    ]
    info_block(doc, pairs, x=doc.left, size=doc.size - 1.5)
    gross = c.rng.uniform(900, 2800)
    tax = gross * 0.08
    sv = gross * 0.2
    rows = [
        ["Grundlohn", money(gross)],
        ["Lohnsteuer", money(-tax)],
        ["SV-Beiträge Arbeitnehmer", money(-sv)],
        ["Auszahlung", money(gross - tax - sv)],
    ]
    doc.gap(3)
    doc.table([("Lohnart", 80, "l"), ("EUR", 40, "r")], rows, size=doc.size - 1)
    doc.gap(6)
    doc.para(
        "Einwände gegen diese Abrechnung bitte innerhalb von drei Monaten schriftlich an das "
        "Lohnbüro richten. Ein Widerspruch gegen die betriebliche Altersversorgung ist bis zum "
        "Jahresende möglich.",
        size=7.5,
    )


# --------------------------------------------------------------------------------------------
# Template catalogue: what each template can print about its sender

NEVER, OPTIONAL, ALWAYS = "never", "optional", "always"
ALL_TEXT = SANS + SERIF


@dataclass(frozen=True)
class Template:
    doc_type: str
    name: str
    draw: Callable[[Doc, Ctx], None]
    bg: str = OPTIONAL
    birth: str = OPTIONAL
    address: str = OPTIONAL
    families: tuple[str, ...] = ALL_TEXT
    person: str = "adult"  # or "child"

    def allows(self, case: str) -> bool:
        if case in ("bg", "bad_bg", "foreign_bg", "near_bg") and self.bg == NEVER:
            return False
        if case in CONFLICT_CASES:
            return self.birth != NEVER and self.address != NEVER
        if case == "name_birth":
            return self.birth != NEVER and self.address != ALWAYS
        if case == "name_address":
            return self.address != NEVER and self.birth != ALWAYS
        if case == "name_birth_address":
            return self.birth != NEVER and self.address != NEVER
        if case in ("namesake", "name_only", "bad_bg"):
            return self.birth != ALWAYS and self.address != ALWAYS
        if case == "moved":
            return self.birth != NEVER and self.address != NEVER
        if case == "partner_surname":
            return self.address != NEVER
        if case == "iban":
            return self.doc_type == "kontoauszug"
        return True


T = Template
TEMPLATES: tuple[Template, ...] = (
    T("widerspruch", "client_formal", tpl_objection_formal),
    T("widerspruch", "client_plain", tpl_objection_plain),
    T("widerspruch", "lawyer", tpl_objection_lawyer),
    T("widerspruch", "association", tpl_objection_association),
    T("klage", "court_service", tpl_court_service),
    T("klage", "court_hearing", tpl_court_hearing),
    T("klage", "court_urgent", tpl_court_urgent),
    T("klage", "court_judgment", tpl_court_judgment),
    T("weiterbewilligungsantrag", "wba_form", tpl_wba_form, families=SANS),
    T("weiterbewilligungsantrag", "wba_letter", tpl_wba_letter),
    T("weiterbewilligungsantrag", "wba_questions", tpl_wba_questions),
    T("veraenderungsmitteilung", "vaem_form", tpl_vaem_form, families=SANS),
    T("veraenderungsmitteilung", "vaem_letter", tpl_vaem_letter),
    T("veraenderungsmitteilung", "vaem_note", tpl_vaem_note),
    T("nebenkostenabrechnung", "utility_table", tpl_utility_table, birth=NEVER),
    T("nebenkostenabrechnung", "utility_coop", tpl_utility_coop, birth=NEVER),
    T("nebenkostenabrechnung", "utility_private", tpl_utility_private, birth=NEVER),
    T("nebenkostenabrechnung", "utility_heating", tpl_utility_heating, birth=NEVER, families=SANS),
    T("kontoauszug", "bank_statement", tpl_bank_statement, birth=NEVER, families=SANS),
    T("kontoauszug", "bank_online", tpl_bank_online, birth=NEVER, families=SANS),
    T("kontoauszug", "bank_mono", tpl_bank_mono, birth=NEVER, families=MONO),
    T("verdienstabrechnung", "payslip_datev", tpl_payslip_datev, families=SANS),
    T("verdienstabrechnung", "payslip_minijob", tpl_payslip_minijob),
    T("verdienstabrechnung", "payslip_corporate", tpl_payslip_corporate, families=SANS),
    T("verdienstabrechnung", "income_cert", tpl_income_cert, families=SANS),
    T("veraenderungsmitteilung", "vaem_boxes", tpl_vaem_boxes, families=SANS),
    T("weiterbewilligungsantrag", "wba_boxes", tpl_wba_boxes, families=SANS),
    T("mietbescheinigung", "rent_form", tpl_rent_form, families=SANS),
    T("mietbescheinigung", "rent_confirmation", tpl_rent_confirmation),
    T("mietbescheinigung", "rent_contract", tpl_rent_contract, families=SERIF),
    T("arbeitsunfaehigkeitsbescheinigung", "au_form", tpl_au_form, birth=ALWAYS, families=SANS),
    T("arbeitsunfaehigkeitsbescheinigung", "au_eau", tpl_au_eau, families=SANS),
    T("arbeitsunfaehigkeitsbescheinigung", "au_letter", tpl_au_letter),
    T("eigenbemuehungen", "applications_table", tpl_applications_table, families=SANS),
    T("eigenbemuehungen", "applications_list", tpl_applications_list),
    T("eigenbemuehungen", "applications_letter", tpl_applications_letter),
    T("sonstiges", "question", tpl_other_question),
    T("sonstiges", "bank_change", tpl_other_bank_change),
    T("sonstiges", "thanks", tpl_other_thanks),
    T("sonstiges", "appointment", tpl_other_appointment),
    T("sonstiges", "family_benefit", tpl_other_family_benefit, birth=NEVER),
    T("sonstiges", "school", tpl_other_school, person="child"),
    # issue 13: third-party senders
    T("sonstiges", "tp_housing_benefit", tpl_tp_housing_benefit),
    T("sonstiges", "tp_pension", tpl_tp_pension),
    T("sonstiges", "tp_maintenance_advance", tpl_tp_maintenance_advance),
    T("sonstiges", "tp_unemployment_benefit", tpl_tp_unemployment_benefit),
    T("sonstiges", "tp_sick_pay", tpl_tp_sick_pay),
    T("sonstiges", "tp_lawyer_file_request", tpl_tp_lawyer_file_request),
    T("klage", "tp_court_summons", tpl_tp_court_summons),
    T("mietbescheinigung", "tp_rent_cooperative", tpl_tp_rent_cooperative),
    T("verdienstabrechnung", "tp_payslip_fine_print", tpl_tp_payslip_fine_print, families=SANS),
)

# fmt: off
DOC_TYPES = (
    'widerspruch', 'klage', 'weiterbewilligungsantrag', 'veraenderungsmitteilung',
    'nebenkostenabrechnung', 'kontoauszug', 'verdienstabrechnung', 'mietbescheinigung',
    'arbeitsunfaehigkeitsbescheinigung', 'eigenbemuehungen', 'sonstiges',
)
# fmt: on
DOC_TYPE_WEIGHTS = (10, 6, 9, 10, 7, 10, 10, 8, 9, 8, 13)

# How the sender can be identified. Six must go to clearing (CLEARING_CASES). The two conflict
# cases print a household number that is not the sender's own, next to the sender's full name,
# birth date and address: "foreign_bg" the number of another existing household, "near_bg" the
# sender's own number with one digit changed (a slip of the sender, not of the scanner).
# The last four are routed without a number: "namesake_resolved" a client with a namesake,
# told apart by the birth date or address printed; "partner_surname" the partner whose last
# name is not the household head's, with the household's address; "moved" name and birth date
# with the client's previous address (a flat not in the master data, or one where another
# household lives now); "iban" a bank statement naming the holder (address now and then) with
# the account the master data holds.
# fmt: off
CASES = (
    'bg', 'name_birth', 'name_address', 'name_birth_address', 'unknown_sender', 'namesake',
    'name_only', 'bad_bg', 'foreign_bg', 'near_bg', 'namesake_resolved', 'partner_surname',
    'moved', 'iban',
)
# fmt: on
# The first ten are drawn with these weights; the last four are variants of a drawn case (see
# VARIANTS), chosen with a random stream of their own so that every other letter of a seed
# stays as it was.
CASE_WEIGHTS = (48, 15, 16, 8.5, 4.5, 3, 3, 2, 2, 2)
DRAWN_CASES = CASES[: len(CASE_WEIGHTS)]
VARIANTS: dict[str, tuple[tuple[str, float], ...]] = {
    "bg": (("iban", 0.35),),  # bank statements only (Template.allows)
    "name_birth": (("moved", 0.2), ("namesake_resolved", 0.1)),
    "name_address": (("partner_surname", 0.15), ("namesake_resolved", 0.1)),
    "name_birth_address": (("moved", 0.25), ("partner_surname", 0.15)),
}
CLEARING_CASES = frozenset(
    {"unknown_sender", "namesake", "name_only", "bad_bg", "foreign_bg", "near_bg"}
)
CONFLICT_CASES = frozenset({"foreign_bg", "near_bg"})


def expected_inbox(doc_type: str, household: Household | None, case: str) -> dict[str, str]:
    if case in CLEARING_CASES or household is None:
        return {"kind": "clearing"}
    if doc_type in ("widerspruch", "klage"):
        return {"kind": "team", "team": "Widerspruchsstelle"}
    if doc_type in ("arbeitsunfaehigkeitsbescheinigung", "eigenbemuehungen"):
        return {"kind": "user", "user": household.case_manager}
    return {"kind": "user", "user": household.caseworker}


# --------------------------------------------------------------------------------------------
# Planning one letter


@dataclass
class Plan:
    index: int
    doc_type: str
    template: Template
    case: str
    household: Household | None
    person: Person | None
    ident: Ident
    letter_date: date
    ctx: Ctx
    dpi: int
    family: str
    size: float
    printed_bg: str | None


def _age(p: Person, on: date) -> int:
    return (
        on.year - p.birth_date.year - ((on.month, on.day) < (p.birth_date.month, p.birth_date.day))
    )


def _eligible(p: Person, template: Template, on: date) -> bool:
    age = _age(p, on)
    return 6 <= age < 19 if template.person == "child" else age >= 18


def _unknown_person(rng: random.Random, master: Master, template: Template, on: date) -> Person:
    while True:
        group = _pick_group(rng)
        sex = rng.choice("fm")
        first = _first_name(rng, group, sex)
        # A known surname now and then: an unknown sender may share it with clients.
        if rng.random() < 0.3:
            h = rng.choice(master.households)
            last = h.members[0].last_name
        else:
            last = _last_name(rng, group)
        if f"{first} {last}" in master.full_names:
            continue
        born = _birth(rng, 2009, 2019) if template.person == "child" else _birth(rng, 1960, 2004)
        return Person(last, first, born, sex)


def _matches(
    master: Master,
    first: str,
    last: str,
    *,
    birth: date | None = None,
    address: tuple[str, str, str] | None = None,
) -> set[str]:
    found = set()
    for h in master.households:
        if address and (h.street, h.number, h.postcode) != address:
            continue
        for m in h.members:
            if (m.first_name, m.last_name) == (first, last) and (
                birth is None or m.birth_date == birth
            ):
                found.add(h.bg_number)
    return found


def plan_letter(master: Master, seed: int, index: int, attempt: int = 0) -> Plan:
    rng = random.Random(f"lettergen:{seed}:{index}:{attempt}")
    doc_type = rng.choices(DOC_TYPES, weights=DOC_TYPE_WEIGHTS)[0]
    case = rng.choices(DRAWN_CASES, weights=CASE_WEIGHTS)[0]
    letter_date = date.fromordinal(rng.randint(FIRST_DAY.toordinal(), LAST_DAY.toordinal()))
    while letter_date.weekday() == 6:
        letter_date -= timedelta(days=1)
    child_template = next(t for t in TEMPLATES if t.person == "child")
    has_child = any(
        _eligible(m, child_template, letter_date) for h in master.households for m in h.members
    )
    templates = [
        t
        for t in TEMPLATES
        if t.doc_type == doc_type and t.allows(case) and (t.person == "adult" or has_child)
    ]
    if not templates:
        case = "bg"
        templates = [
            t for t in TEMPLATES if t.doc_type == doc_type and (t.person == "adult" or has_child)
        ]
    template = rng.choice(templates)
    draw = random.Random(f"lettergen-variant:{seed}:{index}:{attempt}").random()
    for variant, share in VARIANTS.get(case, ()):
        if draw < share:
            if template.allows(variant):
                case = variant
            break
        draw -= share

    household: Household | None = None
    person: Person | None = None
    same_town_namesake = False
    if case == "namesake":
        names = sorted(n for n, k in master.name_count.items() if k > 1)
        candidates = [
            (h, m)
            for h in master.households
            for m in h.members
            if (m.first_name, m.last_name) in set(names) and _eligible(m, template, letter_date)
        ]
        if candidates:
            household, person = rng.choice(candidates)
            towns = {
                h.town
                for h in master.households
                for m in h.members
                if (m.first_name, m.last_name) == (person.first_name, person.last_name)
            }
            same_town_namesake = len(towns) == 1
        else:
            case = "name_only"
    elif case in ("namesake_resolved", "partner_surname"):
        if case == "namesake_resolved":
            names = {n for n, k in master.name_count.items() if k > 1}
            pairs = [
                (h, m)
                for h in master.households
                for m in h.members
                if (m.first_name, m.last_name) in names
            ]
        else:
            pairs = [
                (h, m)
                for h in master.households
                for m in h.members[1:]
                if m.last_name != h.members[0].last_name
                and h.members[0].last_name not in m.last_name
            ]
        pairs = [(h, m) for h, m in pairs if _eligible(m, template, letter_date)]
        if pairs:
            household, person = rng.choice(pairs)
        else:
            case = "name_birth_address" if template.birth != NEVER else "name_address"
    if case == "unknown_sender" or case == "bad_bg" and rng.random() < 0.5:
        person = _unknown_person(rng, master, template, letter_date)
    elif person is None:
        for _ in range(200):
            h = rng.choice(master.households)
            members = [m for m in h.members if _eligible(m, template, letter_date)]
            if not members:
                continue
            m = rng.choice(members)
            unique = master.name_count[(m.first_name, m.last_name)] == 1
            if case == "name_only" and not unique:
                continue
            if case == "iban" and not h.iban:
                continue
            household, person = h, m
            break
        else:
            raise RuntimeError("no household member fits this template")
    assert person is not None

    # What is printed about the sender.
    show_birth = show_address = False
    show_town = True
    if case == "bg":
        show_birth = template.birth == ALWAYS or (template.birth != NEVER and rng.random() < 0.4)
        show_address = template.address == ALWAYS or (
            template.address != NEVER and rng.random() < 0.6
        )
    elif case == "name_birth":
        show_birth = True
    elif case == "name_address":
        show_address = True
    elif case == "name_birth_address" or case in CONFLICT_CASES:
        show_birth = show_address = True
    elif case == "unknown_sender":
        show_address = template.address != NEVER and rng.random() < 0.8
        show_birth = template.birth == ALWAYS or (template.birth != NEVER and rng.random() < 0.5)
    elif case == "namesake":
        show_town = same_town_namesake
    elif case in ("name_only", "bad_bg"):
        show_town = False
    elif case == "namesake_resolved":
        show_birth = template.birth != NEVER and (template.address == NEVER or rng.random() < 0.6)
        show_address = not show_birth or rng.random() < 0.3
    elif case == "partner_surname":
        show_address = True
        show_birth = template.birth != NEVER and rng.random() < 0.4
    elif case == "moved":
        show_birth = show_address = True
    elif case == "iban":
        show_address = template.address == ALWAYS or rng.random() < 0.5
    show_birth = show_birth or template.birth == ALWAYS
    show_address = show_address or template.address == ALWAYS

    if household is not None:
        street_name, number, postcode, town = (
            household.street,
            household.number,
            household.postcode,
            household.town,
        )
        office = (
            household.office if case not in CLEARING_CASES else rng.choice(master.region.offices)
        )
        if case == "moved":
            # The previous address: now and then another household lives there today.
            others = [h for h in master.households if h is not household]
            if rng.random() < 0.3 and others:
                old = rng.choice(others)
                street_name, number, postcode, town = old.street, old.number, old.postcode, old.town
            else:
                postcode, town = rng.choice(rng.choice(master.region.offices).places)
                while True:
                    street_name = rng.choice(STREETS)
                    number = str(rng.randint(1, 160))
                    if (street_name, number, postcode) not in master.addresses:
                        break
    else:
        office = rng.choice(master.region.offices)
        postcode, town = rng.choice(office.places)
        while True:
            street_name = rng.choice(STREETS)
            number = str(rng.randint(1, 160))
            if (street_name, number, postcode) not in master.addresses:
                break

    # A routed letter must identify exactly one household; otherwise fall back to the number.
    if household is not None and case in (
        "name_birth",
        "name_address",
        "name_birth_address",
        "namesake_resolved",
        "partner_surname",
        "moved",
        *CONFLICT_CASES,
    ):
        hits = _matches(
            master,
            person.first_name,
            person.last_name,
            birth=person.birth_date if show_birth else None,
            address=(street_name, number, postcode) if show_address and case != "moved" else None,
        )
        if hits != {household.bg_number}:
            # A conflict needs a person that identifies one household by itself.
            case = "bg"

    first, last = person.first_name, person.last_name
    if case == "partner_surname" and household is not None:
        # Partners often write under the couple's common name: a double name, or the head's
        # name with their own as the birth name.
        head = household.members[0].last_name
        last = rng.choices(
            [last, f"{last}-{head}", f"{head}-{last}", f"{head} geb. {last}"],
            weights=[55, 15, 15, 15],
        )[0]
    if rng.random() < 0.12 and transliterate(first + last) != first + last:
        first, last = transliterate(first), transliterate(last)
    title = rng.choice(TITLES) if rng.random() < 0.04 and template.person == "adult" else ""

    printed_bg: str | None = None
    bg_text = bg_format = None
    if case == "bg":
        assert household is not None
        printed_bg = household.bg_number
    elif case == "foreign_bg":
        assert household is not None
        others = [h.bg_number for h in master.households if h is not household]
        printed_bg = rng.choice(others)
    elif case == "near_bg":
        assert household is not None
        own = household.bg_number
        position = rng.choice([i for i, ch in enumerate(own) if ch.isdigit()])
        digit = rng.choice([d for d in "0123456789" if d != own[position]])
        printed_bg = own[:position] + digit + own[position + 1 :]
    elif case == "bad_bg":
        while True:
            fake = f"{rng.choice(master.region.offices).code}BG{rng.randrange(10**7):07d}"
            if fake not in master.bg_numbers:
                printed_bg = fake
                break
    if printed_bg:
        bg_format, bg_text = bg_variant(rng, printed_bg)
        if bg_format == "comb" and template.name not in ("wba_form", "vaem_form", "rent_form"):
            bg_format, bg_text = "compact", printed_bg
        bg_text = bg_text.replace(" ", "\u00a0")  # a number never breaks across lines

    ident = Ident(
        first=first,
        last=last,
        sex=person.sex,
        title=title,
        birth=person.birth_date,
        street=f"{street_variant(rng, street_name)} {number}",
        postcode=postcode,
        town=town,
        show_birth=show_birth,
        show_address=show_address,
        show_town=show_town,
        bg_text=bg_text,
        bg_format=bg_format,
        bg_label=rng.choice(BG_LABELS),
        birth_style=rng.choices(
            ["dotted", "short", "twodigit", "long", "iso"], weights=[55, 15, 12, 15, 3]
        )[0],
        iban=household.iban if household is not None and case not in CLEARING_CASES else None,
    )
    caseworker = None
    if household is not None and case not in CLEARING_CASES:
        caseworker = master.staff_by_login(household.caseworker)
    ctx = Ctx(
        rng=rng,
        master=master,
        ident=ident,
        household=household,
        date=letter_date,
        office=office,
        caseworker=caseworker,
        date_style=rng.choices(["dotted", "long", "short"], weights=[60, 30, 10])[0],
        extra={"case": case, "person": person},
    )
    families = available_families(template.families)
    return Plan(
        index=index,
        doc_type=doc_type,
        template=template,
        case=case,
        household=household if case != "unknown_sender" else None,
        person=person if household is not None else None,
        ident=ident,
        letter_date=letter_date,
        ctx=ctx,
        dpi=rng.choice([200, 300]),
        family=rng.choice(families),
        size=rng.choice([10.0, 10.5, 11.0, 11.0, 11.5, 12.0]),
        printed_bg=printed_bg,
    )


# --------------------------------------------------------------------------------------------
# Scanning: stamp, punch holes, skew, noise, compression


@dataclass
class ScanProfile:
    level: int
    jpeg: int
    bilevel: bool
    color: bool
    faint: bool
    noise: float
    speckles: int
    punch_holes: bool
    fold: bool
    shadow: bool
    upside_down: bool
    max_skew: float
    threshold: int
    # How the letter reached the job centre (drawn from their own random stream, see scan_kind,
    # so that adding them changed nothing else the generator draws):
    kind: str = "office"  # "office" (scanner), "photo" (phone) or "fax"
    fax_fine: bool = False  # 204 x 196 dpi instead of 204 x 98
    paper: tuple[int, int, int] | None = None  # tinted paper (office scans in colour)
    note: bool = False  # a handwritten-style note written over the text
    stamp_over_text: bool = False  # the received stamp lands on the print
    turn: int = 0  # a landscape page fed upright: turned by 90 or 270 degrees
    photo_size: tuple[int, int] = (2250, 3000)  # the phone camera's frame, pixels


def scan_profile(rng: random.Random) -> ScanProfile:
    level = rng.choices([0, 1, 2, 3], weights=[42, 30, 17, 11])[0]
    jpeg = {
        0: rng.randint(88, 95),
        1: rng.randint(72, 85),
        2: rng.randint(52, 65),
        3: rng.randint(35, 45),
    }[level]
    bilevel = rng.random() < (0.06, 0.12, 0.3, 0.45)[level]
    faint = level >= 2 and rng.random() < 0.3
    return ScanProfile(
        level=level,
        jpeg=jpeg,
        bilevel=bilevel,
        color=not bilevel and rng.random() < 0.7,
        faint=faint,
        noise=(0.0, 1.5, 3.5, 6.0)[level] * rng.uniform(0.6, 1.2),
        speckles=(0, rng.randint(0, 30), rng.randint(20, 150), rng.randint(80, 400))[level],
        punch_holes=rng.random() < 0.15,
        fold=rng.random() < (0.05, 0.15, 0.3, 0.4)[level],
        shadow=rng.random() < (0.0, 0.1, 0.25, 0.35)[level],
        upside_down=rng.random() < (0.03, 0.08, 0.12, 0.15)[level],
        max_skew=(0.5, 1.5, 2.5, 3.0)[level],
        threshold=rng.randint(150, 185),
    )


# Shares of the ways letters arrive, from the hidden set's mix: office scans stay the majority.
SCAN_KINDS = (("office", 78), ("photo", 11), ("fax", 11))
PAPER_TINTS = ((252, 244, 196), (255, 226, 232), (222, 240, 214), (214, 230, 250), (250, 232, 205))


def scan_kind(profile: ScanProfile, krng: random.Random, *, landscape: bool) -> ScanProfile:
    """The profile with the way of arrival, paper, notes and turn drawn from `krng`."""
    kind = krng.choices([k for k, _ in SCAN_KINDS], weights=[w for _, w in SCAN_KINDS])[0]
    changes: dict[str, object] = {"kind": kind}
    if kind == "office" and krng.random() < 0.09:
        changes.update(paper=krng.choice(PAPER_TINTS), color=True, bilevel=False)
    if kind == "photo":
        changes.update(color=True, bilevel=False, shadow=False, punch_holes=False)
        changes["photo_size"] = krng.choice(PHOTO_SIZES)
        changes["level"] = max(profile.level, 1)
    if kind == "fax":
        changes.update(fax_fine=krng.random() < 0.4, color=False, bilevel=True)
        changes["level"] = max(profile.level, 1)
    changes["note"] = krng.random() < 0.12
    changes["stamp_over_text"] = krng.random() < 0.3
    if landscape:
        changes["turn"] = krng.choice([90, 270])
    return ScanProfile(**{**profile.__dict__, **changes})


STAMP_COLORS = ((196, 32, 44), (34, 62, 170), (120, 40, 140))
NOTE_INKS = ((28, 40, 120), (20, 20, 24), (30, 60, 150))
NOTES = (
    ["z. d. A."], ["erl.", "{d}"], ["Kopie an SB"], ["WV 14 Tage"], ["bitte prüfen!"],
    ["Rückruf erbeten", "{d}"], ["vorgelegt", "{d}"], ["s. Vermerk"], ["eilt!"],
)  # fmt: skip


def _stamp_image(dpi: int, lines: list[str], rng: random.Random) -> Image.Image:
    """The received stamp as an ink mask (255 = ink), already turned a little."""
    families = available_families(("DejaVu Sans", "Nimbus Sans", "URW Gothic"))
    family = FAMILIES[rng.choice(families)]
    sizes = [11.0, 13.0, 9.0][: len(lines)]
    fonts = [_font(_font_path(family.bold), round(s * dpi / 72)) for s in sizes]
    pad = round(2.5 * dpi / 25.4)
    widths = [f.getlength(t) for f, t in zip(fonts, lines, strict=True)]
    heights = [round(f.size * 1.3) for f in fonts]
    w = int(max(widths)) + 2 * pad
    h = sum(heights) + 2 * pad
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    border = max(2, round(0.5 * dpi / 25.4))
    draw.rounded_rectangle([0, 0, w - 1, h - 1], radius=pad, outline=230, width=border)
    y = pad
    for f, t, height, width in zip(fonts, lines, heights, widths, strict=True):
        draw.text(((w - width) / 2, y), t, font=f, fill=rng.randint(190, 240))
        y += height
    return mask.rotate(rng.uniform(-6, 6), resample=Image.Resampling.BILINEAR, expand=True)


def _stamp_place(
    page: Page, size: tuple[int, int], dpi: int, rng: random.Random
) -> tuple[int, int]:
    """Where the stamp covers the least text, and never the household number."""
    w, h = size
    mm = dpi / 25.4
    candidates = [
        (round(x * mm), round(y * mm))
        for x in (20, 60, 95, 110, 125, 135, 145)
        for y in (6, 14, 20, 32, 45, 60, 85, 110, 140, 170, 200, 230, 250, 265)
    ]
    rng.shuffle(candidates)
    best, best_cost = candidates[0], float("inf")
    page_w, page_h = page.image.size
    for x, y in candidates:
        if x + w > page_w - 5 or y + h > page_h - 5:
            continue
        # Stamps go on top when there is room; some overlap with text is normal.
        cost = w * h * 0.2 * (y / page_h + (page_w - x) / page_w)
        for bx0, by0, bx1, by1, is_bg in page.boxes:
            ox = max(0, min(x + w, bx1) - max(x, bx0))
            oy = max(0, min(y + h, by1) - max(y, by0))
            cost += ox * oy * (1000 if is_bg else 3)
        if cost < best_cost:
            best, best_cost = (x, y), cost
    return best


def _over_text_place(page: Page, size: tuple[int, int], rng: random.Random) -> tuple[int, int]:
    """A place on the printed lines (never on the household number) for a stamp or a note."""
    w, h = size
    page_w, page_h = page.image.size
    lines = [b for b in page.boxes if not b[4] and b[2] - b[0] > w // 2]
    numbers = [b for b in page.boxes if b[4]]
    rng.shuffle(lines)
    for x0, y0, x1, _y1, _ in lines:
        x = min(max(0, x0 + rng.randint(0, max(0, x1 - x0 - w))), page_w - w - 1)
        y = min(max(0, y0 - h // 3), page_h - h - 1)
        if not any(
            x < bx1 and bx0 < x + w and y < by1 and by0 < y + h for bx0, by0, bx1, by1, _ in numbers
        ):
            return x, y
    return page_w - w - 40, 40


def _note_image(dpi: int, lines: list[str], rng: random.Random) -> Image.Image:
    """A handwritten-style note as an ink mask (255 = ink), slanted and turned a little."""
    names = ("Z003-MediumItalic.otf", "DejaVuSerif-Italic.ttf", "NimbusSans-Italic.otf")
    file = next((n for n in names if _font_exists(n)), "DejaVuSans.ttf")
    font = _font(file, round(rng.uniform(13, 18) * dpi / 72))
    width = int(max(font.getlength(t) for t in lines)) + 20
    height = round(font.size * 1.25) * len(lines) + 20
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for k, text in enumerate(lines):
        draw.text((10, 10 + k * round(font.size * 1.25)), text, font=font, fill=230)
    y = height - 8
    draw.line([(10, y), (width - 10, y - rng.randint(0, 12))], fill=220, width=max(2, dpi // 150))
    return mask.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BILINEAR, expand=True)


def _font_exists(file: str) -> bool:
    try:
        _font_path(file)
    except FileNotFoundError:
        return False
    return True


def _ink_over(
    img: Image.Image, mask: Image.Image, xy: tuple[int, int], color: tuple[int, int, int]
) -> Image.Image:
    """Coloured ink printed over the page (multiplied, as ink on paper)."""
    x, y = xy
    if img.mode == "RGB":
        layer = Image.new("RGB", mask.size, color)
        white = Image.new("RGB", mask.size, (255, 255, 255))
        ink = Image.composite(layer, white, mask)
        region = img.crop((x, y, x + mask.size[0], y + mask.size[1]))
        img.paste(ImageChops.multiply(region, ink), (x, y))
    else:
        gray = round(0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2])
        layer = Image.new("L", mask.size, gray)
        white = Image.new("L", mask.size, 255)
        ink = Image.composite(layer, white, mask)
        region = img.crop((x, y, x + mask.size[0], y + mask.size[1]))
        img.paste(ImageChops.darker(region, ink), (x, y))
    return img


def _fax_header(img: Image.Image, dpi: int, rng: random.Random, page: int, when: date) -> None:
    """The sending machine's line across the top of a fax page."""
    draw = ImageDraw.Draw(img)
    font = _font(_font_path("DejaVuSansMono.ttf"), round(7 * dpi / 72))
    number = f"+49 {rng.randint(30, 9999)} {rng.randint(100000, 9999999)}"
    text = (
        f"{fmt_date(when, 'dotted')} {rng.randint(7, 18):02d}:{rng.randint(0, 59):02d}   "
        f"FAX {number}   S. {page:02d}"
    )
    # printed by the machine over the top margin (the page's own print starts lower)
    draw.text((round(8 * dpi / 25.4), round(0.8 * dpi / 25.4)), text, font=font, fill=0)


def _as_fax(img: Image.Image, dpi: int, fine: bool, threshold: int) -> Image.Image:
    """Bilevel at 204 x 98 dpi (standard) or 204 x 196 dpi (fine), as the fax stores it."""
    lines = 196 if fine else 98
    size = (round(img.size[0] * 204 / dpi), round(img.size[1] * lines / dpi))
    gray = img.convert("L").resize(size, Image.Resampling.BOX)
    return gray.point([255 if v > threshold else 0 for v in range(256)], "1")


PHOTO_SIZES = ((2250, 3000), (2448, 3264), (1944, 2592))  # phone cameras, as sent on


def _as_photo(
    img: Image.Image, size: tuple[int, int], rng: random.Random, np_rng: np.random.Generator
) -> Image.Image:
    """The page photographed with a phone: on a table, seen at an angle, lit unevenly."""
    import cv2  # the product's dependency; only the photos need it

    frame_w, frame_h = size
    page = np.asarray(img.convert("RGB"))
    ph, pw = page.shape[:2]
    f32 = np.float32

    small_h, small_w = frame_h // 8, frame_w // 8  # smooth fields are drawn at 1/8 scale
    # background: a table top, wood-brown or gray, with grain
    base = np.array(rng.choice([(96, 70, 48), (70, 72, 78), (130, 104, 80), (48, 48, 52)]), f32)
    grain = np_rng.normal(0, 14, (small_h, small_w, 1)).astype(f32) + base[None, None, :]
    background = cv2.resize(np.clip(grain, 0, 255).astype(np.uint8), (frame_w, frame_h))
    # where the sheet lands: 74-88 % of the frame's width, corners moved for the perspective
    share = rng.uniform(0.74, 0.88)
    sw = frame_w * share
    sh = sw * ph / pw
    if sh > 0.94 * frame_h:
        sh = 0.94 * frame_h
        sw = sh * pw / ph
    cx = frame_w / 2 + rng.uniform(-0.04, 0.04) * frame_w
    cy = frame_h / 2 + rng.uniform(-0.03, 0.03) * frame_h
    jitter = 0.05 * sw
    corners = np.array(
        [
            [cx - sw / 2, cy - sh / 2],
            [cx + sw / 2, cy - sh / 2],
            [cx + sw / 2, cy + sh / 2],
            [cx - sw / 2, cy + sh / 2],
        ]
    ) + np.array([[rng.uniform(-jitter, jitter) for _ in range(2)] for _ in range(4)])
    # one edge further from the camera: narrower
    narrow = rng.uniform(0.0, 0.07) * sw
    if rng.random() < 0.5:
        corners[0, 0] += narrow
        corners[1, 0] -= narrow
    else:
        corners[3, 0] += narrow
        corners[2, 0] -= narrow
    source = np.array([[0, 0], [pw - 1, 0], [pw - 1, ph - 1], [0, ph - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    sheet = cv2.warpPerspective(page, matrix, (frame_w, frame_h), flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(
        np.full((ph, pw), 255, np.uint8), matrix, (frame_w, frame_h), flags=cv2.INTER_LINEAR
    )
    photo = cv2.copyTo(sheet, (inside > 127).astype(np.uint8), background)
    # uneven light: a gradient across the frame and a soft shadow of the phone
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(f32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xx / small_w - 0.5) * math.cos(angle) + (yy / small_h - 0.5) * math.sin(angle)
    light = rng.uniform(0.82, 0.95) + rng.uniform(0.15, 0.35) * ramp
    sx, sy = rng.uniform(0.2, 0.8) * small_w, rng.uniform(0.2, 0.8) * small_h
    radius = rng.uniform(0.25, 0.45) * small_w
    light -= rng.uniform(0.0, 0.18) * np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / radius**2)
    warm = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.86, 0.96)], f32)
    light3 = np.clip(light[:, :, None] * warm[None, None, :] * 200, 0, 255).astype(np.uint8)
    photo = cv2.multiply(photo, cv2.resize(light3, (frame_w, frame_h)), scale=1 / 200)
    photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.6, 1.1))
    noise = np.clip(128 + np_rng.normal(0, 3.0, (frame_h // 2, frame_w // 2, 3)), 0, 255)
    noise = cv2.resize(noise.astype(np.uint8), (frame_w, frame_h))  # sensor noise, coarse
    return Image.fromarray(cv2.addWeighted(photo, 1.0, noise, 1.0, -128.0), "RGB")


def _stamp_text(rng: random.Random, region: Region, received: date) -> list[str]:
    day = {
        0: f"{received.day:02d}. {MONTHS_SHORT[received.month - 1].upper()} {received.year}",
        1: f"{received.day}. {MONTHS_SHORT[received.month - 1]} {received.year}",
        2: fmt_date(received, "dotted"),
    }[rng.randrange(3)]
    head = rng.choice(["EINGEGANGEN", "Eingegangen", "EINGANG", "Eingang am"])
    return [head, day, rng.choice([region.short, region.short, "Poststelle"])]


def _noise_tile(np_rng: np.random.Generator, sigma: float) -> Image.Image:
    values = 128 + np_rng.normal(0, sigma, (512, 512))
    return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")


def scan_page(
    page: Page,
    dpi: int,
    profile: ScanProfile,
    rng: random.Random,
    np_rng: np.random.Generator,
    *,
    stamp: list[str] | None,
    krng: random.Random | None = None,
    number: int = 1,
    when: date | None = None,
) -> tuple[Image.Image, dict]:
    """The page as the scanner, phone or fax machine delivers it, and its degradation info.

    Everything the office scan always did draws from `rng`; the ways of arrival (photo, fax,
    paper, notes, turns) draw from `krng`, so a letter scanned in the office comes out as
    before they existed.
    """
    krng = krng or random.Random(0)
    img = page.image
    draw = ImageDraw.Draw(img)
    mm = dpi / 25.4
    info: dict[str, object] = {"level": profile.level, "scan": profile.kind}
    w, h = img.size
    if profile.punch_holes:
        r = round(2.75 * mm)
        cx = round(rng.uniform(9, 13) * mm)
        tone = rng.choice([35, 70, 215])
        for cy in (h // 2 - round(40 * mm), h // 2 + round(40 * mm)):
            draw.ellipse(
                [cx - r, cy - r, cx + r, cy + r], fill=tone, outline=90 if tone > 200 else None
            )
        info["punch_holes"] = True
    if profile.fold:
        for k in (1, 2):
            y = round(h * k / 3 + rng.uniform(-4, 4) * mm)
            draw.line(
                [(0, y), (w, y + round(rng.uniform(-2, 2) * mm))],
                fill=rng.randint(205, 228),
                width=max(1, round(0.25 * mm)),
            )
        info["fold"] = True
    if profile.shadow:
        band = round(rng.uniform(2, 7) * mm)
        side = rng.choice(["left", "right", "bottom"])
        box = {
            "left": [0, 0, band, h],
            "right": [w - band, 0, w, h],
            "bottom": [0, h - band, w, h],
        }[side]
        draw.rectangle(box, fill=rng.randint(40, 110))
        info["shadow"] = side
    if profile.paper is not None:
        img = ImageChops.multiply(img.convert("RGB"), Image.new("RGB", img.size, profile.paper))
        info["paper"] = "coloured"
    if stamp is not None:
        mask = _stamp_image(dpi, stamp, rng)
        x, y = _stamp_place(page, mask.size, dpi, rng)
        color = rng.choice(STAMP_COLORS)
        if profile.stamp_over_text:
            x, y = _over_text_place(page, mask.size, krng)
            info["stamp_over_text"] = True
        if profile.color:
            img = img.convert("RGB")
        img = _ink_over(img, mask, (x, y), color)
        info["stamp"] = True
    if profile.note and number == 1:
        lines = [t.format(d=fmt_date(when or date.today(), "dotted")) for t in krng.choice(NOTES)]
        mask = _note_image(dpi, lines, krng)
        img = _ink_over(img, mask, _over_text_place(page, mask.size, krng), krng.choice(NOTE_INKS))
        info["note"] = True
    skew = round(rng.uniform(-profile.max_skew, profile.max_skew), 2)
    info["skew"] = skew
    fill = (255, 255, 255) if img.mode == "RGB" else 255
    dx, dy = round(rng.uniform(-3, 3) * mm), round(rng.uniform(-3, 3) * mm)
    if abs(skew) >= 0.05 or dx or dy:
        img = img.rotate(
            skew, resample=Image.Resampling.BILINEAR, fillcolor=fill, translate=(dx, dy)
        )
    # Scanner white point and black level.
    white_level = rng.randint(236, 252) if profile.level else rng.randint(246, 255)
    black_level = rng.randint(0, 25)
    lut = [round(black_level + (white_level - black_level) * v / 255) for v in range(256)]
    img = img.point(lut * (3 if img.mode == "RGB" else 1))
    if profile.noise > 0.3 and not profile.bilevel:
        tile = _noise_tile(np_rng, profile.noise)
        noise = Image.new("L", img.size)
        for ty in range(0, img.size[1], 512):
            for tx in range(0, img.size[0], 512):
                noise.paste(tile, (tx, ty))
        if img.mode == "RGB":
            noise = Image.merge("RGB", (noise, noise, noise))
        img = ImageChops.add(img, noise, 1.0, -128)
        info["noise"] = round(profile.noise, 1)
    if profile.speckles:
        draw = ImageDraw.Draw(img)
        dark = (30, 30, 30) if img.mode == "RGB" else 30
        for _ in range(profile.speckles):
            x, y = rng.randrange(w), rng.randrange(h)
            r = rng.choice([1, 1, 1, 2, 2, 3]) * dpi // 300 + 1
            draw.ellipse([x - r, y - r, x + r, y + r], fill=dark)
        info["speckles"] = profile.speckles
    if profile.faint:
        info["faint"] = True
    if profile.turn:
        img = img.rotate(profile.turn, expand=True)  # counter-clockwise, as fed
        info["turned"] = profile.turn
    if profile.kind == "photo":
        img = _as_photo(img, profile.photo_size, krng, np_rng)
        info["photo"] = True
    elif profile.kind == "fax":
        if profile.upside_down:  # fed upside down: the machine's header line stays on top
            img = img.transpose(Image.Transpose.ROTATE_180)
            info["upside_down"] = True
        _fax_header(img, dpi, krng, number, when or date.today())
        img = _as_fax(img, dpi, profile.fax_fine, profile.threshold)
        info["bilevel"] = True
        info["fax_dpi"] = [204, 196 if profile.fax_fine else 98]
    elif profile.bilevel:
        threshold = profile.threshold + (35 if profile.faint else 0)
        img = img.convert("L").point([255 if v > threshold else 0 for v in range(256)], "1")
        info["bilevel"] = True
    if profile.upside_down and not info.get("upside_down"):
        img = img.transpose(Image.Transpose.ROTATE_180)
        info["upside_down"] = True
    info["jpeg"] = profile.jpeg
    if img.mode == "RGB":
        info["color"] = True
    return img, info


def write_pdf(
    path: Path, images: list[Image.Image], dpi: int | tuple[int, int], jpeg: int, when: date
) -> None:
    """Image-only PDF; `dpi` is (across, down) for a fax's pixels that are not square."""
    stamp = time.struct_time((when.year, when.month, when.day, 8, 0, 0, 0, 1, 0))
    options: dict[str, object] = {}
    if all(im.mode != "1" for im in images):
        options["quality"] = jpeg  # CCITT pages take no quality
    if isinstance(dpi, tuple):
        options["dpi"] = dpi
    else:
        options["resolution"] = dpi
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        "PDF",
        save_all=True,
        append_images=images[1:],
        creationDate=stamp,
        modDate=stamp,
        producer="lettergen",
        title=path.stem,
        **options,
    )
    path.write_bytes(buffer.getvalue())


# --------------------------------------------------------------------------------------------
# Generating a folder


def render(plan: Plan, krng: random.Random | None = None) -> tuple[list[Page], ScanProfile]:
    rng = plan.ctx.rng
    krng = krng or random.Random(plan.index)
    profile = scan_profile(rng)
    # Job-search records with many columns are often printed across the page.
    landscape = plan.template.name == "applications_table" and krng.random() < 0.5
    profile = scan_kind(profile, krng, landscape=landscape)
    ink = rng.randint(105, 140) if profile.faint else rng.randint(0, 35)
    doc = Doc(
        plan.dpi,
        plan.family,
        plan.size,
        ink,
        rng,
        left=rng.uniform(20, 25),
        right=rng.uniform(15, 20),
        landscape=landscape,
    )
    plan.template.draw(doc, plan.ctx)
    return doc.pages, profile


def _truth(
    plan: Plan,
    file: str,
    pages: list[Page],
    degradation: list[dict],
    received: bool,
    *,
    scan_kind: str = "office",
    dpi: int | None = None,
) -> dict[str, object]:
    household = plan.household
    person = plan.person
    return {
        "file": file,
        "pages": len(pages),
        "doc_type": plan.doc_type,
        "template": [t for t in TEMPLATES if t.doc_type == plan.doc_type].index(plan.template),
        "bg_number": household.bg_number if household else None,
        "bg_on_paper": plan.case == "bg",
        "person": person.full if person else None,
        "expected_inbox": expected_inbox(plan.doc_type, household, plan.case),
        "dpi": dpi or plan.dpi,
        "degradation": degradation,
        "scan_kind": scan_kind,
        "received_stamp": received,
        "page_text": ["\n".join(p.lines) for p in pages],
        "in_batch": [],
        "case": plan.case,
        "template_name": plan.template.name,
        "font": plan.family,
        "bg_format": plan.ident.bg_format,
        "printed_bg": plan.printed_bg,
    }


def make_letter(master: Master, seed: int, index: int, docs_dir: Path) -> dict[str, object]:
    for attempt in range(10):
        plan = plan_letter(master, seed, index, attempt)
        krng = random.Random(f"{seed}/{index}/{attempt}/scan")
        try:
            pages, profile = render(plan, krng)
        except PageOverflow:
            continue
        break
    else:
        raise RuntimeError(f"letter {index} does not fit on three pages")
    rng = plan.ctx.rng
    np_rng = np.random.default_rng([seed, index, 7])
    received = rng.random() < 0.45
    stamp = None
    if received:
        stamp = _stamp_text(
            rng, master.region, plan.letter_date + timedelta(days=rng.randint(1, 5))
        )
    images, degradation = [], []
    for k, page in enumerate(pages):
        page_profile = profile
        if k and profile.upside_down != (rng.random() < 0.1):
            page_profile = ScanProfile(**{**profile.__dict__, "upside_down": False})
        img, info = scan_page(
            page,
            plan.dpi,
            page_profile,
            rng,
            np_rng,
            stamp=stamp if k == 0 else None,
            krng=krng,
            number=k + 1,
            when=plan.letter_date + timedelta(days=1),
        )
        images.append(img)
        degradation.append(info)
    name = f"{index + 1:04d}.pdf"
    dpi: int | tuple[int, int] = plan.dpi
    if profile.kind == "fax":
        dpi = (204, 196 if profile.fax_fine else 98)
    elif profile.kind == "photo":  # the photo spans the page's width, A4
        dpi = round(images[0].size[0] / (PAGE_W / 25.4))
    write_pdf(docs_dir / name, images, dpi, profile.jpeg, plan.letter_date)
    truth_dpi = dpi[0] if isinstance(dpi, tuple) else dpi
    return _truth(
        plan, f"docs/{name}", pages, degradation, received, scan_kind=profile.kind, dpi=truth_dpi
    )


def generate(out_dir: Path, count: int, seed: int, *, households: int = 300) -> None:
    """Write `count` scanned letters with master data and truth into `out_dir`."""
    out_dir = Path(out_dir)
    docs_dir = out_dir / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    if any(docs_dir.glob("*.pdf")):
        raise FileExistsError(f"{docs_dir} already holds PDFs; use an empty folder")
    master = build_master(seed, households)
    write_master(master, out_dir)
    with (out_dir / "truth.jsonl").open("w", encoding="utf-8") as fh:
        for index in range(count):
            truth = make_letter(master, seed, index, docs_dir)
            fh.write(json.dumps(truth, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.lettergen",
        description="Synthetic scanned incoming mail in the format of ../shared/samples.",
    )
    parser.add_argument("out", type=Path, help="output folder (its docs/ must be empty)")
    parser.add_argument("--count", type=int, default=100, help="letters (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--households", type=int, default=300, help="households in the master data (default 300)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    generate(args.out, args.count, args.seed, households=args.households)
    seconds = time.perf_counter() - started
    truths = [json.loads(line) for line in (args.out / "truth.jsonl").open(encoding="utf-8")]
    cases = Counter(str(t["case"]) for t in truths)
    types = Counter(str(t["doc_type"]) for t in truths)
    print(
        f"{len(truths)} letters, {sum(int(t['pages']) for t in truths)} pages in {seconds:.1f} s "
        f"({seconds / max(1, len(truths)):.2f} s per letter) -> {args.out}"
    )
    print("cases: " + ", ".join(f"{k} {v}" for k, v in sorted(cases.items())))
    print("types: " + ", ".join(f"{k} {v}" for k, v in sorted(types.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
