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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# imported by the fork server before it forks any worker
PRELOAD = ["services.dispatch.planning"]


def _lower_priority(nice: int) -> None:
    """Runs first in each worker: the kernel prefers every process of normal priority to this one."""
    if nice:
        os.nice(nice)


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
                    self.workers, mp_context=context, initializer=_lower_priority, initargs=(self.nice,)
                )
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self._executor()
            try:
                return await loop.run_in_executor(pool, function, *args)
            except BrokenProcessPool:
                self._replace(pool)
                if attempt == 2:
                    raise
                log.warning("a planner process died; the pool is replaced and the run tried again")
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stops the workers; a run still going is abandoned (its caller is being shut down too)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
