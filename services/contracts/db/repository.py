"""Every query of the contracts service."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from geoalchemy2.functions import ST_X, ST_Y
from geoalchemy2.types import Geography, Geometry
from sqlalchemy import and_, bindparam, cast, delete, func, insert, literal, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db import tables as t
from services.contracts.domain.calendar import hours_from_json, hours_to_json
from services.contracts.domain.contract import ContractRecord, ContractTerms, Price, ScheduleRow
from services.contracts.domain.estate import EquipmentRow, SiteRow
from services.contracts.domain.lifecycle import LIVE_STATUSES
from services.contracts.domain.notices import EndingContract, OverdueVisits
from services.contracts.domain.quota import Quota, QuotaConsumption
from services.contracts.domain.schedule import VisitSpec
from services.contracts.domain.sla import SlaTerm
from services.contracts.domain.visits import MUTABLE_STATUSES, OPEN_STATUSES, VisitRow


def point_wkt(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


def skills_to_json(skills: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"skill": s, "min_level": lvl} for s, lvl in skills]


def skills_from_json(raw: list[dict[str, Any]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((s["skill"], int(s["min_level"])) for s in raw))


def _territory() -> Any:
    """The territory a site lies in: the smallest polygon that covers its point."""
    return (
        select(t.territories.c.id, t.territories.c.name)
        .where(func.ST_Covers(t.territories.c.area, t.sites.c.location))
        .order_by(func.ST_Area(t.territories.c.area), t.territories.c.name)
        .limit(1)
        .lateral("territory")
    )


def _site_query() -> Any:
    territory = _territory()
    return select(
        t.sites.c.id,
        t.sites.c.customer_id,
        t.sites.c.name,
        t.sites.c.address,
        ST_Y(cast(t.sites.c.location, Geometry)).label("lat"),
        ST_X(cast(t.sites.c.location, Geometry)).label("lon"),
        t.sites.c.external_ref,
        t.sites.c.access_hours,
        t.sites.c.contact_name,
        t.sites.c.contact_phone,
        territory.c.id.label("territory_id"),
        territory.c.name.label("territory_name"),
    ).select_from(t.sites.outerjoin(territory, true()))


def _term(row: Any) -> SlaTerm:
    return SlaTerm(row.priority, row.response_minutes, row.fix_minutes, skills_from_json(row.required_skills))


R = TypeVar("R")


def _from_row(row: Any, cls: Callable[..., R]) -> R:
    """A row as `cls`: bookkeeping timestamps left out, skills and unit lists in their domain shape."""
    fields = getattr(cls, "__dataclass_fields__", {})
    values = {k: v for k, v in row._mapping.items() if k in fields}
    values["required_skills"] = skills_from_json(values["required_skills"])
    if "equipment_ids" in values:
        values["equipment_ids"] = tuple(sorted(values["equipment_ids"]))
    return cls(**values)


def _equipment(row: Any) -> EquipmentRow:
    return _from_row(row, EquipmentRow)


def _schedule(row: Any) -> ScheduleRow:
    return _from_row(row, ScheduleRow)


def _visit(row: Any) -> VisitRow:
    return _from_row(row, VisitRow)


def _visit_values(spec: VisitSpec) -> dict[str, Any]:
    return {
        "schedule_id": spec.schedule_id, "occurrence_at": spec.occurrence_at, "site_id": spec.site_id,
        "equipment_ids": list(spec.equipment_ids), "due_on": spec.window.due_on, "due_at": spec.window.due_at,
        "window_start": spec.window.window_start, "window_end": spec.window.window_end,
        "duration_minutes": spec.duration_minutes, "required_skills": skills_to_json(spec.skills),
        "priority": spec.priority,
    }


_COVERAGE_CONFLICTS = text("""
WITH scope AS (
    SELECT cs.contract_id, cs.site_id,
           EXISTS (SELECT 1 FROM contract_equipment ce JOIN equipment e ON e.id = ce.equipment_id
                   WHERE ce.contract_id = cs.contract_id AND e.site_id = cs.site_id) AS by_unit
    FROM contract_sites cs
),
units AS (
    SELECT ce.contract_id, ce.equipment_id FROM contract_equipment ce
    UNION
    SELECT s.contract_id, e.id FROM scope s JOIN equipment e ON e.site_id = s.site_id WHERE NOT s.by_unit
),
rivals AS (
    SELECT o.id FROM contracts o JOIN contracts c ON c.id = :contract_id
    WHERE o.id <> c.id AND o.customer_id = c.customer_id AND o.contract_type = c.contract_type
      AND o.status IN ('active', 'suspended')
      AND daterange(o.starts_on, o.ends_on, '[]') && daterange(c.starts_on, c.ends_on, '[]')
)
SELECT r.id AS contract_id, a.site_id, NULL::uuid AS equipment_id
FROM rivals r
JOIN scope a ON a.contract_id = :contract_id AND NOT a.by_unit
JOIN scope b ON b.contract_id = r.id AND NOT b.by_unit AND b.site_id = a.site_id
UNION ALL
SELECT r.id, NULL::uuid, u.equipment_id
FROM rivals r
JOIN units u ON u.contract_id = :contract_id
JOIN units v ON v.contract_id = r.id AND v.equipment_id = u.equipment_id
""")

# Contracts covering a site (and the unit, when one is named) at an instant, in the contract's own time zone.
_COVERING_CONTRACTS = text("""
SELECT c.id, c.contract_type
FROM contracts c JOIN contract_sites cs ON cs.contract_id = c.id AND cs.site_id = :site_id
WHERE c.status = 'active'
  AND c.starts_on <= (CAST(:at AS timestamptz) AT TIME ZONE c.timezone)::date
  AND COALESCE(c.ends_on, 'infinity'::date) >= (CAST(:at AS timestamptz) AT TIME ZONE c.timezone)::date
  AND (CAST(:equipment_id AS uuid) IS NULL
       OR EXISTS (SELECT 1 FROM contract_equipment ce
                  WHERE ce.contract_id = c.id AND ce.equipment_id = CAST(:equipment_id AS uuid))
       OR NOT EXISTS (SELECT 1 FROM contract_equipment ce JOIN equipment e ON e.id = ce.equipment_id
                      WHERE ce.contract_id = c.id AND e.site_id = :site_id))
ORDER BY c.starts_on DESC
""")

# Units a contract covers at each of some sites: those it names there, or every unit of the site when it names none.
_COVERED_UNITS_AT_SITES = text("""
SELECT e.site_id, e.id FROM equipment e
WHERE e.site_id = ANY (:site_ids)
  AND (e.id IN (SELECT equipment_id FROM contract_equipment WHERE contract_id = :contract_id)
       OR NOT EXISTS (SELECT 1 FROM contract_equipment ce JOIN equipment x ON x.id = ce.equipment_id
                      WHERE ce.contract_id = :contract_id AND x.site_id = e.site_id))
ORDER BY e.site_id, e.id
""")

# For each failed visit, the next visit of its schedule not yet under way (none: no row).
_NEXT_VISITS_AFTER = text("""
SELECT f.failed_id, v.*
FROM unnest(CAST(:failed_ids AS uuid[]), CAST(:schedule_ids AS uuid[]), CAST(:since AS timestamptz[]))
     AS f(failed_id, schedule_id, since)
CROSS JOIN LATERAL (
    SELECT * FROM planned_visits p
    WHERE p.schedule_id = f.schedule_id AND p.occurrence_at > f.since AND p.status = ANY (:mutable)
    ORDER BY p.occurrence_at LIMIT 1
) v
""")

_VISIT_SPEC_COLUMNS = ("occurrence_at", "site_id", "equipment_ids", "due_on", "due_at", "window_start", "window_end",
                       "duration_minutes", "required_skills", "priority")


def _bound(column: str) -> Any:
    """A per-row parameter for one of planned_visits' columns in an executemany UPDATE."""
    return bindparam(f"b_{column}", type_=t.planned_visits.c[column].type)

_SLA_COMPLIANCE = text("""
WITH jobs AS (
    SELECT j.request_id, j.response_due, j.fix_due,
           (SELECT min(s.at) FROM assignment_steps s
            WHERE s.request_id = j.request_id AND s.status IN ('on_site', 'completed')) AS arrived_at,
           (SELECT min(s.at) FROM assignment_steps s
            WHERE s.request_id = j.request_id AND s.status = 'completed') AS completed_at
    FROM service_jobs j
    WHERE j.contract_id = :contract_id AND j.cancelled_at IS NULL
)
SELECT
    count(*) AS requests,
    count(*) FILTER (WHERE response_due IS NOT NULL AND arrived_at <= response_due) AS response_met,
    count(*) FILTER (WHERE response_due IS NOT NULL AND (arrived_at > response_due
                     OR (arrived_at IS NULL AND response_due < :now))) AS response_breached,
    count(*) FILTER (WHERE fix_due IS NOT NULL AND completed_at <= fix_due) AS fix_met,
    count(*) FILTER (WHERE fix_due IS NOT NULL AND (completed_at > fix_due
                     OR (completed_at IS NULL AND fix_due < :now))) AS fix_breached
FROM jobs
""")

# per contract, visits not finished whose window has closed, where that differs from what was last announced
_OVERDUE_CHANGES = text("""
SELECT c.id AS contract_id, c.customer_id, count(v.id) AS overdue, min(v.due_on) AS oldest_due_on,
       c.overdue_announced AS announced
FROM contracts c
LEFT JOIN planned_visits v ON v.contract_id = c.id AND v.status = ANY (:open) AND v.window_end <= :now
WHERE c.status = ANY (:live)
GROUP BY c.id
HAVING count(v.id) <> c.overdue_announced
ORDER BY c.id
""")

_EQUIPMENT_HISTORY = text("""
WITH jobs AS (
    SELECT request_id, kind FROM service_jobs WHERE equipment_id = :equipment_id
    UNION
    SELECT id, 'planned' FROM planned_visits WHERE :equipment_id = ANY (equipment_ids)
)
SELECT s.request_id, j.kind, s.assignment_id, s.technician_id, s.status, s.at, s.outcome
FROM assignment_steps s JOIN jobs j ON j.request_id = s.request_id
ORDER BY s.at, s.assignment_id
""")


class ContractsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, key: str) -> None:
        """Serialise one kind of work per key until the transaction ends (coverage checks, visit generation)."""
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))

    # --- customers ---------------------------------------------------------------------------------

    async def add_customer(self, customer_id: uuid.UUID, name: str, external_ref: str | None = None) -> None:
        await self.session.execute(
            insert(t.customers).values(id=customer_id, name=name, external_ref=external_ref))

    async def get_customer(self, customer_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(t.customers).where(t.customers.c.id == customer_id))).first()
        return dict(row._mapping) if row else None

    async def list_customers(self, only: uuid.UUID | None = None) -> list[dict[str, Any]]:
        query = select(t.customers).order_by(t.customers.c.name, t.customers.c.id)
        if only is not None:
            query = query.where(t.customers.c.id == only)
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def customer_ref_taken(self, external_ref: str) -> bool:
        query = select(t.customers.c.id).where(t.customers.c.external_ref == external_ref)
        return (await self.session.execute(query)).first() is not None

    # --- territories and sites ---------------------------------------------------------------------

    async def add_territory(self, territory_id: uuid.UUID, name: str, geojson: dict[str, Any]) -> str | None:
        """Store the territory; returns why the shape is unusable instead, if it is."""
        shape = func.ST_SetSRID(func.ST_GeomFromGeoJSON(json.dumps(geojson)), 4326)
        try:
            async with self.session.begin_nested():  # PostGIS refusing the coordinates leaves the transaction usable
                reason = (await self.session.execute(
                    select(func.ST_IsValidReason(shape), func.GeometryType(shape)))).first()
        except DBAPIError:
            return "not a readable GeoJSON geometry"
        assert reason is not None
        if reason[1] not in ("POLYGON", "MULTIPOLYGON"):
            return "must be a Polygon or MultiPolygon"
        if reason[0] != "Valid Geometry":
            return str(reason[0])
        await self.session.execute(insert(t.territories).values(
            id=territory_id, name=name, area=cast(func.ST_Multi(shape), Geography)))
        return None

    async def territory_name_taken(self, name: str) -> bool:
        query = select(t.territories.c.id).where(t.territories.c.name == name)
        return (await self.session.execute(query)).first() is not None

    async def list_territories(self) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(t.territories.c.id, t.territories.c.name,
                   func.ST_AsGeoJSON(cast(t.territories.c.area, Geometry)).label("area"))
            .order_by(t.territories.c.name))
        return [dict(r._mapping) for r in rows]

    async def add_site(self, site: SiteRow) -> None:
        await self.session.execute(
            insert(t.sites).values(
                id=site.id, customer_id=site.customer_id, name=site.name, address=site.address,
                location=point_wkt(site.lat, site.lon), external_ref=site.external_ref,
                access_hours=site.access_hours, contact_name=site.contact_name, contact_phone=site.contact_phone,
            )
        )

    async def update_site(self, site_id: uuid.UUID, changes: dict[str, Any]) -> None:
        """Change the named columns of a site (`lat`/`lon` are not among them: a site does not move)."""
        await self.session.execute(update(t.sites).where(t.sites.c.id == site_id).values(**changes))

    async def site_ref_taken(self, external_ref: str) -> bool:
        query = select(t.sites.c.id).where(t.sites.c.external_ref == external_ref)
        return (await self.session.execute(query)).first() is not None

    async def get_site(self, site_id: uuid.UUID) -> SiteRow | None:
        row = (await self.session.execute(_site_query().where(t.sites.c.id == site_id))).first()
        return SiteRow(**row._mapping) if row else None

    async def sites_by_id(self, site_ids: set[uuid.UUID]) -> dict[uuid.UUID, SiteRow]:
        rows = await self.session.execute(_site_query().where(t.sites.c.id.in_(site_ids)))
        return {r.id: SiteRow(**r._mapping) for r in rows}

    async def list_sites(self, customer_id: uuid.UUID) -> list[SiteRow]:
        rows = await self.session.execute(
            _site_query().where(t.sites.c.customer_id == customer_id).order_by(t.sites.c.name, t.sites.c.id))
        return [SiteRow(**r._mapping) for r in rows]

    # --- equipment ---------------------------------------------------------------------------------

    async def add_equipment(self, unit: EquipmentRow) -> None:
        await self.session.execute(insert(t.equipment).values(
            id=unit.id, site_id=unit.site_id, customer_id=unit.customer_id, equipment_type=unit.equipment_type,
            model=unit.model, serial=unit.serial, installed_on=unit.installed_on,
            warranty_ends_on=unit.warranty_ends_on, required_skills=skills_to_json(unit.required_skills),
            criticality=unit.criticality))

    async def serial_taken(self, model: str, serial: str) -> bool:
        query = select(t.equipment.c.id).where(t.equipment.c.model == model, t.equipment.c.serial == serial)
        return (await self.session.execute(query)).first() is not None

    async def get_equipment(self, equipment_id: uuid.UUID) -> EquipmentRow | None:
        row = (await self.session.execute(select(t.equipment).where(t.equipment.c.id == equipment_id))).first()
        return _equipment(row) if row else None

    async def equipment_by_id(self, equipment_ids: list[uuid.UUID]) -> dict[uuid.UUID, EquipmentRow]:
        rows = await self.session.execute(select(t.equipment).where(t.equipment.c.id.in_(equipment_ids)))
        return {r.id: _equipment(r) for r in rows}

    async def list_equipment(self, site_id: uuid.UUID) -> list[EquipmentRow]:
        rows = await self.session.execute(
            select(t.equipment).where(t.equipment.c.site_id == site_id)
            .order_by(t.equipment.c.equipment_type, t.equipment.c.serial))
        return [_equipment(r) for r in rows]

    async def equipment_history(self, equipment_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(_EQUIPMENT_HISTORY, {"equipment_id": equipment_id})
        return [dict(r._mapping) for r in rows]

    # --- contracts ---------------------------------------------------------------------------------

    async def add_contract(self, contract_id: uuid.UUID, customer_id: uuid.UUID, terms: ContractTerms) -> None:
        await self.session.execute(
            insert(t.contracts).values(id=contract_id, customer_id=customer_id, status="draft",
                                       **self._contract_values(terms)))
        await self._write_parts(contract_id, terms)

    async def update_contract(self, contract_id: uuid.UUID, terms: ContractTerms) -> None:
        await self.session.execute(
            update(t.contracts).where(t.contracts.c.id == contract_id)
            .values(updated_at=func.now(), **self._contract_values(terms)))
        for table in (t.contract_sites, t.contract_equipment, t.sla_terms, t.quotas):
            await self.session.execute(delete(table).where(table.c.contract_id == contract_id))
        await self._write_parts(contract_id, terms)

    @staticmethod
    def _contract_values(terms: ContractTerms) -> dict[str, Any]:
        return {
            "contract_type": terms.contract_type, "starts_on": terms.starts_on, "ends_on": terms.ends_on,
            "timezone": terms.timezone, "business_hours": hours_to_json(terms.business_hours),
            "holidays": sorted(set(terms.holidays)), "price_amount": terms.price.amount,
            "currency": terms.price.currency, "billing_period": terms.price.billing_period,
            "extra_callout_price": terms.price.extra_callout_price,
        }

    async def _write_parts(self, contract_id: uuid.UUID, terms: ContractTerms) -> None:
        if terms.site_ids:
            await self.session.execute(
                insert(t.contract_sites), [{"contract_id": contract_id, "site_id": s} for s in terms.site_ids])
        if terms.equipment_ids:
            await self.session.execute(
                insert(t.contract_equipment),
                [{"contract_id": contract_id, "equipment_id": e} for e in terms.equipment_ids])
        if terms.sla:
            await self.session.execute(
                insert(t.sla_terms),
                [{"contract_id": contract_id, "priority": term.priority, "response_minutes": term.response_minutes,
                  "fix_minutes": term.fix_minutes, "required_skills": skills_to_json(term.required_skills)}
                 for term in terms.sla],
            )
        if terms.quotas:
            await self.session.execute(
                insert(t.quotas),
                [{"contract_id": contract_id, "request_kind": q.request_kind, "period": q.period,
                  "included": q.included} for q in terms.quotas])

    async def get_contract(self, contract_id: uuid.UUID, *, for_update: bool = False,
                           for_share: bool = False) -> ContractRecord | None:
        """The contract; `for_share` keeps its terms from being changed until the transaction ends."""
        query = select(t.contracts).where(t.contracts.c.id == contract_id)
        if for_update or for_share:
            query = query.with_for_update(read=not for_update)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return await self._record(row)

    async def _record(self, row: Any) -> ContractRecord:
        contract_id = row.id
        site_ids = list((await self.session.execute(
            select(t.contract_sites.c.site_id).where(t.contract_sites.c.contract_id == contract_id)
            .order_by(t.contract_sites.c.site_id))).scalars())
        equipment_ids = list((await self.session.execute(
            select(t.contract_equipment.c.equipment_id).where(t.contract_equipment.c.contract_id == contract_id)
            .order_by(t.contract_equipment.c.equipment_id))).scalars())
        sla = [_term(r) for r in await self.session.execute(
            select(t.sla_terms).where(t.sla_terms.c.contract_id == contract_id).order_by(t.sla_terms.c.priority))]
        quotas = [Quota(r.request_kind, r.period, r.included) for r in await self.session.execute(
            select(t.quotas).where(t.quotas.c.contract_id == contract_id).order_by(t.quotas.c.request_kind))]
        terms = ContractTerms(
            contract_type=row.contract_type, starts_on=row.starts_on, ends_on=row.ends_on, site_ids=site_ids,
            equipment_ids=equipment_ids, sla=sla, timezone=row.timezone,
            business_hours=hours_from_json(row.business_hours), holidays=list(row.holidays), quotas=quotas,
            price=Price(row.price_amount, row.currency, row.billing_period, row.extra_callout_price),
        )
        return ContractRecord(id=row.id, customer_id=row.customer_id, status=row.status, terms=terms,
                              ended_on=row.ended_on, created_at=row.created_at, updated_at=row.updated_at)

    async def list_contracts(self, customer_id: uuid.UUID | None, status: str | None) -> list[ContractRecord]:
        query = select(t.contracts).order_by(t.contracts.c.starts_on.desc(), t.contracts.c.id)
        if customer_id is not None:
            query = query.where(t.contracts.c.customer_id == customer_id)
        if status is not None:
            query = query.where(t.contracts.c.status == status)
        return [await self._record(r) for r in (await self.session.execute(query)).all()]

    async def set_contract_status(self, contract_id: uuid.UUID, status: str, ended_on: date | None = None) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": func.now()}
        if ended_on is not None:
            values["ended_on"] = ended_on
        await self.session.execute(update(t.contracts).where(t.contracts.c.id == contract_id).values(**values))

    async def coverage_conflicts(self, contract_id: uuid.UUID) -> list[dict[str, Any]]:
        """Units (or whole sites) this contract shares with another live contract of its type and period."""
        rows = await self.session.execute(_COVERAGE_CONFLICTS, {"contract_id": contract_id})
        return [dict(r._mapping) for r in rows]

    async def contract_ids(self, statuses: tuple[str, ...]) -> list[uuid.UUID]:
        query = select(t.contracts.c.id).where(t.contracts.c.status.in_(statuses)).order_by(t.contracts.c.id)
        return list((await self.session.execute(query)).scalars())

    async def contracts_past_end(self, now: datetime) -> list[uuid.UUID]:
        """Live contracts whose last day has passed in their own time zone."""
        local_today = cast(func.timezone(t.contracts.c.timezone, literal(now)), t.contracts.c.starts_on.type)
        query = select(t.contracts.c.id).where(
            t.contracts.c.status.in_(LIVE_STATUSES), t.contracts.c.ends_on < local_today)
        return list((await self.session.execute(query)).scalars())

    # --- entitlement -------------------------------------------------------------------------------

    async def covering_contracts(self, site_id: uuid.UUID, equipment_id: uuid.UUID | None,
                                 at: datetime) -> list[tuple[uuid.UUID, str]]:
        rows = await self.session.execute(
            _COVERING_CONTRACTS, {"site_id": site_id, "equipment_id": equipment_id, "at": at})
        return [(r.id, r.contract_type) for r in rows]

    async def quota_used(self, contract_id: uuid.UUID, kind: str, since: datetime, until: datetime | None) -> int:
        """Included units of `kind` the contract's requests in [since, until) hold; billable and released ones
        left out (a request from before reservations, not known to be billable, holds one)."""
        q = t.quota_consumptions
        query = select(func.count()).select_from(q).where(
            q.c.contract_id == contract_id, q.c.request_kind == kind, q.c.released_at.is_(None),
            q.c.within_quota.is_not(False), q.c.counted_at >= since)
        if until is not None:
            query = query.where(q.c.counted_at < until)
        return int((await self.session.execute(query)).scalar_one())

    async def quota_consumption(self, request_id: uuid.UUID) -> QuotaConsumption | None:
        row = (await self.session.execute(
            select(t.quota_consumptions).where(t.quota_consumptions.c.request_id == request_id))).first()
        return QuotaConsumption(**row._mapping) if row else None

    async def consume_quota(self, consumption: QuotaConsumption) -> bool:
        """Count the request against its contract's quota unless it already is; True if it was not."""
        inserted = await self.session.execute(
            pg_insert(t.quota_consumptions).values(**vars(consumption))
            .on_conflict_do_nothing(index_elements=["request_id"]).returning(t.quota_consumptions.c.request_id))
        return inserted.first() is not None

    async def confirm_quota(self, consumption: QuotaConsumption) -> None:
        """The request is filed: count it unless it already is, and confirm its reservation if it has one."""
        q = t.quota_consumptions
        statement = pg_insert(q).values(**vars(consumption))
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["request_id"],
            set_={"confirmed_at": func.coalesce(q.c.confirmed_at, statement.excluded.confirmed_at)}))

    async def drop_unconfirmed_reservations(self, counted_before: datetime) -> int:
        """Reservations whose request was never filed (no created event) free their units; how many."""
        q = t.quota_consumptions
        dropped = await self.session.execute(
            delete(q).where(q.c.confirmed_at.is_(None), q.c.released_at.is_(None), q.c.counted_at < counted_before)
            .returning(q.c.request_id))
        return len(dropped.all())

    async def release_quota(self, request_id: uuid.UUID, at: datetime) -> None:
        q = t.quota_consumptions
        await self.session.execute(
            update(q).where(q.c.request_id == request_id, q.c.released_at.is_(None)).values(released_at=at))

    # --- schedules ---------------------------------------------------------------------------------

    async def add_schedule(self, schedule: ScheduleRow) -> None:
        await self.session.execute(insert(t.visit_schedules).values(**self._schedule_values(schedule)))

    async def update_schedule(self, schedule: ScheduleRow) -> None:
        await self.session.execute(
            update(t.visit_schedules).where(t.visit_schedules.c.id == schedule.id)
            .values(updated_at=func.now(), **self._schedule_values(schedule)))

    @staticmethod
    def _schedule_values(schedule: ScheduleRow) -> dict[str, Any]:
        return {
            "id": schedule.id, "contract_id": schedule.contract_id, "site_id": schedule.site_id,
            "equipment_id": schedule.equipment_id, "rrule": schedule.rrule, "first_on": schedule.first_on,
            "visit_time": schedule.visit_time, "tolerance_days": schedule.tolerance_days,
            "duration_minutes": schedule.duration_minutes,
            "required_skills": skills_to_json(schedule.required_skills), "priority": schedule.priority,
            "active": schedule.active,
        }

    async def get_schedule(self, schedule_id: uuid.UUID) -> ScheduleRow | None:
        row = (await self.session.execute(
            select(t.visit_schedules).where(t.visit_schedules.c.id == schedule_id))).first()
        return _schedule(row) if row else None

    async def list_schedules(self, contract_id: uuid.UUID, *, active_only: bool = False) -> list[ScheduleRow]:
        query = select(t.visit_schedules).where(t.visit_schedules.c.contract_id == contract_id)
        if active_only:
            query = query.where(t.visit_schedules.c.active.is_(True))
        rows = await self.session.execute(query.order_by(t.visit_schedules.c.created_at, t.visit_schedules.c.id))
        return [_schedule(r) for r in rows]

    async def covered_units_at(self, contract_id: uuid.UUID, site_id: uuid.UUID) -> list[uuid.UUID]:
        return (await self.covered_units_at_sites(contract_id, {site_id})).get(site_id, [])

    async def covered_units_at_sites(self, contract_id: uuid.UUID,
                                     site_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        """The units the contract covers at each site, in id order (a site with none is left out)."""
        rows = await self.session.execute(
            _COVERED_UNITS_AT_SITES, {"contract_id": contract_id, "site_ids": list(site_ids)})
        units: dict[uuid.UUID, list[uuid.UUID]] = {}
        for row in rows:
            units.setdefault(row.site_id, []).append(row.id)
        return units

    # --- planned visits ----------------------------------------------------------------------------

    async def visits_to_reconcile(self, contract_id: uuid.UUID, since: datetime, now: datetime) -> list[VisitRow]:
        """The contract's visits from `since` on, plus earlier ones not yet started whose window is still open."""
        v = t.planned_visits
        query = select(v).where(
            v.c.contract_id == contract_id,
            or_(v.c.occurrence_at >= since, and_(v.c.status.in_(MUTABLE_STATUSES), v.c.window_end > now)),
        )
        return [_visit(r) for r in await self.session.execute(query)]

    async def insert_visits(self, contract_id: uuid.UUID, customer_id: uuid.UUID,
                            visits: list[tuple[uuid.UUID, VisitSpec]]) -> set[uuid.UUID]:
        """Insert each visit unless its (schedule, occurrence) already has one; the ids inserted."""
        if not visits:
            return set()
        inserted = await self.session.execute(
            pg_insert(t.planned_visits)
            .on_conflict_do_nothing(index_elements=["schedule_id", "occurrence_at"])
            .returning(t.planned_visits.c.id),
            [{"id": visit_id, "contract_id": contract_id, "customer_id": customer_id, "status": "planned",
              **_visit_values(spec)} for visit_id, spec in visits],
        )
        return set(inserted.scalars())

    async def rewrite_visits(self, rewrites: list[tuple[uuid.UUID, VisitSpec, str]]) -> None:
        """Give each visit its new spec and status (one statement, a row of parameters per visit)."""
        if not rewrites:
            return
        v = t.planned_visits
        statement = update(v).where(v.c.id == bindparam("b_id")).values(
            status=_bound("status"), status_changed_at=func.now(),
            **{column: _bound(column) for column in _VISIT_SPEC_COLUMNS})
        rows = []
        for visit_id, spec, status in rewrites:
            values = _visit_values(spec)
            rows.append({"b_id": visit_id, "b_status": status,
                         **{f"b_{column}": values[column] for column in _VISIT_SPEC_COLUMNS}})
        await self.session.execute(statement, rows)

    async def set_visits_status(self, visit_ids: list[uuid.UUID], status: str) -> None:
        if visit_ids:
            await self.session.execute(
                update(t.planned_visits).where(t.planned_visits.c.id.in_(visit_ids))
                .values(status=status, status_changed_at=func.now()))

    async def set_visit_status(self, visit_id: uuid.UUID, status: str, *, carried_work: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "status_changed_at": func.now()}
        if carried_work is not None:
            values["carried_work"] = carried_work
        await self.session.execute(update(t.planned_visits).where(t.planned_visits.c.id == visit_id).values(**values))

    async def get_visit(self, visit_id: uuid.UUID, *, for_update: bool = False) -> VisitRow | None:
        query = select(t.planned_visits).where(t.planned_visits.c.id == visit_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _visit(row) if row else None

    async def visits_by_id(self, visit_ids: list[uuid.UUID]) -> list[VisitRow]:
        v = t.planned_visits
        rows = await self.session.execute(select(v).where(v.c.id.in_(visit_ids)).order_by(v.c.due_at, v.c.id))
        return [_visit(r) for r in rows]

    async def visits_still_to_make_at(self, site_id: uuid.UUID, now: datetime) -> dict[str, list[uuid.UUID]]:
        """The site's visits not yet under way whose window is still open, by their contract's time zone."""
        v, c = t.planned_visits, t.contracts
        rows = await self.session.execute(
            select(v.c.id, c.c.timezone).join(c, c.c.id == v.c.contract_id)
            .where(v.c.site_id == site_id, v.c.status.in_(MUTABLE_STATUSES), v.c.window_end > now)
            .order_by(v.c.due_at, v.c.id))
        by_timezone: dict[str, list[uuid.UUID]] = {}
        for row in rows:
            by_timezone.setdefault(row.timezone, []).append(row.id)
        return by_timezone

    async def list_visits(self, contract_id: uuid.UUID, since: datetime | None, until: datetime | None,
                          status: str | None) -> list[VisitRow]:
        v = t.planned_visits
        query = select(v).where(v.c.contract_id == contract_id)
        if since is not None:
            query = query.where(v.c.window_end > since)
        if until is not None:
            query = query.where(v.c.window_start < until)
        if status is not None:
            query = query.where(v.c.status == status)
        return [_visit(r) for r in await self.session.execute(query.order_by(v.c.due_at, v.c.id))]

    async def unfinished_work(self, contract_id: uuid.UUID) -> list[VisitRow]:
        """Failed visits whose work has not yet been handed to a later visit, oldest first."""
        v = t.planned_visits
        rows = await self.session.execute(
            select(v).where(v.c.contract_id == contract_id, v.c.status == "failed", v.c.carried_into.is_(None))
            .order_by(v.c.occurrence_at))
        return [_visit(r) for r in rows]

    async def next_visits_after(self, failed: list[VisitRow]) -> dict[uuid.UUID, VisitRow]:
        """For each failed visit (by id), the next visit of its schedule not yet under way, where there is one."""
        if not failed:
            return {}
        rows = await self.session.execute(_NEXT_VISITS_AFTER, {
            "failed_ids": [f.id for f in failed], "schedule_ids": [f.schedule_id for f in failed],
            "since": [f.occurrence_at for f in failed], "mutable": list(MUTABLE_STATUSES)})
        return {row.failed_id: _visit(row) for row in rows}

    async def hand_over_work(self, handovers: list[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
        """(failed visit, visit taking its work, the work): in order, so a later hand-over into a visit wins."""
        if not handovers:
            return
        v = t.planned_visits
        await self.session.execute(
            update(v).where(v.c.id == bindparam("b_id")).values(carried_into=bindparam("b_into")),
            [{"b_id": failed, "b_into": into} for failed, into, _ in handovers])
        latest = {into: (failed, work) for failed, into, work in handovers}
        await self.session.execute(
            update(v).where(v.c.id == bindparam("b_id"))
            .values(carried_over_from=bindparam("b_from"), carried_work=bindparam("b_work")),
            [{"b_id": into, "b_from": failed, "b_work": work} for into, (failed, work) in latest.items()])

    async def visit_counts(self, contract_id: uuid.UUID, now: datetime) -> dict[str, int]:
        v = t.planned_visits
        open_ = v.c.status.in_(OPEN_STATUSES)
        row = (await self.session.execute(select(
            func.count().filter(and_(v.c.window_start <= now, v.c.status != "cancelled")).label("due"),
            func.count().filter(v.c.status == "done").label("done"),
            func.count().filter(and_(open_, v.c.window_end <= now)).label("overdue"),
            func.count().filter(v.c.status == "failed").label("failed"),
            func.count().filter(and_(open_, v.c.window_end > now)).label("open"),
            func.count().filter(v.c.status == "cancelled").label("cancelled"),
        ).where(v.c.contract_id == contract_id))).one()
        return {k: int(n) for k, n in row._mapping.items()}

    # --- what contract managers were told ---------------------------------------------------------

    async def contracts_ending_by(self, last_day: date) -> list[EndingContract]:
        """Live contracts ending on or before `last_day` whose current end date has not been announced."""
        c = t.contracts
        rows = await self.session.execute(
            select(c.c.id, c.c.customer_id, c.c.ends_on, c.c.timezone, c.c.ending_announced_for).where(
                c.c.status.in_(LIVE_STATUSES), c.c.ends_on.is_not(None), c.c.ends_on <= last_day,
                c.c.ending_announced_for.is_distinct_from(c.c.ends_on))
            .order_by(c.c.ends_on, c.c.id))
        return [EndingContract(**r._mapping) for r in rows]

    async def mark_ending_announced(self, contract_id: uuid.UUID, ends_on: date) -> bool:
        """Remember that `ends_on` was announced; False if it already was (another replica, a re-run)."""
        c = t.contracts
        marked = await self.session.execute(
            update(c).where(c.c.id == contract_id, c.c.ending_announced_for.is_distinct_from(ends_on))
            .values(ending_announced_for=ends_on).returning(c.c.id))
        return marked.first() is not None

    async def overdue_changes(self, now: datetime) -> list[OverdueVisits]:
        """Contracts whose number of overdue visits differs from the number last announced."""
        rows = await self.session.execute(
            _OVERDUE_CHANGES, {"now": now, "open": list(OPEN_STATUSES), "live": list(LIVE_STATUSES)})
        return [OverdueVisits(**r._mapping) for r in rows]

    async def set_overdue_announced(self, contract_id: uuid.UUID, before: int, after: int) -> bool:
        """Move the remembered overdue count from `before` to `after`; False if someone else moved it first."""
        c = t.contracts
        moved = await self.session.execute(
            update(c).where(c.c.id == contract_id, c.c.overdue_announced == before)
            .values(overdue_announced=after).returning(c.c.id))
        return moved.first() is not None

    # --- what other services tell us ---------------------------------------------------------------

    async def record_service_job(self, values: dict[str, Any]) -> None:
        await self.session.execute(pg_insert(t.service_jobs).values(**values).on_conflict_do_nothing())

    async def cancel_service_job(self, request_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(t.service_jobs).where(t.service_jobs.c.request_id == request_id).values(cancelled_at=at))

    async def record_assignment_step(self, values: dict[str, Any]) -> None:
        await self.session.execute(pg_insert(t.assignment_steps).values(**values).on_conflict_do_nothing())

    async def sla_compliance(self, contract_id: uuid.UUID, now: datetime) -> dict[str, int]:
        row = (await self.session.execute(_SLA_COMPLIANCE, {"contract_id": contract_id, "now": now})).one()
        return {k: int(n) for k, n in row._mapping.items()}


# --- CSV import: rows are copied into a temporary staging table, checked as a set, then moved over ---------

_STAGING_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "customers": [("line", "integer"), ("external_ref", "text"), ("name", "text")],
    "sites": [("line", "integer"), ("id", "uuid"), ("external_ref", "text"), ("customer_ref", "text"),
              ("name", "text"), ("address", "text"), ("lat", "float8"), ("lon", "float8"), ("access_hours", "jsonb"),
              ("contact_name", "text"), ("contact_phone", "text")],
    "equipment": [("line", "integer"), ("id", "uuid"), ("site_ref", "text"), ("equipment_type", "text"),
                  ("model", "text"), ("serial", "text"), ("installed_on", "date"), ("warranty_ends_on", "date"),
                  ("required_skills", "jsonb"), ("criticality", "text")],
}

# (line, field, reason) for every staged row that cannot go in: repeats within the file, clashes with
# what is stored, references to nothing
_STAGING_CHECKS: dict[str, str] = {
    "customers": """
        SELECT line, 'external_ref' AS field, 'repeats the external_ref of line ' || first_line AS reason
        FROM (SELECT line, min(line) OVER (PARTITION BY external_ref) AS first_line FROM import_stage) d
        WHERE line <> first_line
        UNION ALL
        SELECT s.line, 'external_ref', 'a customer with this external_ref exists'
        FROM import_stage s JOIN customers c ON c.external_ref = s.external_ref
    """,
    "sites": """
        SELECT line, 'external_ref' AS field, 'repeats the external_ref of line ' || first_line AS reason
        FROM (SELECT line, min(line) OVER (PARTITION BY external_ref) AS first_line FROM import_stage) d
        WHERE line <> first_line
        UNION ALL
        SELECT s.line, 'external_ref', 'a site with this external_ref exists'
        FROM import_stage s JOIN sites x ON x.external_ref = s.external_ref
        UNION ALL
        SELECT s.line, 'customer_ref', 'no customer has the external_ref ' || s.customer_ref
        FROM import_stage s LEFT JOIN customers c ON c.external_ref = s.customer_ref
        WHERE c.id IS NULL
    """,
    "equipment": """
        SELECT line, 'serial' AS field, 'repeats the model and serial of line ' || first_line AS reason
        FROM (SELECT line, min(line) OVER (PARTITION BY model, serial) AS first_line FROM import_stage) d
        WHERE line <> first_line
        UNION ALL
        SELECT s.line, 'serial', 'a unit of this model with this serial exists'
        FROM import_stage s JOIN equipment e ON e.model = s.model AND e.serial = s.serial
        UNION ALL
        SELECT s.line, 'site_ref', 'no site has the external_ref ' || s.site_ref
        FROM import_stage s LEFT JOIN sites x ON x.external_ref = s.site_ref
        WHERE x.id IS NULL
    """,
}

_STAGING_MOVES: dict[str, str] = {
    "customers": """
        INSERT INTO customers (id, name, external_ref)
        SELECT gen_random_uuid(), name, external_ref FROM import_stage
    """,
    "sites": """
        INSERT INTO sites (id, customer_id, name, address, location, external_ref, access_hours, contact_name,
                           contact_phone)
        SELECT s.id, c.id, s.name, s.address, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)::geography,
               s.external_ref, s.access_hours, s.contact_name, s.contact_phone
        FROM import_stage s JOIN customers c ON c.external_ref = s.customer_ref
    """,
    "equipment": """
        INSERT INTO equipment (id, site_id, customer_id, equipment_type, model, serial, installed_on,
                               warranty_ends_on, required_skills, criticality)
        SELECT s.id, x.id, x.customer_id, s.equipment_type, s.model, s.serial, s.installed_on,
               s.warranty_ends_on, s.required_skills, s.criticality
        FROM import_stage s JOIN sites x ON x.external_ref = s.site_ref
    """,
}


class ImportStaging:
    """A temporary table for one import, dropped with the transaction."""

    def __init__(self, session: AsyncSession, kind: str) -> None:
        self.session = session
        self.kind = kind
        self.columns = [name for name, _ in _STAGING_COLUMNS[kind]]

    async def create(self) -> None:
        columns = ", ".join(f"{name} {type_}" for name, type_ in _STAGING_COLUMNS[self.kind])
        await self.session.execute(text(f"CREATE TEMPORARY TABLE import_stage ({columns}) ON COMMIT DROP"))

    async def copy(self, records: list[tuple[Any, ...]]) -> None:
        """COPY the records in (binary protocol: the fastest way in)."""
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table("import_stage", records=records, columns=self.columns)

    async def problems(self) -> list[tuple[int, str, str]]:
        await self.session.execute(text("ANALYZE import_stage"))  # a fresh table has no statistics to plan with
        rows = await self.session.execute(text(f"SELECT * FROM ({_STAGING_CHECKS[self.kind]}) p ORDER BY line"))
        return [(r.line, r.field, r.reason) for r in rows]

    async def move(self) -> int:
        result = await self.session.execute(text(_STAGING_MOVES[self.kind]))
        return int(result.rowcount)  # type: ignore[attr-defined]
