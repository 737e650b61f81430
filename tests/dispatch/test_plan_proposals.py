"""A re-plan the dispatcher reads before applying it: a proposal books nothing, accepting applies exactly it (as
the day's next version), a day that moved on since refuses it, a closed one can't be used twice. Real PostGIS
and NATS, the clock injected."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.dispatch.planning import Plan, PlanKpis, Priority, Route, ScheduledBreak, SolveStatus, Stop
from services.dispatch.planning.codec import plan_from_json, plan_to_json
from services.dispatch.planning.model import UnassignedReason, UnassignedVisit
from tests.support.polling import eventually

from .conftest import Clock, Dispatch
from .test_live_plan import HOME, TODAY, WEEK, at, planned_visit


def test_a_plan_survives_its_json_round_trip() -> None:
    plan = Plan(
        SolveStatus.FEASIBLE,
        (
            Route(
                "t1",
                0,
                28_800.0,
                61_200.0,
                (Stop("v1", 30_000.0, 30_600.0, 34_200.0, 1_200.0, 600.0),),
                (ScheduledBreak(43_200.0, 45_900.0),),
                900.0,
                2_100.0,
                0.0,
            ),
        ),
        (UnassignedVisit("v2", Priority.P2, UnassignedReason.CHANGE_BUDGET, "3 of 2 moves"),),
        PlanKpis(2_100.0, 1, 1, 40.0, 0.0, 0, 123.5, 0.8),
    )
    assert plan_from_json(plan_to_json(plan)) == plan


async def _known(dispatch: Dispatch, request_id: uuid.UUID) -> bool:
    return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", request_id))


async def _bookings(dispatch: Dispatch) -> list[tuple[uuid.UUID, uuid.UUID, object]]:
    rows = await dispatch.sql(
        "SELECT request_id, technician_id, planned_start FROM dispatch.assignments "
        "WHERE status NOT IN ('cancelled', 'declined') ORDER BY request_id"
    )
    return [(r["request_id"], r["technician_id"], r["planned_start"]) for r in rows]


async def test_a_proposal_books_nothing_and_accepting_applies_exactly_it(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    clock.now = at(8)
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    visits = [planned_visit(HOME[0] + 0.01 * i, HOME[1], at(9), at(16)) for i in (1, 2)]
    for visit in visits:
        await dispatch.publish(visit)
        await eventually(lambda v=visit: _known(dispatch, v.visit_id), what="the visit reaches dispatch")

    made = await dispatch.client.post(
        f"/plans/{TODAY}/proposals", headers=dispatch.dispatcher, json={"reason": "morning check", "change_budget": 2}
    )
    assert made.status_code == 201, made.text
    proposal = made.json()
    assert proposal["status"] == "open" and proposal["change_budget"] == 2 and proposal["based_on_version"] is None
    assert proposal["counts"]["added"] == 2 and {c["kind"] for c in proposal["changes"]} == {"added"}
    assert {c["request_id"] for c in proposal["changes"]} == {str(v.visit_id) for v in visits}
    assert await _bookings(dispatch) == []  # nothing booked, no plan version
    assert await dispatch.sql("SELECT 1 FROM dispatch.plans") == []
    again = await dispatch.client.get(f"/plans/{TODAY}/proposals/{proposal['id']}", headers=dispatch.dispatcher)
    assert again.json()["changes"] == proposal["changes"]

    accepted = await dispatch.client.post(
        f"/plans/{TODAY}/proposals/{proposal['id']}/accept", headers=dispatch.dispatcher
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["version"] == 1 and "accepted by" in accepted.json()["reason"]
    booked = await _bookings(dispatch)
    proposed = {(uuid.UUID(c["request_id"]), uuid.UUID(c["to_technician_id"])) for c in proposal["changes"]}
    assert {(r, t) for r, t, _ in booked} == proposed  # exactly what was shown
    starts = {uuid.UUID(c["request_id"]): c["to_start"] for c in proposal["changes"]}
    assert all(s.isoformat().replace("+00:00", "Z") == starts[r] for r, _, s in booked)

    twice = await dispatch.client.post(f"/plans/{TODAY}/proposals/{proposal['id']}/accept", headers=dispatch.dispatcher)
    assert twice.status_code == 409 and "already accepted" in twice.json()["detail"]
    shown = await dispatch.client.get(f"/plans/{TODAY}/proposals/{proposal['id']}", headers=dispatch.dispatcher)
    assert shown.json()["status"] == "accepted" and shown.json()["plan_version"] == 1


async def test_a_proposal_the_day_moved_on_from_is_refused_and_changes_nothing(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    clock.now = at(8)
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    visit = planned_visit(HOME[0] + 0.01, HOME[1], at(9), at(16))
    await dispatch.publish(visit)
    await eventually(lambda: _known(dispatch, visit.visit_id), what="the visit reaches dispatch")
    stale = (await dispatch.client.post(f"/plans/{TODAY}/proposals", headers=dispatch.dispatcher)).json()
    fresh = (await dispatch.client.post(f"/plans/{TODAY}/proposals", headers=dispatch.dispatcher)).json()
    # the day moves on: a re-plan books the visit after both proposals were made
    assert (await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)).status_code == 200
    before = await _bookings(dispatch)

    refused = await dispatch.client.post(f"/plans/{TODAY}/proposals/{stale['id']}/accept", headers=dispatch.dispatcher)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "the day changed after this proposal" in refused.json()["detail"]
    assert await _bookings(dispatch) == before
    (plans,) = await dispatch.sql("SELECT count(*) AS n FROM dispatch.plans")
    assert plans["n"] == 1

    discarded = await dispatch.client.delete(f"/plans/{TODAY}/proposals/{fresh['id']}", headers=dispatch.dispatcher)
    assert discarded.status_code == 204
    gone = await dispatch.client.post(f"/plans/{TODAY}/proposals/{fresh['id']}/accept", headers=dispatch.dispatcher)
    assert gone.status_code == 409 and "already discarded" in gone.json()["detail"]

    late = (await dispatch.client.post(f"/plans/{TODAY}/proposals", headers=dispatch.dispatcher)).json()
    assert late["based_on_version"] == 1
    clock.now += timedelta(minutes=11)
    expired = await dispatch.client.post(f"/plans/{TODAY}/proposals/{late['id']}/accept", headers=dispatch.dispatcher)
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]
    listed = await dispatch.client.get(f"/plans/{TODAY}/proposals/{late['id']}", headers=dispatch.dispatcher)
    assert listed.json()["status"] == "expired"
    other_day = await dispatch.client.get(
        f"/plans/{TODAY + timedelta(days=1)}/proposals/{late['id']}", headers=dispatch.dispatcher
    )
    assert other_day.status_code == 404


async def test_only_dispatchers_propose_and_a_budget_out_of_range_names_the_field(clocked_dispatch: Dispatch) -> None:
    dispatch = clocked_dispatch
    technician = await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    forbidden = await dispatch.client.post(f"/plans/{TODAY}/proposals", headers=dispatch.technician(technician))
    assert forbidden.status_code == 403
    bad = await dispatch.client.post(
        f"/plans/{TODAY}/proposals", headers=dispatch.dispatcher, json={"change_budget": -1}
    )
    assert bad.status_code == 422 and "change_budget" in bad.text
    missing = await dispatch.client.post(f"/plans/{TODAY}/proposals/{uuid.uuid4()}/accept", headers=dispatch.dispatcher)
    assert missing.status_code == 404
