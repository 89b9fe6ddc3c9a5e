"""Page slots: how many pages are worked on at once on this machine, across all workers.

`eakte serve` starts one worker process per core and each worker reads the pages of its batch
side by side. Without a shared limit, two workers with two page threads each would run four
tesseracts on two cores, and every page would wait for the CPU while holding its memory. A slot
is an advisory lock (`flock`) on one of N files in a folder on the local disk: the kernel
releases it when its holder exits or dies, so a crashed worker never keeps a slot.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import Cancelled

POLL_SECONDS = 0.02


class PageSlots:
    def __init__(self, directory: Path, count: int) -> None:
        if count < 1:
            raise ValueError("at least one page slot is needed")
        self.directory = directory
        self.count = count
        directory.mkdir(parents=True, exist_ok=True)

    def _try_take(self, number: int) -> int | None:
        fd = os.open(self.directory / f"slot-{number}", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    @contextmanager
    def hold(self, still_wanted: Callable[[], bool] = lambda: True) -> Iterator[int]:
        """Wait for a free slot and hold it for the block; yields the slot's number."""
        while True:
            start = random.randrange(self.count)
            for offset in range(self.count):
                number = (start + offset) % self.count
                fd = self._try_take(number)
                if fd is None:
                    continue
                try:
                    yield number
                finally:
                    os.close(fd)  # closing the descriptor releases the lock
                return
            if not still_wanted():
                raise Cancelled()
            time.sleep(POLL_SECONDS)
