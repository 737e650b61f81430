"""The envelope and subject conventions, and what add_event writes, without a broker or a database."""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from typing import Any

import pydantic
import pytest

from shared.clock import FixedClock
from shared.db import service_metadata
from shared.events.envelope import Envelope, rpc_subject, stream_name, stream_subjects, subject_for
from shared.events.registry import EVENT_TYPES, PRODUCERS, UnknownEventType, parse_data
from shared.events.requests import ServiceRequestCancelled
from shared.messaging import MessagingTables, add_event, messaging_tables
from shared.observability import set_correlation_id


def _in_stream(subject: str, producer: str) -> bool:
    return any(re.fullmatch(p.replace(".", r"\.").replace("*", "[^.]+"), subject) for p in stream_subjects(producer))


def test_subjects_follow_fieldline_producer_entity_event_major() -> None:
    assert subject_for("dispatch", "assignment", "created") == "fieldline.dispatch.assignment.created.v1"
    assert subject_for("requests", "survey", "answered", major=2) == "fieldline.requests.survey.answered.v2"
    assert stream_name("notify") == "FIELDLINE_NOTIFY"
    assert _in_stream(subject_for("notify", "delivery", "sent"), "notify")
    assert not _in_stream(subject_for("notify", "delivery", "sent"), "dispatch")


@pytest.mark.parametrize("producer", PRODUCERS)
def test_request_reply_subjects_are_outside_every_stream(producer: str) -> None:
    # a stream capturing a request subject would answer the caller with a PubAck instead of the service
    rpc = rpc_subject(producer, "check_entitlement")
    assert rpc == f"fieldline.rpc.{producer}.check_entitlement.v1"
    assert not any(_in_stream(rpc, p) for p in PRODUCERS)


def test_the_envelope_round_trips_and_ignores_fields_it_does_not_know(clock: FixedClock) -> None:
    event = ServiceRequestCancelled(request_id=uuid.uuid4(), customer_id=uuid.uuid4(), cancelled_by="customer")
    envelope = Envelope(
        type=event.subject, correlation_id="c-1", data=event.model_dump(mode="json"), occurred_at=clock()
    )
    assert envelope.occurred_at.tzinfo is not None and envelope.occurred_at.utcoffset() == UTC.utcoffset(None)
    wire = envelope.model_dump(mode="json") | {"schema_hint": "from a newer producer"}
    parsed = Envelope.model_validate(wire)
    assert parsed == envelope
    assert parse_data(parsed) == event


def test_event_data_of_a_newer_minor_version_still_parses(clock: FixedClock) -> None:
    data = {
        "request_id": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
        "cancelled_by": "dispatcher",
        "refund_due": True,
    }  # an optional field a later v1 might add
    event = parse_data(Envelope(type=ServiceRequestCancelled.subject, data=data, occurred_at=clock()))
    assert isinstance(event, ServiceRequestCancelled)
    assert event.reason == ""
    with pytest.raises(pydantic.ValidationError):
        event.reason = "changed"  # type: ignore[misc]


def test_unknown_types_and_bad_data_are_refused(clock: FixedClock) -> None:
    with pytest.raises(UnknownEventType):
        parse_data(Envelope(type="fieldline.requests.service_request.exploded.v1", data={}, occurred_at=clock()))
    with pytest.raises(pydantic.ValidationError):
        parse_data(
            Envelope(type=ServiceRequestCancelled.subject, data={"request_id": "not-a-uuid"}, occurred_at=clock())
        )
    assert set(EVENT_TYPES) >= {ServiceRequestCancelled.subject}


class _RecordingSession:
    """Stands in for AsyncSession: add_event only executes one insert and flags the session."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []

    async def execute(self, statement: Any) -> None:
        self.rows.append(statement.compile().params)


@pytest.fixture
def tables() -> MessagingTables:
    return messaging_tables(service_metadata("unit"))


async def test_add_event_writes_the_envelope_with_the_current_correlation_id(
    tables: MessagingTables, clock: FixedClock
) -> None:
    session = _RecordingSession()
    event = ServiceRequestCancelled(request_id=uuid.uuid4(), customer_id=uuid.uuid4(), cancelled_by="customer")
    set_correlation_id("corr-42")
    try:
        event_id = await add_event(session, tables, event, occurred_at=clock())  # type: ignore[arg-type]
    finally:
        set_correlation_id(None)
    [row] = session.rows
    assert row["event_id"] == event_id and row["subject"] == event.subject
    envelope = Envelope.model_validate(row["payload"])
    assert (envelope.event_id, envelope.type, envelope.correlation_id) == (event_id, event.subject, "corr-42")
    assert envelope.occurred_at == clock()
    assert parse_data(envelope) == event
    assert session.info["outbox_dirty"] is True, "the commit must wake the relay"


async def test_add_event_keeps_a_given_event_id_and_correlation_id(tables: MessagingTables, clock: FixedClock) -> None:
    session = _RecordingSession()
    chosen = uuid.uuid4()
    event = ServiceRequestCancelled(request_id=uuid.uuid4(), customer_id=uuid.uuid4(), cancelled_by="customer")
    given = await add_event(
        session,
        tables,
        event,
        occurred_at=clock(),
        event_id=chosen,  # type: ignore[arg-type]
        correlation_id="given",
    )
    assert given == chosen
    assert session.rows[0]["payload"]["correlation_id"] == "given"
