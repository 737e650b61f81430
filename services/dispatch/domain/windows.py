"""When work may start: a customer's preferred windows, or a planned visit's due window cut to the site's access
hours. A job keeps them as a list (several windows are "this one or that one", never the span between them);
`None` means any time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.dispatch.domain.records import JobRecord

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # indexed by date.weekday(), as contracts' events
# an open side of a window (a job with only an end, or only a start)
EVER_BEFORE = datetime.min.replace(tzinfo=UTC)
EVER_AFTER = datetime.max.replace(tzinfo=UTC)
# the site's access hours as contracts send them: {"mon": [["08:00", "20:00"]], ...}; weekdays left out are closed
AccessHours = Mapping[str, Sequence[Sequence[str]]]


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """Service may start at any instant in [start, end]."""

    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


def merged(windows: Iterable[Window]) -> tuple[Window, ...]:
    """The windows by start, overlapping or touching ones joined, empty ones (end before start) left out."""
    out: list[Window] = []
    for w in sorted(w for w in windows if w.start <= w.end):
        if out and w.start <= out[-1].end:
            out[-1] = Window(out[-1].start, max(out[-1].end, w.end))
        else:
            out.append(w)
    return tuple(out)


def intersected(windows: Sequence[Window], others: Sequence[Window]) -> tuple[Window, ...]:
    """The instants in one of `windows` and in one of `others`."""
    return merged(Window(max(a.start, b.start), min(a.end, b.end)) for a in windows for b in others)


def access_windows(hours: AccessHours, tz: ZoneInfo, start: datetime, end: datetime) -> tuple[Window, ...]:
    """The site's open stretches (local wall time in `tz`) that meet [start, end], as instants; a stretch ending
    at or before its start runs past midnight (equal: a full 24 h), as contracts' business hours do."""
    first = start.astimezone(tz).date() - timedelta(days=1)  # last night's stretch may still run
    last = end.astimezone(tz).date()
    stretches = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        for opens, closes in hours.get(WEEKDAYS[day.weekday()], ()):
            a, b = time.fromisoformat(opens), time.fromisoformat(closes)
            stretches.append(Window(_instant(day, a, tz), _instant(day + timedelta(days=1 if b <= a else 0), b, tz)))
    return intersected(merged(stretches), (Window(start, end),))


def _instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def visit_windows(
    window_start: datetime, window_end: datetime, hours: AccessHours | None, tz: ZoneInfo
) -> tuple[Window, ...] | None:
    """A planned visit's windows: its due window within the site's access hours (None: no access hours given, the
    due window alone holds)."""
    if hours is None:
        return None
    return access_windows(hours, tz, window_start, window_end)


def job_windows(
    stored: Sequence[Sequence[str]] | None, window_start: datetime | None, window_end: datetime | None
) -> tuple[Window, ...] | None:
    """A job's windows from its row: the stored list, else (rows written before the list was kept, work with one
    window) its one window, open on a side it does not name; None when it names neither: any time."""
    if stored is not None:
        return tuple(Window(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in stored)
    if window_start is None and window_end is None:
        return None
    return (Window(window_start or EVER_BEFORE, window_end or EVER_AFTER),)


def kept_windows(job: JobRecord) -> tuple[Window, ...] | None:
    """The windows a booking of `job` must start in (None: any time). An emergency has none (its window_end is its
    response deadline); nor has routine work the customer gave no window for (its window_end is the deadline too);
    a planned visit keeps its due window (within the site's access hours, when the site has them)."""
    if job.kind == "emergency":
        return None
    if job.windows is None and job.kind != "planned" and job.window_start is None:
        return None
    return job_windows(job.windows, job.window_start, job.window_end)


def booked_window(job: JobRecord, start: datetime) -> tuple[datetime | None, datetime | None]:
    """The window a booking of `job` starting at `start` falls in (what the technician goes by); the job's span
    when it keeps no list of windows or none holds the start."""
    window = window_at(kept_windows(job), start) if job.windows is not None else None
    return (window.start, window.end) if window is not None else (job.window_start, job.window_end)


def windows_json(windows: Sequence[Window] | None) -> list[list[str]] | None:
    """The list as the jobs row keeps it: [[start, end], ...] in ISO 8601 (UTC)."""
    if windows is None:
        return None
    return [[w.start.astimezone(UTC).isoformat(), w.end.astimezone(UTC).isoformat()] for w in windows]


def hull(windows: Sequence[Window]) -> tuple[datetime | None, datetime | None]:
    """From the earliest opening to the latest closing (None, None without windows): what the row's
    window_start/window_end keep, so queries by span still find the job."""
    if not windows:
        return None, None
    return min(w.start for w in windows), max(w.end for w in windows)


def window_at(windows: Sequence[Window] | None, moment: datetime) -> Window | None:
    """The window `moment` falls in (None without windows: any time is good, and none holds it either)."""
    return next((w for w in windows or () if w.holds(moment)), None)


def earliest_start(windows: Sequence[Window] | None, ready: datetime) -> datetime | None:
    """The first instant from `ready` on inside a window (`ready` itself without windows); None: all closed by
    then."""
    if windows is None:
        return ready
    return min((max(ready, w.start) for w in windows if w.end >= ready), default=None)


def describe(windows: Sequence[Window], tz: ZoneInfo) -> str:
    """ "Mon 04.03 07:00-07:30, Tue 05.03 16:00-16:30" in local time (what a dispatcher reads in a refusal)."""

    def at(moment: datetime, with_day: bool) -> str:
        return describe_moment(moment, tz) if with_day else f"{moment.astimezone(tz):%H:%M}"

    def one(w: Window) -> str:
        if w.start == EVER_BEFORE:
            return f"until {at(w.end, True)}"
        if w.end == EVER_AFTER:
            return f"from {at(w.start, True)}"
        same_day = w.start.astimezone(tz).date() == w.end.astimezone(tz).date()
        return f"{at(w.start, True)}-{at(w.end, not same_day)}"

    return ", ".join(one(w) for w in windows) if windows else "no time at all"


def describe_moment(moment: datetime, tz: ZoneInfo) -> str:
    """ "Mon 04.03 07:00" in local time."""
    local = moment.astimezone(tz)
    return f"{WEEKDAYS[local.weekday()].capitalize()} {local:%d.%m %H:%M}"
