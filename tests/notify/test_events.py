"""Each event reaches the right people, in their language, once; through real NATS and a real SMTP server."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.notify.db.streams import StreamRepository
from shared.events.common import GeoPoint
from shared.events.dead_letters import DEAD_LETTER_EVENTS
from shared.events.dispatch import (
    AssignmentChanged,
    AssignmentCreated,
    AssignmentStatusChanged,
    PlanPublished,
    RequestUnplaceable,
    SlaAtRisk,
)
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated, SurveyInvited
from tests.notify.conftest import Notify
from tests.notify.support import at, publish
from tests.support.polling import eventually

ACTION_LINK = re.compile(r"^(?:Open in Fieldline|Открыть в Fieldline): (\S+)\r?$", re.MULTILINE)  # mail lines end CRLF

YALTA = GeoPoint(lat=44.499, lon=34.16)


def _request(customer_id: uuid.UUID, request_id: uuid.UUID, kind: str = "emergency") -> ServiceRequestCreated:
    return ServiceRequestCreated(
        request_id=request_id,
        customer_id=customer_id,
        site_id=uuid.uuid4(),
        kind=kind,  # type: ignore[arg-type]
        priority="P1" if kind == "emergency" else "P3",
        location=YALTA,
        covered=True,
        response_due=at(240),
        created_at=at(),
    )


def _assigned(
    customer_id: uuid.UUID, request_id: uuid.UUID, technician_id: uuid.UUID, assignment_id: uuid.UUID, eta: datetime
) -> AssignmentCreated:
    return AssignmentCreated(
        assignment_id=assignment_id,
        request_id=request_id,
        customer_id=customer_id,
        technician_id=technician_id,
        technician_first_name="Anna",
        status="offered",
        planned_start=eta,
        planned_end=eta + timedelta(hours=1),
        eta=eta,
    )


def _status(
    assigned: AssignmentCreated, status: str, previous: str, eta: datetime | None = None
) -> AssignmentStatusChanged:
    return AssignmentStatusChanged(
        assignment_id=assigned.assignment_id,
        request_id=assigned.request_id,
        customer_id=assigned.customer_id,
        technician_id=assigned.technician_id,
        status=status,
        previous_status=previous,  # type: ignore[arg-type]
        at=at(),
        eta=eta,
    )


async def _people(notify: Notify) -> dict[str, str]:
    """Two contacts of one customer (ru, en), one of another customer, a technician and a dispatcher."""
    tag = uuid.uuid4().hex[:8]
    customer, other_customer, technician = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    addresses = {
        "customer_ru": f"olga-{tag}@market.example",
        "customer_en": f"john-{tag}@market.example",
        "other_customer": f"boss-{tag}@other.example",
        "technician": f"anna-{tag}@fieldline.example",
        "dispatcher": f"disp-{tag}@fieldline.example",
    }
    await notify.add_recipient(
        kind="customer", customer_id=str(customer), email=addresses["customer_ru"], language="ru"
    )
    await notify.add_recipient(
        kind="customer", customer_id=str(customer), email=addresses["customer_en"], language="en"
    )
    await notify.add_recipient(kind="customer", customer_id=str(other_customer), email=addresses["other_customer"])
    await notify.add_recipient(
        kind="technician", technician_id=str(technician), email=addresses["technician"], language="ru"
    )
    await notify.add_recipient(kind="dispatcher", email=addresses["dispatcher"], language="en")
    return {**addresses, "customer_id": str(customer), "technician_id": str(technician)}


def _subjects(notify: Notify, address: str) -> list[str]:
    return [str(m["Subject"]) for m in notify.inbox.to(address)]


async def _settled(notify: Notify, event_ids: list[uuid.UUID]) -> bool:
    """Consumers have drained NATS and no delivery of these events is still queued."""
    if not await notify.consumers_idle():
        return False
    for event_id in event_ids:
        if any(d["status"] == "queued" for d in await notify.deliveries(event_id)):
            return False
    return True


async def test_each_event_reaches_the_right_people_in_their_language(notify: Notify) -> None:
    people = await _people(notify)
    customer, technician = uuid.UUID(people["customer_id"]), uuid.UUID(people["technician_id"])
    request, assignment = uuid.uuid4(), uuid.uuid4()
    short = str(request).split("-")[0].upper()
    eta = at(90)
    events = [await publish(notify.js, _request(customer, request))]
    await eventually(lambda: notify.deliveries(events[0]), what="request received queued")
    assigned = _assigned(customer, request, technician, assignment, eta)
    events.append(await publish(notify.js, assigned))
    await eventually(lambda: notify.deliveries(events[1]), what="assignment queued")
    # same consumer, in order: a small ETA move is not news, a large one is; then on the way, done
    events.append(await publish(notify.js, _status(assigned, "accepted", "offered", eta + timedelta(minutes=5))))
    events.append(await publish(notify.js, _status(assigned, "accepted", "accepted", eta + timedelta(minutes=45))))
    events.append(await publish(notify.js, _status(assigned, "en_route", "accepted", eta + timedelta(minutes=45))))
    events.append(await publish(notify.js, _status(assigned, "on_site", "en_route")))
    events.append(await publish(notify.js, _status(assigned, "completed", "on_site")))
    # a second request: its visit is called off, then the customer cancels it
    second, second_assignment = uuid.uuid4(), uuid.uuid4()
    events.append(await publish(notify.js, _request(customer, second, kind="routine")))
    second_assigned = _assigned(customer, second, technician, second_assignment, at(300))
    events.append(await publish(notify.js, second_assigned))
    await eventually(lambda: notify.deliveries(events[-1]), what="second assignment queued")
    events.append(await publish(notify.js, _status(second_assigned, "cancelled", "offered")))
    # (had the request's cancellation come first, the called-off visit would not be news)
    await eventually(lambda: notify.deliveries(events[-1]), what="visit called off queued")
    events.append(
        await publish(
            notify.js,
            ServiceRequestCancelled(
                request_id=second, customer_id=customer, cancelled_by="customer", reason="fixed it ourselves"
            ),
        )
    )
    events.append(
        await publish(
            notify.js,
            RequestUnplaceable(
                request_id=request, customer_id=customer, reason="no technician with gas certification on shift"
            ),
        )
    )
    await eventually(lambda: _settled(notify, events), what="all events handled and sent")

    second_short = str(second).split("-")[0].upper()
    assert sorted(_subjects(notify, people["customer_ru"])) == sorted(
        [
            f"Заявка {short} принята",
            f"По заявке {short} назначен техник Anna",
            f"Новое время прибытия по заявке {short}",
            f"Техник выехал (заявка {short})",
            f"Работы по заявке {short} завершены",
            f"Заявка {second_short} принята",
            f"По заявке {second_short} назначен техник Anna",
            f"Выезд по заявке {second_short} отменён",
            f"Заявка {second_short} отменена",
        ]
    )
    assert sorted(_subjects(notify, people["customer_en"])) == sorted(
        [
            f"We received your request {short}",
            f"Anna is assigned to request {short}",
            f"New arrival time for request {short}",
            f"The technician is on the way (request {short})",
            f"Request {short} is completed",
            f"We received your request {second_short}",
            f"Anna is assigned to request {second_short}",
            f"The visit for request {second_short} is called off",
            f"Request {second_short} is cancelled",
        ]
    )
    assert sorted(_subjects(notify, people["technician"])) == sorted(
        [f"Новая работа {short} (авария)", f"Новая работа {second_short}", f"Работа {second_short} снята"]
    )
    assert _subjects(notify, people["dispatcher"]) == [f"Cannot place request {short}"]
    assert _subjects(notify, people["other_customer"]) == []


async def test_mail_is_plain_text_and_html_in_one_message(notify: Notify) -> None:
    people = await _people(notify)
    request = uuid.uuid4()
    event_id = await publish(notify.js, _request(uuid.UUID(people["customer_id"]), request))
    messages = await eventually(lambda: _inbox(notify, people["customer_ru"]), what="mail arrives")
    (message,) = messages
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "аварийная заявка" in text.get_content()
    assert f"https://fieldline.local/requests/{request}" in text.get_content()
    assert '<html lang="ru">' in html.get_content()
    assert message["Fieldline-Delivery"] in {str(d["id"]) for d in await notify.deliveries(event_id)}


async def _inbox(notify: Notify, address: str) -> list[object]:
    return notify.inbox.to(address)  # type: ignore[return-value]


async def test_a_duplicated_event_is_sent_once(notify: Notify) -> None:
    people = await _people(notify)
    event = _request(uuid.UUID(people["customer_id"]), uuid.uuid4())
    event_id = await publish(notify.js, event)
    await publish(notify.js, event, event_id=event_id)  # the producer published it twice
    await eventually(lambda: _settled(notify, [event_id]), what="both copies handled")
    # and even if a copy got past the consumer's processed-messages check, the deliveries' key holds
    async with notify.db.transaction() as session:
        again = await notify.app.state.notifier.handle(session, event.subject, event_id, event.model_dump(mode="json"))
    assert again == 0
    assert len(notify.inbox.to(people["customer_ru"])) == 1
    assert len(notify.inbox.to(people["customer_en"])) == 1
    assert len(await notify.deliveries(event_id)) == 2


async def test_quiet_hours_hold_routine_news_but_not_emergencies(notify: Notify) -> None:
    customer = uuid.uuid4()
    address = f"night-{uuid.uuid4().hex[:8]}@market.example"
    zone = "Asia/Vladivostok"
    local_now = datetime.now(UTC).astimezone(ZoneInfo(zone))
    start = (local_now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local_now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    await notify.add_recipient(
        kind="customer",
        customer_id=str(customer),
        email=address,
        language="en",
        time_zone=zone,
        quiet_start=start.isoformat(),
        quiet_end=end.isoformat(),
    )
    routine = await publish(notify.js, _request(customer, uuid.uuid4(), kind="routine"))
    emergency = await publish(notify.js, _request(customer, uuid.uuid4(), kind="emergency"))
    await eventually(lambda: notify.deliveries(routine), what="routine queued")
    await eventually(lambda: _settled(notify, [emergency]), what="emergency sent")
    (held,) = await notify.deliveries(routine)
    assert held["status"] == "queued" and held["attempts"] == 0
    expected_end = datetime.combine(
        local_now.date() if end > local_now.time() else local_now.date() + timedelta(1), end, tzinfo=ZoneInfo(zone)
    )
    assert held["next_attempt_at"] == expected_end
    assert len(notify.inbox.to(address)) == 1

    # the service's clock, not the database's, says when the quiet hours are over
    notify.clock.advance(expected_end - notify.clock() + timedelta(seconds=1))
    await eventually(lambda: _settled(notify, [routine]), what="held news sent once the quiet hours end")
    (sent,) = await notify.deliveries(routine)
    assert sent["status"] == "sent" and sent["attempts"] == 1 and sent["sent_at"] >= expected_end
    assert len(notify.inbox.to(address)) == 2


async def test_dead_letters_reach_dispatchers(notify: Notify) -> None:
    address = f"ops-{uuid.uuid4().hex[:8]}@fieldline.example"
    await notify.add_recipient(kind="dispatcher", email=address, language="ru")
    await notify.js.publish(
        RequestUnplaceable.subject, b'{"not": "an envelope"}', headers={"Nats-Msg-Id": str(uuid.uuid4())}
    )
    messages = await eventually(lambda: _inbox(notify, address), what="dead letter reported")
    assert "не обработано (notify)" in str(messages[0]["Subject"])  # type: ignore[index]
    assert "notify-unplaceable" in messages[0].get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]


async def test_other_services_dead_letters_reach_dispatchers(notify: Notify) -> None:
    address = f"ops-{uuid.uuid4().hex[:8]}@fieldline.example"
    await notify.add_recipient(kind="dispatcher", email=address, language="en")
    await publish(
        notify.js,
        DEAD_LETTER_EVENTS["dispatch"](
            consumer="dispatch-request-created",
            message_subject=ServiceRequestCreated.subject,
            event_id=None,
            reason="schema: request_id is not a UUID",
            deliveries=1,
            recorded_at=at(),
        ),
    )
    messages = await eventually(lambda: _inbox(notify, address), what="dispatch's dead letter reported")
    assert "(dispatch)" in str(messages[0]["Subject"])  # type: ignore[index]
    body = messages[0].get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
    assert "dispatch-request-created" in body and ServiceRequestCreated.subject in body
    assert "request_id is not a UUID" in body


async def test_old_events_update_streams_but_send_nothing(notify: Notify) -> None:
    """A new durable consumer replays its stream from the start: days-old news must not go out."""
    people = await _people(notify)
    customer = uuid.UUID(people["customer_id"])
    old = _request(customer, uuid.uuid4())
    old_id = await publish(notify.js, old, occurred_at=datetime.now(UTC) - timedelta(days=2))
    fresh_id = await publish(notify.js, _request(customer, uuid.uuid4()))
    await eventually(lambda: notify.deliveries(fresh_id), what="fresh event queued")
    await eventually(lambda: _settled(notify, [old_id, fresh_id]), what="both handled")
    assert await notify.deliveries(old_id) == []
    async with notify.db.transaction() as session:
        pushed = await StreamRepository(session).read_after([f"customer:{customer}"], 0)
    assert str(old.request_id) in {p.data["request_id"] for p in pushed}


async def test_dispatch_replans_sla_risks_and_survey_invitations_reach_their_people(notify: Notify) -> None:
    people = await _people(notify)
    customer, technician = uuid.UUID(people["customer_id"]), uuid.UUID(people["technician_id"])
    request, eta = uuid.uuid4(), at(60)
    created = await publish(notify.js, _request(customer, request))
    await eventually(lambda: notify.deliveries(created), what="request tracked")
    short = str(request).split("-")[0].upper()
    ivan, ivan_address = uuid.uuid4(), f"ivan-{uuid.uuid4().hex[:8]}@fieldline.example"
    await notify.add_recipient(kind="technician", technician_id=str(ivan), email=ivan_address, language="en")
    events = [
        created,
        await publish(
            notify.js,
            AssignmentChanged(
                assignment_id=uuid.uuid4(),
                request_id=request,
                customer_id=customer,
                technician_id=technician,
                technician_first_name="Anna",
                previous_technician_id=ivan,
                status="accepted",
                planned_start=eta,
                planned_end=eta + timedelta(hours=1),
                eta=eta,
                previous_eta=at(30),
                reason="Ivan is ill",
            ),
        ),
    ]
    events.append(
        await publish(
            notify.js,
            PlanPublished(
                plan_id=uuid.uuid4(),
                day="2026-11-28",
                version=3,
                technician_id=technician,
                stops=[],
                reason="Ivan is ill",
            ),
        )
    )
    events.append(
        await publish(
            notify.js,
            SlaAtRisk(
                request_id=request, customer_id=customer, response_due=at(50), predicted_arrival=eta, reason="traffic"
            ),
        )
    )
    events.append(
        await publish(
            notify.js,
            SurveyInvited(
                survey_id=uuid.uuid4(),
                request_id=request,
                customer_id=customer,
                site_id=uuid.uuid4(),
                completed_at=at(),
                link="https://fieldline.local/s/abc?token=xyz",
                token="xyz",
                expires_at=at(14 * 24 * 60),
            ),
        )
    )
    await eventually(lambda: _settled(notify, events), what="all handled and sent")
    assert sorted(_subjects(notify, people["customer_en"])) == sorted(
        [
            f"We received your request {short}",
            f"Anna is assigned to request {short}",
            f"How did we do on request {short}?",
        ]
    )
    (survey,) = [m for m in notify.inbox.to(people["customer_ru"]) if str(m["Subject"]).startswith("Оцените")]
    assert "https://fieldline.local/s/abc?token=xyz&lang=ru" in survey.get_body(preferencelist=("plain",)).get_content()
    assert sorted(_subjects(notify, people["technician"])) == sorted(
        [f"Работа {short} изменена", "Ваш маршрут на 2026-11-28 изменён"]
    )
    assert _subjects(notify, people["dispatcher"]) == [f"SLA at risk: request {short}"]
    assert _subjects(notify, ivan_address) == [f"Job {short} is withdrawn"]  # the technician who lost it


async def test_the_survey_link_of_a_completed_job_opens_in_the_customers_language(notify: Notify) -> None:
    customer, request = uuid.uuid4(), uuid.uuid4()
    address = f"jane-{uuid.uuid4().hex[:8]}@market.example"
    await notify.add_recipient(kind="customer", customer_id=str(customer), email=address, language="en")
    invited = await publish(
        notify.js,
        SurveyInvited(  # what requests says when the job is completed
            survey_id=uuid.uuid4(),
            request_id=request,
            customer_id=customer,
            site_id=uuid.uuid4(),
            completed_at=at(),
            link="https://fieldline.local/surveys/eyJzdXJ2ZXkiOjF9.c2ln",
            token="eyJzdXJ2ZXkiOjF9.c2ln",
            expires_at=at(14 * 24 * 60),
        ),
    )
    await eventually(lambda: _settled(notify, [invited]), what="the invitation handled and sent")
    (message,) = notify.inbox.to(address)
    links = ACTION_LINK.findall(message.get_body(preferencelist=("plain",)).get_content())
    assert links == ["https://fieldline.local/surveys/eyJzdXJ2ZXkiOjF9.c2ln?lang=en"]
    assert f'href="{links[0]}"' in message.get_body(preferencelist=("html",)).get_content()


async def test_a_dispatcher_reading_a_survey_invitation_sees_no_live_link(notify: Notify) -> None:
    customer, token = uuid.uuid4(), f"eyJ{uuid.uuid4().hex}.c2ln"
    address = f"joan-{uuid.uuid4().hex[:8]}@market.example"
    await notify.add_recipient(kind="customer", customer_id=str(customer), email=address, language="en")
    invited = await publish(
        notify.js,
        SurveyInvited(
            survey_id=uuid.uuid4(),
            request_id=uuid.uuid4(),
            customer_id=customer,
            site_id=uuid.uuid4(),
            completed_at=at(),
            link=f"https://fieldline.local/surveys/{token}",
            token=token,
            expires_at=at(14 * 24 * 60),
        ),
    )
    await eventually(lambda: _settled(notify, [invited]), what="the invitation handled and sent")
    assert token in notify.inbox.to(address)[0].get_body(preferencelist=("plain",)).get_content()
    (delivery,) = await notify.deliveries(invited)
    shown = await notify.api.get(f"/deliveries/{delivery['id']}", headers=notify.staff())
    assert shown.status_code == 200, shown.text
    assert token not in shown.text and "/surveys/" not in shown.text
    assert shown.json()["content"]["subject"]  # staff still see what was sent, minus the credential
