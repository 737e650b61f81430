"""What every contracts router needs: the database, settings, roles, and conversions at the edge."""

from __future__ import annotations

from datetime import time

from fastapi import Request

from services.contracts.api.schemas import OpeningHoursIn, WeeklyHoursIn
from services.contracts.domain.calendar import calendar_problem, weekly_calendar
from services.contracts.settings import Settings
from shared.auth import Role, require_roles
from shared.db import Database
from shared.errors import InvalidInput

managers = require_roles(Role.CONTRACT_MANAGER)

WeeklyHours = dict[str, list[tuple[time, time]]]


def database(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


def settings(request: Request) -> Settings:
    configured: Settings = request.app.state.settings
    return configured


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
    return {day: [OpeningHoursIn(start=s, end=e) for s, e in stretches]  # type: ignore[misc]
            for day, stretches in hours.items()}
