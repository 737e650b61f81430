"""Live streams (SSE) with limits: a cap per principal and per process, and the end of the caller's token.

A stream holds a socket and a task for as long as the client listens, so one principal may keep only a few
open at once (a 429 beyond), a process only so many in all; and a stream stops, with a last `expired` event,
when the token that opened it expires, so a revoked or stolen token does not listen forever (issue 16).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import StreamingResponse

from shared.auth import Principal
from shared.clock import wall_time
from shared.errors import DomainError
from shared.http import sse_response

__all__ = ["StreamGate", "TooManyStreams", "limited_sse_response"]

EXPIRED_FRAME = 'event: expired\ndata: {"reason": "the token expired; reconnect with a fresh one"}\n\n'


class TooManyStreams(DomainError):
    status = 429
    slug = "too-many-streams"
    title = "Too many live streams"


@dataclass
class StreamGate:
    """The live streams open in this process, per principal."""

    max_per_principal: int
    max_in_all: int
    _open: Counter[str] = field(default_factory=Counter)

    @property
    def open_streams(self) -> int:
        return sum(self._open.values())

    def admit(self, subject: str) -> None:
        if self.open_streams >= self.max_in_all:
            raise TooManyStreams("this server holds as many live streams as it may; try again soon", retry_after_s=5)
        if self._open[subject] >= self.max_per_principal:
            raise TooManyStreams(
                f"at most {self.max_per_principal} live streams at once; close one first", retry_after_s=5
            )
        self._open[subject] += 1

    def release(self, subject: str) -> None:
        self._open[subject] -= 1
        if self._open[subject] <= 0:
            del self._open[subject]


def stream_gate(request: Request) -> StreamGate:
    gate: StreamGate = request.app.state.stream_gate
    return gate


def limited_sse_response(request: Request, principal: Principal, frames: AsyncIterator[str]) -> StreamingResponse:
    """An SSE response that counts against the principal's and the process's caps (429 beyond) and ends when
    the principal's token expires."""
    gate = stream_gate(request)
    gate.admit(principal.subject)
    # token lifetimes are real time, whatever the company's clock says (as when they are minted and checked)
    remaining_s = None if principal.expires_at is None else principal.expires_at.timestamp() - wall_time()
    return sse_response(_until_expiry(frames, remaining_s, lambda: gate.release(principal.subject)))


async def _until_expiry(
    frames: AsyncIterator[str], remaining_s: float | None, release: Callable[[], None]
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = None if remaining_s is None else loop.time() + remaining_s
    try:
        while True:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                yield EXPIRED_FRAME
                return
            try:
                frame = await asyncio.wait_for(anext(frames), left)
            except StopAsyncIteration:
                return
            except TimeoutError:
                yield EXPIRED_FRAME
                return
            yield frame
    finally:
        release()
        aclose = getattr(frames, "aclose", None)
        if aclose is not None:
            # a client gone mid-read cancels the pending anext: the generator may still count as running
            with contextlib.suppress(RuntimeError):
                await aclose()
