"""The contract aggregate: its terms as a manager writes them, and the stored contract with its status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from services.contracts.domain.calendar import BusinessCalendar, WeeklyHours, round_the_clock, weekly_calendar
from services.contracts.domain.quota import Quota
from services.contracts.domain.sla import SlaTerm


@dataclass(frozen=True)
class Price:
    amount: Decimal | None = None
    currency: str | None = None
    billing_period: str | None = None
    extra_callout_price: Decimal | None = None


@dataclass(frozen=True)
class ContractTerms:
    """What a manager writes into a contract (everything but its identity, customer and status)."""

    contract_type: str
    starts_on: date
    ends_on: date | None
    site_ids: list[uuid.UUID]
    equipment_ids: list[uuid.UUID]
    sla: list[SlaTerm]
    timezone: str
    business_hours: WeeklyHours | None
    holidays: list[date]
    quotas: list[Quota]
    price: Price


@dataclass(frozen=True)
class ContractRecord:
    id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    terms: ContractTerms
    ended_on: date | None
    created_at: datetime
    updated_at: datetime

    @property
    def calendar(self) -> BusinessCalendar:
        hours = self.terms.business_hours
        if hours is None:
            return round_the_clock(self.terms.timezone)
        return weekly_calendar(self.terms.timezone, hours, frozenset(self.terms.holidays))


@dataclass(frozen=True)
class ScheduleRow:
    id: uuid.UUID
    contract_id: uuid.UUID
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None
    rrule: str
    first_on: date
    visit_time: time
    tolerance_days: int
    duration_minutes: int
    required_skills: tuple[tuple[str, int], ...]
    priority: str
    active: bool


@dataclass(frozen=True)
class CoverageConflict:
    """A unit (or, for contracts naming no units there, a whole site) another live contract already covers."""

    contract_id: uuid.UUID
    site_id: uuid.UUID | None
    equipment_id: uuid.UUID | None


@dataclass(frozen=True)
class VisitCounts:
    due: int
    done: int
    overdue: int
    failed: int
    open: int
    cancelled: int


@dataclass(frozen=True)
class SlaCounts:
    requests: int
    response_met: int
    response_breached: int
    fix_met: int
    fix_breached: int


@dataclass(frozen=True)
class ServiceJob:
    """A request filed with requests, as contracts remembers it for SLA compliance and history."""

    request_id: uuid.UUID
    contract_id: uuid.UUID | None
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None
    kind: str
    priority: str
    response_due: datetime | None
    fix_due: datetime | None
    created_at: datetime
    follow_up_of: uuid.UUID | None


@dataclass(frozen=True)
class AssignmentStep:
    assignment_id: uuid.UUID
    status: str
    at: datetime
    request_id: uuid.UUID
    technician_id: uuid.UUID
    outcome: str | None
