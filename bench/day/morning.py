"""The morning of a simulated day: the company seeded, planned visits generated, the day planned."""

from __future__ import annotations

import asyncio
import sys
import time

import asyncpg
import httpx

from bench.day.player import Token
from bench.day.scenario import Scenario
from deploy.local.company.generator import Company
from deploy.local.company.seeder import SeededCompany, seed_company
from shared.auth import Role

__all__ = ["morning"]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _wait_for_jobs(database_url: str, timeout_s: float = 180.0) -> int:
    """Until dispatch holds a job for every planned visit contracts generated (the events have flowed)."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            visits = int(await conn.fetchval("SELECT count(*) FROM contracts.planned_visits"))
            jobs = int(await conn.fetchval("SELECT count(*) FROM dispatch.jobs WHERE kind = 'planned'"))
            if visits and jobs >= visits:
                return jobs
            if time.monotonic() > deadline:
                _say(f"  dispatch has {jobs} of {visits} planned visits after {timeout_s:.0f} s; planning anyway")
                return jobs
            await asyncio.sleep(1.0)
    finally:
        await conn.close()


def morning(
    urls: dict[str, str], token: Token, database_url: str, company: Company, scenario: Scenario
) -> SeededCompany:
    """Seed the company (idempotently), generate the planned visits and plan the scenario's day."""
    seeded = seed_the_company(urls, token, company)
    plan_the_day(urls, token, database_url, scenario)
    return seeded


def seed_the_company(urls: dict[str, str], token: Token, company: Company) -> SeededCompany:
    """The company through the public APIs, idempotently (a second run creates nothing)."""
    t0 = time.monotonic()
    seeded = seed_company(company, urls, token(Role.ADMIN, "day-admin"), progress=lambda line: _say(f"  seeded {line}"))
    _say(f"  company seeded in {time.monotonic() - t0:.0f} s: {seeded.created or 'nothing new'}")
    return seeded


def plan_the_day(urls: dict[str, str], token: Token, database_url: str, scenario: Scenario) -> None:
    """Generate the contracts' planned visits and plan the scenario's day once dispatch knows them all."""
    admin = token(Role.ADMIN, "day-admin")
    with httpx.Client(headers={"Authorization": f"Bearer {admin}"}, timeout=300) as client:
        generated = client.post(f"{urls['contracts']}/visits/generate", json={})
        generated.raise_for_status()
        _say(f"  planned visits generated: {generated.json()}")
        jobs = asyncio.run(_wait_for_jobs(database_url))
        # 409: a queued re-plan of the day holds it. 500: dispatch's re-plan can collide with another day's
        # booking of the same visit (uq_assignments_active_request, raised at commit); both are retried.
        for _attempt in range(8):
            plan = client.post(
                f"{urls['dispatch']}/plans/{scenario.day.isoformat()}/replan",
                json={"reason": "morning planning"},
                headers={"Authorization": f"Bearer {token(Role.DISPATCHER, 'day-dispatcher')}"},
            )
            if plan.status_code < 400:
                break
            time.sleep(1.0)
        if plan.status_code >= 400:
            _say(f"  the morning re-plan kept failing ({plan.status_code}); the day runs on the queued plans")
        _say(f"  {jobs} planned jobs known to dispatch; morning plan: {plan.text[:300]}")
