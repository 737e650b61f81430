"""Territories (issue 17) through dispatch's API and events on real PostGIS and NATS: technicians belong to territories
by id, a job knows its site's territory from the event that announced it, and the dispatcher's policy (allow at a
cost per job, or forbid) steers both the emergency's placement and the day's plan."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from shared.events.contracts import VisitPlanned
from shared.events.requests import ServiceRequestCreated
from tests.support.dispatch_events import request_created, visit_planned
from tests.support.polling import eventually

from .conftest import Clock, Dispatch

NORTH, SOUTH = uuid.UUID(int=1), uuid.UUID(int=2)
SITE = (44.95, 34.10)  # in SOUTH
NEAR = (44.955, 34.10)  # ~0.6 km from the site: Anna, of NORTH
FAR = (44.98, 34.10)  # ~3.3 km: Oleg, of SOUTH


def emergency(now: datetime, territory: uuid.UUID | None) -> ServiceRequestCreated:
    return request_created(now, SITE, territory_id=territory)


def maintenance(now: datetime, territory: uuid.UUID | None) -> VisitPlanned:
    start = now + timedelta(hours=1)
    return visit_planned(
        start, start + timedelta(hours=6), SITE, minutes=45, address="Kievskaya 1", territory_id=territory
    )


async def set_policy(dispatch: Dispatch, crossing: str, minutes: int = 30) -> dict[str, object]:
    response = await dispatch.client.put(
        "/territory-policy",
        headers=dispatch.dispatcher,
        json={"crossing": crossing, "crossing_cost_minutes": minutes},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def booked_technician(dispatch: Dispatch, request_id: uuid.UUID) -> str | None:
    rows = await dispatch.sql(
        "SELECT technician_id FROM dispatch.assignments WHERE request_id = $1 AND status = 'offered'", request_id
    )
    return str(rows[0]["technician_id"]) if rows else None


async def job_status(dispatch: Dispatch, request_id: uuid.UUID) -> str | None:
    rows = await dispatch.sql("SELECT status FROM dispatch.jobs WHERE request_id = $1", request_id)
    return str(rows[0]["status"]) if rows else None


async def test_technicians_take_territory_ids_and_refuse_anything_else_naming_the_field(
    clocked_dispatch: Dispatch,
) -> None:
    dispatch = clocked_dispatch
    refused = await dispatch.client.post(
        "/technicians",
        headers=dispatch.dispatcher,
        json={"name": "Anna Koval", "home_base": {"lat": NEAR[0], "lon": NEAR[1]}, "territory_ids": ["north"]},
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["territory_ids.0"]

    anna = await dispatch.add_technician("Anna Koval", *NEAR, territory_ids=[str(NORTH)])
    shown = await dispatch.client.get(f"/technicians/{anna}", headers=dispatch.dispatcher)
    assert shown.json()["territory_ids"] == [str(NORTH)]

    moved = await dispatch.client.put(
        f"/technicians/{anna}/territories", headers=dispatch.dispatcher, json={"territory_ids": [str(SOUTH)] * 2}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["territory_ids"] == [str(SOUTH)]  # once
    queued = await dispatch.sql("SELECT reason FROM dispatch.replan_requests")
    assert "a technician's territories changed" in {r["reason"] for r in queued}
    bad = await dispatch.client.put(
        f"/technicians/{anna}/territories", headers=dispatch.dispatcher, json={"territory_ids": [42]}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "territory_ids.0"
    nobody = await dispatch.client.put(
        f"/technicians/{uuid.uuid4()}/territories", headers=dispatch.dispatcher, json={"territory_ids": []}
    )
    assert nobody.status_code == 404
    as_technician = await dispatch.client.put(
        f"/technicians/{anna}/territories", headers=dispatch.technician(anna), json={"territory_ids": []}
    )
    assert as_technician.status_code == 403


async def test_the_crossing_policy_is_stored_for_every_replica_and_validated(clocked_dispatch: Dispatch) -> None:
    dispatch = clocked_dispatch
    default = (await dispatch.client.get("/territory-policy", headers=dispatch.dispatcher)).json()
    assert default == {"crossing": "allow", "crossing_cost_minutes": 30, "updated_at": None, "updated_by": None}

    stored = await set_policy(dispatch, "forbid", 0)
    assert stored["crossing"] == "forbid" and stored["updated_by"]
    rows = await dispatch.sql("SELECT crossing, crossing_cost_minutes FROM dispatch.territory_policy")
    assert [tuple(r) for r in rows] == [("forbid", 0)]  # one row, whichever replica reads it
    await set_policy(dispatch, "allow", 45)
    assert (await dispatch.sql("SELECT count(*) AS n FROM dispatch.territory_policy"))[0]["n"] == 1

    for body, field in (
        ({"crossing": "sometimes"}, "crossing"),
        ({"crossing": "allow", "crossing_cost_minutes": -5}, "crossing_cost_minutes"),
    ):
        refused = await dispatch.client.put("/territory-policy", headers=dispatch.dispatcher, json=body)
        assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [field]


async def test_an_emergency_goes_to_its_territorys_technician_unless_crossing_is_free_and_never_across_when_forbidden(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *NEAR, territory_ids=[str(NORTH)])
    oleg = await dispatch.add_technician("Oleg Petrov", *FAR, territory_ids=[str(SOUTH)])

    async def place(territory: uuid.UUID | None) -> uuid.UUID:
        event = emergency(clock.now, territory)
        await dispatch.publish(event, occurred_at=clock.now)

        async def decided() -> bool:
            return await job_status(dispatch, event.request_id) in ("assigned", "unplaceable")

        await eventually(decided, what="the emergency is placed or found unplaceable")
        return event.request_id

    # the default policy: a few minutes more driving keep the job in its territory
    in_south = await place(SOUTH)
    jobs = await dispatch.sql("SELECT territory_id FROM dispatch.jobs WHERE request_id = $1", in_south)
    assert jobs[0]["territory_id"] == SOUTH  # from the request's event
    assert await booked_technician(dispatch, in_south) == oleg
    # a site in no territory: simply the nearest
    assert await booked_technician(dispatch, await place(None)) == anna

    await set_policy(dispatch, "allow", 0)  # crossing costs nothing: the nearest, whatever the territory
    clock.advance(timedelta(hours=3))  # both free again
    assert await booked_technician(dispatch, await place(SOUTH)) == anna

    await set_policy(dispatch, "forbid")
    clock.advance(timedelta(hours=3))
    northern = await place(NORTH)
    assert await booked_technician(dispatch, northern) == anna
    await dispatch.client.put(
        f"/technicians/{oleg}/territories", headers=dispatch.dispatcher, json={"territory_ids": [str(NORTH)]}
    )
    clock.advance(timedelta(hours=3))
    nobody = await place(SOUTH)  # both of NORTH now: nobody may cross to it
    assert await job_status(dispatch, nobody) == "unplaceable"
    assert await booked_technician(dispatch, nobody) is None
    board = (await dispatch.client.get("/board", headers=dispatch.dispatcher)).json()
    [waiting] = [r for r in board["requests"] if r["request_id"] == str(nobody)]
    assert waiting["territory_id"] == str(SOUTH)
    assert "territory" in waiting["unplaceable_reason"] and "forbidden" in waiting["unplaceable_reason"]
    assert {t["id"]: t["territory_ids"] for t in board["technicians"]} == {anna: [str(NORTH)], oleg: [str(NORTH)]}


async def test_the_days_plan_keeps_visits_in_territory_and_says_why_when_crossing_is_forbidden(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    day = clock.now.date()
    anna = await dispatch.add_technician("Anna Koval", *NEAR, territory_ids=[str(NORTH)])
    oleg = await dispatch.add_technician("Oleg Petrov", *FAR, territory_ids=[str(SOUTH)])
    visit = maintenance(clock.now, SOUTH)
    await dispatch.publish(visit, occurred_at=clock.now)

    async def known() -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE territory_id = $1", SOUTH))

    await eventually(known, what="the visit reaches dispatch with its site's territory")

    planned = await dispatch.client.post(f"/plans/{day}/replan", headers=dispatch.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    assert await booked_technician(dispatch, visit.visit_id) == oleg  # the default cost keeps it in SOUTH

    await set_policy(dispatch, "allow", 0)
    await dispatch.client.post(f"/plans/{day}/replan", headers=dispatch.dispatcher, json={})
    assert await booked_technician(dispatch, visit.visit_id) == anna  # crossing is free: the shorter drive

    await set_policy(dispatch, "forbid")
    await dispatch.client.put(
        f"/technicians/{oleg}/territories", headers=dispatch.dispatcher, json={"territory_ids": [str(NORTH)]}
    )
    replanned = await dispatch.client.post(f"/plans/{day}/replan", headers=dispatch.dispatcher, json={})
    assert replanned.status_code == 200, replanned.text
    assert await booked_technician(dispatch, visit.visit_id) is None
    plan = (await dispatch.client.get(f"/plans/{day}", headers=dispatch.dispatcher)).json()
    [left] = [u for u in plan["unassigned"] if u["request_id"] == str(visit.visit_id)]
    assert left["reason"] == "outside_territory"
    assert "crossing is forbidden" in left["detail"]
