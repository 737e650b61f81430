"""The customer's view of a visit, as pure rules (services/dispatch/domain/customer_view.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.dispatch.domain.customer_view import customer_visit
from services.dispatch.domain.records import AssignmentRecord
from tests.support.dispatch_records import assignment_record, job_record, technician_record

AT = datetime(2026, 12, 4, 7, 15, tzinfo=UTC)
JOB = job_record(lat=44.499, lon=34.16)
TECH = technician_record(first_name="Anna", name="Anna Koval", lat=44.53, lon=34.22, position_at=AT)


def booking(status: str, **extra: Any) -> AssignmentRecord:
    return assignment_record(status=status, eta=AT, arrived_at=None, finished_at=None, **extra)


def test_the_position_only_while_en_route() -> None:
    positions = {
        s: customer_visit(uuid.uuid4(), JOB, booking(s), TECH).position for s in ("accepted", "en_route", "on_site")
    }

    assert positions["accepted"] is None and positions["on_site"] is None
    assert positions["en_route"] is not None and (positions["en_route"].lat, positions["en_route"].lon) == (
        44.53,
        34.22,
    )


def test_a_declined_or_cancelled_booking_is_no_visit() -> None:
    for status in ("declined", "cancelled"):
        shown = customer_visit(uuid.uuid4(), JOB, booking(status), TECH)
        assert (shown.status, shown.technician_first_name, shown.eta) == (None, None, None)


def test_the_report_leaves_out_the_notes_and_unknown_outcomes() -> None:
    report = {
        "work_done": "Cleaned",
        "notes": "internal",
        "parts_used": [{"part": "gasket", "quantity": 2}],
        "signed_by": "M. I.",
    }
    done = customer_visit(uuid.uuid4(), JOB, booking("completed", report=report), TECH).report
    failed = customer_visit(
        uuid.uuid4(), JOB, booking("failed", outcome="argued with the manager", report={}), TECH
    ).report

    assert done is not None and (done.outcome, done.work_done, done.signed_by) == ("completed", "Cleaned", "M. I.")
    assert done.parts_used == [{"part": "gasket", "quantity": 2}] and "internal" not in repr(done)
    assert failed is not None and failed.outcome is None
