"""What dispatch's repositories return and its use cases pass on: one frozen, typed record per row shape.

A record's fields are the columns its query selects, by name (`shared.db.record` builds it); a query that adds a
join's columns returns the subclass that names them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class TechnicianRecord:
    id: uuid.UUID
    name: str
    first_name: str
    skills: dict[str, int]
    status: str
    active: bool
    home_lat: float
    home_lon: float
    lat: float  # the live position (the home base until the first ping)
    lon: float
    position_at: datetime | None
    weekly_shifts: dict[str, Any] | None  # {"mon": {"start": "08:00", "end": "17:00", "break_minutes": 30}}
    territory: str | None
    overtime_minutes: int
    route_version: int
    break_ends_at: datetime | None
    phone: str
    photo_key: str | None
    photo_content_type: str | None
    max_travel_minutes: int | None = None  # driving per day; None: no limit
    overtime_cost_per_hour: float | None = None  # None: the settings' default rate
    territory_ids: Sequence[uuid.UUID] = ()  # contracts' territories they belong to; none: a floater


@dataclass(frozen=True, slots=True, kw_only=True)
class TechnicianOnShift(TechnicianRecord):
    """A technician with their shift of one day."""

    starts_at: datetime
    ends_at: datetime
    break_minutes: int
    break_earliest: datetime | None
    break_latest: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftRecord:
    technician_id: uuid.UUID
    day: date
    starts_at: datetime
    ends_at: datetime
    break_minutes: int
    break_earliest: datetime | None
    break_latest: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReachableTechnician:
    """An emergency's candidate as the candidate query finds them: skilled, on (or soon on) shift, within reach."""

    id: uuid.UUID
    first_name: str
    skills: dict[str, int]
    route_version: int
    overtime_minutes: int
    shift_start: datetime  # of the shift on now, or of the next one within the horizon
    shift_end: datetime
    break_minutes: int
    break_earliest: datetime | None
    break_latest: datetime | None
    distance_m: float
    break_ends_at: datetime | None
    lat: float
    lon: float
    home_lat: float
    home_lon: float
    territory_ids: Sequence[uuid.UUID] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """Work dispatch is told of (an emergency, a routine request), as it records it."""

    request_id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    kind: str
    priority: str
    required_skills: list[dict[str, Any]]  # as SkillNeed's JSON
    response_due: datetime | None
    fix_due: datetime | None
    duration_minutes: int
    status: str
    contract_id: uuid.UUID | None
    description: str
    equipment_ids: list[str]
    window_start: datetime | None
    window_end: datetime | None
    contact_name: str
    contact_phone: str
    address: str | None
    created_at: datetime | None = None  # when the customer asked (response times count from it)
    windows: list[list[str]] | None = None  # every window (domain/windows.windows_json); None: window_start/end
    # the contract's money terms for the job (None: the planner's defaults by priority; domain/costs.py)
    late_penalty_per_hour: float | None = None
    visit_value: float | None = None
    territory_id: uuid.UUID | None = None  # the site's territory (contracts' id), when it lies in one


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord:
    """A row of jobs, its location as `lat`/`lon`."""

    request_id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    kind: str
    priority: str
    lat: float
    lon: float
    required_skills: list[dict[str, Any]]
    response_due: datetime | None
    fix_due: datetime | None
    duration_minutes: int
    status: str
    unplaceable_reason: str | None
    created_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    contract_id: uuid.UUID | None
    equipment_ids: list[str]
    address: str | None
    description: str
    bundled_with: uuid.UUID | None
    source_version: datetime | None
    contact_name: str
    contact_phone: str
    windows: list[list[str]] | None = None  # every window (domain/windows.job_windows reads them)
    late_penalty_per_hour: float | None = None
    visit_value: float | None = None
    territory_id: uuid.UUID | None = None  # the site's territory (contracts' id), when it lies in one


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitDueAtSite:
    """A planned visit of a site not yet done, with its active booking if any."""

    request_id: uuid.UUID
    window_start: datetime | None
    window_end: datetime | None
    duration_minutes: int
    required_skills: list[dict[str, Any]]
    customer_id: uuid.UUID
    assignment_id: uuid.UUID | None
    assignment_status: str | None
    technician_id: uuid.UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord:
    """A dispatcher's alert (SLA at risk, an implausible step), with its request's job."""

    request_id: uuid.UUID
    kind: str
    raised_at: datetime
    predicted_arrival: datetime | None
    reason: str
    job_kind: str | None
    address: str | None
    job_status: str | None


@dataclass(frozen=True)
class NewAssignment:
    """A booking to write: what `BookingRepository.book` and the emergency's one statement insert."""

    id: uuid.UUID
    request_id: uuid.UUID
    technician_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    planned_start: datetime
    planned_end: datetime
    eta: datetime
    booked_at: datetime  # the service's clock: no step a device reports may claim an earlier time


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentRecord:
    """A row of assignments: one booking of a technician for a request."""

    id: uuid.UUID
    request_id: uuid.UUID
    technician_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    planned_start: datetime
    planned_end: datetime
    eta: datetime
    first_eta: datetime | None  # None: read as eta
    created_at: datetime
    booked_at: datetime | None
    updated_at: datetime
    version: int
    locked: bool
    locked_by: str | None
    locked_at: datetime | None
    arrived_at: datetime | None
    finished_at: datetime | None
    suspect: str | None
    outcome: str | None
    report: dict[str, Any] | None
    last_transition_at: datetime | None
    overran_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SitedAssignment(AssignmentRecord):
    """A booking with its site's position (None when its job is unknown)."""

    site_lat: float | None
    site_lon: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingAhead:
    """An active booking not finished yet, with what it must still keep (its job's window end and SLA)."""

    id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    technician_id: uuid.UUID
    status: str
    planned_start: datetime
    planned_end: datetime
    eta: datetime
    locked: bool
    window_end: datetime | None
    response_due: datetime | None
    kind: str
    lat: float
    lon: float
    windows: list[list[str]] | None = None  # all the job's windows, window_end their last closing
    promised_eta: datetime | None = None  # the arrival the customer was told (first_eta, else eta)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    """When a booking took a status step, and where the device said it was."""

    at: datetime
    lat: float | None
    lon: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FinishedWork:
    """Work finished at a site: what dispatch itself saw done there."""

    site_id: uuid.UUID
    request_id: uuid.UUID
    kind: str
    status: str
    outcome: str | None
    report: dict[str, Any] | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrunningJob:
    """A job on site past its planned end."""

    id: uuid.UUID  # the assignment's
    request_id: uuid.UUID
    technician_id: uuid.UUID
    planned_start: datetime
    planned_end: datetime
    address: str | None
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentRecord:
    """A photo or signature of a visit report; its bytes are in a BlobStore under `key`."""

    id: uuid.UUID  # made on the device: a replayed upload finds it
    assignment_id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    technician_id: uuid.UUID
    kind: str  # photo, signature
    content_type: str
    size_bytes: int
    sha256: str
    store: str  # which BlobStore holds the bytes
    key: str
    taken_at: datetime | None  # the device's time
    created_at: datetime  # the server's time


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRecord:
    """A version of a day's plan: per technician the ordered stops with ETAs (JSON, as the API shows them)."""

    id: uuid.UUID
    day: date
    version: int
    reason: str
    status: str
    routes: list[dict[str, Any]]
    unassigned: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    kpis: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ProposalRecord:
    """A re-plan computed for the dispatcher to read before it is applied: accepted only while the day's bookings
    are still as the planner saw them (`fingerprint`), before `expires_at`."""

    id: uuid.UUID
    day: date
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    based_on_version: int | None
    change_budget: int | None
    fingerprint: dict[str, Any]
    kept: list[str]
    plan: dict[str, Any]
    changes: list[dict[str, Any]]
    unassigned: list[dict[str, Any]]
    kpis: dict[str, Any]
    decided_at: datetime | None = None
    decision: str | None = None  # accepted | discarded
    plan_version: int | None = None  # the version an acceptance made


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanFailureRecord:
    """A day the planner could not plan: a dispatcher alert until the day plans again."""

    day: date
    failed_at: datetime
    reason: str
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MobileCommandRecord:
    """A mobile client's command by its own id, with the answer given: a replayed offline queue gets it back."""

    client_command_id: uuid.UUID
    technician_id: uuid.UUID
    kind: str
    status_code: int
    response: Any
    created_at: datetime


def job_label(job: JobRecord | OverrunningJob) -> str:
    """How a job is named in plan changes and re-plan reasons: its address, else its kind and id."""
    return job.address or f"{job.kind} {str(job.request_id)[:8]}"
