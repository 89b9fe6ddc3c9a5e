"""Page slots bound the pages worked on at once across worker processes on one machine."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable

import pytest

from core.errors import Cancelled
from ingest.slots import PageSlots

HOLDER = """
import sys, time
from pathlib import Path
from ingest.slots import PageSlots
slots = PageSlots(Path(sys.argv[1]), int(sys.argv[2]))
with slots.hold():
    print("held", flush=True)
    time.sleep(60)
"""


def _start_holder(directory, count):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(directory), str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_worker_waits_while_other_processes_hold_every_slot_and_continues_when_one_dies(
    tmp_path,
):
    holders = [_start_holder(tmp_path, 2) for _ in range(2)]
    try:
        slots = PageSlots(tmp_path, 2)
        got: list[int] = []
        turned_away = threading.Event()

        def still_wanted() -> bool:  # asked each time the waiter has found every slot taken
            turned_away.set()
            return True

        waiter = threading.Thread(target=lambda: got.extend(_hold_once(slots, still_wanted)))
        waiter.start()
        assert turned_away.wait(10), "the waiter never tried the slots"
        assert got == [], "a third page started while two other processes held both slots"
        holders[0].kill()  # a crashed worker's slot is released by the kernel
        holders[0].wait()
        waiter.join(timeout=10)
        assert len(got) == 1
    finally:
        for process in holders:
            process.kill()
            process.wait()


def _hold_once(slots: PageSlots, still_wanted: Callable[[], bool]) -> list[int]:
    with slots.hold(still_wanted) as number:
        return [number]


def test_threads_of_one_worker_share_the_slots(tmp_path):
    slots = PageSlots(tmp_path, 2)
    inside = 0
    most = 0
    lock = threading.Lock()
    full = threading.Event()  # two pages inside while another one was turned away

    def turned_away() -> bool:
        with lock:
            if inside == 2:
                full.set()
        return True

    def page() -> None:
        nonlocal inside, most
        with slots.hold(still_wanted=turned_away):
            with lock:
                inside += 1
                most = max(most, inside)
            full.wait(10)  # the pages inside stay until one more has found no free slot
            with lock:
                inside -= 1

    threads = [threading.Thread(target=page) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert full.is_set(), "no page was turned away while two were inside"
    assert most == 2


def test_a_given_up_job_stops_waiting_for_a_slot(tmp_path):
    holder = _start_holder(tmp_path, 1)
    try:
        with pytest.raises(Cancelled):
            with PageSlots(tmp_path, 1).hold(still_wanted=lambda: False):
                pass
    finally:
        holder.kill()
        holder.wait()
