"""Finding a household at the clearing desk: the person named best comes first, and a name
spelt a letter or two off (a typo, Schmitt for Schmidt, ue for ü) still finds the household."""

from __future__ import annotations

import csv
import random

import pytest
from fastapi.testclient import TestClient

from records.runtime import Runtime
from tests.support import SAMPLES, client_for, load_people

ROWS = list(csv.DictReader((SAMPLES / "households.csv").open(encoding="utf-8")))


@pytest.fixture
def desk(sqlite_runtime: Runtime) -> TestClient:
    load_people(sqlite_runtime)
    return client_for(sqlite_runtime, "post.1")


def _found(desk: TestClient, q: str) -> list[dict]:
    answer = desk.get("/api/households", params={"q": q})
    assert answer.status_code == 200, answer.text
    return answer.json()["households"]


def _last_names(household: dict) -> set[str]:
    return {member["name"].rsplit(" ", 1)[-1] for member in household["members"]}


def test_a_whole_name_comes_before_names_that_contain_it(desk: TestClient) -> None:
    names = sorted({row["last_name"] for row in ROWS})
    contained = [a for a in names if any(a != b and a.lower() in b.lower() for b in names)]
    assert contained, "the master data should hold a name inside another (Huber/Schubert)"
    for name in contained + random.Random(7).sample(names, 12):
        found = _found(desk, name)
        assert found, name
        assert name in _last_names(found[0]), (name, [_last_names(h) for h in found[:3]])
        # Everyone of that name is listed before the first household without one.
        with_name = [name in _last_names(h) for h in found]
        assert with_name == sorted(with_name, reverse=True), name


def test_a_name_a_letter_off_still_finds_the_household(desk: TestClient) -> None:
    rng = random.Random(11)
    people = [row for row in ROWS if len(row["last_name"]) >= 5 and row["last_name"].isascii()]
    for row in rng.sample(people, 15):
        name = row["last_name"]
        at = rng.randrange(1, len(name) - 1)
        typo = name[:at] + ("x" if name[at] != "x" else "y") + name[at + 1 :]
        found = _found(desk, f"{row['first_name']} {typo}")
        assert row["bg_number"] in [h["bg_number"] for h in found], (typo, row["bg_number"])
        [household] = [h for h in found if h["bg_number"] == row["bg_number"]]
        assert any(m["matches"] for m in household["members"])


def test_umlauts_spelt_out_and_full_names_find_the_person_first(desk: TestClient) -> None:
    with_umlaut = [row for row in ROWS if any(c in row["last_name"] for c in "äöü")]
    assert with_umlaut
    for row in with_umlaut[:5]:
        spelt = row["last_name"].replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
        found = _found(desk, spelt)
        assert row["last_name"] in _last_names(found[0]), spelt
    for row in random.Random(3).sample(ROWS, 10):
        found = _found(desk, f"{row['first_name']} {row['last_name']}")
        first = found[0]
        assert any(
            m["name"] == f"{row['first_name']} {row['last_name']}" and m["matches"]
            for m in first["members"]
        ), (row, first)


def test_a_word_naming_nobody_finds_nothing(desk: TestClient) -> None:
    assert _found(desk, "Qwertzuiop") == []
    # A household number still comes first and alone when it is whole.
    row = ROWS[0]
    assert [h["bg_number"] for h in _found(desk, row["bg_number"])] == [row["bg_number"]]
