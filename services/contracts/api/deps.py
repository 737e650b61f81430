"""What every contracts router needs, as typed dependencies: the unit of work, the clock, settings, who asks;
and conversions at the edge."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Request

from services.contracts.api.schemas import OpeningHoursIn, WeeklyHoursIn
from services.contracts.domain.calendar import calendar_problem, weekly_calendar
from services.contracts.settings import Settings
from shared.auth import Principal, Role, ensure_customer_access, require_roles

# re-exported: the routers import every dependency from here
from shared.deps import AppClock as AppClock
from shared.deps import Caller as Caller
from shared.deps import Transactions as Transactions
from shared.deps import UnitOfWork as UnitOfWork
from shared.errors import InvalidInput, NotFound
from shared.events.common import SkillNeed

managers = require_roles(Role.CONTRACT_MANAGER)

WeeklyHours = dict[str, list[tuple[time, time]]]


class _OwnedRecord(Protocol):
    @property
    def customer_id(self) -> uuid.UUID: ...


Owned = TypeVar("Owned", bound=_OwnedRecord)


def settings(request: Request) -> Settings:
    configured: Settings = request.app.state.settings
    return configured


Session = UnitOfWork
Jobs = Transactions  # for the jobs that open a transaction per contract
Config = Annotated[Settings, Depends(settings)]
Manager = Annotated[Principal, Depends(managers)]
Staff = Annotated[Principal, Depends(require_roles(Role.CONTRACT_MANAGER, Role.DISPATCHER))]


def weekly_hours(field: str, hours: WeeklyHoursIn | None, timezone: str = "UTC") -> WeeklyHours | None:
    """The API's weekly hours as domain data, refused (422 naming `field`) when they overlap or are empty."""
    if hours is None:
        return None
    plain: WeeklyHours = {day: [(s.start, s.end) for s in stretches] for day, stretches in hours.items()}
    problem = calendar_problem(weekly_calendar(timezone, plain))
    if problem is not None:
        raise InvalidInput(field, problem)
    return plain


def weekly_hours_out(hours: WeeklyHours | None) -> WeeklyHoursIn | None:
    if hours is None:
        return None
    return {
        day: [OpeningHoursIn(start=s, end=e) for s, e in stretches]  # type: ignore[misc]
        for day, stretches in hours.items()
    }


def visible(record: Owned | None, principal: Principal, what: str) -> Owned:
    """The record, or 404 when there is none or it belongs to a customer the principal may not see."""
    if record is None:
        raise NotFound(f"{what} not found")
    ensure_customer_access(principal, record.customer_id, what)
    return record


def skills(needs: list[SkillNeed]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((s.skill, s.min_level) for s in needs))


def skill_needs(required: tuple[tuple[str, int], ...]) -> list[SkillNeed]:
    return [SkillNeed(skill=s, min_level=lvl) for s, lvl in required]
