"""Crash tests (issue 20): a worker or a web process is killed with SIGKILL at each step of the
pipeline (core.faults), on the real PostgreSQL, MinIO and OpenSearch; a clean worker then
finishes what was left, and the end state is compared document by document with a clean run
of the same input: nothing lost, nothing doubled, index and database agree.

The clean run is made once per module; every case has a fresh database, bucket and index.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.runtime import build_runtime
from core.db import transaction, utcnow
from core.faults import DESK_POINTS, POINTS
from ingest.intake import original_key
from records import blob_outbox, index_outbox
from records.housekeeping import SPOOL_KEEP, prune_upload_spool
from records.runtime import Runtime
from tests.support import REPO, client_for, load_people, wait_for, work_until_idle
from tests.support_crash20 import (
    approvals,
    blob_check,
    crash_input,
    end_state,
    fresh_stack,
    index_state,
    killed_worker,
    lease_ran_out,
    names_by_sha256,
    qa_state,
    request_to_killed_web,
    upload_to_killed_web,
)

DESK = "post.1"


def hand_in(runtime: Runtime, files: list[Path]) -> None:
    """The desk uploads the files, one after the other, as it does in the browser."""
    desk = client_for(runtime, DESK)
    for path in files:
        answer = desk.post("/api/documents", files={"file": (path.name, path.read_bytes())})
        assert answer.status_code in (200, 201, 202), answer.text


@pytest.fixture(scope="module")
def letters(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return crash_input(tmp_path_factory.mktemp("input"))


@pytest.fixture(scope="module")
def clean(letters: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The end state of a run without a crash."""
    with fresh_stack(tmp_path_factory.mktemp("clean") / "data") as settings:
        runtime = build_runtime(settings)
        try:
            load_people(runtime)
            hand_in(runtime, letters)
            work_until_idle(runtime)
            state = end_state(runtime, names_by_sha256(letters))
            state["index"] = index_state(runtime)
            state["blobs"] = blob_check(runtime)
        finally:
            runtime.close()
    return state


@pytest.fixture
def crash_runtime(tmp_path: Path) -> Iterator[Runtime]:
    with fresh_stack(tmp_path / "data") as settings:
        runtime = build_runtime(settings)
        try:
            load_people(runtime)
            yield runtime
        finally:
            runtime.close()


@pytest.mark.services
@pytest.mark.slow
def test_the_clean_run_files_every_letter_once(clean: dict[str, Any]) -> None:
    # The reference the crashed runs are held to: two batches, three documents, each in a
    # Postkorb, all indexed, every blob there, nothing stray in the bucket.
    assert [name for name, *_ in clean["documents"]].count("stapel.pdf") == 2
    assert len(clean["documents"]) == 3
    assert all(document[8] for document in clean["documents"]), "a document without Postkorb"
    assert clean["jobs"] == [("done", 2)]
    assert clean["index"] == {"entries": 3, "searchable": 3, "outbox": 0, "missed": []}
    assert clean["blobs"]["broken"] == []
    assert clean["blobs"]["stale_attempts"] == clean["blobs"]["other"] == []


# Where a kill leaves something behind that the product tolerates: renditions of the killed
# attempt (stored before the commit, under keys of that attempt; nothing names them). The
# index-outbox rows of a committed batch are removed by the retry that writes its entries
# (`_finish_processed`), so none is left anywhere.
STALE_RENDITIONS = {"pipeline.before_commit"}


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.parametrize("point", [p for p in POINTS if p.startswith("pipeline.")])
def test_a_worker_killed_at_a_step_leaves_the_same_end_state(
    point: str, clean: dict[str, Any], letters: list[Path], crash_runtime: Runtime
) -> None:
    runtime = crash_runtime
    hand_in(runtime, letters)
    # The worker takes the batch of two letters first and dies at the point.
    killed_worker(runtime.settings, point)
    # A clean worker takes the job up once its lease has run out, and the other one.
    work_until_idle(runtime)
    _assert_like_clean(runtime, letters, clean, point, retries=1)


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.parametrize("point", ["pipeline.before_index", "pipeline.after_index"])
def test_a_retry_killed_again_at_the_index_leaves_the_same_end_state(
    point: str, clean: dict[str, Any], letters: list[Path], crash_runtime: Runtime
) -> None:
    # The retry of a batch that was committed only writes the index (pipeline._finish_processed);
    # it is killed at the same point again, and the third attempt finishes.
    runtime = crash_runtime
    hand_in(runtime, letters)
    killed_worker(runtime.settings, point)
    wait_for(lambda: lease_ran_out(runtime), 60, "the killed worker's lease to run out")
    killed_worker(runtime.settings, point)
    work_until_idle(runtime)
    _assert_like_clean(runtime, letters, clean, point, retries=2)


@pytest.mark.services
@pytest.mark.slow
def test_a_web_process_killed_after_storing_the_original_loses_and_doubles_nothing(
    clean: dict[str, Any], letters: list[Path], crash_runtime: Runtime
) -> None:
    runtime = crash_runtime
    first = letters[0]
    failure = upload_to_killed_web(runtime.settings, "intake.original_stored", first, DESK)
    assert failure is not None  # the desk saw its upload fail
    # The original is in the bucket, and nothing names it: no batch, no job.
    names = names_by_sha256(letters)
    sha = next(sha for sha, name in names.items() if name == first.name)
    assert original_key(sha) in set(runtime.blobs.keys())
    assert end_state(runtime, names)["batches"] == []
    # The desk hands the file in again (and the other one); a clean worker does the rest.
    hand_in(runtime, letters)
    work_until_idle(runtime)
    _assert_like_clean(runtime, letters, clean, "intake.original_stored", retries=0)


@pytest.mark.services
@pytest.mark.slow
def test_a_web_process_killed_during_an_upload_leaves_no_scan_on_its_disk(
    letters: list[Path], crash_runtime: Runtime
) -> None:
    """Found by the crash tests: the killed process leaves the spooled scan (client data) in
    <data>/incoming; the hourly housekeeping of `eakte serve` removes it once it is older than
    an upload could take, and leaves a fresh one alone."""
    upload_to_killed_web(crash_runtime.settings, "intake.original_stored", letters[1], DESK)
    spooled = list((crash_runtime.settings.data_dir / "incoming").glob("upload-*"))
    assert len(spooled) == 1
    assert prune_upload_spool(crash_runtime.settings).removed == 0  # maybe still being stored
    later = utcnow() + SPOOL_KEEP + timedelta(minutes=1)
    assert prune_upload_spool(crash_runtime.settings, now=later).removed == 1
    assert list((crash_runtime.settings.data_dir / "incoming").glob("upload-*")) == []


@pytest.fixture(scope="module")
def clean_approved(letters: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The end state of a run with the desk's check, approved without a crash."""
    with fresh_stack(tmp_path_factory.mktemp("approved") / "data", qa_required=True) as settings:
        runtime = build_runtime(settings)
        try:
            load_people(runtime)
            hand_in(runtime, letters)
            work_until_idle(runtime)
            answer = client_for(runtime, DESK).post("/api/qa-approvals", json=approvals(runtime))
            assert answer.status_code == 200, answer.text
            state = end_state(runtime, names_by_sha256(letters))
            state["qa"] = qa_state(runtime, names_by_sha256(letters))
            state["index"] = index_state(runtime)
            state["blobs"] = blob_check(runtime)
        finally:
            runtime.close()
    return state


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.parametrize("point", DESK_POINTS)
def test_a_web_process_killed_while_the_desk_approves_leaves_the_same_end_state(
    point: str, clean_approved: dict[str, Any], letters: list[Path], tmp_path: Path
) -> None:
    """The desk's check releases the letters into the Postkorb (the web process's step of the
    pipeline); the process dies at the point. Afterwards the desk approves what is still
    pending, and the drainer of serve and the workers stores what the commit left in the
    outboxes (transfer records, index entries): the end state is the clean run's."""
    with fresh_stack(tmp_path / "data", qa_required=True) as settings:
        runtime = build_runtime(settings)
        try:
            load_people(runtime)
            hand_in(runtime, letters)
            work_until_idle(runtime)
            names = names_by_sha256(letters)
            before = qa_state(runtime, names)
            request_to_killed_web(
                settings, point, DESK, "POST", "/api/qa-approvals", json=approvals(runtime)
            )
            # Before the commit nothing was decided; after it, every decision stands.
            after = before if point == "desk.before_commit" else clean_approved["qa"]
            assert qa_state(runtime, names) == after
            pending = approvals(runtime)
            if pending["documents"]:  # the desk sees its request failed and approves again
                again = client_for(runtime, DESK).post("/api/qa-approvals", json=pending)
                assert again.status_code == 200, again.text
            # What the drainer thread of `eakte serve` and the workers does, one round each.
            blob_outbox.drain(runtime)
            index_outbox.drain_all(runtime)
            assert end_state(runtime, names)["documents"] == clean_approved["documents"]
            assert qa_state(runtime, names) == clean_approved["qa"]
            blobs = blob_check(runtime)
            assert blobs["broken"] == []  # every transfer record the decisions name is stored
            assert blobs["other"] == []  # and nothing stray
            assert blobs["named"] == clean_approved["blobs"]["named"]
            index = index_state(runtime)
            assert index["entries"] == index["searchable"] == clean_approved["index"]["searchable"]
            assert index["missed"] == [] and index["outbox"] == 0
            with transaction(runtime.sessions, read_only=True) as session:
                assert blob_outbox.lag(session) == 0
        finally:
            runtime.close()


def _assert_like_clean(
    runtime: Runtime, letters: list[Path], clean: dict[str, Any], point: str, retries: int
) -> None:
    state = end_state(runtime, names_by_sha256(letters))
    assert state["documents"] == clean["documents"]  # none lost, none doubled, filed alike
    assert state["batches"] == clean["batches"]
    assert state["jobs"] == clean["jobs"]
    # The killed job was taken up again (once per kill), the other one ran once.
    assert dict(state["attempts"]) == {letters[0].name: 1 + retries, letters[1].name: 1}
    # No page images of the killed attempt are left on the worker's disk (client data).
    assert list((runtime.settings.data_dir / "work").glob("job-*")) == []
    blobs = blob_check(runtime)
    assert blobs["broken"] == []  # every blob the database names is there and verifies
    assert blobs["other"] == []  # nothing stray but what the product tolerates
    assert bool(blobs["stale_attempts"]) == (point in STALE_RENDITIONS)
    index = index_state(runtime)
    assert index["entries"] == index["searchable"] == clean["index"]["searchable"]
    assert index["missed"] == []
    assert index["outbox"] == 0  # the retry that wrote the entries removed their rows


def test_a_fault_point_kills_its_process_only_when_named_and_due() -> None:
    program = (
        "from core.faults import fault_point\n"
        "fault_point('pipeline.pages_read')\n"  # another point: nothing happens
        "fault_point('pipeline.before_commit')\n"  # the first hit, EAKTE_FAULT_AFTER=2
        "print('after the first hit', flush=True)\n"
        "fault_point('pipeline.before_commit')\n"
        "print('never')\n"
    )
    env = dict(os.environ, EAKTE_FAULT_POINT="pipeline.before_commit", EAKTE_FAULT_AFTER="2")
    killed = subprocess.run(
        [sys.executable, "-c", program], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout == "after the first hit\n"
    env.pop("EAKTE_FAULT_POINT")
    unset = subprocess.run(
        [sys.executable, "-c", program], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert (unset.returncode, unset.stdout) == (0, "after the first hit\nnever\n")
