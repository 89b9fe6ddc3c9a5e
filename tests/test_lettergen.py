"""The letter generator writes folders in the samples' format, deterministically, with truth
that is consistent with the master data and scans that tesseract can read; and the routing
benchmark scores the product's `documents --json` output as intended."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import random
import re
import subprocess
from collections import Counter
from datetime import date
from pathlib import Path

import pikepdf
import pytest

from tests import lettergen
from tests.support import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
COUNT = 12
SEED = 5
HOUSEHOLDS = 60

SAMPLE_TRUTH_FIELDS = {
    "file", "pages", "doc_type", "template", "bg_number", "bg_on_paper", "person",
    "expected_inbox", "dpi", "degradation", "received_stamp", "page_text",
}  # fmt: skip
ROLES = {"leistung", "fallmanagement", "widerspruch", "scanstelle"}
CASE_MANAGER_TYPES = {"arbeitsunfaehigkeitsbescheinigung", "eigenbemuehungen"}
TEAM_TYPES = {"widerspruch", "klage"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("letters")
    lettergen.generate(out, COUNT, SEED, households=HOUSEHOLDS)
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_truth(folder: Path) -> list[dict]:
    with (folder / "truth.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return fh.readline().strip().split(",")


def test_folder_has_the_samples_format(folder: Path) -> None:
    assert header(folder / "staff.csv") == header(SAMPLES / "staff.csv")
    # The samples' columns, then the optional ones the import accepts (issue 13).
    assert header(folder / "households.csv") == [
        *header(SAMPLES / "households.csv"),
        "iban",
        "email",
    ]
    truth = read_truth(folder)
    assert [t["file"] for t in truth] == [f"docs/{k:04d}.pdf" for k in range(1, COUNT + 1)]
    assert sorted(p.name for p in (folder / "docs").iterdir()) == [
        Path(t["file"]).name for t in truth
    ]
    sample_fields = set(json.loads((SAMPLES / "truth.jsonl").open().readline())) - {"in_batch"}
    assert sample_fields <= SAMPLE_TRUTH_FIELDS | {"in_batch"}
    for t in truth:
        assert set(t) >= SAMPLE_TRUTH_FIELDS
        assert t["in_batch"] == []
        assert t["doc_type"] in lettergen.DOC_TYPES
        assert t["scan_kind"] in ("office", "photo", "fax")
        assert {d["scan"] for d in t["degradation"]} == {t["scan_kind"]}
        if t["scan_kind"] == "office":
            assert t["dpi"] in (200, 300)
        elif t["scan_kind"] == "fax":  # 204 x 98 or 204 x 196 dpi
            assert t["dpi"] == 204
        else:  # a phone photo: the frame's width over A4
            assert 200 <= t["dpi"] <= 320
        assert isinstance(t["received_stamp"], bool)
        assert len(t["page_text"]) == len(t["degradation"]) == t["pages"]
        assert all({"level", "skew", "jpeg"} <= set(d) for d in t["degradation"])
        assert all(abs(d["skew"]) <= 3.0 for d in t["degradation"])
        assert t["expected_inbox"]["kind"] in ("user", "team", "clearing")


def test_pdfs_are_image_only_scans_with_the_truths_page_count(folder: Path) -> None:
    for t in read_truth(folder):
        with pikepdf.open(folder / t["file"]) as pdf:
            assert len(pdf.pages) == t["pages"]
            for page in pdf.pages:
                resources = page.obj.Resources
                assert "/Font" not in resources
                images = list(resources.XObject.values())
                assert len(images) == 1 and images[0].Subtype == "/Image"
                image = images[0]
                width_inches = float(page.mediabox[2]) / 72
                assert round(int(image.Width) / width_inches) == t["dpi"]
                filters = (
                    image.Filter if isinstance(image.Filter, pikepdf.Array) else [image.Filter]
                )
                assert [str(f) for f in filters] in (["/DCTDecode"], ["/CCITTFaxDecode"])


def test_scan_kinds_come_in_realistic_shares() -> None:
    """Office scans stay the majority; photos, faxes, coloured paper, notes and landscape
    pages fed sideways all occur (profiles only, nothing drawn)."""
    kinds: Counter[str] = Counter()
    extras: Counter[str] = Counter()
    for k in range(1000):
        base = lettergen.scan_profile(random.Random(k))
        profile = lettergen.scan_kind(base, random.Random(f"kind{k}"), landscape=k % 10 == 0)
        kinds[profile.kind] += 1
        extras.update(
            name
            for name, present in (
                ("paper", profile.paper is not None),
                ("note", profile.note),
                ("over_text", profile.stamp_over_text),
                ("turn", profile.turn in (90, 270)),
                ("fine", profile.fax_fine),
            )
            if present
        )
        # Everything the office scan drew is unchanged; photos and faxes are colour / bilevel.
        assert (profile.jpeg, profile.max_skew, profile.threshold) == (
            base.jpeg, base.max_skew, base.threshold
        )  # fmt: skip
        if profile.kind == "fax":
            assert profile.bilevel and not profile.color
        if profile.kind == "photo":
            assert profile.color and not profile.bilevel
    assert kinds["office"] > 700 and kinds["photo"] > 60 and kinds["fax"] > 60
    assert extras["turn"] == 100
    assert all(extras[name] > 20 for name in ("paper", "note", "over_text", "fine"))


def test_generation_is_deterministic_per_seed(tmp_path: Path) -> None:
    def files(out: Path) -> dict[str, bytes]:
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.*"))}

    lettergen.generate(tmp_path / "a", 3, 11, households=30)
    lettergen.generate(tmp_path / "b", 3, 11, households=30)
    lettergen.generate(tmp_path / "c", 3, 12, households=30)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert files(tmp_path / "a")["truth.jsonl"] != files(tmp_path / "c")["truth.jsonl"]
    with pytest.raises(FileExistsError):
        lettergen.generate(tmp_path / "a", 1, 11, households=30)


def test_expected_inboxes_follow_the_master_data_and_roles(folder: Path) -> None:
    staff = {row["login"]: row for row in read_csv(folder / "staff.csv")}
    assert {row["role"] for row in staff.values()} == ROLES
    teams = {row["team"] for row in staff.values()}
    assert {"Fallmanagement", "Widerspruchsstelle", "Scanstelle"} <= teams
    households: dict[str, list[dict[str, str]]] = {}
    for row in read_csv(folder / "households.csv"):
        households.setdefault(row["bg_number"], []).append(row)
        assert staff[row["caseworker"]]["role"] == "leistung"
        assert staff[row["case_manager"]]["role"] == "fallmanagement"
        date.fromisoformat(row["birth_date"])
    assert any(len(rows) > 1 for rows in households.values())
    for t in read_truth(folder):
        expected = t["expected_inbox"]
        if t["bg_number"] is not None:
            rows = households[t["bg_number"]]
            assert t["person"] in {f"{r['first_name']} {r['last_name']}" for r in rows}
        if expected["kind"] == "clearing":
            assert t["case"] in lettergen.CLEARING_CASES
            continue
        household = households[t["bg_number"]][0]
        if t["doc_type"] in TEAM_TYPES:
            assert expected == {"kind": "team", "team": "Widerspruchsstelle"}
        elif t["doc_type"] in CASE_MANAGER_TYPES:
            assert expected == {"kind": "user", "user": household["case_manager"]}
            assert staff[expected["user"]]["role"] == "fallmanagement"
        else:
            assert expected == {"kind": "user", "user": household["caseworker"]}
            assert staff[expected["user"]]["role"] == "leistung"


def test_printed_identifiers_match_the_truth(folder: Path) -> None:
    for t in read_truth(folder):
        text = "\n".join(t["page_text"])
        flat = re.sub(r"[\s\-]", "", text).upper()
        if t["bg_on_paper"]:
            assert t["bg_number"] in flat, t["file"]
        elif t["bg_number"]:
            assert t["bg_number"] not in flat, t["file"]
        if t["person"]:
            last = t["person"].rsplit(" ", 1)[1]
            spellings = {last, lettergen.transliterate(last), lettergen.ascii_upper(last)}
            assert any(s in text for s in spellings), t["file"]


def test_plans_are_varied() -> None:
    """Planning only (no drawing): every type, several templates each, all clearing kinds."""
    master = lettergen.build_master(3, 200)
    plans = [lettergen.plan_letter(master, 3, k) for k in range(600)]
    types = Counter(p.doc_type for p in plans)
    assert set(types) == set(lettergen.DOC_TYPES)
    for doc_type in lettergen.DOC_TYPES:
        assert len({p.template.name for p in plans if p.doc_type == doc_type}) >= 3
    cases = Counter(p.case for p in plans)
    assert set(cases) == set(lettergen.CASES)
    clearing = sum(cases[c] for c in lettergen.CLEARING_CASES) / len(plans)
    assert 0.08 <= clearing <= 0.18
    assert 0.4 <= cases["bg"] / len(plans) <= 0.62
    assert len({p.ident.bg_format for p in plans if p.case == "bg"}) >= 4
    assert len({p.family for p in plans}) >= 8
    namesakes = [n for n, k in master.name_count.items() if k > 1]
    assert namesakes


@pytest.mark.slow
def test_page_text_is_legible_to_tesseract(folder: Path, tmp_path: Path) -> None:
    """Undegraded generated pages: tesseract finds at least 80 % of the printed words."""
    pages = [
        (t, k)
        for t in read_truth(folder)
        for k, d in enumerate(t["degradation"])
        if d["level"] == 0 and not d.get("upside_down")
    ][:3]
    assert len(pages) >= 2
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    for t, k in pages:
        stem = tmp_path / f"{Path(t['file']).stem}-{k}"
        subprocess.run(
            ["pdftoppm", "-r", str(t["dpi"]), "-gray", "-f", str(k + 1), "-l", str(k + 1),
             "-singlefile", str(folder / t["file"]), str(stem)],
            check=True, timeout=60,
        )  # fmt: skip
        out = subprocess.run(
            ["tesseract", f"{stem}.pgm", "stdout", "-l", "deu+eng"],
            check=True, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        want = Counter(t["page_text"][k].split())
        got = Counter(out.stdout.split())
        recall = sum(min(n, got[w]) for w, n in want.items()) / sum(want.values())
        assert recall >= 0.8, (t["file"], k, recall)


# ------------------------------------------------------------------------------------------
# bench/routing.py: scoring of fabricated `documents --json` output


def load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_routing", ROOT / "bench" / "routing.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRUTH = [
    {"file": "docs/0001.pdf", "pages": 1, "doc_type": "kontoauszug", "bg_number": "11111BG0000001",
     "bg_on_paper": True, "expected_inbox": {"kind": "user", "user": "lsb.1"}},
    {"file": "docs/0002.pdf", "pages": 2, "doc_type": "klage", "bg_number": "11111BG0000002",
     "bg_on_paper": False, "expected_inbox": {"kind": "team", "team": "Widerspruchsstelle"}},
    {"file": "docs/0003.pdf", "pages": 1, "doc_type": "sonstiges",
         "bg_number": None,
     "bg_on_paper": False, "expected_inbox": {"kind": "clearing"}},
    {"file": "docs/0004.pdf", "pages": 1, "doc_type": "widerspruch", "bg_number": "11111BG0000004",
     "bg_on_paper": True, "expected_inbox": {"kind": "team", "team": "Widerspruchsstelle"}},
    {"file": "docs/0005.pdf", "pages": 1, "doc_type": "eigenbemuehungen",
     "bg_number": "11111BG0000005", "bg_on_paper": False,
     "expected_inbox": {"kind": "user", "user": "fm.1"}},
    {"file": "docs/0006.pdf", "pages": 1, "doc_type": "sonstiges", "bg_number": "11111BG0000006",
     "bg_on_paper": False, "expected_inbox": {"kind": "clearing"}},
    {"file": "docs/0007.pdf", "pages": 3, "doc_type": "mietbescheinigung",
     "bg_number": "11111BG0000007", "bg_on_paper": False,
     "expected_inbox": {"kind": "user", "user": "lsb.2"}},
]  # fmt: skip


def doc(source: str, inbox: dict, bg: str | None, doc_type: str, pages: int = 1,
        status: str = "routed") -> dict:  # fmt: skip
    return {"id": source, "source": source, "pages": pages, "doc_type": doc_type,
            "bg_number": bg, "inbox": inbox, "status": status}  # fmt: skip


def test_routing_benchmark_scores_fabricated_documents() -> None:
    bench = load_bench()
    team = {"kind": "team", "team": "Widerspruchsstelle"}
    documents = [
        doc("0001.pdf", {"kind": "user", "user": "lsb.1"}, "11111BG0000001", "kontoauszug"),
        doc("0002.pdf", {"kind": "clearing"}, None, "klage", pages=2),
        doc("0003.pdf", {"kind": "clearing"}, None, "widerspruch"),
        # right team, wrong household: misrouted
        doc("0004.pdf", team, "11111BG0000099", "widerspruch"),
        doc("0005.pdf", {"kind": "user", "user": "fm.1"}, "11111BG0000005", "eigenbemuehungen",
            status="failed"),
        # must go to clearing but was routed: misrouted
        doc("0006.pdf", {"kind": "user", "user": "lsb.3"}, "11111BG0000006", "sonstiges"),
        # 0007.pdf: missing
        doc("9999.pdf", {"kind": "clearing"}, None, "sonstiges"),
    ]  # fmt: skip
    result = bench.score(TRUTH, documents)
    outcomes = {r["file"]: r["outcome"] for r in result["rows"]}
    assert outcomes == {
        "0001.pdf": "correct", "0002.pdf": "clearing", "0003.pdf": "correct",
        "0004.pdf": "misrouted", "0005.pdf": "failed", "0006.pdf": "misrouted",
        "0007.pdf": "missing",
    }  # fmt: skip
    overall = result["overall"]
    assert (overall["correct"], overall["misrouted"], overall["clearing"]) == (2, 2, 1)
    assert overall["misrouted_rate"] == pytest.approx(2 / 7)
    assert result["by_doc_type"]["sonstiges"]["n"] == 2
    assert result["bg"] == {"n": 2, "hits": 1, "rate": 0.5}
    assert overall["doc_type_ok"] == 5  # 0003 is typed wrongly; 0007 is missing
    assert result["pages"]["all_accounted"] is False
    assert result["pages"]["documents_ok"] == 6
    assert result["unmatched_documents"] == ["9999.pdf"]
    report = bench.format_report(result)
    assert "misrouted" in report and "0004.pdf" in report and "MISSED" in report


def test_routing_benchmark_counts_a_split_letter_by_its_worst_part() -> None:
    bench = load_bench()
    truth = [TRUTH[6]]
    good = {"kind": "user", "user": "lsb.2"}
    split = [doc("0007.pdf", good, "11111BG0000007", "mietbescheinigung", pages=2),
             doc("0007.pdf", {"kind": "clearing"}, None, "sonstiges")]  # fmt: skip
    result = bench.score(truth, split)
    assert result["rows"][0]["outcome"] == "clearing"
    assert result["pages"]["all_accounted"] is True
    perfect = bench.score(truth, [doc("0007.pdf", good, "11111BG0000007", "mietbescheinigung", 3)])
    assert perfect["overall"]["correct_rate"] == 1.0
    assert "Goals: correct >= 95%: ok" in bench.format_report(perfect)


def test_routing_benchmark_checks_conflicts_offer_both_households_and_compares_runs() -> None:
    bench = load_bench()
    clearing = {"kind": "clearing"}
    truth = [
        {"file": "docs/0001.pdf", "pages": 1, "doc_type": "sonstiges",
         "bg_number": "11111BG0000001",
         "bg_on_paper": False, "case": "foreign_bg", "printed_bg": "11111BG0000002",
         "expected_inbox": clearing},
        {"file": "docs/0002.pdf", "pages": 1, "doc_type": "sonstiges",
         "bg_number": "11111BG0000003",
         "bg_on_paper": False, "case": "foreign_bg", "printed_bg": "11111BG0000004",
         "expected_inbox": clearing},
        {"file": "docs/0003.pdf", "pages": 1, "doc_type": "sonstiges",
         "bg_number": "11111BG0000005",
         "bg_on_paper": True, "case": "bg", "expected_inbox": {"kind": "user", "user": "lsb.1"}},
    ]  # fmt: skip
    both = doc("0001.pdf", clearing, None, "sonstiges")
    both["candidates"] = ["11111BG0000002", "11111BG0000001"]
    one = doc("0002.pdf", clearing, None, "sonstiges")
    one["candidates"] = ["11111BG0000003"]  # the printed number's household is not offered
    read_only = doc("0003.pdf", clearing, None, "sonstiges")
    read_only["bg_numbers_found"] = [["11111BG0000005", 1, True]]
    after = bench.score(truth, [both, one, read_only])
    assert after["conflicts"] == {"n": 2, "offered": 1}
    assert after["bg"]["hits"] == 0 and after["bg_read"]["hits"] == 1
    before = bench.score(truth, [doc("0001.pdf", {"kind": "user", "user": "lsb.9"},
                                     "11111BG0000001", "sonstiges")])  # fmt: skip
    comparison = bench.format_comparison(before, after, ref="main~1")
    assert "0001.pdf" in comparison and "misrouted -> correct" in comparison
    assert "conflicts offered both" in comparison
