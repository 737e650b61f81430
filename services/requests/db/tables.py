"""Tables of the requests schema."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.attachments import blob_table
from shared.db import service_metadata
from shared.messaging import messaging_tables
from shared.ratelimit import rate_limit_table

SCHEMA = "requests"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
rate_limits = rate_limit_table(metadata)
attachment_blobs = blob_table(metadata)  # the default store's bytes (shared/attachments)

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
    # the current assignment, denormalised for tracking reads (request_assignments holds them all)
    Column("assignment_id", Uuid),
    Column("technician_id", Uuid),
    Column("technician_first_name", Text),
    Column("eta", DateTime(timezone=True)),
    Column("idempotency_key", Text, nullable=False),
    Column("request_fingerprint", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("preferred_windows", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("site_lat", Float),
    Column("site_lon", Float),
    # the site's address as contracts gave it at filing (dispatch shows it to the technician)
    Column("site_address", Text),
    Column("site_territory_id", Uuid),  # the site's service territory at filing (dispatch prefers its technicians)
    Column("required_skills", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("follow_up_of", Uuid),
    Column("unplaceable_reason", Text),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancelled_by", Text),
    Column("cancel_reason", Text),
    # the contract's money terms at filing, passed on to dispatch (NULL: its planner's defaults)
    Column("late_penalty_per_hour", Float),
    Column("visit_value", Float),
    UniqueConstraint("customer_id", "idempotency_key"),
    Index("ix_service_requests_equipment_id", "equipment_id", postgresql_where=text("equipment_id IS NOT NULL")),
    Index("ix_service_requests_created_at", "created_at"),
    # at most one follow-up per original request
    Index(
        "uq_service_requests_follow_up_of",
        "follow_up_of",
        unique=True,
        postgresql_where=text("follow_up_of IS NOT NULL"),
    ),
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
    Index(
        "uq_request_timeline_source",
        "request_id",
        "source_event_id",
        "status",
        unique=True,
        postgresql_where=text("source_event_id IS NOT NULL"),
    ),
)

# what this service knows of each dispatch assignment for a request; `reached` maps status → first moment seen
request_assignments = Table(
    "request_assignments",
    metadata,
    Column("assignment_id", Uuid, primary_key=True),
    Column("request_id", Uuid, nullable=False, index=True),
    Column("technician_id", Uuid, nullable=False),
    Column("technician_first_name", Text),
    Column("technician_as_of", DateTime(timezone=True)),
    Column("booked_at", DateTime(timezone=True), nullable=False),
    Column("promised_eta", DateTime(timezone=True)),
    Column("eta", DateTime(timezone=True)),
    Column("eta_as_of", DateTime(timezone=True)),
    Column("reached", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("outcome", Text),
)

surveys = Table(
    "surveys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("request_id", Uuid, nullable=False, unique=True),
    Column("customer_id", Uuid, nullable=False),
    Column("technician_id", Uuid),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("invited_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("csat", SmallInteger),
    Column("nps", SmallInteger),
    Column("comment", Text),
    Column("answered_via", Text),
    CheckConstraint("csat IS NULL OR csat BETWEEN 1 AND 5", name="csat_range"),
    CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="nps_range"),
    CheckConstraint("answered_at IS NULL OR csat IS NOT NULL", name="answered_has_csat"),
    Index("ix_surveys_answered_at", "answered_at", postgresql_where=text("answered_at IS NOT NULL")),
)

# Customers' photos of what is wrong, added when filing (or while the request is open). The id is made on the
# device, so a retried upload finds its photo; the bytes are in the attachment store under `key`.
request_photos = Table(
    "request_photos",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("request_id", Uuid, nullable=False, index=True),
    Column("customer_id", Uuid, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("store", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("uploaded_by", Text, nullable=False),  # the principal's subject
    Column("created_at", DateTime(timezone=True), nullable=False),
)
