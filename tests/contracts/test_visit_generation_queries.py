"""Visit generation on the real database reads and writes in bulk: its SQL statements do not grow with schedules."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from services.contracts.usecases.visits import GenerationSummary, regenerate_visits
from tests.contracts.conftest import Contracts

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]


@contextmanager
def _statements(contracts: Contracts) -> Iterator[list[str]]:
    """Every SQL statement the test's engine sends while the block runs (an executemany counts once)."""
    seen: list[str] = []

    def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = contracts.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _count)


async def _contract_with_schedules(contracts: Contracts, name: str, schedules: int) -> str:
    """An active contract with `schedules` twice-weekly schedules, every other one for the whole site."""
    customer_id, site_id = await contracts.customer_with_site(name)
    units = [await contracts.unit(site_id) for _ in range(schedules)]
    starts_on = (contracts.clock.now() - timedelta(days=30)).date().isoformat()
    created = await contracts.contract(customer_id, [site_id], starts_on=starts_on)
    for index, unit in enumerate(units):
        await contracts.post(
            f"/contracts/{created['id']}/schedules",
            {
                "site_id": site_id,
                "equipment_id": unit if index % 2 else None,
                "rrule": "FREQ=WEEKLY;BYDAY=MO,TH",
                "tolerance_days": 1,
                "duration_minutes": 60,
                "priority": "P3",
            },
        )
    activated = await contracts.client.post(f"/contracts/{created['id']}/activate", headers=contracts.manager)
    assert activated.status_code == 200, activated.text
    return str(created["id"])


async def _run_with_every_kind_of_change(contracts: Contracts, contract_id: str) -> tuple[GenerationSummary, list[str]]:
    """Fail each schedule's first visit, lengthen every visit, retire one schedule, then roll a week on."""
    async with contracts.db.transaction() as session:
        await session.execute(
            text("""
            UPDATE contracts.planned_visits SET status = 'failed'
            WHERE id IN (SELECT DISTINCT ON (schedule_id) id FROM contracts.planned_visits
                         WHERE contract_id = :c ORDER BY schedule_id, occurrence_at)"""),
            {"c": contract_id},
        )
        await session.execute(
            text("UPDATE contracts.visit_schedules SET duration_minutes = 90 WHERE contract_id = :c"),
            {"c": contract_id},
        )
        await session.execute(
            text("""
            UPDATE contracts.visit_schedules SET active = false
            WHERE id = (SELECT id FROM contracts.visit_schedules WHERE contract_id = :c ORDER BY id LIMIT 1)"""),
            {"c": contract_id},
        )
    # ten days on, the retired schedule's second visit (at most seven days after activation, its window the due day
    # ± 1) has closed on every weekday and hour, so it stays and takes the failed first visit's work
    later = contracts.clock.now() + timedelta(days=10)
    with _statements(contracts) as seen:
        async with contracts.db.transaction() as session:
            summary = await regenerate_visits(
                session, uuid.UUID(contract_id), later, contracts.settings.visit_horizon_days
            )
    return summary, seen


async def test_a_generation_run_sends_as_many_statements_for_eight_schedules_as_for_two(contracts: Contracts) -> None:
    few, few_statements = await _run_with_every_kind_of_change(
        contracts, await _contract_with_schedules(contracts, "Two Schedules Deli", 2)
    )
    many, many_statements = await _run_with_every_kind_of_change(
        contracts, await _contract_with_schedules(contracts, "Eight Schedules Hypermarket", 8)
    )

    # every branch ran in both: new visits at the horizon, moved ones, a retired schedule's, carried work
    for summary, schedules in ((few, 2), (many, 8)):
        assert summary.planned >= schedules - 1 and summary.moved > summary.planned
        assert summary.cancelled > 0 and summary.carried_over == schedules
    assert many.moved > 3 * few.moved
    # No statement is sent once per schedule or visit; the totals may differ by a bulk write that had nothing
    # to write in one run (which of them depends on where today falls in the weekly pattern).
    few_counts = Counter(few_statements)
    assert {sql: n for sql, n in Counter(many_statements).items() if n > few_counts.get(sql, 1)} == {}
    # the ceiling: a run's fixed cost (41 statements since visits carry their site's territory and money terms)
    assert len(many_statements) <= len(few_statements) + 2 < 48
