"""Webhook secrets: encrypted at rest (and migrated so), rotated by their owner with a grace period in which
deliveries carry both signatures, the old one never signing after its expiry."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from alembic import command
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, update

from services.notify.app import create_app
from services.notify.db import tables as t
from services.notify.domain.secret_cipher import SecretCipher
from services.notify.domain.signing import SIGNATURE_HEADER, verify
from services.notify.settings import DEVELOPMENT_WEBHOOK_SECRET_KEY, Settings, development_key_warning
from shared.auth import Role
from shared.db_roles import service_role_urls
from shared.migrations import alembic_config, migrate
from tests.conftest import Keys
from tests.notify.conftest import Notify, notify_settings
from tests.notify.support import Received, publish
from tests.notify.test_webhooks import _register, _request, _webhook_deliveries
from tests.support.apps import running_app
from tests.support.infra import NatsServer, create_database, drop_database, free_port
from tests.support.polling import eventually


def _owner(notify: Notify, customer: uuid.UUID) -> dict[str, str]:
    return notify.keys.headers(Role.CUSTOMER, customer_id=customer)


async def _stored(notify: Notify, webhook_id: object) -> dict[str, Any]:
    async with notify.db.transaction() as session:
        row = (await session.execute(select(t.webhooks).where(t.webhooks.c.id == uuid.UUID(str(webhook_id))))).one()
    return dict(row._mapping)


async def _rotate(notify: Notify, customer: uuid.UUID, webhook_id: object, **body: Any) -> dict[str, Any]:
    response = await notify.api.post(
        f"/customers/{customer}/webhooks/{webhook_id}/rotate-secret",
        json=body or None,
        headers=_owner(notify, customer),
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _delivered(notify: Notify, customer: uuid.UUID, path: str) -> Received:
    """Publish an event for `customer` and return what its webhook at `path` received."""
    # the event happens on the service's timeline (moved on by some tests), as a producer sharing the clock would say
    event_id = await publish(notify.js, _request(customer), occurred_at=notify.clock())
    (delivery,) = await eventually(lambda: _webhook_deliveries(notify, event_id, "sent"), what="webhook delivered")
    (call,) = [
        r for r in notify.receiver.received if r.path == path and r.headers["fieldline-delivery"] == str(delivery["id"])
    ]
    return call


def _verifies(secret: str, call: Received, now: datetime) -> bool:
    return verify(secret, call.headers[SIGNATURE_HEADER.lower()], call.body, int(now.timestamp()))


async def test_secrets_are_stored_encrypted_and_never_read_back(notify: Notify) -> None:
    customer = uuid.uuid4()
    created = await _register(notify, customer, f"{notify.receiver.base}/enc")
    secret = str(created["secret"])
    stored = await _stored(notify, created["id"])
    assert secret not in stored["secret"] and secret.removeprefix("whsec_") not in stored["secret"]
    assert SecretCipher.from_settings(notify.settings).decrypt(stored["secret"]) == secret

    rotated = await _rotate(notify, customer, created["id"])
    stored = await _stored(notify, created["id"])
    for column, plaintext in (("secret", rotated["secret"]), ("previous_secret", secret)):
        assert plaintext.removeprefix("whsec_") not in stored[column]
        assert SecretCipher.from_settings(notify.settings).decrypt(stored[column]) == plaintext

    listed = await notify.api.get(f"/customers/{customer}/webhooks", headers=_owner(notify, customer))
    assert listed.status_code == 200
    (webhook,) = listed.json()
    assert webhook["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
    for leaked in (secret, rotated["secret"], stored["secret"], stored["previous_secret"]):
        assert leaked.removeprefix("whsec_") not in listed.text
    assert not {"secret", "previous_secret"} & webhook.keys()


async def test_after_rotation_both_secrets_sign_until_the_grace_period_ends_then_only_the_new(notify: Notify) -> None:
    customer = uuid.uuid4()
    created = await _register(notify, customer, f"{notify.receiver.base}/rot")
    old = str(created["secret"])
    rotated = await _rotate(notify, customer, created["id"])  # the default grace period: 24 h
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_")
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - notify.clock() <= timedelta(hours=24)

    within = await _delivered(notify, customer, "/rot")
    header = within.headers[SIGNATURE_HEADER.lower()]
    assert header.count("v1=") == 2
    assert _verifies(new, within, notify.clock()) and _verifies(old, within, notify.clock())
    assert not _verifies("whsec_unrelated", within, notify.clock())
    assert header.split(",")[1].removeprefix("v1=") != header.split(",")[2].removeprefix("v1=")

    notify.clock.advance(timedelta(hours=24, seconds=1))
    after = await _delivered(notify, customer, "/rot")
    assert after.headers[SIGNATURE_HEADER.lower()].count("v1=") == 1
    assert _verifies(new, after, notify.clock())
    assert not _verifies(old, after, notify.clock())
    # the expired old secret is also forgotten by the sender, without a separate clean-up job
    stored = await _stored(notify, created["id"])
    assert stored["previous_secret"] is None and stored["previous_secret_expires_at"] is None


async def test_a_shorter_grace_and_a_second_rotation_keep_at_most_two_secrets(notify: Notify) -> None:
    customer = uuid.uuid4()
    created = await _register(notify, customer, f"{notify.receiver.base}/short")
    first = str(created["secret"])
    second = (await _rotate(notify, customer, created["id"], grace_period_s=3600))["secret"]
    notify.clock.advance(timedelta(minutes=59))
    call = await _delivered(notify, customer, "/short")
    assert _verifies(second, call, notify.clock()) and _verifies(first, call, notify.clock())

    third = (await _rotate(notify, customer, created["id"]))["secret"]  # drops `first` at once
    call = await _delivered(notify, customer, "/short")
    assert _verifies(third, call, notify.clock()) and _verifies(second, call, notify.clock())
    assert not _verifies(first, call, notify.clock())

    fourth = (await _rotate(notify, customer, created["id"], grace_period_s=0))["secret"]
    call = await _delivered(notify, customer, "/short")
    assert call.headers[SIGNATURE_HEADER.lower()].count("v1=") == 1
    assert _verifies(fourth, call, notify.clock()) and not _verifies(third, call, notify.clock())


async def test_only_the_owner_may_rotate(notify: Notify) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    created = await _register(notify, owner, f"{notify.receiver.base}/mine")
    before = await _stored(notify, created["id"])
    attempts = [
        (f"/customers/{owner}/webhooks/{created['id']}/rotate-secret", _owner(notify, stranger)),
        (f"/customers/{stranger}/webhooks/{created['id']}/rotate-secret", _owner(notify, stranger)),
        (
            f"/customers/{owner}/webhooks/{created['id']}/rotate-secret",
            notify.keys.headers(Role.TECHNICIAN, technician_id=uuid.uuid4()),
        ),
        (f"/customers/{owner}/webhooks/{uuid.uuid4()}/rotate-secret", _owner(notify, owner)),
    ]
    for path, headers in attempts:
        response = await notify.api.post(path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await notify.api.post(f"/customers/{owner}/webhooks/{created['id']}/rotate-secret")).status_code == 401
    assert await _stored(notify, created["id"]) == before
    # staff manage customers' webhooks today, so they may rotate too
    staff = await notify.api.post(f"/customers/{owner}/webhooks/{created['id']}/rotate-secret", headers=notify.staff())
    assert staff.status_code == 200, staff.text


async def test_a_removed_webhook_is_not_rotated(notify: Notify) -> None:
    customer = uuid.uuid4()
    created = await _register(notify, customer, f"{notify.receiver.base}/removed")
    assert (
        await notify.api.delete(f"/customers/{customer}/webhooks/{created['id']}", headers=_owner(notify, customer))
    ).status_code == 204
    response = await notify.api.post(
        f"/customers/{customer}/webhooks/{created['id']}/rotate-secret", headers=_owner(notify, customer)
    )
    assert response.status_code == 409, response.text


async def test_a_bad_grace_period_is_refused_naming_the_field(notify: Notify) -> None:
    customer = uuid.uuid4()
    created = await _register(notify, customer, f"{notify.receiver.base}/bad")
    before = await _stored(notify, created["id"])
    for grace in (-1, 7 * 24 * 3600 + 1, "a day", None, 1.5):
        response = await notify.api.post(
            f"/customers/{customer}/webhooks/{created['id']}/rotate-secret",
            json={"grace_period_s": grace},
            headers=_owner(notify, customer),
        )
        assert response.status_code == 422, (grace, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == ["grace_period_s"], response.text
    assert await _stored(notify, created["id"]) == before
    longest = await _rotate(notify, customer, created["id"], grace_period_s=7 * 24 * 3600)
    assert longest["previous_secret_expires_at"] is not None


async def test_a_secret_no_configured_key_opens_is_retried_not_sent_unsigned(notify: Notify) -> None:
    customer = uuid.uuid4()
    created = await _register(notify, customer, f"{notify.receiver.base}/lost-key")
    foreign = Fernet(Fernet.generate_key()).encrypt(b"whsec_elsewhere").decode()
    async with notify.db.transaction() as session:
        await session.execute(
            update(t.webhooks).where(t.webhooks.c.id == uuid.UUID(str(created["id"]))).values(secret=foreign)
        )
    event_id = await publish(notify.js, _request(customer))
    (queued,) = await eventually(
        lambda: _webhook_deliveries(notify, event_id, "queued"),
        lambda rows: bool(rows) and rows[0]["last_error"] is not None,
        what="attempted",
    )
    assert queued["last_error"] == "the webhook's secret opens with none of the configured keys"
    assert not [r for r in notify.receiver.received if r.path == "/lost-key"]


# --- the migration and the encryption key's own rotation, on a database of their own ------------------------------


def _notify_only(url: str, keys: list[str], **values: Any) -> Settings:
    # as in production: the migrator migrates and grants notify's own role, which the app then runs as
    return Settings(**service_role_urls(url, "notify"), webhook_secret_keys=keys, **values)  # type: ignore[arg-type]


async def test_migration_encrypts_plaintext_secrets_and_startup_moves_them_to_a_new_first_key(
    nats_server: NatsServer, keys: Keys
) -> None:
    first_key, second_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = await create_database()
    try:
        await asyncio.to_thread(migrate, _notify_only(url, [first_key]), "notify", "0002")
        webhook_id, plaintext = uuid.uuid4(), "whsec_" + "p" * 43
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "INSERT INTO notify.webhooks (id, customer_id, url, secret) VALUES ($1, $2, $3, $4)",
                webhook_id,
                uuid.uuid4(),
                "https://hooks.example.com/",
                plaintext,
            )
            await asyncio.to_thread(migrate, _notify_only(url, [first_key]), "notify", "head")
            migrated = await conn.fetchval("SELECT secret FROM notify.webhooks WHERE id = $1", webhook_id)
            assert plaintext not in migrated and "whsec_" not in migrated
            assert Fernet(first_key.encode()).decrypt(migrated.encode()).decode() == plaintext

            # the operator lists a new key first; the next start re-encrypts under it, keeping the secret
            settings = notify_settings(
                url, nats_server.url, keys, free_port(), free_port(), webhook_secret_keys=[second_key, first_key]
            )
            async with running_app(create_app(settings)) as api:
                assert (await api.get("/healthz")).status_code == 200
            moved = await conn.fetchval("SELECT secret FROM notify.webhooks WHERE id = $1", webhook_id)
            assert Fernet(second_key.encode()).decrypt(moved.encode()).decode() == plaintext
            try:
                Fernet(first_key.encode()).decrypt(moved.encode())
                raise AssertionError("still readable with the retired key")
            except InvalidToken:
                pass

            config = alembic_config(_notify_only(url, [second_key]), "notify")
            await asyncio.to_thread(command.downgrade, config, "0002")
            assert await conn.fetchval("SELECT secret FROM notify.webhooks WHERE id = $1", webhook_id) == plaintext
        finally:
            await conn.close()
    finally:
        await drop_database(url)


def test_bad_encryption_keys_are_refused_when_settings_load() -> None:
    for bad in ([], ["not-a-key"], [Fernet.generate_key().decode(), "c2hvcnQ="]):
        try:
            Settings(webhook_secret_keys=bad)  # type: ignore[arg-type]
        except ValueError as exc:
            assert "webhook_secret_keys" in str(exc)
        else:
            raise AssertionError(f"accepted {bad!r}")


def test_the_development_key_is_warned_about() -> None:
    own = Fernet.generate_key().decode()
    warning = development_key_warning(Settings())
    assert warning is not None and "FIELDLINE_NOTIFY_WEBHOOK_SECRET_KEYS" in warning and "encrypts" in warning
    retiring = development_key_warning(Settings(webhook_secret_keys=[own, DEVELOPMENT_WEBHOOK_SECRET_KEY]))
    assert retiring is not None and "decrypt" in retiring
    assert development_key_warning(Settings(webhook_secret_keys=[own])) is None
    assert json.dumps(Settings(webhook_secret_keys=[own]).model_dump(mode="json")).count(own) == 0
