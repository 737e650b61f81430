"""`make chaos`: load the stack, break it while loaded, let it drain, check nothing was lost, doubled or stuck.

python -m bench.chaos --profile short|long [--rate 50] [--calm 30] [--faulty 90] [--no-faults] [--out bench/results]

A private PostgreSQL cluster, the locked nats-server (three clustered nodes with R3 streams in the long profile)
and two replicas of each service start; a small company is seeded through the APIs; the open-model load runs
(bench/chaos/load.py), first calm, then with faults (bench/chaos/faults.py); after it the run waits for every
outbox and consumer to drain and checks the invariants from the databases and streams (bench/chaos/invariants.py).
Writes bench/results/chaos-<profile>.json and .md; exits 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chaos.company import seed
from bench.chaos.faults import FaultInjector
from bench.chaos.invariants import check_invariants, drained
from bench.chaos.load import Load
from bench.chaos.profile import PROFILES, Profile
from bench.chaos.report import load_summary, write_report
from bench.chaos.stack import ChaosStack, chaos_stack
from deploy.local.company.generator import Company
from deploy.local.company.seeder import SeededCompany
from shared.clock import SimulatedClock


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _run(
    stack: ChaosStack, company: Company, seeded: SeededCompany, profile: Profile, faults: bool
) -> dict[str, Any]:
    clock = SimulatedClock(stack.timeline.start, stack.timeline.speed, stack.timeline.anchor)
    load = Load(
        stack, company, seeded, clock, profile.rate, lambda s: "calm" if s < profile.calm_s else "faults", profile.seed
    )
    injector = FaultInjector(stack, profile)
    await load.start_following()
    _say(f"load: {profile.rate:g}/s for {profile.calm_s:g} s calm, then {profile.faulty_s:g} s with faults")
    running = asyncio.create_task(load.run(profile.calm_s + profile.faulty_s))
    await asyncio.sleep(profile.calm_s)
    if faults:
        await injector.run(profile.faulty_s, origin=load.load_started)
    await running
    load_after = round(os.getloadavg()[0], 2)
    _say(f"load done: {load.results.sent} calls; waiting for the replicas and the events to drain")
    await injector.recover()
    drain_started = time.monotonic()
    quiet = await drained(stack, profile.settle_s)
    drain_s = round(time.monotonic() - drain_started, 1)
    await load.close()
    _say(f"drained: {quiet} after {drain_s} s; checking the invariants")
    invariants = await check_invariants(stack, load.results)
    # the services keep working after the load (their loops re-plan, watch SLAs, publish plans): an event written or
    # handed back by a killed replica just after the drain check reads as unpublished or unapplied. Such a count
    # must clear once the events have moved again (a redelivery waits out the AckWait); one that stays is a loss.
    rechecks = 0
    while rechecks < IN_FLIGHT_RECHECKS and (moving := _in_flight_failures(invariants)):
        rechecks += 1
        _say(f"in flight at the check: {', '.join(moving)}; checking again after the AckWait ({rechecks})")
        await asyncio.sleep(profile.ack_wait_s + 2.0)
        await drained(stack, profile.settle_s)
        invariants = await check_invariants(stack, load.results)
    return {
        "load": load_summary(load.results, {"calm": profile.calm_s, "faults": profile.faulty_s}),
        "faults": [dataclasses.asdict(f) for f in injector.injected],
        "drain": {"quiet": quiet, "seconds": drain_s, "rechecks": rechecks},
        "load_average_after_load": load_after,
        "invariants": invariants,
    }


# the invariants that read events on their way (outbox -> stream -> consumer): a failure may be a moment's
IN_FLIGHT = ("outbox_unpublished", "outbox_vs_stream", "events_not_applied_once", "consumers_still_pending")
IN_FLIGHT_RECHECKS = 3


def _in_flight_failures(invariants: dict[str, dict[str, Any]]) -> list[str]:
    return [
        name
        for name in IN_FLIGHT
        if name in invariants
        and invariants[name]["target"] is not None
        and invariants[name]["count"] > invariants[name]["target"]
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    parser.add_argument("--rate", type=float, help="requests a second (default: the profile's, 50)")
    parser.add_argument("--calm", type=float, help="seconds of load before the faults")
    parser.add_argument("--faulty", type=float, help="seconds of load with faults")
    broker = parser.add_mutually_exclusive_group()
    broker.add_argument("--single-broker", action="store_true", help="one nats-server even in the long profile")
    broker.add_argument("--cluster", action="store_true", help="three nats-server nodes even in the short profile")
    parser.add_argument("--no-faults", action="store_true", help="the load alone (the faulty phase runs calm)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--workdir", type=Path, help="keep the run's logs and data here (default: a temporary dir)")
    args = parser.parse_args(argv)

    profile = PROFILES[args.profile]
    changes: dict[str, Any] = {}
    if args.rate:
        changes["rate"] = args.rate
    if args.calm is not None:
        changes["calm_s"] = args.calm
    if args.faulty is not None:
        changes["faulty_s"] = args.faulty
    if args.single_broker or args.cluster:
        changes["cluster"] = args.cluster
    profile = dataclasses.replace(profile, **changes)
    load_before = round(os.getloadavg()[0], 2)
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    with chaos_stack(profile, args.workdir) as stack:
        _say(f"stack up in {time.monotonic() - started:.0f} s: {stack.urls()}")
        company, seeded = seed(stack, profile)
        outcome = asyncio.run(_run(stack, company, seeded, profile, not args.no_faults))
    report = {
        "profile": dataclasses.asdict(profile),
        "started_at": started_at,
        "machine": f"{os.cpu_count()} cores, {platform.platform()}",
        "command": "python -m bench.chaos " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "stack": (
            f"{profile.replicas} replicas of each service, private PostgreSQL 15 cluster, "
            + ("3 clustered nats-server nodes, R3 streams" if profile.cluster else "1 nats-server")
        ),
        "wall_s": round(time.monotonic() - started, 1),
        "load_average": {"before": load_before, "after_load": outcome.pop("load_average_after_load")},
        **outcome,
    }
    as_json, as_md = write_report(args.out, report)
    failed = [name for name, inv in outcome["invariants"].items() if inv.get("target") == 0 and inv["count"]]
    _say(f"wrote {as_json} and {as_md} in {report['wall_s']} s; invariants failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
