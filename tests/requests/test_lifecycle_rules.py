"""The lifecycle rules without I/O: any order and any repetition of dispatch's events gives one answer."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.requests.domain.lifecycle import (
    AssignmentView,
    assignment_booked,
    assignment_moved,
    assignment_rebooked,
    current_assignment,
    customer_may_cancel,
    needs_parts,
    request_status,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ASSIGNMENT = uuid.uuid4()
TECHNICIAN = uuid.uuid4()


def _booked(
    view: AssignmentView | None,
    at: datetime = T0,
    eta: datetime = T0 + timedelta(hours=1),
    assignment: uuid.UUID = ASSIGNMENT,
) -> AssignmentView:
    return assignment_booked(
        view,
        assignment_id=assignment,
        technician_id=TECHNICIAN,
        technician_first_name="Anna",
        status="offered",
        booked_at=at,
        eta=eta,
    )


def _moved(
    status: str,
    minutes: int,
    eta: datetime | None = None,
    outcome: str | None = None,
    assignment: uuid.UUID = ASSIGNMENT,
):  # type: ignore[no-untyped-def]
    def apply(view: AssignmentView | None) -> AssignmentView:
        return assignment_moved(
            view,
            assignment_id=assignment,
            technician_id=TECHNICIAN,
            status=status,
            at=T0 + timedelta(minutes=minutes),
            eta=eta,
            outcome=outcome,
        )

    return apply


def _fold(steps: list) -> AssignmentView:  # type: ignore[type-arg]
    view = None
    for step in steps:
        view = step(view)
    assert view is not None
    return view


def test_every_order_of_one_visits_events_ends_in_the_same_state() -> None:
    steps = [
        _booked,
        _moved("accepted", 2),
        _moved("en_route", 10, eta=T0 + timedelta(minutes=50)),
        _moved("on_site", 55),
        _moved("completed", 120, outcome="replaced fan motor"),
    ]
    expected = _fold(steps)
    assert expected.status == "completed"
    assert expected.reached_at("on_site") == T0 + timedelta(minutes=55)
    assert expected.eta == T0 + timedelta(minutes=50)  # the newest estimate, not the booking's
    assert expected.promised_eta == T0 + timedelta(hours=1)
    assert expected.outcome == "replaced fan motor"
    for order in itertools.permutations(steps):
        assert _fold(list(order)) == expected
        doubled = [step for step in order for _ in range(2)]
        assert _fold(doubled) == expected


def test_request_status_follows_the_current_assignment_and_never_goes_back() -> None:
    on_site = _fold([_booked, _moved("en_route", 10), _moved("on_site", 40)])
    late_accept = _moved("accepted", 5)(on_site)
    assert late_accept.status == "on_site"
    assert (
        request_status(cancelled=False, follow_up_opened=False, unplaceable=False, assignments=[late_accept])
        == "on_site"
    )


def test_a_cancelled_assignment_hands_over_to_the_next_one_or_back_to_triage() -> None:
    first = _fold([_booked, _moved("cancelled", 5)])
    assert request_status(cancelled=False, follow_up_opened=False, unplaceable=False, assignments=[first]) == "triaged"
    second_id = uuid.uuid4()
    second = _booked(None, at=T0 + timedelta(minutes=6), assignment=second_id)
    assert current_assignment([first, second]) == second
    assert (
        request_status(cancelled=False, follow_up_opened=False, unplaceable=False, assignments=[second, first])
        == "assigned"
    )
    # the cancellation of the first arriving after the second was booked changes nothing
    assert current_assignment([second, _moved("cancelled", 7)(_booked(None))]) == second


def test_request_level_facts_win_over_assignments() -> None:
    done = _fold([_booked, _moved("on_site", 30), _moved("failed", 60, outcome="needs_parts")])
    assert request_status(cancelled=False, follow_up_opened=True, unplaceable=False, assignments=[done]) == "follow_up"
    assert request_status(cancelled=False, follow_up_opened=False, unplaceable=False, assignments=[done]) == "failed"
    assert request_status(cancelled=True, follow_up_opened=False, unplaceable=False, assignments=[done]) == "cancelled"
    assert request_status(cancelled=False, follow_up_opened=False, unplaceable=True, assignments=[]) == "triaged"
    assert request_status(cancelled=False, follow_up_opened=False, unplaceable=False, assignments=[]) == "new"


def test_an_older_eta_arriving_late_does_not_replace_a_newer_one() -> None:
    newer = _moved("en_route", 20, eta=T0 + timedelta(minutes=70))
    older = _moved("accepted", 5, eta=T0 + timedelta(minutes=45))
    assert _fold([_booked, newer, older]).eta == T0 + timedelta(minutes=70)
    assert _fold([_booked, older, newer]).eta == T0 + timedelta(minutes=70)


def test_the_first_ending_reported_stands() -> None:
    view = _fold([_booked, _moved("completed", 90), _moved("cancelled", 95)])
    assert view.status == "completed"


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        ("new", True),
        ("triaged", True),
        ("assigned", True),
        ("en_route", False),
        ("on_site", False),
        ("completed", False),
    ],
)
def test_customer_cancels_only_until_the_technician_is_on_the_way(status: str, allowed: bool) -> None:
    assert customer_may_cancel(status) is allowed


def test_needs_parts_outcomes() -> None:
    assert needs_parts("needs_parts") and needs_parts(" Needs Parts ")
    assert not needs_parts("no_access") and not needs_parts(None)


def test_a_rebooking_names_the_technician_whatever_the_order_but_keeps_the_promise() -> None:
    other = uuid.uuid4()

    def rebooked(view: AssignmentView | None) -> AssignmentView:
        return assignment_rebooked(
            view,
            assignment_id=ASSIGNMENT,
            technician_id=other,
            technician_first_name="Ivan",
            status="offered",
            eta=T0 + timedelta(minutes=90),
            at=T0 + timedelta(minutes=20),
        )

    for order in ([_booked, rebooked], [rebooked, _booked]):
        view = _fold(order)
        assert (view.technician_id, view.technician_first_name) == (other, "Ivan")
        assert view.eta == T0 + timedelta(minutes=90)
        assert view.promised_eta == T0 + timedelta(hours=1)
        assert view.booked_at == T0
