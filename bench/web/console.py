"""The console measured in Debian's Chromium: time to a usable board, and live frames to the screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Browser
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.web.probe import probe_script, session_script

__all__ = ["FrameToScreen", "Load", "frames_to_screen", "loads"]

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1366, "height": 768}  # the smallest screen the console is made for


@dataclass(frozen=True)
class Load:
    """One cold load of /console/ (a new browser context: nothing cached)."""

    usable_ms: float  # navigation start to every technician's row on the board
    board_ms: float  # the first GET /board, asked to read
    board_bytes: int
    requests_shown: int  # jobs drawn on the map


@dataclass(frozen=True)
class FrameToScreen:
    """One job filed through the API while the console is open."""

    frame_to_screen_ms: float  # the stream frame that led to the board read which showed it, to the job on screen
    board_ms: float  # that board read, asked to read
    filed_to_screen_ms: float  # the API call sent to the job on screen (services, NATS and the page together)


def _console(browser: Browser, url: str, token: str, technicians: int) -> Any:
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")  # type: ignore[arg-type]
    context.add_init_script(session_script(token, "Bench Dispatcher"))
    context.add_init_script(probe_script(technicians))
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{url}/console/")
    try:
        page.wait_for_function(
            "() => window.__fieldlineProbe && window.__fieldlineProbe.usable !== null", timeout=120_000
        )
    except PlaywrightTimeout:
        rows = page.evaluate("() => document.querySelectorAll('[data-testid^=\"row-\"]').length")
        probe = page.evaluate("() => window.__fieldlineProbe")
        raise RuntimeError(
            f"the console was not usable in 2 minutes: {rows} of {technicians} rows; board reads {probe['boards']}; "
            f"{problems[-10:]}"
        ) from None
    return context, page


def loads(browser: Browser, url: str, token: str, technicians: int, runs: int) -> list[Load]:
    results = []
    for _ in range(runs):
        context, page = _console(browser, url, token, technicians)
        probe = page.evaluate("() => window.__fieldlineProbe")
        first = probe["boards"][0]
        shown = page.evaluate("() => document.querySelectorAll('[data-testid^=\"map-job-\"]').length")
        results.append(
            Load(
                usable_ms=round(probe["usable"], 1),
                board_ms=round(first["read"] - first["asked"], 1),
                board_bytes=int(first.get("bytes", 0)),
                requests_shown=int(shown),
            )
        )
        context.close()
    return results


_ADDED = """
() => {
  const probe = window.__fieldlineProbe;
  probe.added = {};
  new MutationObserver((records) => {
    const at = performance.now();
    for (const record of records) for (const node of record.addedNodes) {
      if (!(node instanceof Element)) continue;
      const marks = [node, ...node.querySelectorAll('[data-testid^="map-job-"]')];
      for (const el of marks) {
        const id = el.getAttribute('data-testid');
        if (id && id.startsWith('map-job-') && probe.added[id] === undefined) probe.added[id] = at;
      }
    }
  }).observe(document, { childList: true, subtree: true });
}
"""


def frames_to_screen(
    browser: Browser, url: str, token: str, technicians: int, file_job: Callable[[], str], updates: int
) -> tuple[list[FrameToScreen], list[str]]:
    """Files ``updates`` jobs one after another (``file_job`` answers the new request's id) and times each; the
    ids of those not on screen within a minute are answered apart."""
    context, page = _console(browser, url, token, technicians)
    page.wait_for_selector('[data-testid="live"]', timeout=30_000)
    page.evaluate(_ADDED)
    results: list[FrameToScreen] = []
    missed: list[str] = []
    for _ in range(updates):
        page.wait_for_timeout(1500)  # the previous update's frames and board reads are over
        sent_page = page.evaluate("() => performance.now()")
        request_id = file_job()
        test_id = f"map-job-{request_id}"
        try:
            page.wait_for_function(f"() => window.__fieldlineProbe.added['{test_id}'] !== undefined", timeout=60_000)
        except PlaywrightTimeout:
            missed.append(request_id)  # reported: not on screen within a minute
            continue
        probe = page.evaluate("() => window.__fieldlineProbe")
        on_screen = probe["added"][test_id]
        # the board read that showed the job: the last one read before it appeared; its cause, the last frame in
        # before that read was asked
        shown_by = max(
            (b for b in probe["boards"] if b["read"] is not None and b["read"] <= on_screen), key=lambda b: b["read"]
        )
        cause = max((f for f in probe["frames"] if f <= shown_by["asked"] and f >= sent_page), default=None)
        if cause is None:
            continue  # shown by a read no frame of this update asked for (a reload already under way)
        results.append(
            FrameToScreen(
                frame_to_screen_ms=round(on_screen - cause, 1),
                board_ms=round(shown_by["read"] - shown_by["asked"], 1),
                filed_to_screen_ms=round(on_screen - sent_page, 1),
            )
        )
    context.close()
    return results, missed
