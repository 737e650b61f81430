"""Signed webhooks: retried with back-off until one success, given up after the window, and never sent
where the SSRF guard forbids (a corpus of addresses, names resolving to them, redirects to them)."""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import or_, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notify.adapters.webhook_sender import WebhookSender, system_resolver
from services.notify.db import tables as t
from services.notify.domain.addresses import AllowList, IPAddress
from services.notify.domain.customer_webhook import CUSTOMER_WEBHOOK_FIELDS, customer_webhook_data
from services.notify.domain.signing import SIGNATURE_HEADER, new_secret, standard_webhook_headers, verify
from shared.auth import Role
from shared.clock import FixedClock
from shared.events.dispatch import AssignmentChanged
from shared.events.notify import DeliveryFailed, DeliverySent
from shared.events.requests import ServiceRequestCreated
from tests.notify.conftest import Notify
from tests.notify.support import at, customer_request, publish, webhook_receiver
from tests.notify.tls import issue
from tests.support.infra import free_port
from tests.support.polling import eventually


def _request(customer_id: uuid.UUID) -> ServiceRequestCreated:
    return customer_request(customer_id, kind="emergency", priority="P1", location=(44.95, 34.1))


async def _register(notify: Notify, customer: uuid.UUID, url: str, language: str = "ru") -> dict[str, object]:
    response = await notify.api.post(
        f"/customers/{customer}/webhooks",
        json={"url": url, "language": language},
        headers=notify.keys.headers(Role.CUSTOMER, customer_id=customer),
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _outbox_events(notify: Notify, subject: str, delivery_id: str) -> list[dict[str, object]]:
    async with notify.db.transaction() as session:
        outbox = t.messaging.outbox
        rows = await session.execute(select(outbox.c.payload).where(outbox.c.subject == subject))
        return [p["data"] for (p,) in rows if p["data"]["delivery_id"] == delivery_id]


async def test_a_failing_endpoint_gets_exactly_one_signed_success_after_retries(notify: Notify) -> None:
    customer = uuid.uuid4()
    webhook = await _register(notify, customer, f"{notify.receiver.base}/hook")
    secret = webhook["secret"]
    assert isinstance(secret, str) and secret.startswith("whsec_")
    listed = await notify.api.get(
        f"/customers/{customer}/webhooks", headers=notify.keys.headers(Role.CUSTOMER, customer_id=customer)
    )
    assert listed.status_code == 200 and "secret" not in listed.json()[0]

    notify.receiver.script["/hook"] = [(500, {}), (503, {}), (500, {})]
    event = _request(customer)
    event_id = await publish(notify.js, event)
    deliveries = await eventually(
        lambda: _webhook_deliveries(notify, event_id, "sent"), what="webhook delivered after retries"
    )

    calls = [r for r in notify.receiver.received if r.path == "/hook"]
    assert [c.status for c in calls] == [500, 503, 500, 200]
    (delivery,) = deliveries
    assert {c.headers["fieldline-delivery"] for c in calls} == {str(delivery["id"])}
    success = calls[-1]
    assert verify(secret, success.headers[SIGNATURE_HEADER.lower()], success.body, int(time.time()))
    assert not verify("whsec_wrong", success.headers[SIGNATURE_HEADER.lower()], success.body, int(time.time()))
    # the Standard Webhooks headers, checked with the spec's own library as any receiver would
    standard = {k: success.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    assert standard["webhook-id"] == str(delivery["id"])
    Webhook(str(secret)).verify(success.body, standard)  # raises WebhookVerificationError on a bad signature
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(success.body, standard)
    body = json.loads(success.body)
    assert body["id"] == str(delivery["id"])
    assert body["type"] == "request_received"
    assert body["data"]["request_id"] == str(event.request_id)
    assert body["message"]["language"] == "ru" and "принята" in body["message"]["subject"]

    log = await notify.api.get(
        "/deliveries", params={"customer_id": str(customer), "channel": "webhook"}, headers=notify.staff()
    )
    assert log.status_code == 200
    (entry,) = log.json()
    assert entry["status"] == "sent" and entry["attempts"] == 4 and entry["last_error"] is None
    detail = (await notify.api.get(f"/deliveries/{entry['id']}", headers=notify.staff())).json()
    assert [a["outcome"] for a in detail["attempt_log"]] == ["retry", "retry", "retry", "sent"]
    assert [a["detail"] for a in detail["attempt_log"]][:3] == ["HTTP 500", "HTTP 503", "HTTP 500"]
    (sent,) = await _outbox_events(notify, DeliverySent.subject, str(delivery["id"]))
    assert sent["attempts"] == 4 and sent["channel"] == "webhook"
    hidden = await notify.api.get("/deliveries", headers=notify.keys.headers(Role.CUSTOMER, customer_id=customer))
    assert hidden.status_code == 403


async def _webhook_deliveries(notify: Notify, event_id: uuid.UUID, status: str) -> list[dict[str, object]]:
    rows = [d for d in await notify.deliveries(event_id) if d["channel"] == "webhook"]
    return rows if rows and all(d["status"] == status for d in rows) else []


async def test_an_endpoint_that_never_recovers_is_marked_dead_when_the_window_closes(notify: Notify) -> None:
    customer = uuid.uuid4()
    await _register(notify, customer, f"{notify.receiver.base}/down")
    notify.receiver.script["/down"] = [(502, {})] * 1000
    event_id = await publish(notify.js, _request(customer))
    await eventually(lambda: _webhook_deliveries(notify, event_id, "queued"), what="queued")
    async with notify.db.transaction() as session:  # the 24 h window, shortened to now
        await session.execute(
            update(t.deliveries).where(t.deliveries.c.source_event_id == event_id).values(give_up_at=at(0))
        )
    (dead,) = await eventually(lambda: _webhook_deliveries(notify, event_id, "dead"), what="given up")
    assert dead["last_error"] == "HTTP 502"
    (failed,) = await _outbox_events(notify, DeliveryFailed.subject, str(dead["id"]))
    assert failed["gave_up"] is True and failed["reason"] == "HTTP 502"


async def test_queued_deliveries_to_a_removed_webhook_fail_for_good(notify: Notify) -> None:
    customer = uuid.uuid4()
    webhook = await _register(notify, customer, f"{notify.receiver.base}/gone")
    notify.receiver.script["/gone"] = [(502, {})] * 1000
    event_id = await publish(notify.js, _request(customer))
    await eventually(lambda: _webhook_deliveries(notify, event_id, "queued"), what="queued")
    removed = await notify.api.delete(
        f"/customers/{customer}/webhooks/{webhook['id']}",
        headers=notify.keys.headers(Role.CUSTOMER, customer_id=customer),
    )
    assert removed.status_code == 204
    (failed,) = await eventually(lambda: _webhook_deliveries(notify, event_id, "failed"), what="failed")
    assert failed["last_error"] == "the webhook was removed"
    (event,) = await _outbox_events(notify, DeliveryFailed.subject, str(failed["id"]))
    assert event["gave_up"] is False and event["reason"] == "the webhook was removed"


UNSAFE_REGISTRATIONS = [
    "http://10.0.0.1/hook",
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://0.0.0.0/",
    "https://2130706433/",
    "https://0177.0.0.1/",
    "https://user:pw@example.com/",
    "ftp://example.com/",
    "https://192.168.1.10/",
    "https://172.16.0.5/",
    "https://100.64.0.1/",
    "https://[fe80::1]/",
    "not a url",
    "https:///nohost",
]


async def test_registering_an_unsafe_url_is_refused(notify: Notify) -> None:
    customer = uuid.uuid4()
    headers = notify.keys.headers(Role.CUSTOMER, customer_id=customer)
    for url in UNSAFE_REGISTRATIONS:
        response = await notify.api.post(f"/customers/{customer}/webhooks", json={"url": url}, headers=headers)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"][0]["field"] == "url"
    assert (await notify.api.get(f"/customers/{customer}/webhooks", headers=headers)).json() == []
    # nothing behind the API either: no row for the customer (active or not), none with a refused URL
    w = t.webhooks
    async with notify.db.transaction() as session:
        stored = (
            await session.execute(
                select(w.c.id, w.c.url).where(or_(w.c.customer_id == customer, w.c.url.in_(UNSAFE_REGISTRATIONS)))
            )
        ).all()
    assert stored == []


async def test_a_customer_cannot_register_webhooks_for_another(notify: Notify) -> None:
    response = await notify.api.post(
        f"/customers/{uuid.uuid4()}/webhooks",
        json={"url": "https://example.com/"},
        headers=notify.keys.headers(Role.CUSTOMER, customer_id=uuid.uuid4()),
    )
    assert response.status_code == 404


# --- the SSRF guard at send time, against real local servers -------------------------------------------------------


class FakeDns:
    """Name resolution without DNS: the seam the sender takes."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        if host in self.names:
            return [ipaddress.ip_address(a) for a in self.names[host]]
        return await system_resolver(host, port)


async def test_the_ssrf_corpus_is_refused_before_any_connection(clock: FixedClock) -> None:
    async with webhook_receiver() as receiver:
        other_port = free_port()
        dns = FakeDns(
            {
                "internal.example.test": ["10.0.0.1"],
                "metadata.example.test": ["169.254.169.254"],
                "mixed.example.test": ["127.0.0.1", "10.0.0.1"],
                "loop6.example.test": ["::1"],
                "mapped.example.test": ["::ffff:127.0.0.1"],
            }
        )
        # only the receiver's exact loopback port is allowed; everything below must be refused
        sender = WebhookSender(AllowList.parse([f"127.0.0.1:{other_port}"]), resolver=dns, timeout_s=2, clock=clock)
        corpus = [
            f"http://127.0.0.1:{receiver.port}/hook",
            f"https://127.0.0.1:{receiver.port}/hook",
            "https://10.0.0.1/",
            "https://10.255.255.254/",
            "https://172.16.0.1/",
            "https://172.31.255.1/",
            "https://192.168.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://0.0.0.0/",
            "https://[::]/",
            "http://2130706433/",
            f"https://2130706433:{receiver.port}/",
            "https://0177.0.0.1/",
            "https://0x7f.1/",
            "https://127.1/",
            "https://100.64.0.1/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://224.0.0.1/",
            f"https://localhost:{receiver.port}/hook",
            "https://internal.example.test/",
            "https://metadata.example.test/",
            f"https://mixed.example.test:{other_port}/",
            "https://loop6.example.test/",
            "https://mapped.example.test/",
            "ftp://example.com/",
        ]
        for url in corpus:
            result = await sender.deliver(url, ["whsec_x"], {"hello": "world"}, "d-1")
            assert not result.delivered and result.permanent, (url, result)
            assert "refused" in result.detail or "only https" in result.detail, (url, result)
        assert receiver.received == []


async def test_redirects_are_checked_at_every_hop(clock: FixedClock) -> None:
    async with webhook_receiver() as receiver:
        sender = WebhookSender(
            AllowList.parse([f"127.0.0.1:{receiver.port}"]), timeout_s=2, max_redirects=3, clock=clock
        )
        receiver.script["/to-metadata"] = [(302, {"location": "http://169.254.169.254/latest/meta-data/"})]
        refused = await sender.deliver(f"{receiver.base}/to-metadata", ["whsec_x"], {}, "d-1")
        assert not refused.delivered and refused.permanent
        assert "169.254.169.254" in refused.detail
        receiver.script["/to-private"] = [(307, {"location": "https://10.0.0.1/hook"})]
        assert "10.0.0.1" in (await sender.deliver(f"{receiver.base}/to-private", ["whsec_x"], {}, "d-2")).detail
        receiver.script["/moved"] = [(308, {"location": "/hook"})]
        moved = await sender.deliver(f"{receiver.base}/moved", ["whsec_x"], {"n": 1}, "d-3")
        assert moved.delivered
        receiver.script["/loop"] = [(302, {"location": "/loop"})] * 10
        looping = await sender.deliver(f"{receiver.base}/loop", ["whsec_x"], {}, "d-4")
        assert not looping.delivered and "redirects" in looping.detail
        assert [r.path for r in receiver.received] == ["/to-metadata", "/to-private", "/moved", "/hook"] + ["/loop"] * 4
        assert receiver.received[3].body == b'{"n":1}'  # the signed body went to the redirect target


async def test_the_checked_address_is_the_one_connected_to_with_the_original_host(clock: FixedClock) -> None:
    async with webhook_receiver() as receiver:
        dns = FakeDns({"hooks.example.test": ["127.0.0.1"]})
        sender = WebhookSender(AllowList.parse([f"127.0.0.1:{receiver.port}"]), resolver=dns, timeout_s=2, clock=clock)
        result = await sender.deliver(f"http://hooks.example.test:{receiver.port}/hook", ["whsec_x"], {}, "d-1")
        assert result.delivered, result
        assert dns.asked == ["hooks.example.test"]  # resolved once
        assert receiver.received[0].headers["host"] == f"hooks.example.test:{receiver.port}"


async def test_tls_verifies_the_original_name_while_connecting_to_the_pinned_address(
    tmp_path: Path, clock: FixedClock
) -> None:
    cert, key, trust = issue(tmp_path, "hooks.example.test")
    async with webhook_receiver(ssl_certfile=str(cert), ssl_keyfile=str(key)) as receiver:
        dns = FakeDns({"hooks.example.test": ["127.0.0.1"], "impostor.example.test": ["127.0.0.1"]})
        sender = WebhookSender(
            AllowList.parse([f"127.0.0.1:{receiver.port}"]), resolver=dns, timeout_s=2, ssl_context=trust, clock=clock
        )
        good = await sender.deliver(f"https://hooks.example.test:{receiver.port}/hook", ["whsec_x"], {}, "d-1")
        assert good.delivered, good
        # same address, another name: the certificate does not match it, so nothing is sent
        bad = await sender.deliver(f"https://impostor.example.test:{receiver.port}/hook", ["whsec_x"], {}, "d-2")
        assert not bad.delivered and "connection failed" in bad.detail
        assert len(receiver.received) == 1


SICK = "Oleg is off sick; moved behind Kerch, Lenina 5"


async def test_a_customers_webhook_carries_the_customers_view_of_the_event_only(notify: Notify) -> None:
    """Issue 16: the raw event carried re-plan reasons (another customer's address, a technician's sickness),
    technician ids and positions to customers' webhooks."""
    customer = uuid.uuid4()
    await _register(notify, customer, f"{notify.receiver.base}/safe", language="en")
    oleg, anna = uuid.uuid4(), uuid.uuid4()
    moved = AssignmentChanged(
        assignment_id=uuid.uuid4(),
        request_id=uuid.uuid4(),
        customer_id=customer,
        technician_id=anna,
        technician_first_name="Anna",
        previous_technician_id=oleg,
        status="offered",
        planned_start=at(60),
        planned_end=at(120),
        eta=at(60),
        previous_eta=at(20),
        reason=SICK,
    )
    event_id = await publish(notify.js, moved)
    await eventually(lambda: _webhook_deliveries(notify, event_id, "sent"), what="the customer's webhook is sent")

    (call,) = [r for r in notify.receiver.received if r.path == "/safe"]
    body = json.loads(call.body)
    assert body["type"] == "technician_assigned" and body["data"]["technician_first_name"] == "Anna"
    assert set(body["data"]) <= set(CUSTOMER_WEBHOOK_FIELDS)
    for internal in (SICK, "Kerch", str(oleg), str(anna), str(moved.assignment_id)):
        assert internal not in call.body.decode()


def test_the_customer_webhook_allow_list_drops_everything_else() -> None:
    event = {"request_id": "r", "eta": "e", "reason": SICK, "technician_id": "t", "position": {"lat": 1, "lon": 2}}
    assert customer_webhook_data(event) == {"request_id": "r", "eta": "e"}


def test_standard_webhook_signatures_verify_with_either_secret_during_a_rotation() -> None:
    new, old = new_secret(), new_secret()
    now = int(time.time())
    headers = standard_webhook_headers([new, old], "d-1", now, b'{"a":1}')
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        Webhook(secret).verify(b'{"a":1}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(b'{"a":2}', headers)  # another body
    legacy = "whsec_" + "A" * 41  # an old URL-safe secret that is not base64: it signs the Fieldline header only
    assert standard_webhook_headers([legacy], "d-2", now, b"{}")["webhook-signature"] == ""
