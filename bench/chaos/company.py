"""The chaos run's company: the generated refrigeration company, small, seeded through the public APIs."""

from __future__ import annotations

import sys
import time

from bench.chaos.profile import Profile
from bench.chaos.stack import ChaosStack
from deploy.local.company.generator import Company, generate_company
from deploy.local.company.seeder import SeededCompany, seed_company
from shared.auth import Role

__all__ = ["seed"]


def seed(stack: ChaosStack, profile: Profile) -> tuple[Company, SeededCompany]:
    """Customers, sites, units and active contracts (contracts), technicians with weekly shifts (dispatch) and
    recipients (notify), by deploy/local/company/seeder.py, as the simulated day seeds its company."""
    company = generate_company(
        profile.seed, customers=profile.customers, sites=profile.sites, technicians=profile.technicians
    )
    started = time.monotonic()
    seeded = seed_company(company, stack.first_urls(), stack.token(Role.ADMIN, "chaos-admin"))
    print(f"  seeded in {time.monotonic() - started:.0f} s: {seeded.created}", file=sys.stderr, flush=True)
    return company, seeded
