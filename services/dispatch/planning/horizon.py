"""Several days' problems as one multi-day problem, and its plan cut back into one plan per day.

Each day's problem counts seconds from its own midnight with day 0 shifts; the joint problem counts from the
first day's midnight (``offsets``: each day's midnight in those seconds, 23 or 25 hours apart across a clock
change), with a vehicle per technician-day. A technician is a planner technician per day (``<id>@<k>``): day 0
starts where they are now, later days at home. A visit that several days' problems hold (its windows or its
tolerance span them) gets each day's windows and the range of those days, so the search picks its day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .model import (
    Pin,
    Plan,
    PlanKpis,
    PlanningOptions,
    PlanningProblem,
    Route,
    RouteAssignment,
    ScheduledBreak,
    Stop,
    Technician,
    TimeWindow,
    Visit,
)

__all__ = ["day_technician_id", "join_days", "split_plan"]

SEPARATOR = "@"


def day_technician_id(technician_id: str, day: int) -> str:
    return f"{technician_id}{SEPARATOR}{day}"


def _technician_of(day_technician: str) -> str:
    return day_technician.rsplit(SEPARATOR, 1)[0]


def _merged(windows: list[TimeWindow]) -> tuple[TimeWindow, ...]:
    """Sorted, with windows that touch or overlap (one day's end, the next day's start) made one."""
    merged: list[TimeWindow] = []
    for w in sorted(windows, key=lambda w: w.start):
        if merged and w.start <= merged[-1].end:
            merged[-1] = TimeWindow(merged[-1].start, max(merged[-1].end, w.end))
        else:
            merged.append(w)
    return tuple(merged)


def join_days(problems: Sequence[PlanningProblem], offsets: Sequence[float]) -> PlanningProblem:
    """One problem over the days of ``problems`` (day k's midnight at ``offsets[k]`` seconds)."""
    technicians: list[Technician] = []
    pins: list[Pin] = []
    previous: list[RouteAssignment] = []
    windows: dict[str, list[TimeWindow]] = {}
    days: dict[str, list[int]] = {}
    first: dict[str, Visit] = {}
    for k, (problem, offset) in enumerate(zip(problems, offsets, strict=True)):
        for tech in problem.technicians:
            shifts = tuple(
                dataclasses.replace(
                    s,
                    day=k,
                    start=s.start + offset,
                    end=s.end + offset,
                    breaks=tuple(
                        dataclasses.replace(
                            b, earliest_start=b.earliest_start + offset, latest_start=b.latest_start + offset
                        )
                        for b in s.breaks
                    ),
                )
                for s in tech.shifts
            )
            technicians.append(dataclasses.replace(tech, id=day_technician_id(tech.id, k), shifts=shifts))
        for visit in problem.visits:
            windows.setdefault(visit.id, []).extend(TimeWindow(w.start + offset, w.end + offset) for w in visit.windows)
            days.setdefault(visit.id, []).append(k)
            if visit.id not in first:
                deadline = visit.sla_deadline + offset if visit.sla_deadline is not None else None
                first[visit.id] = dataclasses.replace(visit, sla_deadline=deadline)
        pins.extend(
            dataclasses.replace(
                p,
                technician_id=day_technician_id(p.technician_id, k),
                day=k,
                start_time=p.start_time + offset if p.start_time is not None else None,
            )
            for p in problem.pins
        )
        previous.extend(
            RouteAssignment(day_technician_id(r.technician_id, k), k, r.visit_ids) for r in problem.previous_routes
        )
    visits = tuple(
        dataclasses.replace(
            visit,
            windows=_merged(windows[visit.id]) if windows[visit.id] else (),
            earliest_day=min(days[visit.id]),
            latest_day=max(days[visit.id]),
        )
        for visit in first.values()
    )
    budgets = [p.max_moves_per_route for p in problems if p.max_moves_per_route is not None]
    return PlanningProblem(
        technicians=tuple(technicians),
        visits=visits,
        pins=tuple(pins),
        previous_routes=tuple(previous),
        max_moves_per_route=max(budgets) if budgets else None,
    )


def _route_back(route: Route, offset: float) -> Route:
    def stop(s: Stop) -> Stop:
        return dataclasses.replace(
            s, arrival=s.arrival - offset, start=s.start - offset, departure=s.departure - offset
        )

    return dataclasses.replace(
        route,
        technician_id=_technician_of(route.technician_id),
        day=0,
        start_time=route.start_time - offset,
        end_time=route.end_time - offset,
        stops=tuple(stop(s) for s in route.stops),
        breaks=tuple(ScheduledBreak(b.start - offset, b.end - offset) for b in route.breaks),
    )


def split_plan(
    plan: Plan, problems: Sequence[PlanningProblem], offsets: Sequence[float], options: PlanningOptions
) -> list[Plan]:
    """The joint plan as one plan per day, in that day's own seconds and technician ids. A visit the joint plan
    serves belongs to its route's day alone; one it leaves out is unassigned in every day that held it."""
    left_out = {u.visit_id: u for u in plan.unassigned}
    plans = []
    for k, (problem, offset) in enumerate(zip(problems, offsets, strict=True)):
        routes = tuple(_route_back(r, offset) for r in plan.routes if r.day == k)
        unassigned = tuple(left_out[v.id] for v in problem.visits if v.id in left_out)
        deadline = {v.id: v.sla_deadline for v in problem.visits}
        late = [
            s.start - d for r in routes for s in r.stops if (d := deadline.get(s.visit_id)) is not None and s.start > d
        ]
        travel = sum(r.travel_time for r in routes)
        overtime = sum(r.overtime for r in routes)
        dropped = sum(options.drop_penalties[u.priority] for u in unassigned)
        kpis = PlanKpis(
            travel_time=travel,
            assigned=sum(len(r.stops) for r in routes),
            unassigned=len(unassigned),
            unassigned_priority_weight=dropped,
            overtime=overtime,
            sla_misses=len(late),
            objective=travel + dropped + options.sla_cost * sum(late) + options.overtime_cost * overtime,
            wall_time=plan.kpis.wall_time,
        )
        plans.append(Plan(plan.status, routes, unassigned, kpis))
    return plans
