"""Request and response bodies of the contracts API."""

from __future__ import annotations

import uuid
from datetime import date, time
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from shared.events.common import GeoPoint, Priority, RequestKind, SkillNeed
from shared.text import PlainText
from shared.timestamps import UtcDatetime

ContractType = Literal["full_maintenance", "on_call", "warranty"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
QuotaPeriod = Literal["month", "year", "contract"]
Criticality = Literal["critical", "high", "normal", "low"]


class OpeningHoursIn(BaseModel):
    """Local wall time; an end at or before the start runs past midnight (00:00-00:00 is the whole day)."""

    start: time
    end: time


WeeklyHoursIn = dict[Weekday, list[OpeningHoursIn]]


class CustomerIn(BaseModel):
    name: PlainText = Field(min_length=1, max_length=200)
    external_ref: PlainText | None = Field(
        default=None, min_length=1, max_length=200, description="the customer's key in the manager's spreadsheets"
    )


class CustomerOut(BaseModel):
    id: uuid.UUID
    name: str
    external_ref: str | None = None


class TerritoryIn(BaseModel):
    name: PlainText = Field(min_length=1, max_length=200)
    area: dict[str, Any] = Field(description="a GeoJSON Polygon or MultiPolygon (lon, lat; WGS 84)")


class TerritoryPatch(BaseModel):
    """Only the fields sent are changed."""

    name: PlainText | None = Field(default=None, min_length=1, max_length=200)
    area: dict[str, Any] | None = Field(default=None, description="a GeoJSON Polygon or MultiPolygon (lon, lat)")


class TerritoryOut(BaseModel):
    id: uuid.UUID
    name: str
    area: dict[str, Any]


class TerritoryRef(BaseModel):
    id: uuid.UUID
    name: str


class SiteIn(BaseModel):
    name: PlainText = Field(min_length=1, max_length=200)
    address: PlainText = Field(min_length=1, max_length=500)
    location: GeoPoint
    external_ref: PlainText | None = Field(default=None, min_length=1, max_length=200)
    access_hours: WeeklyHoursIn | None = Field(default=None, description="when technicians may come; none: any time")
    contact_name: PlainText | None = Field(
        default=None, min_length=1, max_length=200, description="whom a technician calls on site"
    )
    contact_phone: PlainText | None = Field(default=None, min_length=1, max_length=50)


class SitePatch(BaseModel):
    """Only the fields sent are changed; null clears access hours (any time) or a contact field."""

    name: PlainText | None = Field(default=None, min_length=1, max_length=200)
    address: PlainText | None = Field(default=None, min_length=1, max_length=500)
    access_hours: WeeklyHoursIn | None = None
    contact_name: PlainText | None = Field(default=None, min_length=1, max_length=200)
    contact_phone: PlainText | None = Field(default=None, min_length=1, max_length=50)

    @model_validator(mode="after")
    def _required_stay(self) -> SitePatch:
        for name in ("name", "address"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class SiteOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    address: str
    location: GeoPoint
    external_ref: str | None = None
    access_hours: WeeklyHoursIn | None = None
    territory: TerritoryRef | None = Field(default=None, description="the smallest territory covering the site")
    contact_name: str | None = None
    contact_phone: str | None = None


class EquipmentIn(BaseModel):
    equipment_type: PlainText = Field(min_length=1, max_length=200, examples=["cold_room"])
    model: PlainText = Field(min_length=1, max_length=200)
    serial: PlainText = Field(min_length=1, max_length=200)
    installed_on: date | None = None
    warranty_ends_on: date | None = None
    required_skills: list[SkillNeed] = Field(default_factory=list, description="skills needed to service it")
    criticality: Criticality = Field(
        default="normal", description="an emergency on a critical or high unit defaults to P1, on others to P2"
    )

    @model_validator(mode="after")
    def _coherent(self) -> EquipmentIn:
        if self.installed_on and self.warranty_ends_on and self.warranty_ends_on < self.installed_on:
            raise ValueError("warranty_ends_on must not be before installed_on")
        return self


class EquipmentOut(EquipmentIn):
    id: uuid.UUID
    site_id: uuid.UUID
    customer_id: uuid.UUID


class ServiceHistoryEntry(BaseModel):
    request_id: uuid.UUID
    kind: str
    assignment_id: uuid.UUID | None = Field(description="staff only: none in a customer's answer")
    technician_id: uuid.UUID | None = Field(description="staff only: none in a customer's answer")
    status: str
    at: UtcDatetime
    outcome: str | None = None


class SlaTermIn(BaseModel):
    priority: Priority
    response_minutes: int = Field(gt=0, le=60 * 24 * 60, description="business minutes until arrival")
    fix_minutes: int = Field(gt=0, le=60 * 24 * 120, description="business minutes until fixed")
    required_skills: list[SkillNeed] = Field(default_factory=list, description="skills a technician needs")
    late_penalty_per_hour: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=12,
        decimal_places=2,
        description="what each hour the arrival is late costs (the contract's currency); none: the planner's default",
    )
    visit_value: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=12,
        decimal_places=2,
        description="what a visit of this priority is worth: leaving it unplanned costs that; none: by priority",
    )

    @model_validator(mode="after")
    def _fix_after_response(self) -> SlaTermIn:
        if self.fix_minutes < self.response_minutes:
            raise ValueError("fix_minutes must not be shorter than response_minutes")
        return self


class QuotaIn(BaseModel):
    request_kind: RequestKind
    period: QuotaPeriod = "year"
    included: int = Field(ge=0, le=100_000, description="requests included per period, e.g. 12 call-outs a year")


class PriceIn(BaseModel):
    amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: PlainText | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    billing_period: Literal["month", "quarter", "year"] | None = None
    extra_callout_price: Decimal | None = Field(
        default=None, ge=0, max_digits=12, decimal_places=2, description="charged per request beyond the quota"
    )


def _unique_priorities(sla: list[SlaTermIn] | None) -> None:
    if sla is not None and len({t.priority for t in sla}) != len(sla):
        raise ValueError("one SLA term per priority")


def _unique_quotas(quotas: list[QuotaIn] | None) -> None:
    if quotas is not None and len({q.request_kind for q in quotas}) != len(quotas):
        raise ValueError("one quota per request kind")


class ContractIn(BaseModel):
    customer_id: uuid.UUID
    contract_type: ContractType
    starts_on: date
    ends_on: date | None = None
    site_ids: list[uuid.UUID] = Field(min_length=1)
    equipment_ids: list[uuid.UUID] = Field(
        default_factory=list, description="units covered; a listed site with none of its units listed is covered whole"
    )
    sla: list[SlaTermIn] = Field(min_length=1)
    timezone: PlainText = "Europe/Simferopol"
    business_hours: WeeklyHoursIn | None = Field(default=None, description="SLA clock; none: 24/7")
    holidays: list[date] = Field(default_factory=list, description="days the SLA clock stops (weekly calendars)")
    quotas: list[QuotaIn] = Field(default_factory=list)
    price: PriceIn = Field(default_factory=PriceIn)

    @model_validator(mode="after")
    def _coherent(self) -> ContractIn:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        _unique_priorities(self.sla)
        _unique_quotas(self.quotas)
        return self


class ContractPatch(BaseModel):
    """Only the fields sent are changed; lists are replaced whole."""

    ends_on: date | None = None
    site_ids: list[uuid.UUID] | None = Field(default=None, min_length=1)
    equipment_ids: list[uuid.UUID] | None = None
    sla: list[SlaTermIn] | None = Field(default=None, min_length=1)
    timezone: PlainText | None = None
    business_hours: WeeklyHoursIn | None = None
    holidays: list[date] | None = None
    quotas: list[QuotaIn] | None = None
    price: PriceIn | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ContractPatch:
        _unique_priorities(self.sla)
        _unique_quotas(self.quotas)
        for name in ("site_ids", "sla", "timezone", "holidays", "quotas", "price", "equipment_ids"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class QuotaOut(QuotaIn):
    used: int | None = None
    left: int | None = None
    period_starts_on: date | None = None
    period_ends_on: date | None = None


class ContractOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    contract_type: str
    status: str
    starts_on: date
    ends_on: date | None
    ended_on: date | None = None
    site_ids: list[uuid.UUID]
    equipment_ids: list[uuid.UUID] = []
    sla: list[SlaTermIn]
    timezone: str
    business_hours: WeeklyHoursIn | None = None
    holidays: list[date] = []
    quotas: list[QuotaIn] = []
    price: PriceIn


class ScheduleIn(BaseModel):
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None = Field(default=None, description="one unit; none: the site's covered units")
    rrule: PlainText = Field(
        min_length=5,
        max_length=500,
        examples=["FREQ=MONTHLY;BYMONTHDAY=-1"],
        description="an RFC 5545 RRULE (no DTSTART; the rule counts from first_on at visit_time)",
    )
    first_on: date | None = Field(default=None, description="defaults to the contract's start")
    visit_time: time = time(9, 0)
    tolerance_days: int = Field(
        default=0, ge=0, le=60, description="the visit may be done this many days early or late"
    )
    duration_minutes: int = Field(gt=0, le=24 * 60)
    required_skills: list[SkillNeed] = Field(default_factory=list)
    priority: Priority = "P4"


class SchedulePatch(BaseModel):
    rrule: PlainText | None = Field(default=None, min_length=5, max_length=500)
    first_on: date | None = None
    visit_time: time | None = None
    tolerance_days: int | None = Field(default=None, ge=0, le=60)
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    required_skills: list[SkillNeed] | None = None
    priority: Priority | None = None
    active: bool | None = None


class ScheduleOut(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None
    rrule: str
    first_on: date
    visit_time: time
    tolerance_days: int
    duration_minutes: int
    required_skills: list[SkillNeed]
    priority: Priority
    active: bool


class VisitOut(BaseModel):
    id: uuid.UUID = Field(description="also the request_id dispatch books the visit under")
    schedule_id: uuid.UUID
    contract_id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_ids: list[uuid.UUID]
    due_on: date
    due_at: UtcDatetime
    window_start: UtcDatetime
    window_end: UtcDatetime
    duration_minutes: int
    required_skills: list[SkillNeed]
    priority: Priority
    status: str
    carried_over_from: uuid.UUID | None = None
    carried_work: str | None = None


class GenerateIn(BaseModel):
    contract_id: uuid.UUID | None = Field(default=None, description="one contract; none: every active contract")
    horizon_days: int | None = Field(default=None, ge=1, le=366)


class GenerationOut(BaseModel):
    contracts: int
    planned: int
    reinstated: int
    moved: int
    cancelled: int
    carried_over: int
    expired: int


class VisitHealth(BaseModel):
    due: int = Field(description="visits whose window has opened (cancelled ones left out)")
    done: int
    overdue: int = Field(description="not done and the window has closed")
    failed: int
    open: int = Field(description="not done, window still open or ahead")
    cancelled: int


class SlaHealth(BaseModel):
    requests: int
    response_met: int
    response_breached: int
    response_compliance: float | None = Field(description="met / (met + breached); none before any is decided")
    fix_met: int
    fix_breached: int
    fix_compliance: float | None


class ContractHealthOut(BaseModel):
    contract_id: uuid.UUID
    status: str
    at: UtcDatetime
    visits: VisitHealth
    sla: SlaHealth
    quotas: list[QuotaOut]


class ImportProblem(BaseModel):
    line: int = Field(description="the line the row ends on in the file (the header is line 1)")
    field: str | None = None
    reason: str


class ImportReport(BaseModel):
    kind: str
    dry_run: bool
    rows: int
    imported: int
    errors: list[ImportProblem]


class EquipmentChanges(BaseModel):
    """What a bulk edit sets on every listed unit; fields left out are kept."""

    equipment_type: PlainText | None = Field(default=None, min_length=1, max_length=200)
    criticality: Criticality | None = None
    required_skills: list[SkillNeed] | None = None


class EquipmentBulkEdit(BaseModel):
    equipment_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    changes: EquipmentChanges


class EquipmentBulkEdited(BaseModel):
    updated: int


class SchedulePreviewIn(BaseModel):
    rrule: PlainText = Field(min_length=5, max_length=500, examples=["FREQ=MONTHLY;INTERVAL=3;BYDAY=1TU"])
    first_on: date
    visit_time: time = time(9, 0)
    tolerance_days: int = Field(default=0, ge=0, le=60)
    timezone: PlainText = "Europe/Simferopol"
    ends_on: date | None = Field(default=None, description="the contract's end: no visit after it")
    count: int = Field(default=6, ge=1, le=24, description="how many occurrences to show")


class PreviewedVisitOut(BaseModel):
    due_on: date
    due_at: UtcDatetime
    window_start: UtcDatetime
    window_end: UtcDatetime


class SchedulePreviewOut(BaseModel):
    rrule: str
    visits: list[PreviewedVisitOut]


class CalendarVisitOut(VisitOut):
    customer_name: str
    site_name: str
    overdue: bool = Field(description="not finished and its window has closed")


class TransitionPreviewOut(BaseModel):
    action: Literal["activate", "suspend", "terminate"]
    status_before: str
    status_after: str | None = Field(description="none when the transition would be refused")
    refused: str | None = Field(description="why it would be refused, if it would")
    visits_planned: list[PreviewedVisitOut]
    visits_cancelled: list[PreviewedVisitOut]
    sites: int
    units: int


class PublicHolidayOut(BaseModel):
    date: date
    name: str


# --- the customer portal's cover (an allow-list: no prices, skills, criticality or internal references) -------


class CoverVisitOut(BaseModel):
    due_on: date
    window_start: UtcDatetime
    window_end: UtcDatetime


class CoverSlaOut(BaseModel):
    priority: str
    response_minutes: int
    fix_minutes: int


class CoverQuotaOut(BaseModel):
    request_kind: str
    period: str
    included: int
    used: int
    left: int
    period_ends_on: date | None


class CoverContractOut(BaseModel):
    id: uuid.UUID
    contract_type: str
    status: str
    starts_on: date
    ends_on: date | None
    timezone: str
    round_the_clock: bool = Field(description="SLA clocks run 24/7; otherwise in the contract's business hours")
    sla: list[CoverSlaOut]
    quotas: list[CoverQuotaOut]


class CoverUnitOut(BaseModel):
    id: uuid.UUID
    equipment_type: str
    model: str
    serial: str
    installed_on: date | None
    warranty_ends_on: date | None
    contract_id: uuid.UUID | None = Field(description="the contract serving this unit now; null: not covered")
    next_visit: CoverVisitOut | None


class CustomerSiteCoverOut(BaseModel):
    id: uuid.UUID
    name: str
    address: str
    location: GeoPoint
    contract_id: uuid.UUID | None = Field(description="the contract serving the site now; null: not covered")
    next_visit: CoverVisitOut | None
    equipment: list[CoverUnitOut]


class CustomerCoverOut(BaseModel):
    sites: list[CustomerSiteCoverOut]
    contracts: list[CoverContractOut]


class PastVisitOut(BaseModel):
    """A planned visit in the customer's history: where, when it was due, and whether it was done."""

    id: uuid.UUID
    site_id: uuid.UUID
    equipment_ids: list[uuid.UUID]
    due_on: date
    window_start: UtcDatetime
    window_end: UtcDatetime
    status: Literal["done", "failed"]
