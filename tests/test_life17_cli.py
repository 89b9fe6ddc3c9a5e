"""`eakte records due [--json]` and the import's closing of files, as scripts call them
(issue 17)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

from sqlalchemy import select

from core.db import make_engine, make_session_factory, transaction
from records import lifecycle
from records.access import Gate
from records.models import User
from tests.support import cli_env, make_settings, run_cli

STAFF = "login,name,team,role\nlsb.1,Petra Schmitt,Leistung Husum,leistung\n"
HEADER = "bg_number,last_name,first_name,birth_date,street,postcode,town,caseworker,case_manager"
DUE, HELD, RUNNING = "95401BG0000001", "95401BG0000002", "95401BG0000003"


def eakte(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cli_env(data_dir), *args, timeout=120)


def test_records_due_lists_due_and_held_files_with_rule_and_reason(tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(STAFF)
    households = tmp_path / "households.csv"
    rows = [HEADER + ",benefits_end"]
    for bg, end in ((DUE, "2014-06-30"), (HELD, "2013-01-31"), (RUNNING, "2024-05-31")):
        rows.append(f"{bg},Muster,Eva,1980-01-01,Markt 1,25813,Husum,lsb.1,,{end}")
    households.write_text("\n".join(rows) + "\n")
    data = tmp_path / "data"
    assert eakte(data, "import", "staff", str(staff)).returncode == 0
    imported = eakte(data, "import", "households", str(households))
    assert imported.returncode == 0, imported.stderr
    assert "3 Akten geschlossen" in imported.stdout

    engine = make_engine(make_settings(data).resolved_database_url)
    with transaction(make_session_factory(engine)) as session:
        user = session.scalar(select(User).where(User.login == "lsb.1"))
        assert user is not None
        lifecycle.set_hold(
            Gate(session, user), HELD, "erbenhaftung", "Erben haften, Az. 12/26", None, date.today()
        )
    engine.dispose()

    listed = eakte(data, "records", "due", "--json")
    assert listed.returncode == 0, listed.stderr
    files = {f["bg_number"]: f for f in json.loads(listed.stdout)}
    assert set(files) == {DUE, HELD}
    assert files[DUE] == {
        "bg_number": DUE,
        "status": "due",
        "event_date": "2014-06-30",
        "due_from": "2025-01-01",
        "years": 10,
        "rule": "10 Jahre nach Ablauf des Jahres des maßgeblichen Ereignisses",
        "holds": [],
    }
    assert files[HELD]["status"] == "held"
    assert files[HELD]["holds"] == [
        {"kind": "erbenhaftung", "reason": "Erben haften, Az. 12/26", "until": None}
    ]

    text = eakte(data, "records", "due")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("1 Akten fällig, 1 gesperrt")
    assert f"{DUE}  Aufbewahrungsfrist abgelaufen" in text.stdout
    assert "fällig ab 01.01.2025" in text.stdout
    assert "gesperrt bis auf Weiteres – Erbenhaftung (§ 35 SGB II): Erben haften" in text.stdout
    assert RUNNING not in text.stdout
