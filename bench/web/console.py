"""The console measured in Debian's Chromium: time to a usable board, and live frames to the screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Browser
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.web.probe import probe_script, session_script

__all__ = ["FrameToScreen", "Load", "frames_to_screen", "loads", "positions_to_screen"]

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
    """One change made through the API while the console is open: a job filed, or a technician's position."""

    frame_to_screen_ms: float  # its stream frame reaching the page, to the change on screen
    api_to_screen_ms: float  # the API call sent, to the change on screen (services, NATS and the page together)
    board_reads_between: int  # `GET /board` reads answered between the frame and the screen (0: drawn from the frame)


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


def _frame_at(frames: list[dict[str, Any]], after: float, *needles: str) -> float | None:
    """When the first stream chunk since ``after`` holding every needle reached the page."""
    return next((f["at"] for f in frames if f["at"] >= after and all(n in f["text"] for n in needles)), None)


def _sample(probe: dict[str, Any], sent: float, frame: float | None, on_screen: float) -> FrameToScreen | None:
    """One change timed: none when no frame named it before the screen showed it (a board read drew it first, or
    its frame was split across two chunks); those are counted apart, not hidden."""
    if frame is None or frame > on_screen:
        return None
    reads = sum(1 for b in probe["boards"] if b["read"] is not None and frame <= b["read"] <= on_screen)
    return FrameToScreen(
        frame_to_screen_ms=round(on_screen - frame, 1),
        api_to_screen_ms=round(on_screen - sent, 1),
        board_reads_between=reads,
    )


def frames_to_screen(
    browser: Browser, url: str, token: str, technicians: int, file_job: Callable[[], str], updates: int
) -> tuple[list[FrameToScreen], list[str]]:
    """Files ``updates`` jobs one after another (``file_job`` answers the new request's id) and times each, from the
    first frame that names it (request.created, or its booking's) to its mark on the map; the ids of those not on
    screen within a minute are answered apart."""
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
        frame = _frame_at(probe["frames"], sent_page, request_id)  # the first frame that names it
        if sample := _sample(probe, sent_page, frame, on_screen):
            results.append(sample)
    context.close()
    return results, missed


_MOVED = """
(testId) => {
  const probe = window.__fieldlineProbe;
  probe.moved = probe.moved || {};
  const marker = document.querySelector(`[data-testid="${testId}"]`);
  const before = marker.getAttribute('cx') + ',' + marker.getAttribute('cy');
  new MutationObserver((records, observer) => {
    const now = marker.getAttribute('cx') + ',' + marker.getAttribute('cy');
    if (now !== before) { probe.moved[testId] = performance.now(); observer.disconnect(); }
  }).observe(marker, { attributes: true });
}
"""


def positions_to_screen(
    browser: Browser,
    url: str,
    token: str,
    technicians: int,
    whose: Callable[[], str],
    send: Callable[[], None],
    updates: int,
) -> tuple[list[FrameToScreen], list[str]]:
    """Sends ``updates`` position fixes one after another (``whose()`` names the technician of the next, ``send()``
    sends it) and times each from its technician.moved frame to that technician's marker moving on the map."""
    context, page = _console(browser, url, token, technicians)
    page.wait_for_selector('[data-testid="live"]', timeout=30_000)
    results: list[FrameToScreen] = []
    missed: list[str] = []
    for _ in range(updates):
        page.wait_for_timeout(1000)
        technician_id = whose()
        test_id = f"map-tech-{technician_id}"
        page.evaluate(_MOVED, test_id)
        sent_page = page.evaluate("() => performance.now()")
        send()
        moved = f"() => (window.__fieldlineProbe.moved || {{}})['{test_id}'] !== undefined"
        try:
            page.wait_for_function(moved, timeout=60_000)
        except PlaywrightTimeout:
            missed.append(technician_id)
            continue
        probe = page.evaluate("() => window.__fieldlineProbe")
        on_screen = probe["moved"][test_id]
        frame = _frame_at(probe["frames"], sent_page, "technician.moved", technician_id)
        if sample := _sample(probe, sent_page, frame, on_screen):
            results.append(sample)
    context.close()
    return results, missed
