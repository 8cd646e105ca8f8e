"""Map a function over a stream on a thread pool, results in input order, a bounded number in flight.

Pillow releases the GIL while it decodes and resamples, so threads use every
core without copying file bytes into other processes. ``Executor.map`` would
consume the whole stream up front (every file's bytes in memory at once); this
keeps at most ``window`` items in flight, so memory stays flat however many
images there are, and the order of results never depends on the worker count.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` threads (default: every available core), in input order."""
    workers = workers or available_cores()
    if workers == 1:
        yield from map(fn, items)
        return
    window = 4 * workers
    with ThreadPoolExecutor(workers, thread_name_prefix="imgclf-decode") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
