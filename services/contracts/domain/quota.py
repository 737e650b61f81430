"""Quotas: how many requests of a kind a contract includes per period (e.g. 12 emergency call-outs a year)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from dateutil.relativedelta import relativedelta

QUOTA_PERIODS = ("month", "year", "contract")


@dataclass(frozen=True)
class Quota:
    request_kind: str
    period: str
    included: int


@dataclass(frozen=True)
class QuotaUse:
    quota: Quota
    used: int

    @property
    def left(self) -> int:
        return max(self.quota.included - self.used, 0)

    @property
    def exceeded(self) -> bool:
        return self.used >= self.quota.included


def quota_period(period: str, contract_starts_on: date, on: date) -> tuple[date, date | None]:
    """The period [start, end) that `on` falls in, counted from the contract's start (anniversaries)."""
    if period == "contract":
        return contract_starts_on, None
    step = relativedelta(months=1) if period == "month" else relativedelta(years=1)
    start = contract_starts_on
    count = 0
    # anniversaries are taken from the start date each time, so 31 Jan steps to 28 Feb and back to 31 Mar
    while contract_starts_on + step * (count + 1) <= on:
        count += 1
    start = contract_starts_on + step * count
    return start, contract_starts_on + step * (count + 1)


@dataclass(frozen=True)
class QuotaConsumption:
    """One request filed under a contract: whether it holds an included unit, and the units left it was told of
    when it asked with its id (None: it did not)."""

    request_id: uuid.UUID
    contract_id: uuid.UUID
    request_kind: str
    counted_at: datetime
    within_quota: bool | None = None
    quota_left: int | None = None
    released_at: datetime | None = None
    confirmed_at: datetime | None = None
