"""Sending queued deliveries, on every replica: claim due rows, send, record the outcome, retry or give up.

The worker is its own boundary: one transaction claims a batch, one per attempt records its outcome.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from cryptography.fernet import InvalidToken

from services.notify.adapters.mail import Mailer
from services.notify.adapters.stream_hub import DELIVERY_WAKE
from services.notify.adapters.webhook_sender import WebhookSender
from services.notify.db.deliveries import DeliveryRepository
from services.notify.db.tables import messaging
from services.notify.db.webhooks import WebhookRepository
from services.notify.domain.delivery import Delivery, SendResult
from services.notify.domain.retry import RetryPolicy
from services.notify.domain.secret_cipher import SecretCipher
from services.notify.domain.signing import signing_secrets
from services.notify.domain.webhooks import Webhook
from shared.clock import Clock
from shared.db import Database
from shared.events.notify import DeliveryFailed, DeliverySent
from shared.listen import NotificationHub
from shared.messaging import add_event
from shared.metrics import process_metrics

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        mailer: Mailer,
        webhooks: WebhookSender,
        retry: RetryPolicy,
        *,
        batch_size: int,
        lease: timedelta,
        cipher: SecretCipher,
        clock: Clock,
    ) -> None:
        self.db = db
        self.mailer = mailer
        self.webhooks = webhooks
        self.cipher = cipher
        self.clock = clock
        self.retry = retry
        self.batch_size = batch_size
        self.lease = lease

    async def run_once(self) -> int:
        """Attempt every delivery that is due now (up to a batch); returns how many were attempted."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            webhook_repo = WebhookRepository(session)
            claimed = await DeliveryRepository(session).claim_due(self.batch_size, self.lease, now)
            # one query for the batch's webhooks, not one per delivery
            webhooks = await webhook_repo.by_id(list({d.webhook_id for d in claimed if d.webhook_id}))
            await webhook_repo.drop_expired_previous_secrets(
                [w.id for w in webhooks.values() if w.previous_secret_expires_at is not None], now
            )
        await asyncio.gather(*(self._attempt(d, webhooks.get(d.webhook_id) if d.webhook_id else None) for d in claimed))
        return len(claimed)

    async def _attempt(self, delivery: Delivery, webhook: Webhook | None) -> None:
        try:
            result = await self._send(delivery, webhook)
        except Exception as exc:  # a bug or an outage must not lose the delivery: retry it
            log.exception("delivery %s failed unexpectedly", delivery.id)
            result = SendResult(False, False, f"error: {exc!r}")
        now = self.clock.now()
        attempt = delivery.attempts
        next_at = None
        if result.delivered:
            status = outcome = "sent"
        elif result.permanent:
            status = outcome = "failed"
        else:
            next_at = self.retry.next_attempt(now, attempt, delivery.give_up_at)
            status, outcome = ("queued", "retry") if next_at else ("dead", "dead")
        async with self.db.transaction() as session:
            recorded = await DeliveryRepository(session).record_outcome(
                delivery.id,
                attempt,
                outcome=outcome,
                status=status,
                detail=result.detail,
                now=now,
                next_attempt_at=next_at,
            )
            process_metrics().notify_deliveries.labels(delivery.channel, outcome).inc()
            if recorded and status == "sent":
                await add_event(
                    session,
                    messaging,
                    DeliverySent(
                        delivery_id=delivery.id,
                        channel=delivery.channel,
                        recipient=delivery.target,
                        source_event_id=delivery.source_event_id,
                        template=delivery.template,
                        attempts=attempt,
                    ),
                    occurred_at=now,
                )
            elif recorded and status in ("failed", "dead"):
                await add_event(
                    session,
                    messaging,
                    DeliveryFailed(
                        delivery_id=delivery.id,
                        channel=delivery.channel,
                        recipient=delivery.target,
                        source_event_id=delivery.source_event_id,
                        reason=result.detail,
                        template=delivery.template,
                        attempts=attempt,
                        gave_up=status == "dead",
                    ),
                    occurred_at=now,
                )
        if not recorded:
            log.warning("delivery %s attempt %s outcome dropped: taken over by another worker", delivery.id, attempt)

    async def _send(self, delivery: Delivery, webhook: Webhook | None) -> SendResult:
        if delivery.channel == "email":
            return await self.mailer.send(delivery.address, delivery.content, str(delivery.id))
        if webhook is None or not webhook.active:
            return SendResult(False, True, "the webhook was removed")
        body = {"id": str(delivery.id), **delivery.content}
        # the expiry is checked here, at signing time: an old secret past its grace period never signs
        try:
            secrets = signing_secrets(
                self.cipher.decrypt(webhook.secret),
                self.cipher.decrypt(webhook.previous_secret) if webhook.previous_secret else None,
                webhook.previous_secret_expires_at,
                self.clock(),
            )
        except InvalidToken:  # retried: putting the key back in webhook_secret_keys makes it deliverable again
            return SendResult(False, False, "the webhook's secret opens with none of the configured keys")
        return await self.webhooks.deliver(webhook.url, secrets, body, str(delivery.id))


async def run_senders(worker: DeliveryWorker, hub: NotificationHub, poll_interval_s: float) -> None:
    """Until cancelled: send what is due, then sleep until a commit queues more or the poll interval ends."""
    async with hub.waiter([DELIVERY_WAKE]) as wake:
        while True:
            wake.clear()
            try:
                if await worker.run_once() >= worker.batch_size:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery round failed")
            try:
                await asyncio.wait_for(wake.wait(), timeout=poll_interval_s)
            except TimeoutError:
                pass
