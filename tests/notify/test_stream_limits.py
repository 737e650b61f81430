"""Live streams: the token only in the Authorization header, a cap per principal, and the end of the token's
life ends the stream (issue 16)."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

import httpx

from shared.auth import Role
from shared.auth.tokens import mint_token
from tests.notify.conftest import Notify
from tests.support.polling import eventually


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_in_the_query_string_is_not_accepted(notify: Notify) -> None:
    token = notify.keys.token(Role.CUSTOMER, customer_id=uuid.uuid4())
    async with httpx.AsyncClient(base_url=notify.url, timeout=10) as client:
        refused = await client.get("/streams/me", params={"access_token": token})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


async def test_one_principal_may_hold_only_a_few_streams_and_a_closed_one_frees_its_place(notify: Notify) -> None:
    cap = notify.settings.sse_max_per_principal
    token = notify.keys.token(Role.CUSTOMER, customer_id=uuid.uuid4())
    async with AsyncExitStack() as streams, httpx.AsyncClient(base_url=notify.url, timeout=None) as client:
        opened = []
        for _ in range(cap):
            response = await streams.enter_async_context(client.stream("GET", "/streams/me", headers=_bearer(token)))
            assert response.status_code == 200
            opened.append(response)
        refused = await client.get("/streams/me", headers=_bearer(token))
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
        assert refused.json()["type"].endswith("/too-many-streams")
        someone_else = notify.keys.token(Role.CUSTOMER, customer_id=uuid.uuid4())
        async with client.stream("GET", "/streams/me", headers=_bearer(someone_else)) as other:
            assert other.status_code == 200
        await opened[0].aclose()

        async def reopen() -> int:
            async with client.stream("GET", "/streams/me", headers=_bearer(token)) as again:
                return again.status_code

        await eventually(reopen, lambda code: code == 200, what="a closed stream's place is freed")


async def test_a_stream_ends_with_an_expired_event_when_its_token_expires(notify: Notify) -> None:
    token = mint_token(
        notify.keys.private.read_bytes(),
        issuer=notify.settings.jwt_issuer,
        audience=notify.settings.jwt_audience,
        subject=f"short-{uuid.uuid4().hex[:6]}",
        role=Role.DISPATCHER,
        ttl_s=2,
    )
    events: list[str] = []
    async with (
        httpx.AsyncClient(base_url=notify.url, timeout=None) as client,
        client.stream("GET", "/streams/me", headers=_bearer(token)) as response,
    ):
        assert response.status_code == 200
        async with asyncio.timeout(30):  # a bound on waiting: the stream must end on its own
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    events.append(line[7:])
    assert events[-1:] == ["expired"]
