"""The dispatch service through its API and its event consumers, on real PostGIS and NATS."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.events.contracts import VisitPlanned
from shared.events.requests import ServiceRequestCreated
from shared.timestamps import utc_z
from tests.support.clock import suite_now
from tests.support.dispatch_events import publish_visits, request_created, visit_planned
from tests.support.polling import eventually

from .conftest import Dispatch

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it

TZ = ZoneInfo("Europe/Simferopol")
WEEK = {
    d: {"start": "08:00", "end": "17:00", "break_minutes": 30, "break_earliest": "12:00", "break_latest": "14:00"}
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}
SIMFEROPOL = (44.952, 34.102)


def tomorrow() -> date:
    return suite_now().astimezone(TZ).date() + timedelta(days=1)


def at_local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def visit(
    site: uuid.UUID, lat: float, lon: float, start: datetime, end: datetime, address: str, minutes: int = 45
) -> VisitPlanned:
    return visit_planned(start, end, (lat, lon), minutes=minutes, site_id=site, address=address)


def emergency(
    site: uuid.UUID, lat: float, lon: float, due_in: timedelta = timedelta(hours=4), customer: uuid.UUID | None = None
) -> ServiceRequestCreated:
    return request_created(
        suite_now(),
        (lat, lon),
        response_in=due_in,
        fix_in=2 * due_in,
        site_id=site,
        customer_id=customer or uuid.uuid4(),
    )


async def test_a_day_is_planned_from_contract_visits_and_each_technician_sees_it(dispatch: Dispatch) -> None:
    day = tomorrow()
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    oleg = await dispatch.add_technician("Oleg Petrov", 44.95, 34.11, weekly_shifts=WEEK)
    visits = [
        visit(uuid.uuid4(), 44.95 + k * 0.01, 34.10 + k * 0.01, at_local(day, 9), at_local(day, 16), f"Kievskaya {k}")
        for k in range(6)
    ]
    await publish_visits(dispatch, visits)
    await dispatch.publish(visits[0])  # a duplicate delivery changes nothing

    planned = await dispatch.client.post(f"/plans/{day}/replan", headers=dispatch.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    assert planned.json()["version"] == 1 and planned.json()["assigned"] == 6

    rows = await dispatch.sql(
        "SELECT request_id, technician_id, planned_start, planned_end FROM dispatch.assignments "
        "WHERE status = 'offered' ORDER BY planned_start"
    )
    assert {r["request_id"] for r in rows} == {v.visit_id for v in visits}  # booked under request_id = visit_id
    for r in rows:
        assert at_local(day, 9) <= r["planned_start"] <= at_local(day, 16)
    plan = (await dispatch.client.get(f"/plans/{day}", headers=dispatch.dispatcher)).json()
    assert plan["version"] == 1 and sum(len(r["stops"]) for r in plan["routes"]) == 6

    days = {}
    for technician in (anna, oleg):
        shown = await dispatch.client.get("/me/day", params={"day": str(day)}, headers=dispatch.technician(technician))
        assert shown.status_code == 200
        days[technician] = shown.json()
    stops = [s for d in days.values() for s in d["stops"]]
    assert len(stops) == 6 and all(s["site"]["address"].startswith("Kievskaya") for s in stops)
    assert all(d["plan_version"] == 1 for d in days.values())
    published = await dispatch.sql(
        "SELECT count(*) AS n FROM dispatch.outbox WHERE subject = 'fieldline.dispatch.plan.published.v1'"
    )
    assert published[0]["n"] >= 1


async def test_technician_off_sick_is_replanned_around_locked_visits(dispatch: Dispatch) -> None:
    day = tomorrow()
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    oleg = await dispatch.add_technician("Oleg Petrov", 44.95, 34.11, weekly_shifts=WEEK)
    visits = [
        visit(uuid.uuid4(), 44.95 + k * 0.005, 34.10, at_local(day, 9), at_local(day, 16), f"Lenina {k}", minutes=30)
        for k in range(4)
    ]
    await publish_visits(dispatch, visits)
    first = await dispatch.client.post(f"/plans/{day}/replan", headers=dispatch.dispatcher, json={})
    assert first.json()["assigned"] == 4
    rows = await dispatch.sql("SELECT id, technician_id::text AS tech, planned_start FROM dispatch.assignments")
    olegs = [r for r in rows if r["tech"] == oleg]
    if not olegs:  # the planner gave Anna everything: hand one to Oleg and lock it there
        moved = await dispatch.client.post(
            f"/assignments/{rows[0]['id']}/reassign",
            headers=dispatch.dispatcher,
            json={"technician_id": oleg, "planned_start": at_local(day, 15).isoformat()},
        )
        assert moved.status_code == 200, moved.text
        rows = await dispatch.sql("SELECT id, technician_id::text AS tech, planned_start FROM dispatch.assignments")
        olegs = [r for r in rows if r["tech"] == oleg]
    locked = olegs[0]
    assert (
        await dispatch.client.post(
            f"/assignments/{locked['id']}/lock", headers=dispatch.dispatcher, json={"locked": True}
        )
    ).json()["locked"] is True

    sick = await dispatch.client.post(
        f"/technicians/{anna}/absences",
        headers=dispatch.dispatcher,
        json={
            "kind": "sickness",
            "starts_at": at_local(day, 0).isoformat(),
            "ends_at": at_local(day, 23, 59).isoformat(),
        },
    )
    assert sick.status_code == 201, sick.text
    queued = await dispatch.sql("SELECT reason FROM dispatch.replan_requests WHERE day = $1", day)
    assert "Anna is off sick" in {r["reason"] for r in queued}

    second = await dispatch.client.post(
        f"/plans/{day}/replan", headers=dispatch.dispatcher, json={"reason": "Anna is off sick"}
    )
    assert second.status_code == 200 and second.json()["version"] == 2
    after = await dispatch.sql(
        "SELECT id, technician_id::text AS tech, planned_start, status "
        "FROM dispatch.assignments WHERE status = 'offered'"
    )
    assert all(r["tech"] == oleg for r in after)  # nothing is left on Anna's day
    kept = next(r for r in after if r["id"] == locked["id"])
    assert kept["planned_start"] == locked["planned_start"]  # the locked visit did not move
    diff = (await dispatch.client.get(f"/plans/{day}/diff", headers=dispatch.dispatcher)).json()
    moved_texts = [c["text"] for c in diff["changes"] if c["kind"] in ("moved", "dropped")]
    assert moved_texts and all("Anna is off sick" in t for t in moved_texts)
    assert any(t.startswith("visit Lenina") and "from Anna" in t and "to Oleg" in t for t in moved_texts)


async def test_emergency_is_placed_with_the_maintenance_due_at_the_same_site(dispatch: Dispatch) -> None:
    near = await dispatch.add_technician("Anna Koval", 44.95, 34.10)  # no shifts: always on duty
    await dispatch.add_technician("Ivan Sidorov", 45.35, 36.47)
    site = uuid.uuid4()
    now = suite_now()
    due = visit(site, 44.96, 34.11, now - timedelta(hours=1), now + timedelta(days=2), "Market, Lenina 1")
    await publish_visits(dispatch, [due])
    request = emergency(site, 44.96, 34.11)
    await dispatch.publish(request)

    async def booked() -> list[dict[str, object]]:
        rows = await dispatch.sql(
            "SELECT request_id, technician_id::text AS tech, planned_start, planned_end, eta "
            "FROM dispatch.assignments WHERE status = 'offered' ORDER BY planned_start"
        )
        return [dict(r) for r in rows] if len(rows) == 2 else []

    first, second = await eventually(booked, what="the emergency and its bundled visit are booked")
    assert first["request_id"] == request.request_id and second["request_id"] == due.visit_id
    assert first["tech"] == second["tech"] == near
    assert second["planned_start"] == first["planned_end"]  # done in the same stop, straight after
    assert first["eta"] <= request.response_due
    jobs = await dispatch.sql("SELECT bundled_with FROM dispatch.jobs WHERE request_id = $1", due.visit_id)
    assert jobs[0]["bundled_with"] == request.request_id
    created = await dispatch.sql(
        "SELECT payload->'data' AS data FROM dispatch.outbox WHERE subject = 'fieldline.dispatch.assignment.created.v1'"
    )
    assert len(created) == 2
    queued = await dispatch.sql("SELECT reason FROM dispatch.replan_requests")
    assert any("emergency" in r["reason"] for r in queued)  # the rest of the day is re-planned in the background


async def test_concurrent_emergencies_never_double_book(dispatch: Dispatch) -> None:
    await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    await dispatch.add_technician("Oleg Petrov", 44.99, 34.15)
    placer = dispatch.app.state.dispatch.placer
    db = dispatch.app.state.runtime.db
    requests = [emergency(uuid.uuid4(), 44.96 + k * 0.002, 34.11, due_in=timedelta(hours=12)) for k in range(8)]

    async def file(request: ServiceRequestCreated) -> None:
        from shared.events.envelope import Envelope

        async with db.transaction() as session:
            envelope = Envelope(type=request.subject, data=request.model_dump(mode="json"))
            await placer.on_request_created(session, envelope, request)

    await asyncio.gather(*(file(r) for r in requests))
    rows = await dispatch.sql(
        "SELECT request_id, technician_id, planned_start, planned_end FROM dispatch.assignments "
        "WHERE status IN ('offered', 'accepted', 'en_route', 'on_site')"
    )
    assert sorted(r["request_id"] for r in rows) == sorted(r.request_id for r in requests)
    by_technician: dict[uuid.UUID, list[tuple[datetime, datetime]]] = {}
    for r in rows:
        by_technician.setdefault(r["technician_id"], []).append((r["planned_start"], r["planned_end"]))
    for slots in by_technician.values():
        slots.sort()
        for (_, end), (start, _) in itertools.pairwise(slots):
            assert end <= start
    # the booking's first step is dated when it was booked, not when the technician is to arrive
    booked = await dispatch.sql(
        "SELECT h.at, a.booked_at, (h.detail->>'planned_start')::timestamptz AS told, a.planned_start "
        "FROM dispatch.assignment_history h JOIN dispatch.assignments a ON a.id = h.assignment_id "
        "WHERE h.status = 'offered'"
    )
    assert len(booked) == len(requests)
    assert all(r["at"] == r["booked_at"] <= r["told"] for r in booked)  # later bookings may push it


async def _offered_assignment(dispatch: Dispatch, technician: str) -> str:
    site = uuid.uuid4()
    await publish_visits(
        dispatch, [visit(site, 44.96, 34.11, suite_now(), suite_now() + timedelta(days=3), "Gagarina 5")]
    )
    job = await dispatch.sql("SELECT request_id FROM dispatch.jobs")
    assigned = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={"request_id": str(job[0]["request_id"]), "technician_id": technician},
    )
    assert assigned.status_code == 201, assigned.text
    return str(assigned.json()["id"])


async def test_a_replayed_offline_queue_changes_nothing_and_gets_the_same_answers(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    assignment = await _offered_assignment(dispatch, anna)
    # the service's clock stands still here: the queue's steps are seconds apart after the booking (a device's
    # time is believed only from the booking on, and up to 2 minutes ahead of the server's clock)
    now = suite_now()
    queue = [
        ("POST", f"/me/assignments/{assignment}/accept", {"at": now.isoformat()}),
        (
            "POST",
            "/me/positions",
            {
                "pings": [
                    {"at": (now + timedelta(seconds=10)).isoformat(), "position": {"lat": 44.951, "lon": 34.101}},
                    {"at": (now + timedelta(seconds=20)).isoformat(), "position": {"lat": 44.955, "lon": 34.105}},
                ]
            },
        ),
        (
            "POST",
            f"/me/assignments/{assignment}/status",
            {
                "status": "en_route",
                "at": (now + timedelta(seconds=20)).isoformat(),
                "position": {"lat": 44.955, "lon": 34.105},
            },
        ),
        (
            "POST",
            f"/me/assignments/{assignment}/status",
            {
                "status": "on_site",
                "at": (now + timedelta(seconds=30)).isoformat(),
                "position": {"lat": 44.96, "lon": 34.11},
            },
        ),
        (
            "POST",
            f"/me/assignments/{assignment}/report",
            {
                "outcome": "completed",
                "work_done": "cleaned the condenser",
                "notes": "",
                "parts_used": [{"part": "door gasket", "quantity": 1}],
                "signed_by": "M. Ivanova",
                "at": (now + timedelta(seconds=40)).isoformat(),
            },
        ),
        ("POST", f"/me/assignments/{assignment}/status", {"status": "en_route"}),  # refused: it is final
    ]
    queue = [(m, p, {**body, "client_command_id": str(uuid.uuid4())}) for m, p, body in queue]
    headers = dispatch.technician(anna)

    async def replay() -> list[tuple[int, object]]:
        answers = []
        for method, path, body in queue:
            response = await dispatch.client.request(method, path, json=body, headers=headers)
            answers.append((response.status_code, response.json()))
        return answers

    first = await replay()
    assert [s for s, _ in first] == [200, 200, 200, 200, 200, 409]
    reported = first[4][1]
    assert isinstance(reported, dict) and (reported["status"], reported["outcome"]) == ("completed", "completed")
    counted = (
        "SELECT (SELECT count(*) FROM dispatch.assignment_history) AS h, "
        "(SELECT count(*) FROM dispatch.outbox) AS o, (SELECT count(*) FROM dispatch.position_pings) AS p"
    )
    before = dict((await dispatch.sql(counted))[0])
    assert await replay() == first
    assert await replay() == first
    assert dict((await dispatch.sql(counted))[0]) == before
    done = await dispatch.sql("SELECT status, report->>'signed_by' AS signer FROM dispatch.assignments")
    assert done[0]["status"] == "completed" and done[0]["signer"] == "M. Ivanova"
    steps = await dispatch.sql(
        "SELECT status, position IS NOT NULL AS positioned FROM dispatch.assignment_history "
        "WHERE assignment_id = $1 ORDER BY id",
        uuid.UUID(assignment),
    )
    assert [s["status"] for s in steps] == ["offered", "accepted", "en_route", "on_site", "completed"]
    first = await dispatch.sql(
        "SELECT h.at, a.booked_at FROM dispatch.assignment_history h JOIN dispatch.assignments a "
        "ON a.id = h.assignment_id WHERE h.assignment_id = $1 AND h.status = 'offered'",
        uuid.UUID(assignment),
    )
    assert [r["at"] for r in first] == [first[0]["booked_at"]]
    assert steps[2]["positioned"] and steps[3]["positioned"]


async def test_a_technician_cannot_act_on_another_technicians_job(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    oleg = await dispatch.add_technician("Oleg Petrov", 44.99, 34.15)
    assignment = await _offered_assignment(dispatch, anna)
    headers = dispatch.technician(oleg)
    for path, body in (
        (f"/me/assignments/{assignment}/accept", {}),
        (f"/me/assignments/{assignment}/decline", {"reason": "mine now"}),
        (f"/me/assignments/{assignment}/status", {"status": "en_route"}),
    ):
        response = await dispatch.client.post(
            path, headers=headers, json={**body, "client_command_id": str(uuid.uuid4())}
        )
        assert response.status_code == 404, response.text
    assert (await dispatch.client.get(f"/assignments/{assignment}", headers=headers)).status_code == 404
    shown = await dispatch.client.get("/me/day", headers=headers)
    assert shown.json()["stops"] == []
    status = await dispatch.sql("SELECT status FROM dispatch.assignments")
    assert status[0]["status"] == "offered"


async def test_on_site_before_en_route_is_refused(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    assignment = await _offered_assignment(dispatch, anna)
    response = await dispatch.client.post(
        f"/me/assignments/{assignment}/status",
        headers=dispatch.technician(anna),
        json={"client_command_id": str(uuid.uuid4()), "status": "on_site"},
    )
    assert response.status_code == 409 and "cannot go from offered to on_site" in response.json()["detail"]


async def test_manual_assignment_conflict_names_the_clashing_booking(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    first = await _offered_assignment(dispatch, anna)
    booked = (await dispatch.client.get(f"/assignments/{first}", headers=dispatch.dispatcher)).json()
    other = emergency(uuid.uuid4(), 44.97, 34.12)
    await dispatch.sql(
        "INSERT INTO dispatch.jobs (request_id, customer_id, site_id, kind, priority, location, "
        "duration_minutes, status) VALUES ($1, $2, $3, 'routine', 'P3', "
        "'SRID=4326;POINT(34.12 44.97)', 60, 'open')",
        other.request_id,
        other.customer_id,
        other.site_id,
    )
    clash = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={"request_id": str(other.request_id), "technician_id": anna, "planned_start": booked["planned_start"]},
    )
    assert clash.status_code == 409
    assert clash.headers["content-type"].startswith("application/problem+json")
    assert booked["request_id"] in clash.json()["detail"] and "Anna Koval is already booked" in clash.json()["detail"]


async def test_a_technician_goes_on_break_and_back_but_not_in_the_middle_of_a_job(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    headers = dispatch.technician(anna)

    started = suite_now() - timedelta(minutes=1)  # as the device says; the break runs from then
    ends = utc_z(started + timedelta(minutes=30))  # the default length (settings.break_minutes)

    async def break_(on_break: bool, command: str | None = None) -> tuple[int, dict[str, object]]:
        response = await dispatch.client.post(
            "/me/break",
            headers=headers,
            json={"client_command_id": command or str(uuid.uuid4()), "on_break": on_break, "at": started.isoformat()},
        )
        return response.status_code, response.json()

    async def status() -> str:
        return str((await dispatch.client.get(f"/technicians/{anna}", headers=headers)).json()["status"])

    command = str(uuid.uuid4())
    on_break = {"technician_id": anna, "status": "on_break", "break_ends_at": ends}
    assert await break_(True, command) == (200, on_break)
    shown = (await dispatch.client.get(f"/technicians/{anna}", headers=headers)).json()
    assert shown["status"] == "on_break"
    assert datetime.fromisoformat(shown["break_ends_at"]) == datetime.fromisoformat(ends)
    assert await break_(False) == (200, {"technician_id": anna, "status": "available", "break_ends_at": None})
    assert await status() == "available"
    assert await break_(True, command) == (200, on_break)  # a replay
    assert await status() == "available"  # ... changes nothing
    zero = await dispatch.client.post(
        "/me/break", headers=headers, json={"client_command_id": str(uuid.uuid4()), "on_break": True, "minutes": 0}
    )
    assert zero.status_code == 422 and "minutes" in zero.text

    assignment = await _offered_assignment(dispatch, anna)
    for step, body in (("accept", {}), ("status", {"status": "en_route"})):
        moved = await dispatch.client.post(
            f"/me/assignments/{assignment}/{step}",
            headers=headers,
            json={**body, "client_command_id": str(uuid.uuid4())},
        )
        assert moved.status_code == 200, moved.text
    refused, problem = await break_(True)
    assert refused == 409 and problem["detail"] == "cannot start a break while en route"
    assert await status() == "en_route"


async def test_an_emergency_fitted_in_first_pushes_the_route_and_tells_the_customers(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)  # always on duty
    later = suite_now() + timedelta(minutes=20)
    site = uuid.uuid4()
    await publish_visits(
        dispatch, [visit(site, 44.951, 34.101, suite_now(), suite_now() + timedelta(days=3), "Gagarina 5")]
    )
    (job,) = await dispatch.sql("SELECT request_id, customer_id FROM dispatch.jobs")
    assigned = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={
            "request_id": str(job["request_id"]),
            "technician_id": anna,
            "planned_start": later.isoformat(),
            "lock": False,  # not pinned: an emergency may push it
        },
    )
    assert assigned.status_code == 201, assigned.text
    booked = assigned.json()
    (before,) = await dispatch.sql("SELECT route_version FROM dispatch.technicians")

    request = emergency(uuid.uuid4(), 44.95, 34.10, due_in=timedelta(hours=1))
    await dispatch.publish(request)

    async def pushed() -> list[dict[str, object]]:
        rows = await dispatch.sql(
            "SELECT payload->'data' AS data FROM dispatch.outbox "
            "WHERE subject = 'fieldline.dispatch.assignment.changed.v1'"
        )
        return [json.loads(r["data"]) for r in rows]

    (changed,) = await eventually(pushed, what="the visit is pushed later")
    rows = {
        r["request_id"]: r
        for r in await dispatch.sql(
            "SELECT request_id, technician_id::text AS tech, status, planned_start, planned_end, eta "
            "FROM dispatch.assignments"
        )
    }
    urgent, moved = rows[request.request_id], rows[job["request_id"]]
    assert urgent["tech"] == anna and urgent["status"] == "offered" and urgent["planned_start"] < later
    assert moved["planned_start"] >= urgent["planned_end"] and moved["status"] == "offered"
    assert changed["assignment_id"] == booked["id"] and changed["customer_id"] == str(job["customer_id"])
    assert datetime.fromisoformat(changed["previous_eta"]) == datetime.fromisoformat(booked["eta"])
    assert datetime.fromisoformat(changed["planned_start"]) == moved["planned_start"]
    assert "emergency was fitted in before it (Anna)" in changed["reason"]
    (after,) = await dispatch.sql("SELECT route_version FROM dispatch.technicians")
    assert after["route_version"] == before["route_version"] + 1
    history = await dispatch.sql(
        "SELECT h.status FROM dispatch.assignment_history h JOIN dispatch.assignments a "
        "ON a.id = h.assignment_id WHERE a.request_id = $1",
        request.request_id,
    )
    assert [h["status"] for h in history] == ["offered"]
    queued = await dispatch.sql("SELECT reason FROM dispatch.replan_requests")
    assert any("fitted into Anna's day" in r["reason"] for r in queued)


async def test_an_emergency_nobody_can_reach_is_listed_at_risk(dispatch: Dispatch) -> None:
    await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    far = emergency(uuid.uuid4(), 48.0, 40.0)  # well beyond the reach of anyone on duty
    await dispatch.publish(far)

    async def unplaceable() -> bool:
        rows = await dispatch.sql("SELECT status FROM dispatch.jobs WHERE request_id = $1", far.request_id)
        return bool(rows and rows[0]["status"] == "unplaceable")

    await eventually(unplaceable, what="the emergency is found unplaceable")
    # the same place, due in two days: beyond the watch's 4-hour horizon nobody predicts it yet, so not at risk
    later = emergency(uuid.uuid4(), 48.0, 40.0, due_in=timedelta(days=2))
    await dispatch.publish(later)

    async def known() -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", later.request_id))

    await eventually(known, what="the later job reaches dispatch")
    risky = (await dispatch.client.get("/sla-at-risk", headers=dispatch.dispatcher)).json()
    assert [r["request_id"] for r in risky] == [str(far.request_id)]
    board = (await dispatch.client.get("/board", headers=dispatch.dispatcher)).json()
    shown = next(r for r in board["requests"] if r["request_id"] == str(later.request_id))
    assert shown["at_risk"] is False and shown["predicted_arrival"] is None and shown["minutes_left"] > 2000
    assert risky[0]["reason"] == "nobody can get there" and risky[0]["minutes_late"] is None
    assert risky[0]["predicted_arrival"] is None and risky[0]["assignment"] is None


async def test_a_booked_emergency_predicted_late_is_raised_once_naming_its_booking(dispatch: Dispatch) -> None:
    """The SLA watch: an emergency booked to a technician who cannot arrive in time is raised to the dispatchers
    as SlaAtRisk with that booking and technician (the loop's round, run here directly)."""
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    # about 45 km away and due in 20 minutes: booked anyway (the earliest arrival), and late
    late = emergency(uuid.uuid4(), 45.30, 34.40, due_in=timedelta(minutes=20))
    await dispatch.publish(late)

    async def booked() -> list[Any]:
        query = "SELECT id, technician_id FROM dispatch.assignments WHERE request_id = $1"
        return await dispatch.sql(query, late.request_id)

    ((assignment_id, technician_id),) = await eventually(booked, what="the late emergency is booked")
    cases = dispatch.app.state.dispatch
    for _ in range(2):  # a second round raises nothing new
        async with dispatch.app.state.runtime.db.transaction() as session:
            await cases.desk.watch(session)

    raised = await dispatch.sql("SELECT payload FROM dispatch.outbox WHERE subject LIKE '%sla_at_risk%' ORDER BY id")
    events = [json.loads(r["payload"])["data"] for r in raised]
    (event,) = [e for e in events if e["reason"] == "the assigned technician is predicted late"]
    assert event["request_id"] == str(late.request_id)
    assert event["assignment_id"] == str(assignment_id) and event["technician_id"] == str(technician_id) == anna
