"""Territories: who is at home where, and the dispatcher's rule for work across a territory's border.

A technician belongs to territories (contracts' ids); a job's site lies in one territory or none. Serving a job
crosses when the site is in a territory and the technician belongs to territories, none of them that one: a
technician in no territory is a floater, and a site in none is everyone's. The dispatcher's policy allows crossing
at a cost per job (minutes of driving the plan would rather spend to stay in territory) or forbids it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

Crossing = Literal["allow", "forbid"]
TerritoryId = TypeVar("TerritoryId", uuid.UUID, str)  # the service's ids; the planner's plain data carries them as text
DEFAULT_CROSSING_COST_MINUTES = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class TerritoryPolicy:
    crossing: Crossing = "allow"
    crossing_cost_minutes: int = DEFAULT_CROSSING_COST_MINUTES
    updated_at: datetime | None = None  # None: never set, the default
    updated_by: str | None = None

    @property
    def forbidden(self) -> bool:
        return self.crossing == "forbid"

    @property
    def crossing_cost_s(self) -> float:
        return 60.0 * self.crossing_cost_minutes


def crosses(site_territory: TerritoryId | None, technician_territories: Collection[TerritoryId]) -> bool:
    """Serving a site in `site_territory` from outside every one of the technician's territories."""
    return site_territory is not None and bool(technician_territories) and site_territory not in technician_territories


def crossing_cost_s(
    policy: TerritoryPolicy, site_territory: uuid.UUID | None, technician_territories: Collection[uuid.UUID]
) -> float | None:
    """What serving the site costs this technician on top of the driving, in seconds; None when forbidden."""
    if not crosses(site_territory, technician_territories):
        return 0.0
    return None if policy.forbidden else policy.crossing_cost_s
