"""python -m bench.fieldday.priced --time-limit 10 --out bench/results/fieldday-priced-10s.md

The generated field day (120 x 1,000) with money terms per visit drawn at random (a contract's penalty per hour late
and its visit value), planned twice with the same time limit: flat (the planner's default weights, by priority)
and priced (each visit's own weights through dispatch's conversion, domain/costs.py); both plans are then valued
in money with the same terms: lateness, the value left out, travel and overtime.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import time
from pathlib import Path

from services.dispatch.domain.costs import MoneyRates
from services.dispatch.planning import Plan, PlanningOptions, PlanningProblem, RoadFactorTravel, plan_routes, search

from .generator import field_day

PENALTIES_PER_HOUR = (30.0, 60.0, 150.0, 600.0)
VALUES = (60.0, 180.0, 600.0, 2000.0)


def _money(
    plan: Plan, problem: PlanningProblem, terms: dict[str, tuple[float, float]], rates: MoneyRates
) -> dict[str, float]:
    due = {v.id: v.sla_deadline for v in problem.visits}
    late = sum(
        max(0.0, s.start - deadline) / 3600 * terms[s.visit_id][0]
        for r in plan.routes
        for s in r.stops
        if (deadline := due[s.visit_id]) is not None
    )
    figures = {
        "late": late,
        "left out": sum(terms[u.visit_id][1] for u in plan.unassigned),
        "travel": rates.in_money(plan.kpis.travel_time),
        "overtime": rates.in_money(plan.kpis.overtime),
    }
    return {**figures, "total": sum(figures.values())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rates = MoneyRates(travel_cost_per_hour=30.0)
    day = field_day(120, 1000, seed=args.seed)
    rng = random.Random(args.seed)
    terms = {v.id: (rng.choice(PENALTIES_PER_HOUR), rng.choice(VALUES)) for v in day.visits}
    priced = dataclasses.replace(
        day,
        visits=tuple(
            dataclasses.replace(
                v, sla_cost=rates.per_second_rate(terms[v.id][0]), drop_penalty=rates.lump_sum(terms[v.id][1])
            )
            for v in day.visits
        ),
    )
    search.compile_search()  # untimed
    lines = [
        f"field day 120 x 1000, seed {args.seed}, {args.time_limit:g} s each, load {os.getloadavg()[0]:.1f}; "
        "money at 30 per hour of driving",
        "",
        "| planned | wall s | assigned | late | left out | travel | overtime | total |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, problem in (("flat (by priority)", day), ("priced (per contract)", priced)):
        started = time.perf_counter()
        plan = plan_routes(problem, RoadFactorTravel(), PlanningOptions(time_limit=args.time_limit, seed=0))
        wall = time.perf_counter() - started
        m = _money(plan, day, terms, rates)
        lines.append(
            f"| {name} | {wall:.1f} | {plan.kpis.assigned} | {m['late']:,.0f} | {m['left out']:,.0f} | "
            f"{m['travel']:,.0f} | {m['overtime']:,.0f} | {m['total']:,.0f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
