"""Quality KPIs computed from each request's recorded history; plain records in, plain figures out.

`compute_kpis` is the definition in code. The service sums the same tallies in one SQL query
(`KpiRepository.kpi_tallies`) and turns them into figures with the same `kpi_rows`;
tests/requests/test_kpis_sql.py holds the two to each other.

Definitions (all per request, bucketed by the day the request was filed, in the company's time zone: a request
filed at 23:30 UTC is the next day's in Simferopol):
- response SLA: the first arrival on site is at or before `response_due`. A request counts once it has
  arrived, or once its deadline has passed without an arrival (a breach); cancelled before arrival: not counted.
- fix SLA: completed at or before `fix_due`; counted once completed or once the deadline has passed
  (not cancelled). A failed visit that needs parts leaves the original unfixed: its follow-up is a new request.
- on-time arrival: the first arrival is no later than the ETA promised when that visit was booked,
  plus a tolerance (a setting).
- first-time fix: of the requests that reached an outcome (completed, or a failed visit), not themselves
  follow-ups, those completed by the first visit on site with no failed visit.
- repeat visit: a completed request on a unit followed by another request for the same unit, filed
  within the repeat window (30 days) after completion; the repeat counts against the first job.
- mean response time: first arrival minus filing, in minutes; follow-ups are booked return visits and planned
  visits (kind "planned": a contract's maintenance, filed when its schedule plans it) keep a schedule, neither a
  response to a call, so they are left out. Planned visits count in every other figure like filed requests.
  Emergency response median and p90: the same minutes, emergencies only.
- arrival against the first promised ETA: the first arrival minus the ETA promised when that visit was booked, in
  minutes late (early counts as 0), median and p90.
- medians and p90s are linear-interpolated percentiles (PostgreSQL's percentile_cont), over the group's requests.
- CSAT: mean of 1-5 answers. NPS: % promoters (9-10) minus % detractors (0-6), over the NPS answers.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from shared.events.common import RequestKind

Bucket = Literal["day", "week", "month", "all"]
UTC_ZONE = ZoneInfo("UTC")
GroupBy = Literal["none", "technician", "contract", "customer", "site", "unit"]


@dataclass(frozen=True)
class Visit:
    technician_id: uuid.UUID
    booked_at: datetime
    promised_eta: datetime | None = None
    on_site_at: datetime | None = None
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class JobRecord:
    request_id: uuid.UUID
    created_at: datetime
    customer_id: uuid.UUID
    site_id: uuid.UUID
    kind: str = "routine"
    equipment_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None
    response_due: datetime | None = None
    fix_due: datetime | None = None
    cancelled_at: datetime | None = None
    follow_up_of: uuid.UUID | None = None
    visits: tuple[Visit, ...] = ()
    csat: int | None = None
    nps: int | None = None

    @property
    def first_arrival(self) -> Visit | None:
        arrived = [v for v in self.visits if v.on_site_at is not None]
        return min(arrived, key=lambda v: v.on_site_at or v.booked_at) if arrived else None

    @property
    def completing_visit(self) -> Visit | None:
        done = [v for v in self.visits if v.completed_at is not None and not v.cancelled]
        return min(done, key=lambda v: v.completed_at or v.booked_at) if done else None

    @property
    def completed_at(self) -> datetime | None:
        visit = self.completing_visit
        return visit.completed_at if visit else None

    @property
    def technician_id(self) -> uuid.UUID | None:
        """Credited technician: who completed it, else who last went on site, else the last one booked."""
        visit = self.completing_visit
        if visit is None:
            arrived = [v for v in self.visits if v.on_site_at is not None]
            candidates = arrived or [v for v in self.visits if not v.cancelled]
            visit = max(candidates, key=lambda v: v.booked_at) if candidates else None
        return visit.technician_id if visit else None


@dataclass(frozen=True)
class Ratio:
    """`hits` out of `count`; the rate is undefined when nothing counted."""

    count: int = 0
    hits: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.hits / self.count, 4) if self.count else None


@dataclass(frozen=True)
class KpiRow:
    period_start: date | None
    group_by: GroupBy
    key: uuid.UUID | None
    requests: int
    response_sla: Ratio
    fix_sla: Ratio
    on_time_arrival: Ratio
    first_time_fix: Ratio
    repeat_visits: Ratio
    mean_response_minutes: float | None
    csat_count: int
    csat_mean: float | None
    nps_count: int
    nps: float | None
    emergency_response_median_minutes: float | None = None
    emergency_response_p90_minutes: float | None = None
    eta_late_median_minutes: float | None = None
    eta_late_p90_minutes: float | None = None


@dataclass(frozen=True)
class KpiPolicy:
    on_time_tolerance: timedelta = timedelta(minutes=15)
    repeat_window: timedelta = timedelta(days=30)
    timezone: ZoneInfo = UTC_ZONE  # where the days (weeks, months) the figures are cut into begin


def period_start(moment: datetime, bucket: Bucket, timezone: ZoneInfo) -> date | None:
    day = moment.astimezone(timezone).date()
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return None


def group_key(job: JobRecord, group_by: GroupBy) -> uuid.UUID | None:
    if group_by == "technician":
        return job.technician_id
    if group_by == "contract":
        return job.contract_id
    if group_by == "customer":
        return job.customer_id
    if group_by == "site":
        return job.site_id
    if group_by == "unit":
        return job.equipment_id
    return None


def response_sla(job: JobRecord, as_of: datetime) -> bool | None:
    """True/False when the request counts for response SLA compliance, None when it does not (yet)."""
    if job.response_due is None:
        return None
    arrival = job.first_arrival
    if arrival is not None and arrival.on_site_at is not None:
        return arrival.on_site_at <= job.response_due
    if job.cancelled_at is not None or job.response_due > as_of:
        return None
    return False


def fix_sla(job: JobRecord, as_of: datetime) -> bool | None:
    if job.fix_due is None:
        return None
    completed_at = job.completed_at
    if completed_at is not None:
        return completed_at <= job.fix_due
    if job.cancelled_at is not None or job.fix_due > as_of:
        return None
    return False


def on_time_arrival(job: JobRecord, tolerance: timedelta) -> bool | None:
    arrival = job.first_arrival
    if arrival is None or arrival.on_site_at is None or arrival.promised_eta is None:
        return None
    return arrival.on_site_at <= arrival.promised_eta + tolerance


def first_time_fix(job: JobRecord) -> bool | None:
    if job.follow_up_of is not None:
        return None
    failed = any(v.failed_at is not None for v in job.visits)
    completing = job.completing_visit
    if completing is None and not failed:
        return None  # no outcome yet
    return completing is not None and not failed and completing is job.first_arrival


def response_minutes(job: JobRecord) -> float | None:
    if job.follow_up_of is not None or job.kind == "planned":
        return None
    arrival = job.first_arrival
    if arrival is None or arrival.on_site_at is None:
        return None
    return (arrival.on_site_at - job.created_at).total_seconds() / 60


def emergency_response_minutes(job: JobRecord) -> float | None:
    return response_minutes(job) if job.kind == "emergency" else None


def eta_late_minutes(job: JobRecord) -> float | None:
    """How late the first arrival came against the ETA promised when that visit was booked (early: 0)."""
    arrival = job.first_arrival
    if arrival is None or arrival.on_site_at is None or arrival.promised_eta is None:
        return None
    return max(0.0, (arrival.on_site_at - arrival.promised_eta).total_seconds() / 60)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks, as PostgreSQL's percentile_cont; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def repeat_visit(
    job: JobRecord, later_requests_by_unit: dict[uuid.UUID, list[datetime]], window: timedelta
) -> bool | None:
    """Did the unit need another request within `window` after this job was completed?"""
    completed_at = job.completed_at
    if job.equipment_id is None or completed_at is None:
        return None
    return any(
        completed_at < filed <= completed_at + window for filed in later_requests_by_unit.get(job.equipment_id, ())
    )


def nps_score(answers: list[int]) -> float | None:
    return nps_of(len(answers), sum(1 for a in answers if a >= 9), sum(1 for a in answers if a <= 6))


def nps_of(answers: int, promoters: int, detractors: int) -> float | None:
    """% promoters (9-10) minus % detractors (0-6), from the counts."""
    return round(100 * (promoters - detractors) / answers, 1) if answers else None


def csat_mean(answers: list[int]) -> float | None:
    return mean_of(sum(answers), len(answers), 2)


def mean_of(total: float, count: int, digits: int) -> float | None:
    return round(total / count, digits) if count else None


@dataclass(frozen=True)
class KpiTally:
    """The sums one (period, group) adds up to; whether added here or in SQL, `kpi_row` turns them into figures."""

    period_start: date | None
    key: uuid.UUID | None
    requests: int
    response_sla: Ratio
    fix_sla: Ratio
    on_time_arrival: Ratio
    first_time_fix: Ratio
    repeat_visits: Ratio
    response_count: int
    response_minutes_total: float
    csat_count: int
    csat_total: int
    nps_count: int
    nps_promoters: int
    nps_detractors: int
    # percentiles do not add up: each side computes them over the group's requests
    emergency_response_p50: float | None = None
    emergency_response_p90: float | None = None
    eta_late_p50: float | None = None
    eta_late_p90: float | None = None


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def kpi_row(tally: KpiTally, group_by: GroupBy) -> KpiRow:
    return KpiRow(
        period_start=tally.period_start,
        group_by=group_by,
        key=tally.key,
        requests=tally.requests,
        response_sla=tally.response_sla,
        fix_sla=tally.fix_sla,
        on_time_arrival=tally.on_time_arrival,
        first_time_fix=tally.first_time_fix,
        repeat_visits=tally.repeat_visits,
        mean_response_minutes=mean_of(tally.response_minutes_total, tally.response_count, 2),
        csat_count=tally.csat_count,
        csat_mean=mean_of(tally.csat_total, tally.csat_count, 2),
        nps_count=tally.nps_count,
        nps=nps_of(tally.nps_count, tally.nps_promoters, tally.nps_detractors),
        emergency_response_median_minutes=_minutes(tally.emergency_response_p50),
        emergency_response_p90_minutes=_minutes(tally.emergency_response_p90),
        eta_late_median_minutes=_minutes(tally.eta_late_p50),
        eta_late_p90_minutes=_minutes(tally.eta_late_p90),
    )


def kpi_rows(tallies: Iterable[KpiTally], group_by: GroupBy) -> list[KpiRow]:
    """The rows in report order: by period, then by key (no key sorts as the text "None")."""
    rows = [kpi_row(tally, group_by) for tally in tallies]
    return sorted(rows, key=lambda r: (r.period_start or date.min, str(r.key)))


def compute_kpis(
    jobs: Iterable[JobRecord],
    *,
    period_from: datetime,
    period_to: datetime,
    as_of: datetime,
    bucket: Bucket = "all",
    group_by: GroupBy = "none",
    policy: KpiPolicy = KpiPolicy(),
    kind: RequestKind | None = None,
) -> list[KpiRow]:
    """One row per (period, group) for the requests filed in [period_from, period_to) (of `kind` alone if given:
    the later requests that make a repeat visit are of any kind).

    `jobs` may include requests filed up to `policy.repeat_window` after `period_to`: they only serve
    to detect repeat visits. This is the executable definition of every figure; the service computes
    the same tallies in SQL (`KpiRepository.kpi_tallies`), and tests hold the two to each other.
    """
    all_jobs = list(jobs)
    requests_by_unit: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for job in all_jobs:
        if job.equipment_id is not None:
            requests_by_unit[job.equipment_id].append(job.created_at)
    groups: dict[tuple[date | None, uuid.UUID | None], list[JobRecord]] = defaultdict(list)
    for job in all_jobs:
        if period_from <= job.created_at < period_to and kind in (None, job.kind):
            groups[(period_start(job.created_at, bucket, policy.timezone), group_key(job, group_by))].append(job)

    def ratio(outcomes: Iterable[bool | None]) -> Ratio:
        counted = [o for o in outcomes if o is not None]
        return Ratio(count=len(counted), hits=sum(counted))

    tallies = []
    for (start, key), members in groups.items():
        minutes = [m for m in (response_minutes(j) for j in members) if m is not None]
        csats = [j.csat for j in members if j.csat is not None]
        npss = [j.nps for j in members if j.nps is not None]
        emergency = [m for m in (emergency_response_minutes(j) for j in members) if m is not None]
        late = [m for m in (eta_late_minutes(j) for j in members) if m is not None]
        tallies.append(
            KpiTally(
                period_start=start,
                key=key,
                requests=len(members),
                response_sla=ratio(response_sla(j, as_of) for j in members),
                fix_sla=ratio(fix_sla(j, as_of) for j in members),
                on_time_arrival=ratio(on_time_arrival(j, policy.on_time_tolerance) for j in members),
                first_time_fix=ratio(first_time_fix(j) for j in members),
                repeat_visits=ratio(repeat_visit(j, requests_by_unit, policy.repeat_window) for j in members),
                response_count=len(minutes),
                response_minutes_total=sum(minutes),
                csat_count=len(csats),
                csat_total=sum(csats),
                nps_count=len(npss),
                nps_promoters=sum(1 for n in npss if n >= 9),
                nps_detractors=sum(1 for n in npss if n <= 6),
                emergency_response_p50=percentile(emergency, 0.5),
                emergency_response_p90=percentile(emergency, 0.9),
                eta_late_p50=percentile(late, 0.5),
                eta_late_p90=percentile(late, 0.9),
            )
        )
    return kpi_rows(tallies, group_by)
