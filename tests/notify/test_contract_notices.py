"""Contracts' notices for contract managers (ending soon, visits overdue) reach them by e-mail, in their language."""

from __future__ import annotations

import uuid

from shared.events.contracts import ContractEndingSoon, VisitsOverdue
from tests.notify.conftest import Notify
from tests.notify.support import publish
from tests.support.polling import eventually


async def test_contract_managers_hear_of_contracts_ending_soon_and_overdue_visits(notify: Notify) -> None:
    tag = uuid.uuid4().hex[:8]
    manager_en, manager_ru = f"cm-{tag}@fieldline.example", f"km-{tag}@fieldline.example"
    customer_address = f"owner-{tag}@market.example"
    await notify.add_recipient(kind="contract_manager", email=manager_en, language="en")
    await notify.add_recipient(kind="contract_manager", email=manager_ru, language="ru")
    contract, customer = uuid.uuid4(), uuid.uuid4()
    await notify.add_recipient(kind="customer", customer_id=str(customer), email=customer_address)
    short = str(contract).split("-")[0].upper()

    ending = await publish(
        notify.js, ContractEndingSoon(contract_id=contract, customer_id=customer, ends_on="2026-12-28", days_left=30)
    )
    overdue = await publish(
        notify.js,
        VisitsOverdue(contract_id=contract, customer_id=customer, overdue_count=3, oldest_due_on="2026-11-20"),
    )

    def mail(address: str) -> list[tuple[str, str]]:
        return [
            (str(m["Subject"]), m.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
            for m in notify.inbox.to(address)
        ]

    async def both(address: str) -> list[tuple[str, str]]:
        found = mail(address)
        return found if len(found) >= 2 else []

    english = sorted(await eventually(lambda: both(manager_en), what="both notices to the English manager"))
    assert [subject for subject, _ in english] == ["Contract ends on 2026-12-28", f"Overdue visits on contract {short}"]
    assert "30 days left" in english[0][1]
    assert "3 planned visit(s)" in english[1][1] and "2026-11-20" in english[1][1]
    russian = sorted(await eventually(lambda: both(manager_ru), what="both notices to the Russian manager"))
    assert [subject for subject, _ in russian] == [
        "Договор заканчивается 2026-12-28",
        f"Просроченные визиты по договору {short}",
    ]
    for event_id in (ending, overdue):
        addresses = {d["address"] for d in await notify.deliveries(event_id)}
        assert {manager_en, manager_ru} <= addresses and customer_address not in addresses
    assert mail(customer_address) == []
    assert len(mail(manager_en)) == len(mail(manager_ru)) == 2
