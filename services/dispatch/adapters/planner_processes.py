"""The day planner in worker processes of its own, at a lower CPU priority than the services.

A re-plan is seconds of CPU (OR-Tools and the compiled search). Run on a thread of the dispatch process, it
took the cores from everything interactive at the moment it ran: dispatch's own answers, notify's stream
frames, a dispatcher's browser on the same machine. In a worker process it has its own interpreter lock,
and its ``nice`` value lets the kernel serve the services first; the planner takes what CPU is left.

Workers come from a fork server that has imported the planner once, so a new worker costs a fork, not an
import of OR-Tools and numba. A worker that dies (killed for memory, a crash in native code) breaks the
pool: the pool is replaced and the run tried once more before the failure is reported.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# imported by the fork server before it forks any worker
PRELOAD = ["services.dispatch.planning"]
OWNER_CHECK_S = 1.0


def _start_worker(nice: int, owner: int) -> None:
    """Runs first in each worker: the kernel is to prefer every process of normal priority to this one, and the
    worker ends with the service that owns it (a worker never sees its queue close, as it holds both ends of it, so
    one left behind by a service that was killed would wait for work for ever)."""
    if nice:
        os.nice(nice)
    threading.Thread(target=_end_with, args=(owner,), name="planner-owner-watch", daemon=True).start()


def _end_with(owner: int) -> None:
    while _alive(owner):
        time.sleep(OWNER_CHECK_S)
    os._exit(0)


def _alive(pid: int) -> bool:
    """False once the process is gone, or is a zombie no one has reaped yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: what kill said


class PlannerProcesses:
    """Runs picklable, module-level functions (``plan_routes``, ``plan_nearest``) in the worker processes."""

    def __init__(self, workers: int, nice: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(PRELOAD)
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_start_worker, initargs=(self.nice, os.getpid())
                )
            return self._pool

    def _drop(self, pool: ProcessPoolExecutor | None) -> None:
        """Stops `pool`'s workers (a run still going is abandoned) and forgets it if it is the one in use."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._executor()
            try:
                return await loop.run_in_executor(pool, function, *args)
            except BrokenProcessPool:
                self._drop(pool)
                if attempt == 2:
                    raise
                log.warning("a planner process died; the pool is replaced and the run tried again")
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stops the workers; a run still going is abandoned (its caller is being shut down too)."""
        self._drop(self._pool)
