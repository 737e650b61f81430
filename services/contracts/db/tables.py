"""Tables of the contracts schema."""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.db import service_metadata
from shared.messaging import messaging_tables
from shared.ratelimit import rate_limit_table

SCHEMA = "contracts"


def trigram(table: str, expression: str) -> Index:
    """A pg_trgm GIN index over the text the workspace searches in (db/rows.searchable builds the same expression):
    its "contains" search, ILIKE '%text%', is then one bitmap index scan, not a scan of every row."""
    return Index(f"ix_{table}_search_trgm", text(f"({expression}) gin_trgm_ops"), postgresql_using="gin")


# what each list is searched in, joined by spaces (immutable: an index expression)
SEARCHED = {
    "customers": ("name", "external_ref"),
    "sites": ("name", "address", "external_ref"),
    "equipment": ("equipment_type", "model", "serial"),
}
NULLABLE_SEARCHED = {"external_ref"}


def search_expression(table: str) -> str:
    return " || ' ' || ".join(
        f"coalesce({column}, '')" if column in NULLABLE_SEARCHED else column for column in SEARCHED[table]
    )


metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
rate_limits = rate_limit_table(metadata)

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("external_ref", Text, unique=True),  # the customer's key in the manager's spreadsheets
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_customers_name_id", "name", "id"),  # the workspace pages customers in this order
    trigram("customers", search_expression("customers")),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey(customers.c.id), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("location", Geography("POINT", srid=4326, spatial_index=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("external_ref", Text, unique=True),
    # {"mon": [["08:00", "20:00"]], ...}; NULL means open at any time
    Column("access_hours", JSONB),
    # whom a technician calls on site when the request names nobody (planned visits name nobody)
    Column("contact_name", Text),
    Column("contact_phone", Text),
    Index("ix_sites_name_id", "name", "id"),
    trigram("sites", search_expression("sites")),
)

territories = Table(
    "territories",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("area", Geography("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

equipment = Table(
    "equipment",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("site_id", Uuid, ForeignKey(sites.c.id), nullable=False, index=True),
    Column("customer_id", Uuid, ForeignKey(customers.c.id), nullable=False, index=True),
    Column("equipment_type", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("serial", Text, nullable=False),
    Column("installed_on", Date),
    Column("warranty_ends_on", Date),
    Column("required_skills", JSONB, nullable=False, server_default="[]"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # how much a breakdown hurts: an emergency on a critical or high unit defaults to P1, else P2
    Column("criticality", Text, nullable=False, server_default="normal"),
    UniqueConstraint("model", "serial"),
    CheckConstraint(
        "warranty_ends_on IS NULL OR installed_on IS NULL OR warranty_ends_on >= installed_on", name="warranty"
    ),
    CheckConstraint("criticality IN ('critical', 'high', 'normal', 'low')", name="criticality"),
    Index("ix_equipment_type_serial_id", "equipment_type", "serial", "id"),
    trigram("equipment", search_expression("equipment")),
)

contracts = Table(
    "contracts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey(customers.c.id), nullable=False, index=True),
    Column("contract_type", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("timezone", Text, nullable=False, server_default="Europe/Simferopol"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # {"mon": [["09:00", "18:00"]], ...}; NULL means SLA time runs round the clock
    Column("business_hours", JSONB),
    Column("holidays", ARRAY(Date), nullable=False, server_default="{}"),
    Column("price_amount", Numeric(12, 2)),
    Column("currency", Text),
    Column("billing_period", Text),
    Column("extra_callout_price", Numeric(12, 2)),
    Column("ended_on", Date),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # what contract managers were last told by the sweep: the end date announced as near, the overdue visits
    Column("ending_announced_for", Date),
    Column("overdue_announced", Integer, nullable=False, server_default="0"),
    CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period"),
)

contract_sites = Table(
    "contract_sites",
    metadata,
    Column("contract_id", Uuid, ForeignKey(contracts.c.id, ondelete="CASCADE"), primary_key=True),
    Column("site_id", Uuid, ForeignKey(sites.c.id), primary_key=True, index=True),
)

sla_terms = Table(
    "sla_terms",
    metadata,
    Column("contract_id", Uuid, ForeignKey(contracts.c.id, ondelete="CASCADE"), primary_key=True),
    Column("priority", Text, primary_key=True),
    Column("response_minutes", Integer, nullable=False),
    Column("fix_minutes", Integer, nullable=False),
    Column("required_skills", JSONB, nullable=False, server_default="[]"),
    # money terms of this priority (NULL: dispatch's planner defaults)
    Column("late_penalty_per_hour", Numeric(12, 2)),
    Column("visit_value", Numeric(12, 2)),
    CheckConstraint("response_minutes > 0 AND fix_minutes >= response_minutes", name="times"),
    CheckConstraint("late_penalty_per_hour >= 0 AND visit_value >= 0", name="money"),
)

contract_equipment = Table(
    "contract_equipment",
    metadata,
    Column("contract_id", Uuid, ForeignKey(contracts.c.id, ondelete="CASCADE"), primary_key=True),
    Column("equipment_id", Uuid, ForeignKey(equipment.c.id), primary_key=True, index=True),
)

quotas = Table(
    "quotas",
    metadata,
    Column("contract_id", Uuid, ForeignKey(contracts.c.id, ondelete="CASCADE"), primary_key=True),
    Column("request_kind", Text, primary_key=True),
    Column("period", Text, nullable=False),
    Column("included", Integer, nullable=False),
    CheckConstraint("included >= 0", name="included"),
)

visit_schedules = Table(
    "visit_schedules",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("contract_id", Uuid, ForeignKey(contracts.c.id, ondelete="CASCADE"), nullable=False, index=True),
    Column("site_id", Uuid, ForeignKey(sites.c.id), nullable=False),
    Column("equipment_id", Uuid, ForeignKey(equipment.c.id)),
    Column("rrule", Text, nullable=False),
    Column("first_on", Date, nullable=False),
    Column("visit_time", Time, nullable=False),
    Column("tolerance_days", Integer, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("required_skills", JSONB, nullable=False, server_default="[]"),
    Column("priority", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("tolerance_days >= 0 AND duration_minutes > 0", name="sizes"),
)

planned_visits = Table(
    "planned_visits",
    metadata,
    Column("id", Uuid, primary_key=True),  # also the request_id dispatch books it under
    Column("schedule_id", Uuid, ForeignKey(visit_schedules.c.id), nullable=False),
    Column("occurrence_at", DateTime(timezone=True), nullable=False),
    Column("contract_id", Uuid, ForeignKey(contracts.c.id), nullable=False),
    Column("customer_id", Uuid, nullable=False),
    Column("site_id", Uuid, ForeignKey(sites.c.id), nullable=False),
    Column("equipment_ids", ARRAY(Uuid), nullable=False, server_default="{}"),
    Column("due_on", Date, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("required_skills", JSONB, nullable=False, server_default="[]"),
    Column("priority", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("carried_over_from", Uuid),
    Column("carried_into", Uuid),
    Column("carried_work", Text),
    Column("status_changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # one visit per schedule occurrence: regeneration can never duplicate
    UniqueConstraint("schedule_id", "occurrence_at"),
    Index("ix_planned_visits_contract_status", "contract_id", "status"),
    Index("ix_planned_visits_due_at", "due_at"),  # the calendar across contracts
)

# Service requests of the requests service and planned visits, as far as health and history need them.
service_jobs = Table(
    "service_jobs",
    metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("contract_id", Uuid, index=True),
    Column("customer_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("equipment_id", Uuid, index=True),
    Column("kind", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("response_due", DateTime(timezone=True)),
    Column("fix_due", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("cancelled_at", DateTime(timezone=True)),
    # a return visit for a failed job (needs parts): part of the original call-out, so it uses no quota
    Column("follow_up_of", Uuid),
)

# Dispatch's assignment steps, kept whether or not the job they belong to is known yet.
assignment_steps = Table(
    "assignment_steps",
    metadata,
    Column("assignment_id", Uuid, primary_key=True),
    Column("status", Text, primary_key=True),
    Column("at", DateTime(timezone=True), primary_key=True),
    Column("request_id", Uuid, nullable=False, index=True),
    Column("technician_id", Uuid, nullable=False),
    Column("outcome", Text),
)

# The one count of quota use: a row per request filed under a contract (follow-ups excluded), written
# when the requests service asks on the request's behalf (reserved under a per-quota lock) or, for a
# request filed without asking so, from its created event (a reserved one is not counted twice, only
# confirmed); a cancellation releases the row, and a reservation never confirmed is dropped after a while.
quota_consumptions = Table(
    "quota_consumptions",
    metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("contract_id", Uuid, nullable=False),  # as events name it: no foreign key, like service_jobs
    Column("request_kind", Text, nullable=False),
    Column("counted_at", DateTime(timezone=True), nullable=False),  # when the request was filed: its period
    # whether it holds an included unit (NULL: filed before reservations, counted as holding one); the
    # units left its asker was told of (NULL: it did not ask with its id)
    Column("within_quota", Boolean),
    Column("quota_left", Integer),
    Column("released_at", DateTime(timezone=True)),
    Column("confirmed_at", DateTime(timezone=True)),  # when its created event came (NULL: only reserved so far)
    Index("ix_quota_consumptions_contract_id_request_kind_counted_at", "contract_id", "request_kind", "counted_at"),
    Index(
        "ix_quota_consumptions_unconfirmed",
        "counted_at",
        postgresql_where=text("confirmed_at IS NULL AND released_at IS NULL"),
    ),
)
