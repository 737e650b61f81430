"""The HTTP edge: every error is problem+json (RFC 9457), and validation errors name the offending field."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized, Unavailable
from shared.http import PROBLEM_BASE, install_correlation_middleware, install_problem_handlers
from shared.observability import CORRELATION_HEADER, current_correlation_id


class Contact(BaseModel):
    phone: str = Field(min_length=5)


class SiteIn(BaseModel):
    name: str = Field(min_length=1)
    contact: Contact
    hours: list[int] = []


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_correlation_middleware(app)

    @app.post("/sites")
    async def create_site(body: SiteIn, limit: int = Query(10, le=100)) -> dict[str, str | None]:
        return {"name": body.name, "correlation_id": current_correlation_id()}

    errors = {
        "invalid": InvalidInput("site_id", "no such site for this customer"),
        "missing": NotFound("gone"),
        "conflict": Conflict("taken"),
        "anonymous": Unauthorized("a bearer token is required"),
        "forbidden": Forbidden("not yours"),
        "down": Unavailable("contracts did not answer"),
    }

    @app.get("/fail/{kind}")
    async def fail(kind: str) -> None:
        raise errors[kind]

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://edge") as c:
        yield c


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == PROBLEM_BASE + slug and body["status"] == status
    return body


async def test_a_nested_body_field_is_named_with_its_path(client: httpx.AsyncClient) -> None:
    body = _problem(
        await client.post("/sites", json={"name": "Yalta", "contact": {"phone": "1"}}), 422, "invalid-input"
    )
    assert [e["field"] for e in body["errors"]] == ["contact.phone"]  # type: ignore[attr-defined]
    assert str(body["detail"]).startswith("contact.phone: ")
    assert body["instance"] == "/sites"


async def test_query_list_and_missing_fields_are_named(client: httpx.AsyncClient) -> None:
    body = _problem(
        await client.post("/sites?limit=1000", json={"contact": {"phone": "12345"}, "hours": [1, "x"]}),
        422,
        "invalid-input",
    )
    assert {e["field"] for e in body["errors"]} == {"name", "hours.1", "limit"}  # type: ignore[attr-defined]
    whole = _problem(
        await client.post("/sites", content=b"not json", headers={"content-type": "application/json"}),
        422,
        "invalid-input",
    )
    assert whole["errors"]


@pytest.mark.parametrize(
    ("kind", "status", "slug"),
    [
        ("invalid", 422, "invalid-input"),
        ("missing", 404, "not-found"),
        ("conflict", 409, "conflict"),
        ("anonymous", 401, "unauthorized"),
        ("forbidden", 403, "forbidden"),
        ("down", 503, "unavailable"),
    ],
)
async def test_domain_errors_map_to_their_status(client: httpx.AsyncClient, kind: str, status: int, slug: str) -> None:
    response = await client.get(f"/fail/{kind}")
    body = _problem(response, status, slug)
    assert ("www-authenticate" in response.headers) == (status == 401)
    if kind == "invalid":
        assert body["errors"] == [{"field": "site_id", "reason": "no such site for this customer"}]
    else:
        assert "errors" not in body


async def test_routing_errors_are_problems_too(client: httpx.AsyncClient) -> None:
    _problem(await client.get("/nowhere"), 404, "not-found")
    _problem(await client.delete("/sites"), 405, "method-not-allowed")


async def test_the_correlation_id_is_taken_from_the_caller_or_made(client: httpx.AsyncClient) -> None:
    given = await client.post(
        "/sites", json={"name": "a", "contact": {"phone": "12345"}}, headers={CORRELATION_HEADER: "from-the-caller"}
    )
    assert given.json()["correlation_id"] == "from-the-caller"
    assert given.headers[CORRELATION_HEADER] == "from-the-caller"
    made = await client.post("/sites", json={"name": "a", "contact": {"phone": "12345"}})
    assert made.headers[CORRELATION_HEADER] == made.json()["correlation_id"]
    assert len(made.headers[CORRELATION_HEADER]) == 32
