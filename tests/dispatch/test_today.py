"""Re-planning the running day on an injected clock: started visits stay put, overrunning jobs move the rest."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from services.dispatch.usecases.replanning import run_queued_replans
from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import VisitPlanned
from tests.support.polling import eventually

from .conftest import MONDAY_0800, Clock, Dispatch

TODAY = MONDAY_0800.date()
WEEK = {d: {"start": "08:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def at(hh: int, mm: int = 0) -> datetime:
    return MONDAY_0800.replace(hour=hh, minute=mm)


async def visits_today(dispatch: Dispatch, count: int) -> list[VisitPlanned]:
    visits = [
        VisitPlanned(
            visit_id=uuid.uuid4(),
            contract_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            site_id=uuid.uuid4(),
            location=GeoPoint(lat=44.95 + k * 0.004, lon=34.10),
            due_on=TODAY.isoformat(),
            window_start=at(9),
            window_end=at(16),
            duration_minutes=30,
            skills=[SkillNeed(skill="refrigeration", min_level=2)],
            address=f"Lenina {k + 1}",
        )
        for k in range(count)
    ]
    for v in visits:
        await dispatch.publish(v)

    async def all_known() -> bool:
        rows = await dispatch.sql("SELECT count(*) AS n FROM dispatch.jobs")
        return bool(rows[0]["n"] == count)

    await eventually(all_known, what="visits reach dispatch")
    return visits


async def assign(dispatch: Dispatch, visit: VisitPlanned, technician: str, start: datetime) -> str:
    response = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={"request_id": str(visit.visit_id), "technician_id": technician, "planned_start": start.isoformat()},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def step(dispatch: Dispatch, technician: str, assignment: str, status: str, when: datetime) -> None:
    path = f"/me/assignments/{assignment}/accept" if status == "accepted" else f"/me/assignments/{assignment}/status"
    body: dict[str, Any] = {
        "client_command_id": str(uuid.uuid4()),
        "at": when.isoformat(),
        "position": {"lat": 44.95, "lon": 34.10},
    }
    if status != "accepted":
        body["status"] = status
    response = await dispatch.client.post(path, headers=dispatch.technician(technician), json=body)
    assert response.status_code == 200, response.text


async def booking(dispatch: Dispatch, assignment: str) -> dict[str, Any]:
    rows = await dispatch.sql(
        "SELECT technician_id::text AS tech, status, planned_start, planned_end "
        "FROM dispatch.assignments WHERE id = $1",
        uuid.UUID(assignment),
    )
    return dict(rows[0])


async def test_started_visits_stay_frozen_when_today_is_replanned(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10, weekly_shifts=WEEK, overtime_minutes=0)
    oleg = await dispatch.add_technician("Oleg Petrov", 44.96, 34.11, weekly_shifts=WEEK)
    v1, v2, v3, v4 = await visits_today(dispatch, 4)
    anna_first, anna_second = await assign(dispatch, v1, anna, at(9)), await assign(dispatch, v2, anna, at(11))
    oleg_first, oleg_second = await assign(dispatch, v3, oleg, at(9)), await assign(dispatch, v4, oleg, at(11))

    clock.now = at(8, 40)
    await step(dispatch, anna, anna_first, "accepted", at(8, 35))
    await step(dispatch, anna, anna_first, "en_route", at(8, 40))
    clock.now = at(9, 5)
    await step(dispatch, oleg, oleg_first, "accepted", at(8, 45))
    await step(dispatch, oleg, oleg_first, "en_route", at(8, 50))
    await step(dispatch, oleg, oleg_first, "on_site", at(9, 5))
    frozen = {a: await booking(dispatch, a) for a in (anna_first, oleg_first)}

    clock.now = at(9, 10)
    sick = await dispatch.client.post(
        f"/technicians/{anna}/absences",
        headers=dispatch.dispatcher,
        json={"kind": "sickness", "starts_at": at(9, 10).isoformat(), "ends_at": at(23, 59).isoformat()},
    )
    assert sick.status_code == 201, sick.text
    replanned = await dispatch.client.post(
        f"/plans/{TODAY}/replan", headers=dispatch.dispatcher, json={"reason": "Anna is off sick"}
    )
    assert replanned.status_code == 200, replanned.text
    (stamp,) = await dispatch.sql("SELECT created_at FROM dispatch.plans ORDER BY created_at DESC LIMIT 1")
    assert stamp["created_at"] == at(9, 10), "a plan is dated by the service's clock, not the database's"

    for assignment, before in frozen.items():  # technician, times and status untouched
        assert await booking(dispatch, assignment) == before
    assert frozen[anna_first]["status"] == "en_route" and frozen[oleg_first]["status"] == "on_site"
    moved = await booking(dispatch, anna_second)
    assert moved["tech"] == oleg and moved["status"] == "offered"  # Anna is off: her visit not yet started went
    olegs = sorted(
        [await booking(dispatch, a) for a in (oleg_first, oleg_second, anna_second)], key=lambda b: b["planned_start"]
    )
    assert olegs[0]["planned_end"] == frozen[oleg_first]["planned_end"]  # the on-site job comes first
    for earlier, later in itertools.pairwise(olegs):
        assert earlier["planned_end"] <= later["planned_start"]
    assert all(b["planned_start"] >= clock.now for b in olegs[1:])
    changes = replanned.json()["changes"]
    changed = {c["request_id"] for c in changes}
    assert str(v1.visit_id) not in changed and str(v3.visit_id) not in changed
    assert any(c["request_id"] == str(v2.visit_id) and "Anna is off sick" in c["text"] for c in changes)


async def test_a_job_overrunning_its_grace_replans_the_rest_of_the_day(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    cases = dispatch.app.state.dispatch
    db = dispatch.app.state.runtime.db
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10, weekly_shifts=WEEK)
    v1, v2 = await visits_today(dispatch, 2)
    first = await assign(dispatch, v1, anna, at(9))  # 09:00-09:30
    second = await assign(dispatch, v2, anna, at(9, 45))
    clock.now = at(9)
    await step(dispatch, anna, first, "accepted", at(8, 40))
    await step(dispatch, anna, first, "en_route", at(8, 45))
    await step(dispatch, anna, first, "on_site", at(9))

    async def watch() -> int:
        async with db.transaction() as session:
            return int(await cases.desk.watch_overruns(session))

    async def overrun_requests() -> list[str]:
        rows = await dispatch.sql("SELECT reason FROM dispatch.replan_requests WHERE reason LIKE '%overran%'")
        return [r["reason"] for r in rows]

    clock.now = at(9, 40)  # past the planned end, within the 15 minutes' grace
    assert await watch() == 0 and await overrun_requests() == []
    clock.now = at(9, 50)
    assert await watch() == 1
    assert await overrun_requests() == ["job Lenina 1 overran"]
    assert await watch() == 0  # noticed once per grace period

    before = await booking(dispatch, first)
    assert await run_queued_replans(db, cases.replanner) == 1
    assert await booking(dispatch, first) == before  # the job on site is not moved
    pushed = await booking(dispatch, second)
    assert pushed["tech"] == anna and pushed["planned_start"] >= at(9, 50) + timedelta(minutes=15)
    diff = (await dispatch.client.get(f"/plans/{TODAY}/diff", headers=dispatch.dispatcher)).json()
    assert any(c["request_id"] == str(v2.visit_id) and "job Lenina 1 overran" in c["text"] for c in diff["changes"])

    clock.now = at(10, 6)  # still on site a grace period later: the day is re-planned again
    assert await watch() == 1
    assert len(await overrun_requests()) == 1  # the first request was consumed by the re-plan
