"""Tables of the dispatch schema. The database itself refuses double bookings."""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import Boolean, Column, DateTime, Index, Integer, Table, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint

from shared.db import service_metadata
from shared.messaging import messaging_tables

SCHEMA = "dispatch"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

ACTIVE_ASSIGNMENT_STATUSES = ("offered", "accepted", "en_route", "on_site")
_ACTIVE_SQL = "status IN ('offered', 'accepted', 'en_route', 'on_site')"

technicians = Table(
    "technicians",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("first_name", Text, nullable=False),
    Column("skills", JSONB, nullable=False, server_default="{}"),  # {"refrigeration": 3, ...}
    Column("home_base", Geography("POINT", srid=4326, spatial_index=False), nullable=False),
    # always set (the home base until the first ping) so KNN ordering can use the GiST index
    Column("position", Geography("POINT", srid=4326, spatial_index=True), nullable=False),
    Column("position_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False, server_default="available"),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

jobs = Table(
    "jobs",
    metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("location", Geography("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("required_skills", JSONB, nullable=False, server_default="[]"),
    Column("response_due", DateTime(timezone=True)),
    Column("fix_due", DateTime(timezone=True)),
    Column("duration_minutes", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("unplaceable_reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("request_id", Uuid, nullable=False),
    Column("technician_id", Uuid, nullable=False, index=True),
    Column("customer_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("planned_start", DateTime(timezone=True), nullable=False),
    Column("planned_end", DateTime(timezone=True), nullable=False),
    Column("eta", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("version", Integer, nullable=False, server_default="1"),
    # one active assignment per request
    Index("uq_assignments_active_request", "request_id", unique=True, postgresql_where=text(_ACTIVE_SQL)),
    # no two active bookings of one technician overlap in time
    ExcludeConstraint(
        ("technician_id", "="),
        (func.tstzrange(text("planned_start"), text("planned_end")), "&&"),
        name="ex_assignments_no_overlap",
        using="gist",
        where=text(_ACTIVE_SQL),
    ),
)

assignment_history = Table(
    "assignment_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment_id", Uuid, nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("position", Geography("POINT", srid=4326, spatial_index=False)),
    Column("detail", JSONB, nullable=False, server_default="{}"),
)
