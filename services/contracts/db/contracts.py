"""The contract aggregate: a contract with its sites, units, SLA terms, quotas and price; coverage; what
contract managers were told about it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import cast, delete, func, insert, literal, select, text, update

from services.contracts.db import tables as t
from services.contracts.db.rows import Repository, skills_from_json, skills_to_json
from services.contracts.domain.calendar import hours_from_json, hours_to_json
from services.contracts.domain.contract import ContractRecord, ContractTerms, CoverageConflict, Price
from services.contracts.domain.lifecycle import LIVE_STATUSES
from services.contracts.domain.notices import EndingContract, OverdueVisits
from services.contracts.domain.quota import Quota
from services.contracts.domain.sla import SlaTerm
from services.contracts.domain.visits import OPEN_STATUSES
from shared.pagination import Page


def _term(row: Any) -> SlaTerm:
    return SlaTerm(
        row.priority,
        row.response_minutes,
        row.fix_minutes,
        skills_from_json(row.required_skills),
        late_penalty_per_hour=row.late_penalty_per_hour,
        visit_value=row.visit_value,
    )


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


class ContractsRepository(Repository):
    """Contracts and their terms, coverage, and the notices remembered on them."""

    async def add_contract(self, contract_id: uuid.UUID, customer_id: uuid.UUID, terms: ContractTerms) -> None:
        await self.session.execute(
            insert(t.contracts).values(
                id=contract_id, customer_id=customer_id, status="draft", **self._contract_values(terms)
            )
        )
        await self._write_parts(contract_id, terms)

    async def update_contract(self, contract_id: uuid.UUID, terms: ContractTerms) -> None:
        await self.session.execute(
            update(t.contracts)
            .where(t.contracts.c.id == contract_id)
            .values(updated_at=func.now(), **self._contract_values(terms))
        )
        for table in (t.contract_sites, t.contract_equipment, t.sla_terms, t.quotas):
            await self.session.execute(delete(table).where(table.c.contract_id == contract_id))
        await self._write_parts(contract_id, terms)

    @staticmethod
    def _contract_values(terms: ContractTerms) -> dict[str, Any]:
        return {
            "contract_type": terms.contract_type,
            "starts_on": terms.starts_on,
            "ends_on": terms.ends_on,
            "timezone": terms.timezone,
            "business_hours": hours_to_json(terms.business_hours),
            "holidays": sorted(set(terms.holidays)),
            "price_amount": terms.price.amount,
            "currency": terms.price.currency,
            "billing_period": terms.price.billing_period,
            "extra_callout_price": terms.price.extra_callout_price,
        }

    async def _write_parts(self, contract_id: uuid.UUID, terms: ContractTerms) -> None:
        if terms.site_ids:
            await self.session.execute(
                insert(t.contract_sites), [{"contract_id": contract_id, "site_id": s} for s in terms.site_ids]
            )
        if terms.equipment_ids:
            await self.session.execute(
                insert(t.contract_equipment),
                [{"contract_id": contract_id, "equipment_id": e} for e in terms.equipment_ids],
            )
        if terms.sla:
            await self.session.execute(
                insert(t.sla_terms),
                [
                    {
                        "contract_id": contract_id,
                        "priority": term.priority,
                        "response_minutes": term.response_minutes,
                        "fix_minutes": term.fix_minutes,
                        "required_skills": skills_to_json(term.required_skills),
                        "late_penalty_per_hour": term.late_penalty_per_hour,
                        "visit_value": term.visit_value,
                    }
                    for term in terms.sla
                ],
            )
        if terms.quotas:
            await self.session.execute(
                insert(t.quotas),
                [
                    {
                        "contract_id": contract_id,
                        "request_kind": q.request_kind,
                        "period": q.period,
                        "included": q.included,
                    }
                    for q in terms.quotas
                ],
            )

    async def get_contract(
        self, contract_id: uuid.UUID, *, for_update: bool = False, for_share: bool = False
    ) -> ContractRecord | None:
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
        site_ids = list(
            (
                await self.session.execute(
                    select(t.contract_sites.c.site_id)
                    .where(t.contract_sites.c.contract_id == contract_id)
                    .order_by(t.contract_sites.c.site_id)
                )
            ).scalars()
        )
        equipment_ids = list(
            (
                await self.session.execute(
                    select(t.contract_equipment.c.equipment_id)
                    .where(t.contract_equipment.c.contract_id == contract_id)
                    .order_by(t.contract_equipment.c.equipment_id)
                )
            ).scalars()
        )
        sla = [
            _term(r)
            for r in await self.session.execute(
                select(t.sla_terms).where(t.sla_terms.c.contract_id == contract_id).order_by(t.sla_terms.c.priority)
            )
        ]
        quotas = [
            Quota(r.request_kind, r.period, r.included)
            for r in await self.session.execute(
                select(t.quotas).where(t.quotas.c.contract_id == contract_id).order_by(t.quotas.c.request_kind)
            )
        ]
        terms = ContractTerms(
            contract_type=row.contract_type,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            site_ids=site_ids,
            equipment_ids=equipment_ids,
            sla=sla,
            timezone=row.timezone,
            business_hours=hours_from_json(row.business_hours),
            holidays=list(row.holidays),
            quotas=quotas,
            price=Price(row.price_amount, row.currency, row.billing_period, row.extra_callout_price),
        )
        return ContractRecord(
            id=row.id,
            customer_id=row.customer_id,
            status=row.status,
            terms=terms,
            ended_on=row.ended_on,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def list_contracts(
        self, customer_id: uuid.UUID | None, status: str | None, page: Page | None = None
    ) -> list[ContractRecord]:
        query = select(t.contracts).order_by(t.contracts.c.starts_on.desc(), t.contracts.c.id)
        if customer_id is not None:
            query = query.where(t.contracts.c.customer_id == customer_id)
        if status is not None:
            query = query.where(t.contracts.c.status == status)
        if page is not None:
            query = page.of(query)
        return [await self._record(r) for r in (await self.session.execute(query)).all()]

    async def set_contract_status(self, contract_id: uuid.UUID, status: str, ended_on: date | None = None) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": func.now()}
        if ended_on is not None:
            values["ended_on"] = ended_on
        await self.session.execute(update(t.contracts).where(t.contracts.c.id == contract_id).values(**values))

    async def coverage_conflicts(self, contract_id: uuid.UUID) -> list[CoverageConflict]:
        """Units (or whole sites) this contract shares with another live contract of its type and period."""
        rows = await self.session.execute(_COVERAGE_CONFLICTS, {"contract_id": contract_id})
        return [CoverageConflict(**r._mapping) for r in rows]

    async def contract_ids(self, statuses: tuple[str, ...]) -> list[uuid.UUID]:
        query = select(t.contracts.c.id).where(t.contracts.c.status.in_(statuses)).order_by(t.contracts.c.id)
        return list((await self.session.execute(query)).scalars())

    async def contracts_past_end(self, now: datetime) -> list[uuid.UUID]:
        """Live contracts whose last day has passed in their own time zone."""
        local_today = cast(func.timezone(t.contracts.c.timezone, literal(now)), t.contracts.c.starts_on.type)
        query = select(t.contracts.c.id).where(
            t.contracts.c.status.in_(LIVE_STATUSES), t.contracts.c.ends_on < local_today
        )
        return list((await self.session.execute(query)).scalars())

    async def covering_contracts(
        self, site_id: uuid.UUID, equipment_id: uuid.UUID | None, at: datetime
    ) -> list[tuple[uuid.UUID, str]]:
        rows = await self.session.execute(
            _COVERING_CONTRACTS, {"site_id": site_id, "equipment_id": equipment_id, "at": at}
        )
        return [(r.id, r.contract_type) for r in rows]

    async def contracts_ending_by(self, last_day: date) -> list[EndingContract]:
        """Live contracts ending on or before `last_day` whose current end date has not been announced."""
        c = t.contracts
        rows = await self.session.execute(
            select(c.c.id, c.c.customer_id, c.c.ends_on, c.c.timezone, c.c.ending_announced_for)
            .where(
                c.c.status.in_(LIVE_STATUSES),
                c.c.ends_on.is_not(None),
                c.c.ends_on <= last_day,
                c.c.ending_announced_for.is_distinct_from(c.c.ends_on),
            )
            .order_by(c.c.ends_on, c.c.id)
        )
        return [EndingContract(**r._mapping) for r in rows]

    async def mark_ending_announced(self, contract_id: uuid.UUID, ends_on: date) -> bool:
        """Remember that `ends_on` was announced; False if it already was (another replica, a re-run)."""
        c = t.contracts
        marked = await self.session.execute(
            update(c)
            .where(c.c.id == contract_id, c.c.ending_announced_for.is_distinct_from(ends_on))
            .values(ending_announced_for=ends_on)
            .returning(c.c.id)
        )
        return marked.first() is not None

    async def overdue_changes(self, now: datetime) -> list[OverdueVisits]:
        """Contracts whose number of overdue visits differs from the number last announced."""
        rows = await self.session.execute(
            _OVERDUE_CHANGES, {"now": now, "open": list(OPEN_STATUSES), "live": list(LIVE_STATUSES)}
        )
        return [OverdueVisits(**r._mapping) for r in rows]

    async def set_overdue_announced(self, contract_id: uuid.UUID, before: int, after: int) -> bool:
        """Move the remembered overdue count from `before` to `after`; False if someone else moved it first."""
        c = t.contracts
        moved = await self.session.execute(
            update(c)
            .where(c.c.id == contract_id, c.c.overdue_announced == before)
            .values(overdue_announced=after)
            .returning(c.c.id)
        )
        return moved.first() is not None
