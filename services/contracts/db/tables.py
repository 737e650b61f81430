"""Tables of the contracts schema."""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import service_metadata
from shared.messaging import messaging_tables

SCHEMA = "contracts"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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
    CheckConstraint("response_minutes > 0 AND fix_minutes >= response_minutes", name="times"),
)
