"""The requests app in-process on the real database and nats-server, with real NATS peers around it.

Contracts is a small responder on the real broker answering entitlement with canned answers per site;
dispatch is played by publishing its events into its JetStream stream, as the dispatch service would, or, for the
tests of both services together, is the real dispatch app beside it (the `dispatch` fixture).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import nats
import pytest_asyncio
from fastapi import FastAPI
from nats.aio.client import Client
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext

from services.requests.app import create_app
from services.requests.settings import Settings
from shared.auth import Role
from shared.clock import FixedClock
from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery, SiteFacts
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged
from shared.events.envelope import Envelope, Event, stream_name
from shared.messaging import rpc
from tests.conftest import Keys
from tests.dispatch.conftest import Dispatch as DispatchApp
from tests.dispatch.conftest import dispatch_app
from tests.support import fixtures
from tests.support.apps import running_app, service_settings
from tests.support.infra import NatsServer
from tests.support.polling import eventually

# this package's own broker and database (package scope binds them to this directory)
nats_server = fixtures.nats_server
database_url = fixtures.database_url

SURVEY_SECRET = "test-survey-link-secret-" + "x" * 24
SURVEY_BASE_URL = "https://fieldline.test/surveys/"


@dataclass
class SiteTerms:
    customer_id: uuid.UUID
    covered: bool = True
    quota_exceeded: bool = False
    response_minutes: int | None = 240
    fix_minutes: int | None = 480
    priority: str | None = "P1"
    units: set[uuid.UUID] | None = None  # the units at the site; None: any unit asked about is there
    contact_name: str | None = None  # the site's on-site contact
    contact_phone: str | None = None
    late_penalty_per_hour: float | None = None  # the contract's money terms of the priority
    visit_value: float | None = None
    territory_id: uuid.UUID | None = None  # the service territory the site lies in


@dataclass
class CannedContracts:
    """Answers CHECK_ENTITLEMENT over the real broker, like the contracts service, from per-site terms."""

    nc: Client
    sites: dict[uuid.UUID, SiteTerms] = field(default_factory=dict)
    queries: list[EntitlementQuery] = field(default_factory=list)
    _subscription: NatsSubscription | None = None

    def add_site(self, customer_id: uuid.UUID, **terms: Any) -> uuid.UUID:
        site_id = uuid.uuid4()
        self.sites[site_id] = SiteTerms(customer_id=customer_id, **terms)
        return site_id

    async def _answer(self, query: EntitlementQuery) -> EntitlementAnswer:
        self.queries.append(query)
        terms = self.sites.get(query.site_id)
        if terms is None:
            return EntitlementAnswer(found=False, reason="unknown site")
        site = SiteFacts(
            site_id=query.site_id,
            customer_id=terms.customer_id,
            name="Yalta market",
            address="Moskovskaya St 12, Yalta",
            location=GeoPoint(lat=44.499, lon=34.16),
            contact_name=terms.contact_name,
            contact_phone=terms.contact_phone,
            territory_id=terms.territory_id,
        )
        if query.equipment_id is not None and terms.units is not None and query.equipment_id not in terms.units:
            return EntitlementAnswer(found=True, site=site, equipment_found=False, reason="no such unit at this site")
        if not terms.covered:
            return EntitlementAnswer(
                found=True,
                site=site,
                covered=False,
                priority=query.priority or terms.priority,
                reason="no active contract covers this site",
            )
        return EntitlementAnswer(
            found=True,
            site=site,
            covered=True,
            contract_id=uuid.uuid5(uuid.NAMESPACE_URL, str(query.site_id)),
            priority=query.priority or terms.priority,
            quota_exceeded=terms.quota_exceeded,
            quota_left=0 if terms.quota_exceeded else 3,
            response_due=query.at + timedelta(minutes=terms.response_minutes) if terms.response_minutes else None,
            fix_due=query.at + timedelta(minutes=terms.fix_minutes) if terms.fix_minutes else None,
            required_skills=[SkillNeed(skill="refrigeration", min_level=2)],
            reason="emergency call-outs quota used up" if terms.quota_exceeded else "",
            late_penalty_per_hour=terms.late_penalty_per_hour,
            visit_value=terms.visit_value,
        )

    async def start(self) -> None:
        self._subscription = await rpc.serve(
            self.nc, CHECK_ENTITLEMENT, "contracts-entitlement", EntitlementQuery, self._answer
        )
        await self.nc.flush()

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            await self.nc.flush()
            self._subscription = None


async def publish_event(
    js: JetStreamContext,
    event: Event,
    occurred_at: datetime,
    *,
    event_id: uuid.UUID | None = None,
    msg_id: str | None = None,
) -> uuid.UUID:
    """Publishes `event` into its producer's stream, as that service's outbox relay would."""
    data = event.model_dump(mode="json")
    envelope = Envelope(event_id=event_id or uuid.uuid4(), type=event.subject, occurred_at=occurred_at, data=data)
    # a different Nats-Msg-Id than the event id gets a duplicate past the stream's de-duplication
    await js.publish(
        event.subject, envelope.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id or str(envelope.event_id)}
    )
    return envelope.event_id


@dataclass
class Dispatch:
    """Publishes dispatch's events into its stream, as the dispatch service's outbox relay would."""

    js: JetStreamContext
    clock: FixedClock

    async def publish(
        self,
        event: Event,
        *,
        occurred_at: datetime | None = None,
        event_id: uuid.UUID | None = None,
        msg_id: str | None = None,
    ) -> uuid.UUID:
        return await publish_event(self.js, event, occurred_at or self.clock.now(), event_id=event_id, msg_id=msg_id)

    async def booked(
        self,
        request: dict[str, Any],
        *,
        at: datetime,
        eta: datetime,
        first_name: str = "Anna",
        technician_id: uuid.UUID | None = None,
        assignment_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        msg_id: str | None = None,
    ) -> AssignmentCreated:
        event = AssignmentCreated(
            assignment_id=assignment_id or uuid.uuid4(),
            request_id=request["id"],
            customer_id=request["customer_id"],
            technician_id=technician_id or uuid.uuid4(),
            technician_first_name=first_name,
            status="offered",
            planned_start=eta,
            planned_end=eta + timedelta(hours=1),
            eta=eta,
        )
        await self.publish(event, occurred_at=at, event_id=event_id, msg_id=msg_id)
        return event

    async def rebooked(
        self,
        booked: AssignmentCreated,
        *,
        at: datetime,
        technician_id: uuid.UUID,
        first_name: str,
        eta: datetime,
        reason: str = "re-plan",
    ) -> uuid.UUID:
        return await self.publish(
            AssignmentChanged(
                assignment_id=booked.assignment_id,
                request_id=booked.request_id,
                customer_id=booked.customer_id,
                technician_id=technician_id,
                technician_first_name=first_name,
                previous_technician_id=booked.technician_id,
                status="offered",
                planned_start=eta,
                planned_end=eta + timedelta(hours=1),
                eta=eta,
                previous_eta=booked.eta,
                reason=reason,
            ),
            occurred_at=at,
        )

    async def moved(
        self,
        booked: AssignmentCreated,
        status: str,
        *,
        at: datetime,
        previous: str = "offered",
        eta: datetime | None = None,
        outcome: str | None = None,
        event_id: uuid.UUID | None = None,
        msg_id: str | None = None,
    ) -> uuid.UUID:
        return await self.publish(
            AssignmentStatusChanged(
                assignment_id=booked.assignment_id,
                request_id=booked.request_id,
                customer_id=booked.customer_id,
                technician_id=booked.technician_id,
                status=status,
                previous_status=previous,
                at=at,
                eta=eta,  # type: ignore[arg-type]
                outcome=outcome,
            ),
            occurred_at=at,
            event_id=event_id,
            msg_id=msg_id,
        )


@dataclass
class RequestsService:
    client: httpx.AsyncClient
    app: FastAPI
    contracts: CannedContracts
    dispatch: Dispatch
    keys: Keys
    js: JetStreamContext
    settings: Settings
    clock: FixedClock  # the app's "now": the suite's instant until a test moves it

    def customer(self, customer_id: uuid.UUID) -> dict[str, str]:
        return self.keys.headers(Role.CUSTOMER, customer_id=customer_id)

    def dispatcher(self) -> dict[str, str]:
        return self.keys.headers(Role.DISPATCHER)

    async def file(
        self, customer_id: uuid.UUID, site_id: uuid.UUID, *, key: str | None = None, **body: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/requests",
            headers={**self.customer(customer_id), "Idempotency-Key": key or uuid.uuid4().hex},
            json={"site_id": str(site_id), "kind": "emergency", "description": "Cold room at +9 °C", **body},
        )
        assert response.status_code == 201, response.text
        filed: dict[str, Any] = response.json()
        filed["id"] = uuid.UUID(filed["id"])
        assert "customer_id" not in filed  # a customer's answer is the customer's view
        filed["customer_id"] = customer_id
        filed["created_at"] = datetime.fromisoformat(filed["created_at"])
        return filed

    async def show(self, request_id: uuid.UUID, customer_id: uuid.UUID) -> dict[str, Any]:
        """The request as staff track it (the whole record and timeline); its customer can read it too, in the
        customer's view only (`test_customer_view.py`)."""
        assert (await self.client.get(f"/requests/{request_id}", headers=self.customer(customer_id))).status_code == 200
        response = await self.client.get(f"/requests/{request_id}", headers=self.dispatcher())
        assert response.status_code == 200, response.text
        shown: dict[str, Any] = response.json()
        return shown

    async def drained(self) -> None:
        """Wait until this service's consumers (of dispatch's and contracts' events) have handled and acked everything
        published so far."""
        durables = (
            ("dispatch", "requests-assignment-created"),
            ("dispatch", "requests-assignment-status"),
            ("dispatch", "requests-assignment-changed"),
            ("dispatch", "requests-unplaceable"),
            ("contracts", "requests-visit-events"),
        )

        async def pending() -> int:
            infos = [await self.js.consumer_info(stream_name(producer), d) for producer, d in durables]
            return sum(i.num_pending + i.num_ack_pending for i in infos)

        await eventually(pending, lambda n: n == 0)

    async def published(
        self, subject: str, match: Callable[[dict[str, Any]], bool], at_least: int = 1
    ) -> list[dict[str, Any]]:
        """The data of every event on `subject` in the requests stream that `match`es (waits for `at_least`)."""
        return await eventually(lambda: self._published_now(subject, match), lambda found: len(found) >= at_least)

    async def _published_now(self, subject: str, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        psub = await self.js.pull_subscribe(subject, stream=stream_name("requests"))
        found: list[dict[str, Any]] = []
        try:
            while (await psub.consumer_info()).num_pending:
                try:
                    batch = await psub.fetch(500, timeout=1.0)
                except (nats.errors.TimeoutError, TimeoutError):
                    break
                for msg in batch:
                    data = Envelope.model_validate_json(msg.data).data
                    if match(data):
                        found.append(data)
                    await msg.ack()
        finally:
            await psub.unsubscribe()
        return found


@pytest_asyncio.fixture
async def service(
    database_url: str, nats_server: NatsServer, keys: Keys, clock: FixedClock
) -> AsyncIterator[RequestsService]:
    settings = service_settings(
        Settings,
        database_url,
        nats_server.url,
        keys.private.parent,
        survey_link_secret=SURVEY_SECRET,
        survey_link_base_url=SURVEY_BASE_URL,
        entitlement_timeout_s=1.0,
        entitlement_retry_after_s=7,
    )
    nc = await nats.connect(nats_server.url)
    contracts = CannedContracts(nc)
    await contracts.start()
    try:
        app = create_app(settings, clock)
        async with running_app(app) as client:
            yield RequestsService(
                client=client,
                app=app,
                contracts=contracts,
                dispatch=Dispatch(nc.jetstream(), clock),
                keys=keys,
                js=nc.jetstream(),
                settings=settings,
                clock=clock,
            )
    finally:
        await contracts.stop()
        await nc.close()


@pytest_asyncio.fixture
async def dispatch(
    database_url: str, nats_server: NatsServer, keys: Keys, clock: FixedClock, service: RequestsService
) -> AsyncIterator[DispatchApp]:
    """The real dispatch app beside the requests app, on the test's clock: started after requests (and on streams
    emptied of the earlier tests' events by `dispatch_app`), it books only what this test files."""
    async with dispatch_app(database_url, nats_server, keys, clock) as running:
        yield running
