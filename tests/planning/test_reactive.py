"""Reactive insertion: earliest feasible arrival, skills, SLA, committed windows; and a brute-force oracle."""

from __future__ import annotations

import random

from services.dispatch.planning import (
    Insertion,
    LiveDay,
    LiveRoute,
    LiveStop,
    UrgentJob,
    earliest_feasible_insertion,
)

from .helpers import GridTravel, H, M, at

TRAVEL = GridTravel()


def route(tid: str, x: float, stops: tuple[LiveStop, ...] = (), skills: dict[str, int] | None = None) -> LiveRoute:
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
