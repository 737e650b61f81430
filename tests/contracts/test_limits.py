"""Limits on the running contracts app (issue 16): body sizes before authentication, statement timeout,
SQL parameters kept out of errors."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import create_engine
from tests.contracts.conftest import Contracts

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_large_json_body_without_a_token_is_refused_with_413_before_the_401(contracts: Contracts) -> None:
    big = {"name": "x" * (contracts.settings.body_limit_bytes + 1)}
    response = await contracts.client.post("/customers", json=big)
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await contracts.client.post("/customers", json={"name": "small"})).status_code == 401


async def test_a_csv_import_may_be_larger_than_a_json_body_but_not_unbounded(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    rows = "".join(f"C-{tag}-{i},Customer {i} {'.' * 40}\n" for i in range(2000))
    content = ("external_ref,name\n" + rows).encode()
    assert contracts.settings.body_limit_bytes < len(content) < contracts.settings.upload_body_limit_bytes
    files = {"file": ("customers.csv", content, "text/csv")}
    accepted = await contracts.client.post(
        "/imports/customers", params={"dry_run": "true"}, headers=contracts.manager, files=files
    )
    assert accepted.status_code == 200, accepted.text
    huge = {"file": ("customers.csv", b"x" * (contracts.settings.upload_body_limit_bytes + 1), "text/csv")}
    refused = await contracts.client.post("/imports/customers", files=huge)
    assert refused.status_code == 413


async def test_every_connection_has_the_statement_timeout_and_parameters_stay_out_of_errors(
    contracts: Contracts,
) -> None:
    engine = create_engine(contracts.settings.model_copy(update={"db_statement_timeout_s": 0.2}))
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "200ms"
            with pytest.raises(DBAPIError) as cancelled:
                await conn.execute(text("SELECT pg_sleep(5)"))
            assert "statement timeout" in str(cancelled.value)
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as failed:
                await conn.execute(text("SELECT length(CAST(:phone AS text)) / 0"), {"phone": "+380 65 555 0142"})
            assert "division by zero" in str(failed.value) and "555 0142" not in str(failed.value)
    finally:
        await engine.dispose()
    async with contracts.db.engine.connect() as conn:
        assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "15s"


async def test_lists_come_in_pages_of_at_most_200(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    for n in range(3):
        await contracts.post("/customers", {"name": f"Paged {tag} {n}", "external_ref": f"P-{tag}-{n}"})
    one = await contracts.client.get("/customers", params={"limit": 1}, headers=contracts.manager)
    assert one.status_code == 200 and len(one.json()) == 1
    by_ref = await contracts.client.get("/customers", params={"external_ref": f"P-{tag}-2"}, headers=contracts.manager)
    assert [c["name"] for c in by_ref.json()] == [f"Paged {tag} 2"]
    for path in ("/customers", "/contracts", "/territories"):
        too_many = await contracts.client.get(path, params={"limit": 201}, headers=contracts.manager)
        assert too_many.status_code == 422, (path, too_many.text)
        assert "limit" in too_many.text
    everyone = await contracts.client.get("/customers", headers=contracts.manager)
    assert len(everyone.json()) <= 50
