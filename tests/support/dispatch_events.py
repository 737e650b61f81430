"""The events dispatch consumes, as requests and contracts announce them, with the suites' usual terms: one place
for the new request and the planned maintenance visit that the dispatch tests publish again and again, and the
wait until dispatch holds the visits published."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import VisitPlanned
from shared.events.requests import ServiceRequestCreated
from tests.support.polling import eventually

if TYPE_CHECKING:
    from tests.dispatch.conftest import Dispatch


def refrigeration() -> list[SkillNeed]:
    """What every job of these suites needs: a refrigeration technician of level 2 or more."""
    return [SkillNeed(skill="refrigeration", min_level=2)]


def request_created(
    now: datetime,
    location: tuple[float, float],
    *,
    response_in: timedelta = timedelta(hours=4),
    fix_in: timedelta | None = timedelta(hours=8),
    **fields: Any,
) -> ServiceRequestCreated:
    """A covered P1 emergency filed at ``now`` at ``location`` (lat, lon), for a new customer and site: an hour's
    refrigeration work, reached within ``response_in`` and fixed within ``fix_in`` (None: no fix deadline);
    ``fields`` set or override any other field of the event (kind, priority, windows, address, territory...)."""
    event: dict[str, Any] = {
        "request_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "site_id": uuid.uuid4(),
        "kind": "emergency",
        "priority": "P1",
        "location": GeoPoint(lat=location[0], lon=location[1]),
        "required_skills": refrigeration(),
        "covered": True,
        "response_due": now + response_in,
        "fix_due": now + fix_in if fix_in is not None else None,
        "estimated_duration_minutes": 60,
        "created_at": now,
    }
    return ServiceRequestCreated(**(event | fields))


def visit_planned(
    start: datetime, end: datetime, location: tuple[float, float], *, minutes: int, **fields: Any
) -> VisitPlanned:
    """A maintenance visit of ``minutes`` at ``location`` (lat, lon), due on ``start``'s day inside the window
    ``start``-``end``, for a new contract, customer and site, needing refrigeration; ``fields`` set or override any
    other field of the event (address, time zone, access hours, territory...)."""
    event: dict[str, Any] = {
        "visit_id": uuid.uuid4(),
        "contract_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "site_id": uuid.uuid4(),
        "location": GeoPoint(lat=location[0], lon=location[1]),
        "due_on": start.date().isoformat(),
        "window_start": start,
        "window_end": end,
        "duration_minutes": minutes,
        "skills": refrigeration(),
        "address": None,
    }
    return VisitPlanned(**(event | fields))


async def publish_visits(dispatch: Dispatch, visits: list[VisitPlanned]) -> None:
    """Publishes ``visits`` as contracts would and waits until dispatch holds a job for each (and no other visit)."""
    for v in visits:
        await dispatch.publish(v)

    async def all_known() -> bool:
        rows = await dispatch.sql("SELECT count(*) AS n FROM dispatch.jobs WHERE kind = 'planned'")
        return bool(rows[0]["n"] == len(visits))

    await eventually(all_known, what="the visits reach dispatch")
