from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from services.notify.adapters.mail import Mailer
from services.notify.adapters.rendering import MessageTemplates
from services.notify.adapters.stream_hub import stream_hub
from services.notify.adapters.webhook_sender import Resolver, WebhookSender, system_resolver
from services.notify.api.routes import router
from services.notify.consumers import subscriptions
from services.notify.db.tables import messaging
from services.notify.domain.addresses import AllowList
from services.notify.domain.retry import RetryPolicy
from services.notify.domain.routing import RoutingPolicy
from services.notify.domain.secret_cipher import SecretCipher
from services.notify.settings import Settings, development_key_warning
from services.notify.usecases.dead_letters import report_dead_letters
from services.notify.usecases.delivery import DeliveryWorker, run_senders
from services.notify.usecases.live_streams import prune_streams
from services.notify.usecases.notifying import Notifier
from services.notify.usecases.webhooks import reencrypt_page
from shared.clock import Clock
from shared.db import Database
from shared.service import Runtime, ServiceSpec, create_service_app

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    resolver: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """`resolver`, `ssl_context` and `clock` are seams for tests (names mapped without DNS, a private CA, time
    moved on past a secret's grace period); the clock defaults to the one the settings describe."""
    clock = clock or settings.make_clock()
    cipher = SecretCipher.from_settings(settings)
    notifier = Notifier(
        templates=MessageTemplates(settings.public_base_url),
        routing=RoutingPolicy(eta_change_threshold_minutes=settings.eta_change_threshold_minutes),
        retry=RetryPolicy(
            base=timedelta(seconds=settings.retry_base_s),
            cap=timedelta(seconds=settings.retry_cap_s),
            window=timedelta(seconds=settings.retry_window_s),
        ),
        default_time_zone=settings.default_time_zone,
        clock=clock,
        notice_max_age=timedelta(seconds=settings.notice_max_age_s),
    )
    webhook_sender = WebhookSender(
        AllowList.parse(settings.webhook_allow_list),
        timeout_s=settings.webhook_timeout_s,
        max_redirects=settings.webhook_max_redirects,
        resolver=resolver,
        ssl_context=ssl_context,
        clock=clock,
    )

    @asynccontextmanager
    async def senders(runtime: Runtime) -> AsyncIterator[None]:
        worker = DeliveryWorker(
            runtime.db,
            Mailer(settings),
            webhook_sender,
            notifier.retry,
            batch_size=settings.delivery_batch_size,
            lease=timedelta(seconds=settings.delivery_lease_s),
            cipher=cipher,
            clock=clock,
        )
        # shared/service.py cancels runtime.tasks at shutdown, before the stream hub closes
        runtime.tasks += [
            asyncio.create_task(
                run_senders(worker, runtime.extras["hub"], settings.delivery_poll_interval_s), name="notify-senders"
            ),
        ]

        async def dead_letter_round() -> None:
            async with runtime.db.transaction() as session:
                await report_dead_letters(session, notifier)

        runtime.every(settings.dead_letter_poll_interval_s, "notify dead-letter reports", dead_letter_round)
        retention = timedelta(hours=settings.stream_retention_hours)
        runtime.every(
            settings.stream_prune_interval_s, "notify stream pruning", lambda: prune_streams(runtime.db, retention)
        )
        yield

    app = create_service_app(
        settings,
        ServiceSpec(
            title="Fieldline notify",
            producer="notify",
            tables=messaging,
            routers=[router],
            subscriptions=lambda runtime: subscriptions(notifier),
            on_start=[secrets_at_rest(settings, cipher), stream_hub, senders],
            no_store_paths=[r"/recipients/confirm"],
        ),
        clock=clock,
    )
    app.state.notifier = notifier
    app.state.webhook_allow_list = webhook_sender.allow
    app.state.secret_cipher = cipher
    return app


async def reencrypt_under_primary_key(db: Database, cipher: SecretCipher, batch_size: int = 200) -> int:
    """Move every stored secret to the first key, a page per transaction; idempotent, safe on every replica."""
    moved, after = 0, None
    while True:
        async with db.transaction() as session:
            page = await reencrypt_page(session, cipher, after, batch_size)
        moved += page.moved
        if page.last_id is None:
            return moved
        after = page.last_id


def secrets_at_rest(settings: Settings, cipher: SecretCipher) -> Callable[[Runtime], AbstractAsyncContextManager[None]]:
    """Start-up hook: warn about the development key, then bring every stored secret under the first key."""

    @asynccontextmanager
    async def start(runtime: Runtime) -> AsyncIterator[None]:
        warning = development_key_warning(settings)
        if warning:
            log.warning(warning)
        moved = await reencrypt_under_primary_key(runtime.db, cipher)
        if moved:
            log.info("re-encrypted %s webhooks' secrets under the first key", moved)
        yield

    return start
