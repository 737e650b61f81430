"""Issue 11 on the dispatcher's live day, through the API on real PostGIS and NATS with the clock injected:
manual decisions stick (item 3), no job is left without an owner (item 4), the board respects absences and
shifts, ETAs follow statuses and positions, implausible steps are flagged (item 5), and the API's rough edges
(NUL in text, timestamp forms) are gone (item 6)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from services.dispatch.planning import GeoPoint as PlanPoint
from services.dispatch.planning import RoadFactorTravel
from shared.auth import Role
from shared.events.contracts import VisitPlanned
from shared.events.requests import ServiceRequestCreated
from shared.timestamps import utc_z
from tests.support.dispatch_events import publish_visits, request_created, visit_planned
from tests.support.polling import eventually

from .conftest import MONDAY_0800, Clock, Dispatch

TODAY = MONDAY_0800.date()
WEEK = {d: {"start": "08:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
EVENINGS = {d: {"start": "14:00", "end": "22:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SIMFEROPOL = (44.95, 34.10)
BAKHCHYSARAI = (44.75, 33.86)  # about 30 km from Simferopol as the crow flies
SITE = (44.952, 34.102)
FAR_AWAY = (44.95, 34.86)  # 60 km east of the site


def at(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return MONDAY_0800.replace(hour=hh, minute=mm, second=ss)


def drive(origin: tuple[float, float], destination: tuple[float, float]) -> timedelta:
    seconds = RoadFactorTravel(road_factor=1.35).durations([PlanPoint(*origin)], [PlanPoint(*destination)])[0, 0]
    return timedelta(seconds=float(seconds))


def emergency(now: datetime, site: tuple[float, float] = SITE) -> ServiceRequestCreated:
    return request_created(now, site, address="Kirova 7")


def visit(lat: float, lon: float, address: str) -> VisitPlanned:
    return visit_planned(at(9), at(16), (lat, lon), minutes=30, address=address)


async def active(dispatch: Dispatch, request_id: uuid.UUID) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        rows = await dispatch.sql(
            "SELECT id, technician_id::text AS tech, status, eta, planned_start, locked FROM dispatch.assignments "
            "WHERE request_id = $1 AND status IN ('offered', 'accepted', 'en_route', 'on_site')",
            request_id,
        )
        return dict(rows[0]) if rows else None

    return await eventually(found, what="the request is booked")


async def job_status(dispatch: Dispatch, request_id: uuid.UUID) -> str:
    return str((await dispatch.sql("SELECT status FROM dispatch.jobs WHERE request_id = $1", request_id))[0][0])


async def step(
    dispatch: Dispatch,
    technician: str,
    assignment: uuid.UUID | str,
    status: str,
    when: datetime,
    where: tuple[float, float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    path = {"accepted": "accept", "report": "report"}.get(status, "status")
    body: dict[str, Any] = {"client_command_id": str(uuid.uuid4()), "at": when.isoformat(), **extra}
    if where is not None:
        body["position"] = {"lat": where[0], "lon": where[1]}
    if path == "status":
        body["status"] = status
    response = await dispatch.client.post(
        f"/me/assignments/{assignment}/{path}", headers=dispatch.technician(technician), json=body
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def outbox(dispatch: Dispatch, subject_part: str, assignment: uuid.UUID | str) -> list[dict[str, Any]]:
    rows = await dispatch.sql(
        "SELECT payload FROM dispatch.outbox WHERE subject LIKE $1 ORDER BY id", f"%{subject_part}%"
    )
    found = []
    for r in rows:
        data = json.loads(r["payload"])["data"]
        if data["assignment_id"] == str(assignment):
            found.append(data)
    return found


# --- item 3: manual decisions stick -------------------------------------------------------------------------


async def test_a_dispatchers_reassignment_is_pinned_kept_by_replans_shown_and_released(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    olga = {"Authorization": f"Bearer {dispatch.keys.token(Role.DISPATCHER, 'dispatcher-olga')}"}
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    oleg = await dispatch.add_technician("Oleg Petrov", *BAKHCHYSARAI, weekly_shifts=WEEK)
    visits = [visit(SIMFEROPOL[0] + k * 0.003, SIMFEROPOL[1], f"Lenina {k + 1}") for k in range(3)]
    await publish_visits(dispatch, visits)
    planned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=olga)
    assert planned.status_code == 200, planned.text
    booked = {v.visit_id: await active(dispatch, v.visit_id) for v in visits}
    assert all(b["tech"] == anna for b in booked.values())  # all next to Anna; Oleg is 30 km away
    kept, released = visits[0].visit_id, visits[1].visit_id

    for request_id in (kept, released):
        moved = await dispatch.client.post(
            f"/assignments/{booked[request_id]['id']}/reassign",
            headers=olga,
            json={"technician_id": oleg, "planned_start": at(11 if request_id == kept else 13).isoformat()},
        )
        assert moved.status_code == 200, moved.text
        shown = moved.json()
        assert shown["technician_id"] == oleg and shown["locked"] is True  # a manual decision is pinned
        assert shown["locked_by"] == "dispatcher-olga" and shown["locked_at"] == "2030-03-04T05:00:00Z"
        assert shown["first_eta"] == shown["eta"]  # the dispatcher's promise is the one re-plans keep to
    unpinned = await dispatch.client.delete(f"/assignments/{booked[released]['id']}/lock", headers=olga)
    assert unpinned.status_code == 200 and unpinned.json()["locked"] is False
    assert unpinned.json()["locked_by"] is None

    clock.advance(timedelta(seconds=30))
    again = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=olga, json={"reason": "automatic"})
    assert again.status_code == 200, again.text
    after = await active(dispatch, kept)
    assert after["tech"] == oleg and after["planned_start"] == at(11) and after["locked"]
    assert (await active(dispatch, released))["planned_start"] < at(13)  # released: the planner moved it earlier

    board = (await dispatch.client.get("/board", headers=olga)).json()
    olegs_route = next(t for t in board["technicians"] if t["id"] == oleg)["route"]
    pinned = next(a for a in olegs_route if a["request_id"] == str(kept))
    assert pinned["locked"] is True and pinned["locked_by"] == "dispatcher-olga"
    assert pinned["planned_start"] == "2030-03-04T08:00:00Z"  # 11:00 local, in UTC with Z like every timestamp

    plan = (await dispatch.client.get(f"/plans/{TODAY}", headers=olga)).json()
    stamps = [s[k] for r in plan["routes"] for s in r["stops"] for k in ("eta", "start", "end")]
    stamps += [c[k] for c in plan["changes"] for k in ("from_start", "to_start") if c[k]]
    assert stamps and all(s.endswith("Z") for s in stamps), stamps
    assert plan["created_at"].endswith("Z")
    day = (await dispatch.client.get("/me/day", headers=dispatch.technician(oleg))).json()
    stop = next(s for s in day["stops"] if s["request_id"] == str(kept))
    assert stop["assignment"]["locked"] and stop["window"]["start"] == "2030-03-04T06:00:00Z"


# --- item 4: no job is left without an owner ---------------------------------------------------------------


async def test_a_cancelled_emergency_assignment_is_placed_again_at_once(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    await dispatch.add_technician("Oleg Petrov", SIMFEROPOL[0] + 0.01, SIMFEROPOL[1], weekly_shifts=WEEK)
    urgent = emergency(clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    first = await active(dispatch, urgent.request_id)
    path = f"/assignments/{first['id']}/status"

    by_technician = await dispatch.client.post(
        path, headers=dispatch.technician(first["tech"]), json={"status": "cancelled", "reason": "busy"}
    )
    assert by_technician.status_code == 403, by_technician.text
    assert by_technician.headers["content-type"].startswith("application/problem+json")
    no_reason = await dispatch.client.post(path, headers=dispatch.dispatcher, json={"status": "cancelled"})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    assert (await active(dispatch, urgent.request_id))["id"] == first["id"]  # neither changed anything

    clock.advance(timedelta(minutes=2))
    cancelled = await dispatch.client.post(
        path, headers=dispatch.dispatcher, json={"status": "cancelled", "reason": "van broke down"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await active(dispatch, urgent.request_id)  # in the same transaction: no gap without an owner
    assert again["id"] != first["id"] and again["status"] == "offered"
    assert await job_status(dispatch, urgent.request_id) == "assigned"


async def test_a_failed_emergency_visit_is_placed_again_at_once(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    await dispatch.add_technician("Oleg Petrov", SIMFEROPOL[0] + 0.01, SIMFEROPOL[1], weekly_shifts=WEEK)
    urgent = emergency(clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    first = await active(dispatch, urgent.request_id)
    tech = first["tech"]
    await step(dispatch, tech, first["id"], "accepted", clock.now)
    await step(dispatch, tech, first["id"], "en_route", clock.now, SIMFEROPOL)
    clock.advance(timedelta(minutes=10))
    await step(dispatch, tech, first["id"], "on_site", clock.now, SITE)
    clock.advance(timedelta(minutes=20))
    failed = await step(dispatch, tech, first["id"], "report", clock.now, SITE, outcome="needs_parts", notes="pump")
    assert failed["status"] == "failed" and failed["finished_at"] is not None
    again = await active(dispatch, urgent.request_id)
    assert again["id"] != first["id"] and again["status"] == "offered"
    assert await job_status(dispatch, urgent.request_id) == "assigned"


async def test_a_cancelled_planned_visit_goes_back_to_the_planner(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    routine = visit(*SITE, "Lenina 1")
    await publish_visits(dispatch, [routine])
    assert (await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)).status_code == 200
    booked = await active(dispatch, routine.visit_id)
    await dispatch.sql("DELETE FROM dispatch.replan_requests")
    cancelled = await dispatch.client.post(
        f"/assignments/{booked['id']}/status",
        headers=dispatch.dispatcher,
        json={"status": "cancelled", "reason": "customer asked for another day"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert await job_status(dispatch, routine.visit_id) == "open"
    queued = await dispatch.sql("SELECT day, reason FROM dispatch.replan_requests")
    assert [(r["day"], r["reason"]) for r in queued] == [
        (TODAY, "a dispatcher cancelled a visit (customer asked for another day)")
    ]


# --- item 5: the board, ETAs, implausible steps ---------------------------------------------------------------


async def test_the_board_shows_a_sick_technician_absent_and_one_outside_shifts_off_shift(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    clock.now = at(10)
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    oleg = await dispatch.add_technician("Oleg Petrov", *SIMFEROPOL, weekly_shifts=EVENINGS)
    ivan = await dispatch.add_technician("Ivan Sirko", *SIMFEROPOL, weekly_shifts=WEEK)
    sick = await dispatch.client.post(
        f"/technicians/{anna}/absences",
        headers=dispatch.dispatcher,
        json={"kind": "sickness", "starts_at": at(9, 30).isoformat(), "ends_at": at(23, 59).isoformat()},
    )
    assert sick.status_code == 201, sick.text
    board = (await dispatch.client.get("/board", headers=dispatch.dispatcher)).json()
    shown = {t["id"]: t for t in board["technicians"]}
    assert shown[anna]["status"] == "absent" and shown[anna]["reported_status"] == "available"
    assert shown[anna]["absence"] == {"kind": "sickness", "until": "2030-03-04T20:59:00Z"}
    assert shown[oleg]["status"] == "off_shift" and shown[oleg]["absence"] is None
    assert shown[ivan]["status"] == "available" and shown[ivan]["on_shift"] is True
    assert board["at"] == "2030-03-04T07:00:00Z"  # UTC with Z, though the clock runs on local time


async def test_the_eta_follows_en_route_positions_and_is_the_arrival_once_on_site(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    far = (SITE[0] - 0.2, SITE[1])  # about 22 km south
    anna = await dispatch.add_technician("Anna Koval", *far, weekly_shifts=WEEK)
    urgent = emergency(clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    booked = await active(dispatch, urgent.request_id)
    assignment = booked["id"]
    await step(dispatch, anna, assignment, "accepted", clock.now)

    clock.advance(timedelta(minutes=5))  # she set off later than promised, from further out than home
    further = (SITE[0] - 0.3, SITE[1])
    on_the_way = await step(dispatch, anna, assignment, "en_route", clock.now, further)
    expected = clock.now + drive(further, SITE)
    assert abs(datetime.fromisoformat(on_the_way["eta"]) - expected) < timedelta(seconds=1)
    told = await outbox(dispatch, "assignment.changed", assignment)
    assert told and abs(datetime.fromisoformat(told[-1]["eta"]) - expected) < timedelta(seconds=1)

    clock.advance(timedelta(minutes=10))
    nearer = (SITE[0] - 0.1, SITE[1])

    async def ping(where: tuple[float, float]) -> None:
        body = {
            "client_command_id": str(uuid.uuid4()),
            "pings": [{"at": clock.now.isoformat(), "position": {"lat": where[0], "lon": where[1]}}],
        }
        response = await dispatch.client.post("/me/positions", headers=dispatch.technician(anna), json=body)
        assert response.status_code == 200, response.text

    await ping(nearer)  # ahead of the expected pace: the ETA moves several minutes earlier
    pinged = (await dispatch.client.get(f"/assignments/{assignment}", headers=dispatch.dispatcher)).json()
    assert abs(datetime.fromisoformat(pinged["eta"]) - (clock.now + drive(nearer, SITE))) < timedelta(seconds=1)
    assert len(await outbox(dispatch, "assignment.changed", assignment)) == len(told) + 1
    clock.advance(timedelta(seconds=20))
    await ping((nearer[0] + 0.003, nearer[1]))  # 20 s later, a little nearer: under the threshold, nobody is told
    assert len(await outbox(dispatch, "assignment.changed", assignment)) == len(told) + 1

    clock.advance(timedelta(minutes=12))
    arrived = await step(dispatch, anna, assignment, "on_site", clock.now, SITE)
    assert arrived["eta"] == arrived["arrived_at"] and datetime.fromisoformat(arrived["eta"]) == clock.now
    assert arrived["suspect"] is None
    clock.advance(timedelta(minutes=55))
    done = await step(
        dispatch, anna, assignment, "report", clock.now, SITE, outcome="completed", work_done="fan", signed_by="M."
    )
    assert done["eta"] == arrived["arrived_at"] and datetime.fromisoformat(done["finished_at"]) == clock.now
    assert datetime.fromisoformat(done["eta"]) <= clock.now  # no longer in the future
    assert all(done[k].endswith("Z") for k in ("eta", "arrived_at", "finished_at", "planned_start", "first_eta"))


async def test_on_site_seconds_after_en_route_from_60_km_is_flagged_and_not_a_plain_arrival(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    urgent = emergency(clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    assignment = (await active(dispatch, urgent.request_id))["id"]
    await step(dispatch, anna, assignment, "accepted", clock.now)
    await step(dispatch, anna, assignment, "en_route", clock.now, FAR_AWAY)
    clock.advance(timedelta(seconds=8))
    arrived = await step(dispatch, anna, assignment, "on_site", clock.now, SITE)
    assert arrived["status"] == "on_site"  # recorded as it came: the dispatcher decides
    assert arrived["suspect"] is not None and "8 s after en route from 59.7 km away" in arrived["suspect"]
    history = await dispatch.sql(
        "SELECT detail->>'suspect' AS suspect FROM dispatch.assignment_history "
        "WHERE assignment_id = $1 AND status = 'on_site'",
        assignment,
    )
    assert history[0]["suspect"] == arrived["suspect"]
    (event,) = [e for e in await outbox(dispatch, "status_changed", assignment) if e["status"] == "on_site"]
    assert event["suspect"] == arrived["suspect"]  # whoever counts response times sees it is not one
    replanned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert replanned.status_code == 200, replanned.text
    kpis = (await dispatch.client.get(f"/plans/{TODAY}", headers=dispatch.dispatcher)).json()["kpis"]
    assert kpis["emergencies"] == 0 and kpis["emergency_response_median_minutes"] is None  # not a 0.1-min response

    clock.advance(timedelta(seconds=30))
    await step(dispatch, anna, assignment, "report", clock.now, SITE, outcome="completed", signed_by="M.")
    alerts = (await dispatch.client.get("/alerts", headers=dispatch.dispatcher)).json()
    kinds = {a["kind"]: a for a in alerts if a["request_id"] == str(urgent.request_id)}
    assert "8 s after en route" in kinds["implausible_arrival"]["reason"]
    assert "30 s after arriving for a 60 min job" in kinds["implausible_completion"]["reason"]
    assert kinds["implausible_completion"]["raised_at"] == utc_z(clock.now)  # on the service's clock


# --- item 6: the API's rough edges ----------------------------------------------------------------------------


async def test_nul_characters_in_text_are_refused_naming_the_field(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    named = await dispatch.client.post(
        "/technicians",
        headers=dispatch.dispatcher,
        json={"name": "Anna\x00Koval", "home_base": {"lat": SIMFEROPOL[0], "lon": SIMFEROPOL[1]}},
    )
    assert named.status_code == 422 and named.json()["errors"][0]["field"] == "name"
    assert "U+0000" in named.json()["errors"][0]["reason"]
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    urgent = emergency(clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    assignment = (await active(dispatch, urgent.request_id))["id"]
    for path, body, field in (
        (f"/me/assignments/{assignment}/decline", {"reason": "ill\x00"}, "reason"),
        (
            f"/me/assignments/{assignment}/report",
            {"outcome": "completed", "signed_by": "M.", "notes": "ok\x00"},
            "notes",
        ),
    ):
        refused = await dispatch.client.post(
            path, headers=dispatch.technician(anna), json={**body, "client_command_id": str(uuid.uuid4())}
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text
    note = await dispatch.client.post(
        f"/technicians/{anna}/absences",
        headers=dispatch.dispatcher,
        json={"kind": "leave", "starts_at": at(12).isoformat(), "ends_at": at(13).isoformat(), "note": "\x00"},
    )
    assert note.status_code == 422 and note.json()["errors"][0]["field"] == "note"
    shown = (await dispatch.client.get(f"/assignments/{assignment}", headers=dispatch.dispatcher)).json()
    assert shown["status"] == "offered" and shown["eta"].endswith("Z")


KERCH, ALUSHTA, YALTA = (45.357, 36.468), (44.676, 34.41), (44.499, 34.16)


async def test_a_booking_the_planner_cannot_route_is_kept_by_a_replan_not_let_go(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """The console's flaky drag: a dispatcher moves an emergency from Anna (Alushta) to Ivan (Kerch, four hours
    from Yalta and four back). The move is the dispatcher's to make; the planner's model can't route it (Ivan is not
    home by the end of his overtime), and a re-plan used to cancel it and put the job back in the queue."""
    dispatch = clocked_dispatch
    clock.advance(timedelta(hours=2, minutes=15))  # 10:15
    olga = {"Authorization": f"Bearer {dispatch.keys.token(Role.DISPATCHER, 'dispatcher-olga')}"}
    anna = await dispatch.add_technician("Anna Koval", *ALUSHTA, weekly_shifts=WEEK)
    ivan = await dispatch.add_technician("Ivan Sidorov", *KERCH, skills={"refrigeration": 4}, weekly_shifts=WEEK)
    filed = emergency(clock.now, site=YALTA)
    await dispatch.publish(filed, occurred_at=clock.now)
    booked = await active(dispatch, filed.request_id)
    assert booked["tech"] == anna
    for lock in (False, True):  # the planner's pin for an emergency, and the dispatcher's own
        moved = await dispatch.client.post(
            f"/assignments/{booked['id']}/reassign", headers=olga, json={"technician_id": ivan, "lock": lock}
        )
        assert moved.status_code == 200, moved.text
        booked = await active(dispatch, filed.request_id)
        clock.advance(timedelta(seconds=30))
        replanned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=olga, json={"reason": "automatic"})
        assert replanned.status_code == 200, replanned.text
        after = await active(dispatch, filed.request_id)
        assert (after["id"], after["tech"]) == (booked["id"], ivan), lock
        assert await job_status(dispatch, filed.request_id) == "assigned"
        # and the plan's words say so: a booking kept outside the plan is not "taken off, now unassigned"
        told = [c for c in replanned.json()["changes"] if c["request_id"] == str(filed.request_id)]
        assert told == [], told
        kept = replanned.json()["kpis"]["kept_as_booked"]
        assert kept >= 1 and replanned.json()["assigned"] == replanned.json()["kpis"]["assigned"]  # counted as assigned
        if not lock:
            moved = await dispatch.client.post(
                f"/assignments/{booked['id']}/reassign", headers=olga, json={"technician_id": anna, "lock": False}
            )
            assert moved.status_code == 200, moved.text
            booked = await active(dispatch, filed.request_id)
