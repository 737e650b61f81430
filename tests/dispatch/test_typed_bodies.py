"""Every body the console and the technician app read from dispatch is declared in its OpenAPI document, so the
TypeScript clients are generated, not written by hand (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest

from services.dispatch.planning.model import UnassignedReason

from .conftest import Dispatch

READ_BY_THE_CLIENTS = [
    ("get", "/board"),
    ("get", "/sla-at-risk"),
    ("get", "/alerts"),
    ("get", "/plan-failures"),
    ("post", "/plans/{day}/replan"),
    ("get", "/plans/{day}"),
    ("get", "/plans/{day}/diff"),
    ("post", "/plans/{day}/proposals"),
    ("post", "/plans/{day}/proposals/{proposal_id}/accept"),
    ("get", "/me/day"),
]


def _schema_of(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = document["paths"][path][method]["responses"]
    ok = responses.get("200") or responses["201"]
    schema: dict[str, Any] = ok["content"]["application/json"]["schema"]
    if schema.get("type") == "array":
        schema = schema["items"]
    ref = schema.get("$ref", "")
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


@pytest.mark.parametrize(("method", "path"), READ_BY_THE_CLIENTS)
async def test_the_body_the_clients_read_is_declared(dispatch: Dispatch, method: str, path: str) -> None:
    document = (await dispatch.client.get("/openapi.json")).json()
    schema = _schema_of(document, method, path)
    assert schema.get("properties"), f"{method.upper()} {path} answers an undeclared object"


async def test_the_board_declares_what_the_schedule_board_draws(dispatch: Dispatch) -> None:
    document = (await dispatch.client.get("/openapi.json")).json()
    technician = document["components"]["schemas"]["BoardTechnician"]["properties"]
    assert {"shift", "break_due", "break_taken", "route", "lat", "lon", "status"} <= technician.keys()
    booking = document["components"]["schemas"]["BoardBooking"]["properties"]
    assert {"planned_start", "planned_end", "eta", "locked", "site_lat", "site_lon"} <= booking.keys()


async def test_a_plan_declares_every_reason_the_planner_gives_for_leaving_a_visit_out(dispatch: Dispatch) -> None:
    document = (await dispatch.client.get("/openapi.json")).json()
    reason = document["components"]["schemas"]["UnplannedOut"]["properties"]["reason"]
    assert set(reason["enum"]) == {r.value for r in UnassignedReason}
