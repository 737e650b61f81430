"""What the benchmark installs in the console's page before any of its own scripts run (Playwright's init script).

It records, on the page's own clock (performance.now(), milliseconds since navigation start):
- ``usable``: the first moment every technician's row of the schedule board is in the document;
- ``frames``: when each chunk of the live stream (`/streams/`) reached the page, and its text;
- ``boards``: for each `GET /board`, when it was asked and when its body had been read;
- ``seen``: when an element with a watched test id first appeared (`window.__fieldlineWatch(testId)`).

Nothing here changes what the console does: fetch is wrapped only to time the stream chunks and the board reads.
"""

from __future__ import annotations

import json

__all__ = ["probe_script"]

_SCRIPT = """
(() => {
  const expectRows = %(rows)d;
  const probe = { usable: null, frames: [], boards: [], seen: {} };
  window.__fieldlineProbe = probe;
  const watched = new Set();
  window.__fieldlineWatch = (testId) => watched.add(testId);

  const check = () => {
    if (probe.usable === null && document.querySelectorAll('[data-testid^="row-"]').length >= expectRows) {
      probe.usable = performance.now();
    }
    for (const testId of watched) {
      if (probe.seen[testId] === undefined && document.querySelector(`[data-testid="${testId}"]`)) {
        probe.seen[testId] = performance.now();
      }
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });

  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (url.includes("/streams/")) {
      const response = await original(input, init);
      if (!response.body) return response;
      const decoder = new TextDecoder();
      const timed = response.body.pipeThrough(new TransformStream({
        transform(chunk, controller) {
          probe.frames.push({ at: performance.now(), text: decoder.decode(chunk, { stream: true }) });
          controller.enqueue(chunk);
        },
      }));
      const { status, statusText, headers } = response;
      return new Response(timed, { status, statusText, headers });
    }
    if (url.endsWith("/board")) {
      const entry = { asked: performance.now(), read: null };
      probe.boards.push(entry);
      const response = await original(input, init);
      const body = await response.clone().arrayBuffer();
      entry.read = performance.now();
      entry.bytes = body.byteLength;
      return response;
    }
    return original(input, init);
  };
})();
"""


def probe_script(technician_rows: int) -> str:
    """The init script, waiting for ``technician_rows`` rows before it calls the console usable."""
    return _SCRIPT % {"rows": int(technician_rows)}


def session_script(access_token: str, name: str) -> str:
    """Signs the page in as a dispatcher the way the console's own sign-in does (the tab's session storage)."""
    session = json.dumps({"accessToken": access_token, "name": name, "role": "dispatcher"})
    return f"sessionStorage.setItem('fieldline.session', {json.dumps(session)});"
