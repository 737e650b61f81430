"""The JSON log lines: one access line per request with fields, ISO 8601 UTC timestamps, no ANSI copies."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from shared.http import install_correlation_middleware
from shared.metrics import process_metrics
from shared.observability import CORRELATION_HEADER, AccessMiddleware, iso_utc, json_log_handler

ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = json_log_handler("testsvc")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


def parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_timestamps_are_iso_8601_utc_with_milliseconds() -> None:
    assert iso_utc(1796410525.126) == "2026-12-04T18:55:25.126Z"


async def test_one_access_line_per_request_with_fields(log_lines: io.StringIO) -> None:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_correlation_middleware(app)
    app.add_middleware(AccessMiddleware, service="testsvc", metrics=process_metrics())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        ok = await client.get("/things/42", headers={CORRELATION_HEADER: "corr-1"})
        missing = await client.get("/nowhere")
        with pytest.raises(RuntimeError):  # the test transport re-raises what the app did not handle
            await client.get("/broken", headers={CORRELATION_HEADER: "corr-2"})
        assert (await client.get("/healthz")).status_code == 200  # a probe: its access line is DEBUG, not shown
    assert ok.status_code == 200 and missing.status_code == 404

    access = [line for line in parsed(log_lines) if line["logger"] == "fieldline.access"]
    assert len(access) == 3
    first, second, failed = access
    assert first["method"] == "GET"
    assert first["route"] == "/things/{thing_id}"
    assert first["path"] == "/things/42"
    assert first["status"] == 200
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert first["correlation_id"] == "corr-1"
    assert first["service"] == "testsvc"
    assert first["level"] == "INFO"
    assert ISO_UTC_MS.match(str(first["time"])), first["time"]
    assert second["route"] == "unmatched" and second["status"] == 404
    assert second["correlation_id"] == missing.headers[CORRELATION_HEADER]
    assert (failed["route"], failed["status"], failed["correlation_id"]) == ("/broken", 500, "corr-2")


def test_uvicorn_color_message_is_dropped(log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    # a uvicorn started in-process by an earlier test configures its loggers its own way; a service's propagate
    for name in ("uvicorn", "uvicorn.error"):
        configured = logging.getLogger(name)
        for attribute, value in (("disabled", False), ("propagate", True), ("level", logging.NOTSET)):
            monkeypatch.setattr(configured, attribute, value)
        monkeypatch.setattr(configured, "handlers", [])
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]", 7, extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"}
    )
    (line,) = parsed(log_lines)
    assert line["message"] == "Started server process [7]"
    assert "color_message" not in line
    assert "\x1b" not in log_lines.getvalue()
