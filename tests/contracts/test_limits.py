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
