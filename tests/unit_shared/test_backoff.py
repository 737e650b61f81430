"""backoff_delay: full jitter under an exponentially growing ceiling, never above the cap."""

from __future__ import annotations

import random

import pytest

from shared.messaging import backoff_delay


@pytest.mark.parametrize(
    ("num_delivered", "ceiling"),
    [
        (0, 0.5),
        (1, 0.5),
        (2, 1.0),
        (3, 2.0),
        (6, 16.0),
        (7, 30.0),
        (10, 30.0),
        (65, 30.0),
        (1025, 30.0),
        (10**6, 30.0),
    ],
)
def test_every_delay_lies_between_zero_and_the_capped_ceiling(num_delivered: int, ceiling: float) -> None:
    random.seed(num_delivered)
    delays = [backoff_delay(num_delivered) for _ in range(300)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling / 2, "full jitter spreads over the whole range"


def test_the_ceiling_doubles_per_delivery_until_the_cap() -> None:
    random.seed(7)
    ceilings = [max(backoff_delay(n, base_s=1.0, cap_s=8.0) for _ in range(400)) for n in range(1, 7)]
    assert [round(c) for c in ceilings] == [1, 2, 4, 8, 8, 8]


def test_a_custom_base_and_cap_are_honoured() -> None:
    assert all(backoff_delay(3, base_s=0.01, cap_s=0.02) <= 0.02 for _ in range(100))
    assert all(backoff_delay(1, base_s=0.01) <= 0.01 for _ in range(100))
