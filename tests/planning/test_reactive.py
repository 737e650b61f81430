"""Reactive insertion: earliest feasible arrival, skills, SLA, committed windows, the break still due; and a
brute-force oracle."""

from __future__ import annotations

import random

from services.dispatch.planning import (
    DetourAllowance,
    GeoPoint,
    Insertion,
    LiveBreak,
    LiveDay,
    LiveRoute,
    LiveStop,
    UrgentJob,
    earliest_feasible_insertion,
)

from .helpers import GridTravel, H, M, at

TRAVEL = GridTravel()


def route(
    tid: str,
    x: float,
    stops: tuple[LiveStop, ...] = (),
    skills: dict[str, int] | None = None,
    rest: LiveBreak | None = None,
) -> LiveRoute:
    end_arrival = (
        (stops[-1].start + stops[-1].service_duration + abs(stops[-1].location.lat - x) * M) if stops else 8 * H
    )
    return LiveRoute(
        technician_id=tid,
        skills=skills if skills is not None else {"refrigeration": 2},
        position=at(x),
        available_from=8 * H,
        stops=stops,
        end_location=at(x),
        end_arrival=end_arrival,
        hard_end=18 * H,
        rest=rest,
    )


def stop(vid: str, x: float, start: float, latest: float = float("inf"), arrival: float | None = None) -> LiveStop:
    return LiveStop(vid, at(x), arrival if arrival is not None else start, start, 30 * M, latest)


def job(x: float, sla: float = 12 * H, **skills: int) -> UrgentJob:
    return UrgentJob("urgent", at(x), 30 * M, sla, required_skills=skills or {"refrigeration": 1})


def test_picks_the_earliest_arrival() -> None:
    day = LiveDay.build([route("far", 50), route("near", 10), route("mid", 30)])
    decision = earliest_feasible_insertion(day, job(12), TRAVEL, now=8 * H)
    assert decision.best is not None
    assert decision.best.technician_id == "near" and decision.best.arrival == 8 * H + 2 * M


def test_detour_slack_trades_a_few_minutes_of_arrival_for_less_driving() -> None:
    # "idle" waits at home at 0: there at 8:10, then 10 minutes home again (20 minutes added). "passing" is at 25 on
    # its way to a 9:00 stop at 0: there at 8:15 and on to its stop (no driving added).
    passing = route("passing", 25, (stop("on-the-way", 0, start=9 * H),))
    day = LiveDay.build([route("idle", 0), passing])

    def pick(slack: float, sla: float = 12 * H) -> Insertion:
        decision = earliest_feasible_insertion(day, job(10, sla=sla), TRAVEL, now=8 * H, detour=DetourAllowance(slack))
        assert decision.best is not None
        return decision.best

    assert pick(0.0).technician_id == "idle" and pick(0.0).arrival == 8 * H + 10 * M
    detour = pick(10 * M)
    assert (detour.technician_id, detour.position, detour.arrival) == ("passing", 0, 8 * H + 15 * M)
    assert pick(2 * M).technician_id == "idle"  # five minutes later is past the slack
    assert pick(10 * M, sla=8 * H + 12 * M).technician_id == "idle"  # the SLA still comes first
    # already there for a job of its own: no driving added, but that job would wait half an hour
    busy_there = route("busy-there", 12, (stop("own", 10, start=8 * H + 2 * M),))
    day = LiveDay.build([route("idle", 0), busy_there])
    decision = earliest_feasible_insertion(day, job(10), TRAVEL, now=8 * H, detour=DetourAllowance(10 * M))
    assert decision.best is not None and decision.best.technician_id == "idle"


def test_an_emergency_due_later_may_wait_longer_for_the_technician_nearby() -> None:
    # "idle" at 0 arrives at 8:10 and drives 10 minutes home again; "nearby" is at the site for a job of its own,
    # promised for 8:00, until 8:30 (its next stop waits till 10:00): free there at 8:30, no driving added
    nearby = route("nearby", 10, (stop("own", 10, start=8 * H, latest=8 * H), stop("later", 10, start=10 * H)))
    day = LiveDay.build([route("idle", 0), nearby])
    allowance = DetourAllowance(minimum=5 * M, sla_share=0.25, cap=45 * M)

    def pick(sla: float) -> str:
        decision = earliest_feasible_insertion(day, job(10, sla=sla), TRAVEL, now=8 * H, detour=allowance)
        assert decision.best is not None
        return decision.best.technician_id

    assert pick(8 * H + 40 * M) == "idle"  # 30 minutes of SLA left at 8:10: slack 7.5 min, 8:30 is too late
    assert pick(9 * H + 50 * M) == "nearby"  # 100 minutes left: slack 25 min covers the 20-minute wait
    assert pick(12 * H) == "nearby"  # capped at 45 minutes, still enough
    assert DetourAllowance(5 * M, 0.25, 45 * M).slack(8 * H, 20 * H) == 45 * M  # the cap
    assert DetourAllowance(5 * M, 0.25, 45 * M).slack(8 * H, 8 * H + 10 * M) == 5 * M  # the minimum
    assert DetourAllowance(5 * M).slack(8 * H, float("inf")) == 5 * M  # no share: the minimum, whatever the SLA
    assert DetourAllowance(0, 0.5).slack(8 * H, 8 * H - M) == 0  # already late: no slack


def test_respects_skill_levels() -> None:
    day = LiveDay.build([route("near", 10, skills={"refrigeration": 1}), route("far", 40, skills={"refrigeration": 3})])
    decision = earliest_feasible_insertion(day, job(10, refrigeration=2), TRAVEL, now=8 * H)
    assert decision.best is not None and decision.best.technician_id == "far"
    none = earliest_feasible_insertion(day, job(10, gas=1), TRAVEL, now=8 * H)
    assert none.best is None and none.earliest_late is None and "skills" in none.reason


def test_sla_deadline_is_hard_for_the_pick_and_reported_when_missed() -> None:
    day = LiveDay.build([route("a", 0)])
    decision = earliest_feasible_insertion(day, job(60, sla=8 * H + 30 * M), TRAVEL, now=8 * H)
    assert decision.best is None
    assert decision.earliest_late is not None and decision.earliest_late.start == 9 * H
    assert not decision.earliest_late.meets_sla


def test_does_not_break_a_committed_window() -> None:
    # "busy" is nearest, but its next stop must start by 9:00 and has no slack for a 30-minute job.
    committed = stop("committed", 5, start=8 * H + 5 * M, latest=8 * H + 10 * M)
    day = LiveDay.build([route("busy", 0, (committed,)), route("free", 20)])
    decision = earliest_feasible_insertion(day, job(1), TRAVEL, now=8 * H)
    assert decision.best is not None
    assert decision.best.technician_id in ("busy", "free")
    if decision.best.technician_id == "busy":
        assert decision.best.position == 1  # only after the committed stop
    loose = stop("committed", 5, start=8 * H + 5 * M, latest=12 * H)
    day = LiveDay.build([route("busy", 0, (loose,)), route("free", 20)])
    decision = earliest_feasible_insertion(day, job(1), TRAVEL, now=8 * H)
    assert decision.best is not None
    assert (decision.best.technician_id, decision.best.position) == ("busy", 0)
    assert decision.best.arrival == 8 * H + M


def test_waiting_time_absorbs_the_push() -> None:
    # The stop at 5 waits from 8:05 to 10:00; that wait absorbs an insertion before it despite latest=10:00.
    waiting = stop("waits", 5, start=10 * H, latest=10 * H, arrival=8 * H + 5 * M)
    day = LiveDay.build([route("a", 0, (waiting,))])
    decision = earliest_feasible_insertion(day, job(2), TRAVEL, now=8 * H)
    assert decision.best is not None and decision.best.position == 0 and decision.best.push_forward == 0.0


def _brute_force(routes: list[LiveRoute], urgent: UrgentJob, now: float) -> Insertion | None:
    """Simulates every insertion stop by stop: the oracle for the vectorised version."""

    def minutes(a: tuple[float, float], b: tuple[float, float]) -> float:
        return (abs(a[0] - b[0]) + abs(a[1] - b[1])) * M

    best: Insertion | None = None
    job_xy = (urgent.location.lat, urgent.location.lon)
    for r in routes:
        if any(r.skills.get(s, -1) < lvl for s, lvl in urgent.required_skills.items()):
            continue
        for p in range(len(r.stops) + 1):
            if p == 0:
                t, here = max(r.available_from, now), (r.position.lat, r.position.lon)
            else:
                prev = r.stops[p - 1]
                t, here = prev.start + prev.service_duration, (prev.location.lat, prev.location.lon)
            arrival = t + minutes(here, job_xy)
            start = max(arrival, urgent.earliest_start)
            if start > urgent.sla_deadline:
                continue
            t, here, ok, push0 = start + urgent.service_duration, job_xy, True, None
            for s in r.stops[p:]:
                s_start = max(t + minutes(here, (s.location.lat, s.location.lon)), s.start)
                push0 = s_start - s.start if push0 is None else push0
                if s_start > s.latest_start + 1e-6:
                    ok = False
                    break
                t, here = s_start + s.service_duration, (s.location.lat, s.location.lon)
            end = t + minutes(here, (r.end_location.lat, r.end_location.lon))
            if push0 is None:
                push0 = max(0.0, end - r.end_arrival)
            ok = ok and end <= r.hard_end + 1e-6
            if ok and (best is None or (arrival, push0) < (best.arrival, best.push_forward)):
                best = Insertion(r.technician_id, p, arrival, start, push0, True)
    return best


def test_matches_a_brute_force_oracle_on_random_days() -> None:
    rng = random.Random(7)
    for _ in range(40):
        routes = []
        for t in range(6):
            x = rng.uniform(0, 60)
            clock, here, stops = 8 * H, x, []
            for k in range(rng.randint(0, 5)):
                loc = rng.uniform(0, 60)
                arrival = clock + abs(loc - here) * M
                start = arrival + rng.choice([0.0, 0.0, 20 * M])
                latest = start + rng.choice([0.0, 15 * M, 60 * M, float("inf")])
                stops.append(LiveStop(f"t{t}s{k}", at(loc), arrival, start, 30 * M, latest))
                clock, here = start + 30 * M, loc
            skills = {"refrigeration": rng.randint(1, 3)}
            end_arrival = clock + abs(x - here) * M
            routes.append(LiveRoute(f"t{t}", skills, at(x), 8 * H, tuple(stops), at(x), end_arrival, 18 * H))
        urgent = UrgentJob(
            "u",
            at(rng.uniform(0, 60)),
            30 * M,
            8 * H + rng.uniform(0.5, 4) * H,
            required_skills={"refrigeration": rng.randint(1, 3)},
        )
        decision = earliest_feasible_insertion(LiveDay.build(routes), urgent, TRAVEL, now=8 * H)
        expected = _brute_force(routes, urgent, now=8 * H)
        if expected is None:
            assert decision.best is None
        else:
            # The same technician and position, arriving, starting and pushing the next stop alike.
            assert decision.best == expected


LUNCH = LiveBreak(earliest=12 * H, latest=14 * H, duration=30 * M, before=0)


def test_a_job_that_would_take_the_lunch_window_goes_after_the_lunch() -> None:
    # free at the site from 11:30, the lunch due 12:00-14:00: a 1 h job fits before it, a 3 h one only after it
    short = UrgentJob("urgent", at(0), 60 * M, 18 * H)
    decision = earliest_feasible_insertion(LiveDay.build([route("a", 0, rest=LUNCH)]), short, TRAVEL, now=11.5 * H)
    assert decision.best is not None and decision.best.start == 11.5 * H and not decision.best.after_break
    long = UrgentJob("urgent", at(0), 180 * M, 18 * H)
    decision = earliest_feasible_insertion(LiveDay.build([route("a", 0, rest=LUNCH)]), long, TRAVEL, now=11.5 * H)
    assert decision.best is not None and decision.best.start == 12.5 * H and decision.best.after_break
    # with no break due, the long job starts at once
    decision = earliest_feasible_insertion(LiveDay.build([route("a", 0)]), long, TRAVEL, now=11.5 * H)
    assert decision.best is not None and decision.best.start == 11.5 * H


def test_an_insertion_earlier_in_the_day_may_push_the_lunch_only_to_its_latest_start() -> None:
    # 11:00-13:30 at 0, then the lunch (taken before the 15:00 stop, the first ending after 14:00)
    morning = LiveStop("morning", at(0), 11 * H, 11 * H, 150 * M)
    afternoon = stop("afternoon", 0, start=15 * H)
    lunch = LiveBreak(12 * H, 14 * H, 30 * M, before=1)
    day = LiveDay.build([route("a", 0, (morning, afternoon), rest=lunch)])
    # 40 min from 11:00 push the morning stop to 11:40-14:10, past the lunch's latest start; 13:30-14:10 too
    forty = UrgentJob("urgent", at(0), 40 * M, 18 * H, earliest_start=11 * H)
    decision = earliest_feasible_insertion(day, forty, TRAVEL, now=9 * H)
    assert decision.best is not None
    assert (decision.best.position, decision.best.after_break, decision.best.start) == (1, True, 14 * H)
    twenty = UrgentJob("urgent", at(0), 20 * M, 18 * H, earliest_start=11 * H)
    decision = earliest_feasible_insertion(day, twenty, TRAVEL, now=9 * H)
    assert decision.best is not None and (decision.best.position, decision.best.push_forward) == (0, 20 * M)


def test_a_day_with_no_room_for_the_lunch_already_is_not_blamed_on_the_insertion() -> None:
    busy = LiveStop("busy", at(0), 11 * H, 11 * H, 4 * H)  # 11:00-15:00: no room for a 12:00-14:00 lunch
    day = LiveDay.build([route("a", 0, (busy,), rest=LiveBreak(12 * H, 14 * H, 30 * M, before=0))])
    decision = earliest_feasible_insertion(day, UrgentJob("urgent", at(0), 30 * M, 18 * H), TRAVEL, now=15 * H)
    assert decision.best is not None and decision.best.start == 15 * H


def _brute_force_with_break(route: LiveRoute, urgent: UrgentJob, now: float) -> list[Insertion]:
    """Every feasible insertion into one route, simulated stop by stop with the break taken where it is due."""

    def minutes(a: GeoPoint, b: GeoPoint) -> float:
        return (abs(a.lat - b.lat) + abs(a.lon - b.lon)) * M

    rest = route.rest
    assert rest is not None
    b, m = rest.before, len(route.stops)
    leave = route.available_from if b == 0 else route.stops[b - 1].start + route.stops[b - 1].service_duration
    rest_start = max(rest.earliest, leave)
    if rest_start > rest.latest or (b < m and rest_start + rest.duration > route.stops[b].start):
        rest = None  # no room already
    baseline_end = route.end_arrival + (rest_start + rest.duration - leave if rest and b == m else 0.0)
    found = []
    variants = [(p, False) for p in range(m + 1)] + ([(b, True)] if rest else [])
    for p, after_break in variants:
        elements: list[object] = [*route.stops[:p], urgent, *route.stops[p:], "end"]
        if rest is not None:  # the break: straight before the job, or before stop b / home
            elements.insert(p if after_break else elements.index([*route.stops, "end"][b]), rest)
        t, here, ok, arrival, start, push0 = max(route.available_from, now), route.position, True, None, 0.0, None
        for e in elements:
            if isinstance(e, LiveBreak):
                s = max(t, e.earliest)
                ok = ok and s <= e.latest + 1e-6
                t = s + e.duration
            elif isinstance(e, UrgentJob):
                arrival = t + minutes(here, e.location)
                start = max(arrival, e.earliest_start)
                t, here = start + e.service_duration, e.location
            elif isinstance(e, LiveStop):
                s = max(t + minutes(here, e.location), e.start)
                if push0 is None and arrival is not None:  # the first stop after the job
                    push0 = s - e.start
                ok = ok and s <= e.latest_start + 1e-6
                t, here = s + e.service_duration, e.location
            else:
                end = t + minutes(here, route.end_location)
                ok = ok and end <= route.hard_end + 1e-6
                push0 = max(0.0, end - baseline_end) if push0 is None else push0
        if ok and arrival is not None:
            found.append(Insertion(route.technician_id, p, arrival, start, push0 or 0.0, True, after_break))
    return found


def test_matches_a_brute_force_oracle_on_random_days_with_a_break_due() -> None:
    rng = random.Random(11)
    for _ in range(300):
        x = rng.uniform(0, 30)
        clock, here, stops = 8 * H, x, []
        earliest = rng.choice([9, 11, 12]) * H
        lunch = LiveBreak(earliest, earliest + rng.choice([0, 1, 2]) * H, rng.choice([15, 30, 45]) * M, before=0)
        placed = False
        for k in range(rng.randint(0, 4)):
            loc = rng.uniform(0, 30)
            service = rng.choice([30, 60, 90]) * M
            wait = rng.choice([0.0, 0.0, 20 * M, 90 * M])
            if not placed and clock + abs(loc - here) * M + wait + service > lunch.latest:  # taken on the way here
                lunch = LiveBreak(lunch.earliest, lunch.latest, lunch.duration, before=k)
                if max(clock, lunch.earliest) <= lunch.latest:  # else the day has no room for it
                    clock = max(clock, lunch.earliest) + lunch.duration
                placed = True
            arrival = clock + abs(loc - here) * M
            start = arrival + wait
            latest = start + rng.choice([0.0, 15 * M, 60 * M, float("inf")])
            stops.append(LiveStop(f"s{k}", at(loc), arrival, start, service, latest))
            clock, here = start + service, loc
        end_arrival = clock + abs(x - here) * M
        hard_end = max(18 * H, end_arrival)  # a day that ends late already is not the insertion's doing
        if not placed:
            lunch = LiveBreak(lunch.earliest, lunch.latest, lunch.duration, before=len(stops))
            hard_end = max(hard_end, max(clock, lunch.earliest) + lunch.duration + abs(x - here) * M)
        live = LiveRoute("t", {"refrigeration": 2}, at(x), 8 * H, tuple(stops), at(x), end_arrival, hard_end, lunch)
        urgent = UrgentJob("u", at(rng.uniform(0, 30)), rng.choice([30, 90, 150]) * M, 20 * H)
        decision = earliest_feasible_insertion(LiveDay.build([live]), urgent, TRAVEL, now=8 * H)
        expected = _brute_force_with_break(live, urgent, now=8 * H)
        if not expected:
            assert decision.best is None, (live, urgent)
        else:
            assert decision.best is not None, (live, urgent)
            best = min(expected, key=lambda i: (i.arrival, i.push_forward))
            assert (decision.best.arrival, decision.best.push_forward) == (best.arrival, best.push_forward), (
                live,
                urgent,
                expected,
                decision.best,
            )
            assert decision.best in expected
