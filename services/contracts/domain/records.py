"""Spreadsheet rows of customers, sites and equipment, checked one by one before anything is stored."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, time

from services.contracts.domain.calendar import WEEKDAYS
from services.contracts.domain.sla import CRITICALITIES, DEFAULT_CRITICALITY

IMPORT_KINDS = ("customers", "sites", "equipment")
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("external_ref", "name"),
    "sites": ("external_ref", "customer_ref", "name", "address", "lat", "lon"),
    "equipment": ("site_ref", "equipment_type", "model", "serial"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": (),
    "sites": ("access_hours", "contact_name", "contact_phone"),
    "equipment": ("installed_on", "warranty_ends_on", "skills", "criticality"),
}
_MAX_TEXT = 500
_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class RowProblem(ValueError):
    """One thing wrong with a row, naming the column."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class CustomerRecord:
    external_ref: str
    name: str


@dataclass(frozen=True)
class SiteRecord:
    external_ref: str
    customer_ref: str
    name: str
    address: str
    lat: float
    lon: float
    access_hours: dict[str, list[tuple[time, time]]] | None
    contact_name: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True)
class EquipmentRecord:
    site_ref: str
    equipment_type: str
    model: str
    serial: str
    installed_on: date | None
    warranty_ends_on: date | None
    skills: tuple[tuple[str, int], ...]
    criticality: str = DEFAULT_CRITICALITY


def header_problem(kind: str, header: list[str]) -> str | None:
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in header]
    if missing:
        return f"missing column(s): {', '.join(missing)}"
    known = set(REQUIRED_COLUMNS[kind]) | set(OPTIONAL_COLUMNS[kind])
    unknown = [c for c in header if c not in known]
    if unknown:
        return f"unknown column(s): {', '.join(unknown)}"
    return None


def _text(row: dict[str, str], column: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise RowProblem(column, "is required")
    if len(value) > _MAX_TEXT:
        raise RowProblem(column, f"is longer than {_MAX_TEXT} characters")
    return value


def _optional_text(row: dict[str, str], column: str) -> str | None:
    return _text(row, column) if (row.get(column) or "").strip() else None


def _number(row: dict[str, str], column: str, low: float, high: float) -> float:
    raw = _text(row, column)
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise RowProblem(column, f"{raw!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise RowProblem(column, f"must be between {low:g} and {high:g}")
    return value


def _date(row: dict[str, str], column: str) -> date | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RowProblem(column, f"{raw!r} is not a date (YYYY-MM-DD)") from None


def _weekday_span(text: str) -> list[str]:
    days: list[str] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"unknown weekday in {part.strip()!r}")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            raise ValueError(f"{part.strip()!r} runs backwards")
        days.extend(WEEKDAYS[start : end + 1])
    return days


def parse_weekly_hours(text: str) -> dict[str, list[tuple[time, time]]]:
    """`mon-fri 08:00-20:00; sat 10:00-14:00,15:00-18:00` as {weekday: [(start, end), ...]}."""
    hours: dict[str, list[tuple[time, time]]] = {}
    for segment in filter(None, (s.strip() for s in text.lower().split(";"))):
        days, _, ranges = segment.partition(" ")
        if not ranges.strip():
            raise ValueError(f"{segment!r} needs weekdays and hours, like 'mon-fri 09:00-18:00'")
        for day in _weekday_span(days):
            for stretch in ranges.replace(" ", "").split(","):
                match = _TIME_RANGE.match(stretch)
                if match is None:
                    raise ValueError(f"{stretch!r} is not HH:MM-HH:MM")
                h1, m1, h2, m2 = (int(g) for g in match.groups())
                if h2 == 24 and m2 == 0:
                    h2 = 0  # 24:00 is midnight at the end of the day
                if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
                    raise ValueError(f"{stretch!r} is not a time of day")
                hours.setdefault(day, []).append((time(h1, m1), time(h2, m2)))
    return hours


def parse_skills(text: str) -> tuple[tuple[str, int], ...]:
    """`refrigeration:2;electrical` as ((skill, level), ...); the level defaults to 1."""
    skills: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, level = part.partition(":")
        name = name.strip().lower()
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"{name!r} is not a skill name")
        try:
            value = int(level) if level.strip() else 1
        except ValueError:
            raise ValueError(f"level {level!r} is not a number") from None
        if not 1 <= value <= 5:
            raise ValueError(f"level of {name} must be between 1 and 5")
        skills[name] = value
    return tuple(sorted(skills.items()))


def parse_customer(row: dict[str, str]) -> CustomerRecord:
    return CustomerRecord(external_ref=_text(row, "external_ref"), name=_text(row, "name"))


def parse_site(row: dict[str, str]) -> SiteRecord:
    raw_hours = (row.get("access_hours") or "").strip()
    try:
        access_hours = parse_weekly_hours(raw_hours) if raw_hours else None
    except ValueError as exc:
        raise RowProblem("access_hours", str(exc)) from None
    return SiteRecord(
        external_ref=_text(row, "external_ref"),
        customer_ref=_text(row, "customer_ref"),
        name=_text(row, "name"),
        address=_text(row, "address"),
        lat=_number(row, "lat", -90, 90),
        lon=_number(row, "lon", -180, 180),
        access_hours=access_hours,
        contact_name=_optional_text(row, "contact_name"),
        contact_phone=_optional_text(row, "contact_phone"),
    )


def parse_equipment(row: dict[str, str]) -> EquipmentRecord:
    try:
        skills = parse_skills(row.get("skills") or "")
    except ValueError as exc:
        raise RowProblem("skills", str(exc)) from None
    installed_on = _date(row, "installed_on")
    warranty_ends_on = _date(row, "warranty_ends_on")
    if installed_on and warranty_ends_on and warranty_ends_on < installed_on:
        raise RowProblem("warranty_ends_on", "is before installed_on")
    criticality = (row.get("criticality") or "").strip().lower() or DEFAULT_CRITICALITY
    if criticality not in CRITICALITIES:
        raise RowProblem("criticality", f"must be one of {', '.join(CRITICALITIES)}")
    return EquipmentRecord(
        site_ref=_text(row, "site_ref"),
        equipment_type=_text(row, "equipment_type"),
        model=_text(row, "model"),
        serial=_text(row, "serial"),
        installed_on=installed_on,
        warranty_ends_on=warranty_ends_on,
        skills=skills,
        criticality=criticality,
    )


def format_weekly_hours(hours: dict[str, list[list[str]]] | None) -> str:
    """Stored weekly hours in the import's words (`mon 08:00-20:00; sat 10:00-14:00,15:00-18:00`)."""
    if not hours:
        return ""
    return "; ".join(
        f"{day} {','.join(f'{start[:5]}-{end[:5]}' for start, end in hours[day])}" for day in WEEKDAYS if hours.get(day)
    )


def format_skills(skills: tuple[tuple[str, int], ...]) -> str:
    """Skill needs in the import's words (`electrical:1;refrigeration:2`)."""
    return ";".join(f"{name}:{level}" for name, level in skills)
