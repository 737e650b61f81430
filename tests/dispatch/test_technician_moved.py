"""The dispatchers' map follows technicians live: a batch of pings newer than the known position announces the
newest fix (technician.moved); a replayed or older batch announces nothing. Real PostGIS and NATS, the clock
injected."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from .conftest import MONDAY_0800, Clock, Dispatch
from .test_live_ops import SITE, WEEK

NOW = MONDAY_0800.replace(hour=10)


async def _moved(dispatch: Dispatch) -> list[dict[str, Any]]:
    rows = await dispatch.sql("SELECT payload FROM dispatch.outbox WHERE subject LIKE '%technician.moved%' ORDER BY id")
    return [json.loads(r["payload"])["data"] for r in rows]


async def test_the_newest_fix_of_a_newer_batch_is_announced_once_and_an_older_batch_is_not(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    clock.now = NOW
    anna = await dispatch.add_technician("Anna Koval", SITE[0] - 0.05, SITE[1], weekly_shifts=WEEK)

    async def ping(command: str, *fixes: tuple[datetime, float]) -> None:
        body = {
            "client_command_id": command,
            "pings": [
                {"at": at.isoformat(), "position": {"lat": lat, "lon": 34.1}, "accuracy_m": 12} for at, lat in fixes
            ],
        }
        response = await dispatch.client.post("/me/positions", headers=dispatch.technician(anna), json=body)
        assert response.status_code == 200, response.text

    first = str(uuid.uuid4())
    await ping(first, (NOW - timedelta(seconds=30), 44.95), (NOW, 44.96), (NOW - timedelta(seconds=15), 44.955))
    (moved,) = await _moved(dispatch)
    assert moved["technician_id"] == anna
    assert moved["position"] == {"lat": 44.96, "lon": 34.1}  # the newest fix, not the last in the batch
    assert datetime.fromisoformat(moved["at"]) == NOW and moved["accuracy_m"] == 12

    await ping(first, (NOW, 44.96))  # the same command again (a retry): answered from the record, nothing new
    await ping(str(uuid.uuid4()), (NOW - timedelta(minutes=1), 44.9))  # an older batch, queued offline
    assert len(await _moved(dispatch)) == 1

    clock.advance(timedelta(seconds=15))
    await ping(str(uuid.uuid4()), (clock.now, 44.97))
    assert [m["position"]["lat"] for m in await _moved(dispatch)] == [44.96, 44.97]
