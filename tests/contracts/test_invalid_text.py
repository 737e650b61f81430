"""Invalid text (NUL, lone surrogates) in any string of a body is a 422 naming the field, never a 500 (issue 16)."""

from __future__ import annotations

from tests.contracts.conftest import Contracts


async def test_a_lone_surrogate_in_a_customer_name_is_a_422_naming_the_field(contracts: Contracts) -> None:
    response = await contracts.client.post(
        "/customers",
        headers={**contracts.manager, "content-type": "application/json"},
        content=b'{"name": "Bakery \\udc00"}',
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["name"]


async def test_a_nul_in_a_key_of_a_free_form_object_is_a_422(contracts: Contracts) -> None:
    area = '{"type": "Polygon", "coordinates": [[[34, 44], [35, 44], [35, 45], [34, 44]]], "x\\u0000": 1}'
    response = await contracts.client.post(
        "/territories",
        headers={**contracts.manager, "content-type": "application/json"},
        content=f'{{"name": "Nul land", "area": {area}}}'.encode(),
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["area"]
