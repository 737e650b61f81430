"""The e-mails' links `{PUBLIC_BASE_URL}/requests/{id}` land on the customer portal's page of that request."""

from __future__ import annotations

import uuid

import httpx

from tests.gateway.test_gateway import ServedApp, gateway, upstream, web_root

__all__ = ["gateway", "upstream", "web_root"]  # the fixtures, shared with the gateway's own tests


def test_an_emailed_request_link_redirects_to_the_portal(gateway: ServedApp) -> None:
    request_id = uuid.uuid4()

    response = httpx.get(f"{gateway.url}/requests/{request_id}")

    assert response.status_code == 308
    assert response.headers["location"] == f"/portal/requests/{request_id}"


def test_only_a_request_id_is_redirected(gateway: ServedApp) -> None:
    assert httpx.get(f"{gateway.url}/requests/not-an-id").status_code == 404
    assert httpx.get(f"{gateway.url}/requests/{uuid.uuid4()}/../../secret.txt").status_code in (400, 404)
