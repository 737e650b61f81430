"""Tables of the requests schema."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, Table, Text, UniqueConstraint, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import service_metadata
from shared.messaging import messaging_tables

SCHEMA = "requests"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

service_requests = Table(
    "service_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False, index=True),
    Column("site_id", Uuid, nullable=False, index=True),
    Column("equipment_id", Uuid),
    Column("kind", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("contact", JSONB, nullable=False, server_default="{}"),
    Column("status", Text, nullable=False),
    Column("covered", Boolean, nullable=False),
    Column("billable", Boolean, nullable=False),
    Column("quota_exceeded", Boolean, nullable=False, server_default="false"),
    Column("coverage_reason", Text, nullable=False, server_default=""),
    Column("contract_id", Uuid),
    Column("response_due", DateTime(timezone=True)),
    Column("fix_due", DateTime(timezone=True)),
    Column("assignment_id", Uuid),
    Column("technician_id", Uuid),
    Column("technician_first_name", Text),
    Column("eta", DateTime(timezone=True)),
    Column("idempotency_key", Text, nullable=False),
    Column("request_fingerprint", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("version", Integer, nullable=False, server_default="1"),
    UniqueConstraint("customer_id", "idempotency_key"),
)

request_timeline = Table(
    "request_timeline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", Uuid, nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("source_event_id", Uuid),
    Column("detail", JSONB, nullable=False, server_default="{}"),
)
