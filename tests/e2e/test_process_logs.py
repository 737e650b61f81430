"""A service run as a real process (uvicorn as in production) logs only JSON lines: ISO 8601 UTC timestamps,
one access line per request from Fieldline's middleware (uvicorn's own access log off), no ANSI copies; and
`curl :port/metrics` answers."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx

from tests.conftest import Keys
from tests.support.infra import NatsServer, start_stack

ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def test_a_running_service_logs_json_lines_with_one_access_line_per_request(
    database_url: str, nats_server: NatsServer, keys: Keys, tmp_path: Path
) -> None:
    stack = await asyncio.to_thread(
        start_stack, database_url, nats_server.url, keys.private.parent, tmp_path, ("contracts",)
    )
    try:
        async with httpx.AsyncClient(base_url=stack.url("contracts")) as client:
            refused = await client.get("/contracts", headers={"X-Correlation-Id": "log-test-1"})
            scrape = await client.get("/metrics")
    finally:
        await asyncio.to_thread(stack.stop)
    assert refused.status_code == 401
    assert scrape.status_code == 200 and "http_server_requests_total" in scrape.text

    raw = (tmp_path / "contracts.log").read_text().splitlines()
    lines = [json.loads(line) for line in raw if line.strip()]  # every line is a JSON object
    assert lines
    for line in lines:
        assert ISO_UTC_MS.match(line["time"]), line
        assert line["service"] == "contracts"
        assert "color_message" not in line
    assert not any("\x1b[" in line for line in raw)
    access = [line for line in lines if line["logger"] == "fieldline.access" and line["path"] == "/contracts"]
    assert len(access) == 1
    assert access[0]["status"] == 401 and access[0]["correlation_id"] == "log-test-1"
    assert access[0]["route"] == "/contracts" and access[0]["method"] == "GET"
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
