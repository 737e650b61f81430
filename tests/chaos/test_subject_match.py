"""The chaos invariants count a consumer's messages on the stream through its filter, wildcards included (pure)."""

from __future__ import annotations

import pytest

from bench.chaos.invariants import matches


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("fieldline.contracts.visit.*", "fieldline.contracts.visit.planned", True),
        ("fieldline.contracts.visit.*", "fieldline.contracts.visit", False),
        ("fieldline.contracts.visit.*", "fieldline.contracts.visit.planned.again", False),
        ("fieldline.contracts.>", "fieldline.contracts.visit.planned", True),
        ("fieldline.contracts.>", "fieldline.contracts", False),
        ("fieldline.dispatch.assignment.created", "fieldline.dispatch.assignment.created", True),
        ("fieldline.dispatch.assignment.created", "fieldline.dispatch.assignment.changed", False),
    ],
)
def test_a_filter_matches_as_nats_does(pattern: str, subject: str, expected: bool) -> None:
    assert matches(pattern, subject) is expected
