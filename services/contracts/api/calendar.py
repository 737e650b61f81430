"""The calendar side of contracts: schedule previews, every contract's visits by date, public holidays."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Query

from services.contracts.api.contracts import visit_out
from services.contracts.api.deps import AppClock, Manager, Session, Staff
from services.contracts.api.schemas import (
    CalendarVisitOut,
    PreviewedVisitOut,
    PublicHolidayOut,
    SchedulePreviewIn,
    SchedulePreviewOut,
)
from services.contracts.domain.schedule import VisitWindow
from services.contracts.domain.visits import is_overdue
from services.contracts.usecases import calendars, schedules
from shared.pagination import Paging

router = APIRouter(tags=["calendar"])


def _window_out(window: VisitWindow) -> PreviewedVisitOut:
    return PreviewedVisitOut(
        due_on=window.due_on, due_at=window.due_at, window_start=window.window_start, window_end=window.window_end
    )


@router.post(
    "/schedules/preview",
    response_model=SchedulePreviewOut,
    summary="The next visits a schedule would call for, with their tolerance windows; nothing is stored",
)
async def preview_schedule(body: SchedulePreviewIn, clock: AppClock, _: Staff) -> SchedulePreviewOut:
    rrule = body.rrule.strip()
    found = schedules.preview_schedule(
        rrule,
        first_on=body.first_on,
        visit_time=body.visit_time,
        timezone=body.timezone,
        tolerance_days=body.tolerance_days,
        now=clock.now(),
        count=body.count,
        period_ends_on=body.ends_on,
    )
    return SchedulePreviewOut(rrule=rrule, visits=[_window_out(v.window) for v in found])


@router.get(
    "/visits",
    response_model=list[CalendarVisitOut],
    summary="Every contract's planned visits due in a span (a calendar's month or week), overdue ones marked",
)
async def visit_calendar(
    session: Session,
    clock: AppClock,
    _: Staff,
    page: Paging,
    since: datetime | None = Query(None, alias="from", description="default: a month before now"),
    until: datetime | None = Query(None, alias="to", description="default: a month after now"),
    visit_status: str | None = Query(None, alias="status"),
    customer_id: uuid.UUID | None = None,
    contract_id: uuid.UUID | None = None,
) -> list[CalendarVisitOut]:
    now = clock.now()
    since = since or now - timedelta(days=31)
    until = until or now + timedelta(days=31)
    found = await schedules.visit_calendar(session, page, since, until, visit_status, customer_id, contract_id)
    return [
        CalendarVisitOut(
            **visit_out(v).model_dump(),
            customer_name=customer_name,
            site_name=site_name,
            overdue=is_overdue(v.status, v.window_end, now),
        )
        for v, customer_name, site_name in found
    ]


@router.get(
    "/holidays",
    response_model=list[PublicHolidayOut],
    summary="A country's public holidays of a year, to pre-fill a contract's holidays (the holidays package)",
)
async def public_holidays(
    _: Manager,
    country: str = Query("RU", min_length=2, max_length=2, description="ISO 3166-1 alpha-2"),
    year: int = Query(ge=2000, le=2100),
    language: Literal["ru", "en"] = "en",
) -> list[PublicHolidayOut]:
    return [PublicHolidayOut(date=h.on, name=h.name) for h in calendars.public_holidays(country, year, language)]
