"""Request and response bodies of the dispatch API."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from services.dispatch.domain.territories import DEFAULT_CROSSING_COST_MINUTES
from shared.events.common import GeoPoint
from shared.moments import SaneAwareDatetime
from shared.text import PlainText
from shared.timestamps import UtcDatetime

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_TERRITORIES = 50
LONGEST_ABSENCE = timedelta(days=366)


class WeeklyShiftIn(BaseModel):
    start: time
    end: time
    break_minutes: int = Field(default=0, ge=0, le=180)
    break_earliest: time | None = None
    break_latest: time | None = None

    @field_validator("break_latest")
    @classmethod
    def _break_in_order(cls, latest: time | None, info: ValidationInfo) -> time | None:
        earliest = info.data.get("break_earliest")
        if latest is not None and earliest is not None and latest < earliest:
            raise ValueError("must not be before break_earliest")
        return latest

    def stored(self) -> dict[str, Any]:
        def hhmm(t: time | None) -> str | None:
            return t.strftime("%H:%M") if t else None

        return {
            "start": hhmm(self.start),
            "end": hhmm(self.end),
            "break_minutes": self.break_minutes,
            "break_earliest": hhmm(self.break_earliest),
            "break_latest": hhmm(self.break_latest),
        }


def stored_pattern(pattern: dict[Weekday, WeeklyShiftIn] | None) -> dict[str, Any] | None:
    return None if pattern is None else {day: s.stored() for day, s in pattern.items()}


def _levels(skills: dict[str, int]) -> dict[str, int]:
    for skill, level in skills.items():
        if not 1 <= level <= 5:
            raise ValueError(f"level of {skill!r} must be 1..5")
    return skills


class TechnicianLimitsIn(BaseModel):
    """What the planner may ask of a technician per day, and what their overtime costs."""

    overtime_minutes: int = Field(default=60, ge=0, le=600, description="work past the shift end at most")
    # minutes, not km: the planner and every travel-time provider count driving time, and a day's limit on the
    # wheel is what the working-time rules and the technician care about
    max_travel_minutes: int | None = Field(
        default=None, ge=1, le=24 * 60, description="driving per day at most, in minutes; none: no limit"
    )
    overtime_cost_per_hour: float | None = Field(
        default=None, ge=0, le=100_000, description="what an hour past the shift end costs; none: the company's rate"
    )


class TechnicianIn(TechnicianLimitsIn):
    name: PlainText = Field(min_length=1, max_length=200)
    first_name: PlainText | None = Field(default=None, max_length=100)
    skills: dict[PlainText, int] = Field(default_factory=dict, description="skill → level 1..5")
    home_base: GeoPoint
    weekly_shifts: dict[Weekday, WeeklyShiftIn] | None = Field(
        default=None, description="local times per weekday; none at all means always on duty"
    )
    territory: PlainText | None = Field(default=None, description="a free-text label; territory_ids are what count")
    territory_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=MAX_TERRITORIES,
        description="the service territories (contracts' ids) the technician belongs to; none: serves every territory",
    )
    phone: PlainText = Field(default="", max_length=40, description="the work phone the dispatcher calls")

    @field_validator("skills")
    @classmethod
    def _skill_levels(cls, skills: dict[str, int]) -> dict[str, int]:
        return _levels(skills)


class TechnicianOut(BaseModel):
    id: uuid.UUID
    name: str
    first_name: str
    skills: dict[str, int]
    status: str
    active: bool
    home_base: GeoPoint
    position: GeoPoint
    position_at: UtcDatetime | None
    weekly_shifts: dict[str, Any] | None = None
    territory: str | None = None
    territory_ids: list[uuid.UUID] = []
    break_ends_at: UtcDatetime | None = None  # on a break until then
    phone: str = ""
    overtime_minutes: int = 60
    max_travel_minutes: int | None = None
    overtime_cost_per_hour: float | None = None


class TerritoriesIn(BaseModel):
    territory_ids: list[uuid.UUID] = Field(
        max_length=MAX_TERRITORIES, description="the service territories (contracts' ids); empty: every territory"
    )


class TerritoryPolicyIn(BaseModel):
    crossing: Literal["allow", "forbid"] = Field(
        description="allow: a technician may serve a site outside their territories, at the cost; forbid: never"
    )
    crossing_cost_minutes: int = Field(
        default=DEFAULT_CROSSING_COST_MINUTES,
        ge=0,
        le=480,
        description="per job served across: the minutes of extra driving the planner would rather spend to stay in",
    )


class TerritoryPolicyOut(TerritoryPolicyIn):
    updated_at: UtcDatetime | None = None  # None: never set, the default
    updated_by: str | None = None


class ShiftsIn(BaseModel):
    weekly_shifts: dict[Weekday, WeeklyShiftIn] | None


class AbsenceIn(BaseModel):
    kind: Literal["sickness", "leave", "training"]
    starts_at: SaneAwareDatetime
    ends_at: SaneAwareDatetime = Field(description="after starts_at, at most 366 days later")
    note: PlainText = Field(default="", max_length=500)

    @field_validator("ends_at")
    @classmethod
    def _bounded(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        starts_at = info.data.get("starts_at")
        if starts_at is not None:
            if ends_at <= starts_at:
                raise ValueError("must be after starts_at")
            if ends_at - starts_at > LONGEST_ABSENCE:
                raise ValueError(f"must be at most {LONGEST_ABSENCE.days} days after starts_at")
        return ends_at


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from an AssignmentRecord

    id: uuid.UUID
    request_id: uuid.UUID
    technician_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    planned_start: UtcDatetime
    planned_end: UtcDatetime
    eta: UtcDatetime  # expected arrival; once on site, the actual one
    first_eta: UtcDatetime | None = None  # the arrival first promised to the customer; re-plans keep to it
    version: int
    locked: bool = False  # pinned by a dispatcher: automatic re-plans keep technician and time
    locked_by: str | None = None  # who pinned it
    locked_at: UtcDatetime | None = None
    arrived_at: UtcDatetime | None = None  # on site (actual arrival)
    finished_at: UtcDatetime | None = None  # completed or failed
    suspect: str | None = None  # why a status step looked implausible: not a trustworthy response time
    outcome: str | None = None  # how the visit ended: "completed", or why it failed

    @model_validator(mode="after")
    def _completed_is_an_outcome(self) -> AssignmentOut:
        # a completed visit's outcome is stored only for failures; the answer to a report says what was written
        if self.status == "completed" and self.outcome is None:
            self.outcome = "completed"
        return self


class StatusChangeIn(BaseModel):
    status: Literal["accepted", "declined", "en_route", "on_site", "completed", "failed", "cancelled"]
    at: SaneAwareDatetime | None = None
    position: GeoPoint | None = None
    outcome: PlainText | None = Field(default=None, max_length=200)
    reason: PlainText | None = Field(default=None, max_length=500, description="needed when a dispatcher cancels")


class MobileCommand(BaseModel):
    client_command_id: uuid.UUID = Field(description="generated on the device; a replay returns the first answer")
    at: SaneAwareDatetime | None = None
    position: GeoPoint | None = None


class MobileStatusIn(MobileCommand):
    status: Literal["en_route", "on_site"]


class BreakIn(MobileCommand):
    on_break: bool = Field(description="true: the break starts; false: back from it")
    minutes: int | None = Field(
        default=None, ge=1, le=240, description="how long the break lasts (default: the service's break_minutes)"
    )


class DeclineIn(MobileCommand):
    reason: PlainText = Field(default="", max_length=500)


class PartUsed(BaseModel):
    part: PlainText = Field(min_length=1, max_length=200, description="the part number (or its name)")
    quantity: float = Field(default=1, gt=0)


class ChecklistItem(BaseModel):
    item: PlainText = Field(min_length=1, max_length=200)
    done: bool


class CompletionReportIn(MobileCommand):
    outcome: Literal["completed", "needs_parts", "no_access", "customer_absent"]
    work_done: PlainText = Field(default="", max_length=5000)
    parts_used: list[PartUsed] = Field(default=[], max_length=100)
    checklist: list[ChecklistItem] = Field(default=[], max_length=50)
    # the photos and the signature uploaded before the report (PUT /me/assignments/{id}/attachments/{attachment_id})
    attachment_ids: list[uuid.UUID] = Field(default=[], max_length=30)
    notes: PlainText = Field(default="", max_length=5000)
    signed_by: PlainText | None = Field(default=None, max_length=200, description="the customer who signed")

    @model_validator(mode="after")
    def _signature(self) -> CompletionReportIn:
        if self.outcome == "completed" and not self.signed_by:
            raise ValueError("signed_by: a completed job needs the name of the customer who signed")
        return self


class Ping(BaseModel):
    at: SaneAwareDatetime
    position: GeoPoint
    accuracy_m: int | None = Field(default=None, ge=0)


class PingsIn(BaseModel):
    client_command_id: uuid.UUID
    pings: list[Ping] = Field(min_length=1, max_length=1000)


class AssignIn(BaseModel):
    request_id: uuid.UUID
    technician_id: uuid.UUID
    planned_start: SaneAwareDatetime | None = None
    lock: bool = Field(default=True, description="pin it: automatic re-plans keep it until a dispatcher releases it")


class ReassignIn(BaseModel):
    technician_id: uuid.UUID
    planned_start: SaneAwareDatetime | None = None
    lock: bool = Field(default=True, description="pin it: automatic re-plans keep it until a dispatcher releases it")


class LockIn(BaseModel):
    locked: bool = True


class ReplanIn(BaseModel):
    reason: PlainText = Field(default="re-plan requested by a dispatcher", max_length=500)
    release_promises: bool = Field(
        default=False,
        description="let this plan retime arrivals already told to customers beyond the tolerance (the customers "
        "are told the new ones; the plan records who released them)",
    )


class ProposalIn(BaseModel):
    reason: PlainText = Field(default="re-plan proposed to a dispatcher", max_length=500)
    release_promises: bool = Field(
        default=False, description="as for a re-plan: the proposal may retime told arrivals beyond the tolerance"
    )
    change_budget: int | None = Field(
        default=None,
        ge=0,
        le=50,
        description="visits that may leave each technician's current route (default: the service's setting)",
    )


class NoticeOut(BaseModel):
    """Who is told of a change, and what: the visit's customer, or a technician whose route it changes."""

    audience: Literal["customer", "technician"]
    text: str
    technician_id: uuid.UUID | None = None


class PlanChangeOut(BaseModel):
    """One change a plan makes, in words: a visit added to a route, moved to another technician, retimed or
    dropped; and who is told."""

    request_id: uuid.UUID
    kind: Literal["added", "moved", "retimed", "dropped"]
    text: str
    from_technician_id: uuid.UUID | None = None
    to_technician_id: uuid.UUID | None = None
    from_start: UtcDatetime | None = None
    to_start: UtcDatetime | None = None
    promise_broken: bool = Field(False, description="the arrival the customer was told moves beyond the tolerance")
    told: list[NoticeOut] = Field(default_factory=list)


# the planner's codes (planning/model.UnassignedReason, diagnosed in planning/reasons.py), spelt out for the clients
UnassignedReasonCode = Literal[
    "no_skilled_technician",
    "outside_day_range",
    "outside_territory",
    "outside_every_shift",
    "window_unreachable",
    "capacity",
    "max_travel",
    "pinned_infeasible",
    "change_budget",
    "no_time_left",
    "no_solution",
]


class UnplannedOut(BaseModel):
    """A job the plan leaves unassigned, and why (the planner's reason code and detail)."""

    request_id: uuid.UUID
    reason: UnassignedReasonCode = Field(description="the first check no technician-day passes, in the planner's order")
    detail: str = Field("", description="what that check found, in words (the skills needed, the pin ...)")
    label: str = Field(description="the job's address, or its kind and short id")


class ProposalOut(BaseModel):
    """A re-plan computed but not applied: what it would change, its figures, until when it can be accepted."""

    id: uuid.UUID
    day: date
    reason: str
    created_by: str
    created_at: UtcDatetime
    expires_at: UtcDatetime
    status: Literal["open", "accepted", "discarded", "expired"]
    based_on_version: int | None = Field(description="the day's plan version the proposal was made from")
    plan_version: int | None = Field(description="the version its acceptance made")
    change_budget: int | None
    counts: dict[str, int] = Field(description="changes by kind: added, moved, retimed, dropped")
    changes: list[PlanChangeOut]
    unassigned: list[UnplannedOut]
    kpis: dict[str, float | int | None] = Field(
        description="travel_minutes, assigned, unassigned, sla_misses, overtime_minutes, cost and unassigned_value "
        "(money: the planner's objective and the value it left out) and the promise figures"
    )


class DayQuery(BaseModel):
    day: date | None = None


class CustomerPositionOut(BaseModel):
    lat: float
    lon: float
    at: UtcDatetime | None = None


class CustomerPartOut(BaseModel):
    part: str
    quantity: float


class CustomerReportOut(BaseModel):
    outcome: str | None
    work_done: str
    parts_used: list[CustomerPartOut]
    signed_by: str | None


class CustomerVisitOut(BaseModel):
    """The visit as the customer sees it: no technician id, no reasons, no notes."""

    request_id: uuid.UUID
    status: str | None
    technician_first_name: str | None
    eta: UtcDatetime | None
    arrived_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    position: CustomerPositionOut | None
    site: CustomerPositionOut | None
    report: CustomerReportOut | None
    technician_photo_url: str | None = Field(
        default=None, description="the booked technician's photo, relative to the dispatch API; none without one"
    )
