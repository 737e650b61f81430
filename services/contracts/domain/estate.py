"""What the contracts cover: customers, their sites, the equipment at them, and service territories."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.contracts.domain.sla import DEFAULT_CRITICALITY


@dataclass(frozen=True)
class SiteRow:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    address: str
    lat: float
    lon: float
    external_ref: str | None = None
    access_hours: dict[str, list[list[str]]] | None = None
    territory_id: uuid.UUID | None = None
    territory_name: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class EquipmentRow:
    id: uuid.UUID
    site_id: uuid.UUID
    customer_id: uuid.UUID
    equipment_type: str
    model: str
    serial: str
    installed_on: date | None
    warranty_ends_on: date | None
    required_skills: tuple[tuple[str, int], ...]
    criticality: str = DEFAULT_CRITICALITY


@dataclass(frozen=True)
class CustomerRecord:
    id: uuid.UUID
    name: str
    external_ref: str | None = None


@dataclass(frozen=True)
class TerritoryRecord:
    id: uuid.UUID
    name: str
    area: dict[str, Any]  # GeoJSON (lon, lat; WGS 84)


@dataclass(frozen=True)
class ServiceStep:
    """One step of an assignment at a unit, as dispatch told it: its service history."""

    request_id: uuid.UUID
    kind: str
    assignment_id: uuid.UUID
    technician_id: uuid.UUID
    status: str
    at: datetime
    outcome: str | None = None
