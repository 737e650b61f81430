"""Dispatch's typed records with plausible defaults, for pure tests of the rules that read them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.dispatch.domain.records import AssignmentRecord, JobRecord, TechnicianRecord

AT = datetime(2026, 12, 4, 7, 15, tzinfo=UTC)


def job_record(**given: Any) -> JobRecord:
    fields: dict[str, Any] = {
        "request_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "site_id": uuid.uuid4(),
        "kind": "emergency",
        "priority": "P1",
        "lat": 44.95,
        "lon": 34.10,
        "required_skills": [],
        "response_due": AT + timedelta(hours=2),
        "fix_due": None,
        "duration_minutes": 60,
        "status": "open",
        "unplaceable_reason": None,
        "created_at": AT,
        "window_start": None,
        "window_end": None,
        "contract_id": None,
        "equipment_ids": [],
        "address": None,
        "description": "",
        "bundled_with": None,
        "source_version": None,
        "contact_name": "",
        "contact_phone": "",
    }
    return JobRecord(**(fields | given))


def assignment_record(**given: Any) -> AssignmentRecord:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "request_id": uuid.uuid4(),
        "technician_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "status": "offered",
        "planned_start": AT,
        "planned_end": AT + timedelta(hours=1),
        "eta": AT,
        "first_eta": None,
        "created_at": AT,
        "booked_at": AT,
        "updated_at": AT,
        "version": 1,
        "locked": False,
        "locked_by": None,
        "locked_at": None,
        "arrived_at": None,
        "finished_at": None,
        "suspect": None,
        "outcome": None,
        "report": None,
        "last_transition_at": None,
        "overran_at": None,
    }
    return AssignmentRecord(**(fields | given))


def technician_record(**given: Any) -> TechnicianRecord:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": "Anna Koval",
        "first_name": "Anna",
        "skills": {"refrigeration": 3},
        "status": "available",
        "active": True,
        "home_lat": 44.95,
        "home_lon": 34.10,
        "lat": 44.95,
        "lon": 34.10,
        "position_at": None,
        "weekly_shifts": None,
        "territory": None,
        "overtime_minutes": 60,
        "route_version": 0,
        "break_ends_at": None,
        "phone": "",
        "photo_key": None,
        "photo_content_type": None,
    }
    return TechnicianRecord(**(fields | given))
