"""The envelope every Fieldline message travels in, and the base of every event's data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import SystemClock


class Event(BaseModel):
    """Data of one versioned event. Subclasses set `subject`; unknown fields are ignored on read."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    subject: ClassVar[str]
    producer: ClassVar[str]


class Envelope(BaseModel):
    """What goes on the wire: `event_id` doubles as the Nats-Msg-Id."""

    model_config = ConfigDict(extra="ignore")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    # from the producing service's clock; the real clock only for envelopes built outside a service
    occurred_at: datetime = Field(default_factory=lambda: SystemClock().now())
    correlation_id: str | None = None
    data: dict[str, Any]


def subject_for(producer: str, entity: str, event: str, major: int = 1) -> str:
    """`fieldline.<producer>.<entity>.<event>.v<major>`."""
    return f"fieldline.{producer}.{entity}.{event}.v{major}"


def rpc_subject(service: str, command: str, major: int = 1) -> str:
    """Request/reply subjects live outside every stream's subjects (a stream would answer with a PubAck)."""
    return f"fieldline.rpc.{service}.{command}.v{major}"


def stream_name(producer: str) -> str:
    return f"FIELDLINE_{producer.upper()}"


def stream_subjects(producer: str) -> list[str]:
    return [f"fieldline.{producer}.*.*.*"]
