"""Tables of the dispatch schema. The database itself refuses double bookings."""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, ExcludeConstraint

from shared.attachments import blob_table
from shared.db import service_metadata
from shared.messaging import messaging_tables
from shared.ratelimit import rate_limit_table

SCHEMA = "dispatch"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
rate_limits = rate_limit_table(metadata)
attachment_blobs = blob_table(metadata)  # the default store's bytes (shared/attachments)

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
    # {"mon": {"start": "08:00", "end": "17:00", "break_minutes": 30, ...}}; NULL: always on duty
    Column("weekly_shifts", JSONB),
    Column("territory", Text),  # a free-text label; the territories that count are territory_ids
    # the territories (contracts' ids) the technician belongs to; none: a floater, at home everywhere
    Column("territory_ids", ARRAY(Uuid), nullable=False, server_default="{}"),
    Column("overtime_minutes", Integer, nullable=False, server_default="60"),
    # the planner's limits and rates for this technician (NULL: none / the settings' default rate)
    Column("max_travel_minutes", Integer),  # driving per day
    Column("overtime_cost_per_hour", Double),
    Column("phone", Text, nullable=False, server_default=""),  # the work phone the dispatcher calls
    # bumped by every change to the technician's bookings: concurrent placements retry on a mismatch
    Column("route_version", BigInteger, nullable=False, server_default="0"),
    Column("break_ends_at", DateTime(timezone=True)),  # while on a break: when it is over
    # the technician's photo, shown to the customers they visit: its bytes' key in the attachment store
    Column("photo_key", Text),
    Column("photo_content_type", Text),
    # planar KNN (fast); the candidate query re-ranks the few it returns by true distance
    Index("ix_technicians_position_geometry", text("(position::geometry)"), postgresql_using="gist"),
)

# the shift calendar's exceptions: leave, sickness (off for the span) or extra duty (on for it)
absences = Table(
    "absences",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("technician_id", Uuid, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# the weekly pattern made concrete per local day (minus absences): what "on shift now" is queried against
shifts = Table(
    "shifts",
    metadata,
    Column("technician_id", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("break_minutes", Integer, nullable=False, server_default="0"),
    Column("break_earliest", DateTime(timezone=True)),
    Column("break_latest", DateTime(timezone=True)),
    Index("ix_shifts_on_duty", "technician_id", "starts_at", "ends_at"),
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
    # planned visits (request_id = visit_id) and routine requests: when the work may be done
    Column("window_start", DateTime(timezone=True)),
    Column("window_end", DateTime(timezone=True)),
    # every window, [[start, end], ...] (window_start/end: their span); NULL: the one window_start/end
    Column("windows", JSONB),
    Column("contract_id", Uuid),
    Column("equipment_ids", JSONB, nullable=False, server_default="[]"),
    Column("address", Text),
    Column("description", Text, nullable=False, server_default=""),
    Column("bundled_with", Uuid),  # the emergency this planned visit was bundled into
    Column("source_version", DateTime(timezone=True)),  # occurred_at of the last event applied
    # whom the technician asks for on site (requests carry one; contracts' visits do not)
    Column("contact_name", Text, nullable=False, server_default=""),
    Column("contact_phone", Text, nullable=False, server_default=""),
    # the contract's money terms for the job's priority (NULL: the planner's defaults); weights for the
    # planner, never billed, hence doubles
    Column("late_penalty_per_hour", Double),
    Column("visit_value", Double),
    Column("territory_id", Uuid),  # the site's territory as contracts mapped it when the work was announced
    Index("ix_jobs_site_id", "site_id"),
    Index("ix_jobs_open_window", "window_start", postgresql_where=text("status IN ('open', 'assigned')")),
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
    # the arrival first promised to the customer: automatic re-plans keep to it (within a tolerance)
    Column("first_eta", DateTime(timezone=True)),  # None: read as eta
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("booked_at", DateTime(timezone=True)),  # on the service's clock; a device's step can't predate it
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("locked", Boolean, nullable=False, server_default="false"),  # a dispatcher's commitment: re-plans keep it
    Column("locked_by", Text),  # who pinned it (the dispatcher's subject), while locked
    Column("locked_at", DateTime(timezone=True)),
    Column("arrived_at", DateTime(timezone=True)),  # the on-site step's time: the actual arrival
    Column("finished_at", DateTime(timezone=True)),  # completed or failed
    # why a status step looked physically implausible (the dispatcher was alerted); such an arrival is not a
    # trustworthy response time
    Column("suspect", Text),
    Column("outcome", Text),
    Column("report", JSONB),
    Column("last_transition_at", DateTime(timezone=True)),
    # when the job, on site past its planned end plus the grace, last had the rest of the day re-planned
    Column("overran_at", DateTime(timezone=True)),
    Index("ix_assignments_active_by_technician", "technician_id", "planned_start", postgresql_where=text(_ACTIVE_SQL)),
    Index("ix_assignments_declined", "request_id", postgresql_where=text("status = 'declined'")),
    # one active assignment per request
    Index("uq_assignments_active_request", "request_id", unique=True, postgresql_where=text(_ACTIVE_SQL)),
    # no two active bookings of one technician overlap in time
    ExcludeConstraint(
        ("technician_id", "="),
        (func.tstzrange(text("planned_start"), text("planned_end")), "&&"),
        name="ex_assignments_no_overlap",
        using="gist",
        where=text(_ACTIVE_SQL),
        # deferrable so a re-plan can move a whole route in one transaction, checked at commit
        deferrable=True,
        initially="IMMEDIATE",
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

# one row per plan version of a local day; `routes` per technician the ordered stops with ETAs
plans = Table(
    "plans",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("day", Date, nullable=False),
    Column("version", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("routes", JSONB, nullable=False),
    Column("unassigned", JSONB, nullable=False, server_default="[]"),
    Column("changes", JSONB, nullable=False, server_default="[]"),
    Column("kpis", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("day", "version"),
)

# a re-plan computed for the dispatcher to read before it is applied; accepted only while the day's bookings are
# still as the planner saw them (fingerprint), within expires_at
plan_proposals = Table(
    "plan_proposals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("day", Date, nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("based_on_version", Integer),
    Column("change_budget", Integer),
    Column("fingerprint", JSONB, nullable=False),
    Column("kept", JSONB, nullable=False, server_default="[]"),
    Column("plan", JSONB, nullable=False),
    Column("changes", JSONB, nullable=False, server_default="[]"),
    Column("unassigned", JSONB, nullable=False, server_default="[]"),
    Column("kpis", JSONB, nullable=False, server_default="{}"),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision", Text),  # accepted | discarded
    Column("plan_version", Integer),  # the version an acceptance made
)

# days waiting for a re-plan; any replica claims them (SKIP LOCKED) and runs under the planner's advisory lock
replan_requests = Table(
    "replan_requests",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("day", Date, nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# a mobile client's command, by its own id: a replayed offline queue gets the stored answer back
mobile_commands = Table(
    "mobile_commands",
    metadata,
    Column("client_command_id", Uuid, primary_key=True),
    Column("technician_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

position_pings = Table(
    "position_pings",
    metadata,
    Column("technician_id", Uuid, primary_key=True),
    Column("at", DateTime(timezone=True), primary_key=True),
    Column("position", Geography("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("accuracy_m", Integer),
    # `at` is the device's time of the fix; this is when the server got it (an offline batch arrives late)
    Column("received_at", DateTime(timezone=True)),
)

# photos and signatures of a visit report: who took them on which job; the bytes are in a BlobStore under `key`
attachments = Table(
    "attachments",
    metadata,
    Column("id", Uuid, primary_key=True),  # made on the device: a replayed upload finds it
    Column("assignment_id", Uuid, nullable=False, index=True),
    Column("request_id", Uuid, nullable=False, index=True),
    Column("customer_id", Uuid, nullable=False),
    Column("technician_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),  # photo, signature
    Column("content_type", Text, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("store", Text, nullable=False),  # which BlobStore holds the bytes
    Column("key", Text, nullable=False),
    Column("taken_at", DateTime(timezone=True)),  # the device's time
    Column("created_at", DateTime(timezone=True), nullable=False),  # the server's time
)

# each SLA alert once per request and kind
sla_alerts = Table(
    "sla_alerts",
    metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("raised_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("predicted_arrival", DateTime(timezone=True)),
    Column("reason", Text, nullable=False),
)

# the dispatcher's rule for work outside a technician's territories: one row (none: the default, domain/territories)
territory_policy = Table(
    "territory_policy",
    metadata,
    Column("id", Boolean, primary_key=True, server_default=text("true")),
    Column("crossing", Text, nullable=False),  # allow (at the cost) | forbid
    Column("crossing_cost_minutes", Integer, nullable=False),  # per visit served across, in minutes of driving
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text, nullable=False),
    CheckConstraint("id", name="one_row"),
    CheckConstraint("crossing IN ('allow', 'forbid')", name="crossing"),
    CheckConstraint("crossing_cost_minutes >= 0", name="cost"),
)

# a day the planner could not plan: a dispatcher alert until the day plans again
plan_failures = Table(
    "plan_failures",
    metadata,
    Column("day", Date, primary_key=True),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="1"),
)
