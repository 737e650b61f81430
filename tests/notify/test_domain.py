"""Pure rules of notify, without I/O: routing, quiet hours, back-off, the SSRF address rules, signatures."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest

from services.notify.consumers import durable_for, subscriptions
from services.notify.domain.addresses import (
    AllowList,
    UnsafeTarget,
    check_address,
    check_registration,
    literal_address,
    parse_target,
    refusal,
)
from services.notify.domain.audience import Audience
from services.notify.domain.preferences import quiet_hours_end, send_after
from services.notify.domain.retry import RetryPolicy
from services.notify.domain.routing import (
    ASSIGNMENT_CHANGED,
    CONTRACT_ENDING_SOON,
    SURVEY_INVITED,
    TECHNICIAN_MOVED,
    RoutingPolicy,
    notices_for,
    routed_subjects,
    stream_pushes_for,
)
from services.notify.domain.signing import signature_header, signing_secrets, verify
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.events.registry import EVENT_TYPES
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated

POLICY = RoutingPolicy(eta_change_threshold_minutes=15)


def _templates(subject: str, **facts: object) -> dict[Audience, str]:
    return {n.audience: n.template for n in notices_for(subject, facts, POLICY) if n.whose == "technician_id"}


# --- routing -----------------------------------------------------------------------------------------------------


def test_each_event_is_routed_to_its_audiences() -> None:
    assert _templates(ServiceRequestCreated.subject) == {Audience.CUSTOMER: "request_received"}
    assert _templates(ServiceRequestCancelled.subject) == {Audience.CUSTOMER: "request_cancelled"}
    assert _templates(AssignmentCreated.subject) == {
        Audience.CUSTOMER: "technician_assigned",
        Audience.TECHNICIAN: "new_assignment",
    }
    assert _templates(RequestUnplaceable.subject) == {Audience.DISPATCHER: "request_unplaceable"}
    status = AssignmentStatusChanged.subject
    assert _templates(status, status="en_route") == {Audience.CUSTOMER: "technician_on_the_way"}
    assert _templates(status, status="completed") == {Audience.CUSTOMER: "job_completed"}
    assert _templates(status, status="cancelled") == {
        Audience.CUSTOMER: "visit_cancelled",
        Audience.TECHNICIAN: "assignment_cancelled",
    }
    assert _templates(status, status="cancelled", request_cancelled=True) == {
        Audience.TECHNICIAN: "assignment_cancelled"
    }
    assert _templates(status, status="on_site") == {}


def test_an_eta_is_news_only_when_it_moves_more_than_the_threshold() -> None:
    status = AssignmentStatusChanged.subject
    base = "2026-11-28T10:00:00+00:00"
    assert _templates(status, status="accepted", previous_eta=base, eta="2026-11-28T10:15:00+00:00") == {}
    assert _templates(status, status="accepted", previous_eta=base, eta="2026-11-28T10:16:00+00:00") == {
        Audience.CUSTOMER: "eta_changed"
    }
    assert _templates(status, status="accepted", previous_eta=base, eta="2026-11-28T09:40:00Z") == {
        Audience.CUSTOMER: "eta_changed"
    }
    assert _templates(status, status="accepted", previous_eta=None, eta=base) == {}
    # one message per recipient and event: on the way wins over the moved ETA it carries
    assert _templates(status, status="en_route", previous_eta=base, eta="2026-11-28T11:00:00Z") == {
        Audience.CUSTOMER: "technician_on_the_way"
    }
    stricter = RoutingPolicy(eta_change_threshold_minutes=5)
    assert [
        n.template
        for n in notices_for(
            status, {"status": "accepted", "previous_eta": base, "eta": "2026-11-28T10:10:00Z"}, stricter
        )
    ] == ["eta_changed"]


def test_dispatchs_word_on_a_promise_beats_the_threshold() -> None:
    """Issue 17: dispatch keeps told arrivals within its tolerance and says when a change tells the customer."""
    changed = AssignmentChanged.subject
    base, later = "2026-11-28T10:00:00+00:00", "2026-11-28T10:25:00+00:00"
    same = {"technician_id": "t", "previous_technician_id": "t", "status": "accepted"}
    assert _templates(changed, **same, previous_eta=base, eta=later) == {  # no word: the threshold
        Audience.CUSTOMER: "eta_changed",
        Audience.TECHNICIAN: "assignment_changed",
    }
    assert _templates(changed, **same, previous_eta=base, eta=later, customer_told=False) == {
        Audience.TECHNICIAN: "assignment_changed"
    }
    told = _templates(changed, **same, previous_eta=base, eta="2026-11-28T10:05:00Z", customer_told=True)
    assert told[Audience.CUSTOMER] == "eta_changed"


def test_emergencies_are_urgent_and_routine_news_is_not() -> None:
    (emergency,) = notices_for(ServiceRequestCreated.subject, {"kind": "emergency", "priority": "P2"}, POLICY)
    (routine,) = notices_for(ServiceRequestCreated.subject, {"kind": "routine", "priority": "P3"}, POLICY)
    (p1,) = notices_for(ServiceRequestCreated.subject, {"kind": "routine", "priority": "P1"}, POLICY)
    assert emergency.urgent and not routine.urgent and p1.urgent
    (unplaceable,) = notices_for(RequestUnplaceable.subject, {}, POLICY)
    assert unplaceable.urgent
    completed = notices_for(
        AssignmentStatusChanged.subject, {"status": "completed", "request_kind": "emergency"}, POLICY
    )
    assert not completed[0].urgent  # a finished job can wait for the morning


def test_stream_views_keep_the_walking_skeleton_payloads() -> None:
    technician, customer = uuid.uuid4(), uuid.uuid4()
    data = {
        "request_id": "r",
        "technician_id": str(technician),
        "customer_id": str(customer),
        "technician_first_name": "Anna",
        "eta": "x",
        "status": "offered",
        "planned_start": "p",
    }
    pushes = {(p.stream, p.kind): p.payload for p in stream_pushes_for(AssignmentCreated.subject, data)}
    assert pushes[(f"technician:{technician}", "assignment.created")] == data
    assert pushes[(f"customer:{customer}", "request.assigned")] == {
        "request_id": "r",
        "technician_first_name": "Anna",
        "eta": "x",
        "status": "offered",
    }
    assert pushes[("dispatchers", "assignment.created")] == data


def test_routes_awaiting_their_producers_are_not_subscribed_yet() -> None:
    assert CONTRACT_ENDING_SOON in routed_subjects() and SURVEY_INVITED in routed_subjects()
    subscribed = {s.subject for s in subscriptions(notifier=None)}  # type: ignore[arg-type]
    assert subscribed == {s for s in routed_subjects() if s in EVENT_TYPES and not s.startswith("fieldline.notify.")}
    assert SURVEY_INVITED in subscribed
    if CONTRACT_ENDING_SOON not in EVENT_TYPES:  # until contracts publishes it
        assert CONTRACT_ENDING_SOON not in subscribed


def test_a_moved_booking_tells_the_customer_about_a_new_technician_or_a_new_eta() -> None:
    changed = AssignmentChanged.subject
    same = {"technician_id": "t1", "previous_technician_id": "t1", "previous_eta": "2026-11-28T10:00:00Z"}
    assert _templates(changed, **same, eta="2026-11-28T10:05:00Z") == {Audience.TECHNICIAN: "assignment_changed"}
    assert _templates(changed, **same, eta="2026-11-28T11:00:00Z") == {
        Audience.CUSTOMER: "eta_changed",
        Audience.TECHNICIAN: "assignment_changed",
    }
    assert _templates(changed, **{**same, "technician_id": "t2"}, eta="2026-11-28T11:00:00Z") == {
        Audience.CUSTOMER: "technician_assigned",
        Audience.TECHNICIAN: "assignment_changed",
    }
    reassigned = notices_for(changed, {**same, "technician_id": "t2", "eta": "2026-11-28T10:00:00Z"}, POLICY)
    technicians = {(n.whose, n.template) for n in reassigned if n.audience is Audience.TECHNICIAN}
    assert technicians == {
        ("technician_id", "assignment_changed"),
        ("previous_technician_id", "assignment_cancelled"),
    }, "the one who lost the job hears"
    assert durable_for(AssignmentStatusChanged.subject) == "notify-assignment-status"
    assert durable_for(ServiceRequestCreated.subject) == "notify-service_request-created"


# --- quiet hours ----------------------------------------------------------------------------------------------------

SIMFEROPOL = "Europe/Simferopol"  # UTC+3


@pytest.mark.parametrize(
    ("utc_now", "expected_end"),
    [
        ("2026-11-28T20:30:00", "2026-11-29T04:00:00"),  # 23:30 local, inside 22:00-07:00
        ("2026-11-28T01:00:00", "2026-11-28T04:00:00"),  # 04:00 local, inside, ends this morning
        ("2026-11-28T09:00:00", None),  # 12:00 local, outside
        ("2026-11-28T04:00:00", None),  # 07:00 local: the end is not quiet any more
        ("2026-11-28T19:00:00", "2026-11-29T04:00:00"),  # 22:00 local: the start is quiet
    ],
)
def test_quiet_hours_that_wrap_midnight(utc_now: str, expected_end: str | None) -> None:
    now = datetime.fromisoformat(utc_now).replace(tzinfo=UTC)
    end = quiet_hours_end(now, SIMFEROPOL, time(22), time(7))
    assert end == (datetime.fromisoformat(expected_end).replace(tzinfo=UTC) if expected_end else None)


def test_quiet_hours_within_a_day_and_urgent_notices() -> None:
    now = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)  # 13:30 local
    assert quiet_hours_end(now, SIMFEROPOL, time(13), time(14)) == datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    assert quiet_hours_end(now, SIMFEROPOL, None, None) is None
    assert quiet_hours_end(now, SIMFEROPOL, time(13), time(13)) is None
    assert send_after(now, urgent=True, time_zone=SIMFEROPOL, quiet_start=time(13), quiet_end=time(14)) == now
    assert send_after(now, urgent=False, time_zone=SIMFEROPOL, quiet_start=time(13), quiet_end=time(14)) == datetime(
        2026, 11, 28, 11, 0, tzinfo=UTC
    )


# --- back-off -----------------------------------------------------------------------------------------------------


def test_back_off_doubles_with_jitter_up_to_the_cap_and_gives_up_after_the_window() -> None:
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(hours=1), window=timedelta(hours=24))
    low, high = (lambda a, b: a), (lambda a, b: b)
    assert policy.delay(1, low) == timedelta(seconds=15) and policy.delay(1, high) == timedelta(seconds=30)
    assert policy.delay(4, low) == timedelta(seconds=120) and policy.delay(4, high) == timedelta(seconds=240)
    assert policy.delay(30, high) == timedelta(hours=1)
    assert timedelta(seconds=15) <= policy.delay(1) <= timedelta(seconds=30)
    now = datetime(2026, 11, 28, tzinfo=UTC)
    assert policy.next_attempt(now, 1, now + timedelta(hours=1), high) == now + timedelta(seconds=30)
    assert policy.next_attempt(now, 1, now + timedelta(seconds=10), high) is None
    attempts, at = 0, now
    while at is not None and attempts < 1000:  # an endpoint down for good: how many tries in 24 h
        attempts += 1
        at = policy.next_attempt(at, attempts, now + policy.window, low)
    assert 20 < attempts < 60


# --- SSRF rules -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("10.0.0.1", "10.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("169.254.169.254", "169.254.169.254"),
        ("0", "0.0.0.0"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("256.1.1.1", None),
        ("1.2.3.4294967296", None),
        ("0x", None),
    ],
)
def test_literal_addresses_include_the_legacy_ipv4_forms(host: str, address: str | None) -> None:
    assert literal_address(host) == (ipaddress.ip_address(address) if address else None)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",
        "2002:a00:1::",
        "64:ff9b::a00:1",
        "64:ff9b::7f00:1",
        "::127.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_https_is_required_unless_the_exact_address_and_port_are_allow_listed() -> None:
    allow = AllowList.parse(["127.0.0.1:8080", "[::1]:9090"])
    public = ipaddress.ip_address("93.184.216.34")
    check_address(parse_target("https://hooks.example.com/x"), public, allow)
    with pytest.raises(UnsafeTarget, match="https"):
        check_address(parse_target("http://hooks.example.com/x"), public, allow)
    check_address(parse_target("http://localhost:8080/x"), ipaddress.ip_address("127.0.0.1"), allow)
    check_address(parse_target("http://[::1]:9090/x"), ipaddress.ip_address("::1"), allow)
    with pytest.raises(UnsafeTarget, match="loopback"):
        check_address(parse_target("http://localhost:8081/x"), ipaddress.ip_address("127.0.0.1"), allow)
    with pytest.raises(ValueError):
        AllowList.parse(["127.0.0.1"])


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://u:p@hooks.example.com/",
        "https:///x",
        "https://10.0.0.1/",
        "https://2130706433/",
        "https://[::ffff:7f00:1]/",
        "https://hooks.example.com:99999/",
    ],
)
def test_registration_refuses_what_it_can_see_without_resolving(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_registration(url, AllowList())


def test_registration_accepts_https_names_and_keeps_the_port() -> None:
    target = check_registration("https://Hooks.Example.com:8443/fieldline?x=1", AllowList())
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 8443)


# --- signatures -------------------------------------------------------------------------------------------------


def test_signatures_cover_body_and_timestamp() -> None:
    body = b'{"type":"request_received"}'
    header = signature_header(["whsec_1"], 1_800_000_000, body)
    assert header.startswith("t=1800000000,v1=")
    assert verify("whsec_1", header, body, now=1_800_000_010)
    assert not verify("whsec_1", header, body + b" ", now=1_800_000_010)
    assert not verify("whsec_2", header, body, now=1_800_000_010)
    assert not verify("whsec_1", header, body, now=1_800_001_000)  # replayed later
    assert not verify("whsec_1", header.replace("t=1800000000", "t=1800000900"), body, now=1_800_000_900)
    assert not verify("whsec_1", "garbage", body, now=1_800_000_010)


def test_during_a_rotation_the_header_carries_both_signatures_and_either_secret_verifies() -> None:
    body = b'{"type":"job_completed"}'
    header = signature_header(["whsec_new", "whsec_old"], 1_800_000_000, body)
    t_part, new_part, old_part = header.split(",")
    assert t_part == "t=1800000000" and new_part.startswith("v1=") and old_part.startswith("v1=")
    assert header == ",".join(
        [
            t_part,
            signature_header(["whsec_new"], 1_800_000_000, body).split(",")[1],
            signature_header(["whsec_old"], 1_800_000_000, body).split(",")[1],
        ]
    )
    assert verify("whsec_new", header, body, now=1_800_000_010)
    assert verify("whsec_old", header, body, now=1_800_000_010)
    assert not verify("whsec_other", header, body, now=1_800_000_010)
    assert not verify("whsec_new", "t=1,t=1800000000," + new_part, body, now=1_800_000_010)  # ambiguous time
    with pytest.raises(TypeError):
        signature_header("whsec_new", 1_800_000_000, body)  # a bare string is not a list of secrets


def test_the_old_secret_signs_only_strictly_before_its_expiry() -> None:
    expiry = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert signing_secrets("new", "old", expiry, expiry - timedelta(microseconds=1)) == ["new", "old"]
    assert signing_secrets("new", "old", expiry, expiry) == ["new"]
    assert signing_secrets("new", "old", expiry, expiry + timedelta(days=30)) == ["new"]
    assert signing_secrets("new", None, None, expiry) == ["new"]


def test_a_job_taken_from_a_technician_reaches_their_stream_too() -> None:
    """Their app drops the stop when told, not at the next re-plan (the technician app's notices test waited on a
    re-plan to touch the old technician, and failed when none did within its wait)."""
    anna, ivan = uuid.uuid4(), uuid.uuid4()
    moved = {"request_id": "r", "technician_id": str(ivan), "previous_technician_id": str(anna), "customer_id": "c"}
    streams = [p.stream for p in stream_pushes_for(ASSIGNMENT_CHANGED, moved)]
    assert f"technician:{anna}" in streams and f"technician:{ivan}" in streams
    stayed = {**moved, "previous_technician_id": str(ivan)}  # retimed with the same technician: one frame
    assert [p.stream for p in stream_pushes_for(ASSIGNMENT_CHANGED, stayed)].count(f"technician:{ivan}") == 1


def test_a_technicians_position_goes_to_the_dispatchers_map_only() -> None:
    """Customers follow the ETA, not the technician; the technician's own app knows where it is."""
    technician = uuid.uuid4()
    moved = {"technician_id": str(technician), "position": {"lat": 44.95, "lon": 34.1}, "at": "2030-03-04T07:00:00Z"}
    (push,) = stream_pushes_for(TECHNICIAN_MOVED, moved)
    assert push.stream == "dispatchers" and push.kind == "technician.moved"
    assert push.payload["position"] == {"lat": 44.95, "lon": 34.1}
    assert notices_for(TECHNICIAN_MOVED, moved, POLICY) == []  # a map update, never a message
    assert durable_for(TECHNICIAN_MOVED) == "notify-technician-moved"
