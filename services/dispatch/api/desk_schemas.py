"""The bodies of what the dispatcher's console and the technician's app read: the live board, the SLA watch, the
alerts, the day's plan and what a re-plan changed, the technician's day. Typed so the OpenAPI documents (and the
TypeScript clients generated from them) say exactly what comes back; every instant is UTC with a Z."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.dispatch.api.schemas import AssignmentOut, PlanChangeOut, UnplannedOut
from shared.events.common import GeoPoint
from shared.timestamps import UtcDatetime


class SkillNeedOut(BaseModel):
    skill: str
    min_level: int


class BoardBooking(AssignmentOut):
    """A booking as the board shows it: on a technician's row, or as an open job's assignment."""

    booked_at: UtcDatetime | None = Field(default=None, description="when it was booked, on the service's clock")
    last_transition_at: UtcDatetime | None = None
    overran_at: UtcDatetime | None = Field(default=None, description="when the visit ran past its planned end")
    site_lat: float | None = Field(default=None, description="the site, on a technician's row")
    site_lon: float | None = None


class AbsenceNow(BaseModel):
    kind: str = Field(description="sickness, leave or training")
    until: UtcDatetime | None


class ShiftToday(BaseModel):
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    overtime_until: UtcDatetime = Field(description="the end of the shift plus the technician's overtime allowance")


class BreakDue(BaseModel):
    """The break still to take: `minutes` long, to start between `earliest` and `latest`."""

    earliest: UtcDatetime
    latest: UtcDatetime
    minutes: int


class BreakTaken(BaseModel):
    start: UtcDatetime
    end: UtcDatetime


class BoardTechnician(BaseModel):
    id: uuid.UUID
    name: str
    first_name: str
    skills: dict[str, int]
    status: str = Field(description="what the board shows: the app's status, or absent / off shift")
    reported_status: str = Field(description="what the technician's app last said")
    active: bool
    on_shift: bool
    home_lat: float | None
    home_lon: float | None
    lat: float | None = Field(description="the live position (home until the first fix)")
    lon: float | None
    position_at: UtcDatetime | None
    weekly_shifts: dict[str, Any] | None
    territory: str | None
    territory_ids: list[uuid.UUID] = Field(default=[], description="the territories they belong to; none: a floater")
    overtime_minutes: int
    route_version: int
    break_ends_at: UtcDatetime | None
    phone: str = Field(description="the work phone")
    absence: AbsenceNow | None
    shift: ShiftToday | None = Field(description="today's shift; none on a day off")
    break_due: BreakDue | None
    break_taken: BreakTaken | None
    route: list[BoardBooking] = Field(description="today's bookings by planned start (none declined or cancelled)")


class WindowOut(BaseModel):
    """A window the work may start in (the same shape as a request's preferred window)."""

    start: UtcDatetime
    end: UtcDatetime


class OpenJob(BaseModel):
    """An open request with its SLA clock."""

    request_id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    kind: str = Field(description="emergency, routine or planned")
    priority: str
    required_skills: list[SkillNeedOut]
    response_due: UtcDatetime | None
    fix_due: UtcDatetime | None
    duration_minutes: int
    status: str
    unplaceable_reason: str | None
    created_at: UtcDatetime
    window_start: UtcDatetime | None
    window_end: UtcDatetime | None
    windows: list[WindowOut] | None = Field(
        default=None,
        description="each window the work may start in (window_start/end: their span); none: that span",
    )

    @field_validator("windows", mode="before")
    @classmethod
    def _windows_as_objects(cls, value: Any) -> Any:
        """Stored as [start, end] pairs (jobs.windows)."""
        if isinstance(value, list):
            return [{"start": w[0], "end": w[1]} if isinstance(w, list | tuple) else w for w in value]
        return value

    contract_id: uuid.UUID | None
    equipment_ids: list[uuid.UUID]
    address: str | None
    description: str | None
    bundled_with: uuid.UUID | None
    contact_name: str | None
    contact_phone: str | None
    territory_id: uuid.UUID | None = Field(default=None, description="the site's service territory")
    lat: float | None
    lon: float | None
    assignment: BoardBooking | None
    minutes_left: float | None = Field(description="to the response deadline; negative when late")
    predicted_arrival: UtcDatetime | None
    at_risk: bool


class AtRiskJob(OpenJob):
    minutes_late: float | None = Field(description="predicted arrival past the deadline; none when nobody can go")
    reason: str


class Board(BaseModel):
    at: UtcDatetime = Field(description="the service's now")
    day: date
    technicians: list[BoardTechnician]
    requests: list[OpenJob]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from an AlertRecord

    request_id: uuid.UUID
    kind: str = Field(description="predicted_late, late_placement, implausible_arrival, ...")
    raised_at: UtcDatetime
    predicted_arrival: UtcDatetime | None
    reason: str
    job_kind: str | None
    address: str | None
    job_status: str | None


class PlanFailureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from a PlanFailureRecord

    day: date
    failed_at: UtcDatetime
    reason: str
    attempts: int


class PlannedStopOut(BaseModel):
    request_id: uuid.UUID
    label: str
    eta: UtcDatetime
    start: UtcDatetime
    end: UtcDatetime


class PlannedBreakOut(BaseModel):
    start: UtcDatetime
    end: UtcDatetime


class PlannedRoute(BaseModel):
    technician_id: uuid.UUID
    technician_name: str
    travel_minutes: float
    stops: list[PlannedStopOut]
    breaks: list[PlannedBreakOut]


PlanKpisOut = dict[str, float | int | None]


class PlanOut(BaseModel):
    """A version of a day's plan."""

    model_config = ConfigDict(from_attributes=True)  # read from a PlanRecord

    id: uuid.UUID
    day: date
    version: int
    reason: str
    status: str = Field(description="optimal, feasible, no_solution or invalid")
    created_at: UtcDatetime
    routes: list[PlannedRoute]
    unassigned: list[UnplannedOut]
    changes: list[PlanChangeOut]
    kpis: PlanKpisOut


class PlanDiffOut(BaseModel):
    """What the day's last plan version changed, and why, in words."""

    model_config = ConfigDict(from_attributes=True)  # read from a PlanRecord

    id: uuid.UUID
    day: date
    version: int
    reason: str
    created_at: UtcDatetime
    changes: list[PlanChangeOut]
    unassigned: list[UnplannedOut]


class ReplanOut(BaseModel):
    """The plan a re-plan (or an accepted proposal) made."""

    plan_id: uuid.UUID
    day: date
    version: int
    reason: str
    status: str
    changes: list[PlanChangeOut]
    unassigned: int = Field(description="how many jobs the plan leaves unassigned")
    assigned: int
    kpis: PlanKpisOut


class HorizonPlanOut(BaseModel):
    """The plans a joint planning of the horizon made: one per day, today first."""

    days: list[ReplanOut]


class StopSite(BaseModel):
    site_id: uuid.UUID
    address: str | None
    location: GeoPoint


class StopContact(BaseModel):
    customer_id: uuid.UUID
    name: str
    phone: str


class StopWindow(BaseModel):
    """The window the stop's booking falls in (of several the customer gave, or the site's access hours allow)."""

    start: UtcDatetime | None
    end: UtcDatetime | None


class PastVisit(BaseModel):
    request_id: uuid.UUID
    kind: str
    status: str
    outcome: str | None
    finished_at: UtcDatetime | None
    report: dict[str, Any] | None


class DayStop(BaseModel):
    assignment: AssignmentOut
    request_id: uuid.UUID
    kind: str
    priority: str
    site: StopSite
    equipment_ids: list[uuid.UUID]
    description: str
    contact: StopContact
    window: StopWindow
    response_due: UtcDatetime | None
    fix_due: UtcDatetime | None
    bundled_with: uuid.UUID | None
    history: list[PastVisit] = Field(description="what was done at the site before")


class TechnicianDayOut(BaseModel):
    day: date
    technician_id: uuid.UUID
    status: str
    plan_version: int | None
    server_time: UtcDatetime = Field(description="the service's now: the app times queued steps by its offset")
    stops: list[DayStop]


class DayOfWorkOut(BaseModel):
    """How a technician's day went (or, without day and technician, the sum of the rows)."""

    day: date | None
    technician_id: uuid.UUID | None
    technician_name: str | None = None
    shift_hours: float = Field(description="the shift up to now, less its break once the break window has passed")
    on_site_hours: float = Field(description="from arriving on site to completing, failing or calling it off")
    driving_hours: float = Field(description="from setting off to arriving")
    travel_km: float = Field(description="the path through the day's position pings")
    utilisation: float | None = Field(description="on-site hours over shift hours; null without shift hours")


class WorkKpisOut(BaseModel):
    """Utilisation and travel per local day and technician, from dispatch's records."""

    first: date = Field(description="the first local day reported")
    last: date = Field(description="the last local day reported (included)")
    timezone: str = Field(description="the company's time zone the days are cut in")
    as_of: UtcDatetime = Field(description="figures count up to this instant")
    days: list[DayOfWorkOut]
    total: DayOfWorkOut
