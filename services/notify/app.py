from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from services.notify.api.routes import router
from services.notify.consumers import subscriptions
from services.notify.db.tables import messaging
from services.notify.delivery import DeliveryWorker, report_dead_letters, run_senders
from services.notify.domain.addresses import AllowList
from services.notify.domain.retry import RetryPolicy
from services.notify.domain.routing import RoutingPolicy
from services.notify.mail import Mailer
from services.notify.notifying import Notifier
from services.notify.rendering import MessageTemplates
from services.notify.secrets_at_rest import SecretCipher, secrets_at_rest
from services.notify.settings import Settings
from services.notify.streams import stream_hub
from services.notify.webhooks import Resolver, WebhookSender, system_resolver
from shared.clock import Clock
from shared.service import Runtime, ServiceSpec, create_service_app


def create_app(settings: Settings, *, resolver: Resolver = system_resolver,
               ssl_context: ssl.SSLContext | None = None, clock: Clock | None = None) -> FastAPI:
    """`resolver`, `ssl_context` and `clock` are seams for tests (names mapped without DNS, a private CA, time
    moved on past a secret's grace period); the clock defaults to the one the settings describe."""
    clock = clock or settings.make_clock()
    cipher = SecretCipher.from_settings(settings)
    notifier = Notifier(
        templates=MessageTemplates(settings.public_base_url),
        routing=RoutingPolicy(eta_change_threshold_minutes=settings.eta_change_threshold_minutes),
        retry=RetryPolicy(base=timedelta(seconds=settings.retry_base_s), cap=timedelta(seconds=settings.retry_cap_s),
                          window=timedelta(seconds=settings.retry_window_s)),
        default_time_zone=settings.default_time_zone,
        clock=clock,
        notice_max_age=timedelta(seconds=settings.notice_max_age_s),
    )
    webhook_sender = WebhookSender(AllowList.parse(settings.webhook_allow_list), timeout_s=settings.webhook_timeout_s,
                                   max_redirects=settings.webhook_max_redirects, resolver=resolver,
                                   ssl_context=ssl_context, clock=clock)

    @asynccontextmanager
    async def senders(runtime: Runtime) -> AsyncIterator[None]:
        worker = DeliveryWorker(runtime.db, Mailer(settings), webhook_sender, notifier.retry,
                                batch_size=settings.delivery_batch_size,
                                lease=timedelta(seconds=settings.delivery_lease_s), cipher=cipher, clock=clock)
        # shared/service.py cancels runtime.tasks at shutdown, before the stream hub closes
        runtime.tasks += [
            asyncio.create_task(run_senders(worker, runtime.extras["hub"], settings.delivery_poll_interval_s),
                                name="notify-senders"),
        ]
        runtime.every(settings.dead_letter_poll_interval_s, "notify dead-letter reports",
                      lambda: report_dead_letters(runtime.db, notifier))
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
        ),
        clock=clock,
    )
    app.state.notifier = notifier
    app.state.webhook_allow_list = webhook_sender.allow
    app.state.secret_cipher = cipher
    return app
