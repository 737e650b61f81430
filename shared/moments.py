"""Moments a person or a device can mean: far-off years only ever come from mistakes and fuzzers (an absence
from year 0009 to 6049 once broke every plan). `SaneDatetime` refuses them while the request is parsed
(422 naming the field); `SaneAwareDatetime` also wants an offset (which 10:00 otherwise?)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

__all__ = ["EARLIEST_YEAR", "LATEST_YEAR", "SaneAwareDatetime", "SaneDatetime", "check_year"]

EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def check_year(value: datetime) -> datetime:
    """`value` unchanged; ValueError unless its year is within EARLIEST_YEAR..LATEST_YEAR."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be in the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return value


SaneDatetime = Annotated[datetime, AfterValidator(check_year)]
SaneAwareDatetime = Annotated[AwareDatetime, AfterValidator(check_year)]
