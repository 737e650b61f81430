"""A refrigeration service company across Crimea, generated from a seed: pure data, no I/O.

About 40 customers (supermarket chains, shops, restaurants, distributors), about 300 sites at real town
locations spread by population, equipment on every site, full-maintenance contracts with SLA terms per
priority, business hours, holidays, quotas and monthly/quarterly schedules per unit, four territories,
and about 25 technicians living in the towns with skills, levels, weekly shifts and a lunch break.
Every object carries a natural key (an ``external_ref``, a serial or a name) so a seeder can find what
already exists before creating it. The same seed always gives the same company.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, time

__all__ = [
    "CONTRACT_DESK_EMAIL",
    "DISPATCH_DESK_EMAIL",
    "TOWNS",
    "Company",
    "ContractSpec",
    "CustomerSpec",
    "EquipmentSpec",
    "ScheduleSpec",
    "ShiftSpec",
    "SiteSpec",
    "SlaSpec",
    "TechnicianSpec",
    "TerritorySpec",
    "Town",
    "customer_email",
    "generate_company",
    "technician_email",
]

KM_PER_DEGREE_LAT = 111.0


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    lat: float
    lon: float
    population: int  # thousands, rounded
    spread_km: float  # how far sites scatter around the centre
    territory: str


# Real town centres; populations (thousands) rounded from the 2014 census.
TOWNS: tuple[Town, ...] = (
    Town("Simferopol", 44.9521, 34.1024, 340, 5.0, "Central"),
    Town("Sevastopol", 44.6166, 33.5254, 380, 6.0, "West"),
    Town("Kerch", 45.3571, 36.4681, 150, 4.0, "East"),
    Town("Yevpatoria", 45.1904, 33.3669, 105, 3.5, "West"),
    Town("Yalta", 44.4952, 34.1663, 77, 3.0, "South coast"),
    Town("Feodosia", 45.0319, 35.3824, 68, 3.0, "East"),
    Town("Dzhankoy", 45.7086, 34.3933, 39, 2.0, "Central"),
    Town("Alushta", 44.6764, 34.4100, 29, 2.0, "South coast"),
    Town("Krasnoperekopsk", 45.9550, 33.7950, 26, 1.5, "Central"),
    Town("Saky", 45.1336, 33.5772, 24, 1.5, "West"),
    Town("Armyansk", 46.1094, 33.6925, 22, 1.5, "Central"),
    Town("Bakhchysarai", 44.7514, 33.8600, 27, 1.5, "West"),
    Town("Bilohirsk", 45.0547, 34.6022, 16, 1.2, "Central"),
    Town("Staryi Krym", 45.0290, 35.0890, 9, 1.0, "East"),
    Town("Sudak", 44.8500, 34.9750, 16, 1.5, "East"),
    Town("Shchelkino", 45.4286, 35.8250, 10, 1.0, "East"),
)

# Rough rectangles (lon, lat) around each territory's towns: enough for "which region is this site in".
TERRITORY_BOXES: dict[str, tuple[float, float, float, float]] = {
    "West": (32.4, 44.35, 33.75, 45.65),
    "Central": (33.75, 44.8, 34.85, 46.3),
    "South coast": (33.75, 44.35, 34.85, 44.8),
    "East": (34.85, 44.7, 36.7, 45.65),
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STREETS = (
    "Kievskaya",
    "Lenina",
    "Pushkina",
    "Gagarina",
    "Sovetskaya",
    "Naberezhnaya",
    "Shevchenko",
    "Franko",
    "Karla Marksa",
    "Kirova",
    "Moskovskaya",
    "Vokzalnaya",
    "Rabochaya",
    "Mira",
    "Chekhova",
)


@dataclass(frozen=True, slots=True)
class Segment:
    kind: str
    names: tuple[str, ...]
    sites: tuple[int, int]  # min, max sites per customer
    units: tuple[tuple[str, float], ...]  # equipment type -> expected count per site
    hours: tuple[time, time]  # opening hours every day
    monthly: float  # share of units on a monthly (not quarterly) schedule


SEGMENTS: tuple[tuple[Segment, int], ...] = (
    (
        Segment(
            "supermarket chain",
            ("Krym Fresh Markets", "Yarmarka", "PUD", "Morskoy Market", "Tavria-V", "Solnechny", "Narodny"),
            (12, 28),
            (("display_case", 2.0), ("cold_room", 1.0), ("condensing_unit", 0.7), ("ice_machine", 0.3)),
            (time(7, 0), time(23, 0)),
            0.6,
        ),
        7,
    ),
    (
        Segment(
            "shop",
            ("Produkty", "Gastronom", "Minimarket", "Lavka", "Kulinaria", "Dom Syra", "Myasnoy Dvor", "Ryba"),
            (1, 4),
            (("display_case", 1.8), ("cold_room", 0.4), ("condensing_unit", 0.4)),
            (time(8, 0), time(21, 0)),
            0.3,
        ),
        15,
    ),
    (
        Segment(
            "restaurant",
            ("Cafe", "Restoran", "Pizzeria", "Stolovaya", "Chebureknaya", "Bar", "Kofeynya", "Shashlychnaya"),
            (1, 5),
            (("cold_room", 0.8), ("ice_machine", 0.9), ("display_case", 0.6), ("condensing_unit", 0.4)),
            (time(10, 0), time(23, 0)),
            0.4,
        ),
        12,
    ),
    (
        Segment(
            "distributor",
            ("Krymsky Kholod", "Yuzhnaya Logistika", "Tavrida Food", "Moreprodukty Kryma", "Agro-Sklad", "Frost"),
            (2, 6),
            (("cold_room", 2.0), ("condensing_unit", 1.2)),
            (time(6, 0), time(20, 0)),
            0.9,
        ),
        6,
    ),
)

MAKES: dict[str, tuple[str, ...]] = {
    "display_case": (
        "Arneg Bergen 2500",
        "Carrier Optimer 1875",
        "Ariada Rimini 1.25",
        "Polair ShV-0.7",
        "Bonnet Neve",
    ),
    "cold_room": ("Polair KXN-8.8", "Ariada KXN-11", "Intercold KXN-6", "Celsior 2400"),
    "ice_machine": ("Scotsman AC 86", "Brema CB 425", "Hoshizaki IM-45", "Ice-O-Matic ICEU 150"),
    "condensing_unit": ("Bitzer LH64E", "Danfoss Optyma Plus", "Tecumseh Silensys", "Copeland ZX"),
}
# skills a unit needs and how long its maintenance takes (minutes)
UNIT_SERVICE: dict[str, tuple[tuple[tuple[str, int], ...], int]] = {
    "display_case": ((("refrigeration", 1),), 45),
    "cold_room": ((("refrigeration", 2),), 60),
    "ice_machine": ((("refrigeration", 1), ("electrical", 1)), 45),
    "condensing_unit": ((("refrigeration", 2), ("gas", 1)), 75),
}
CRITICALITY: dict[str, tuple[tuple[str, float], ...]] = {
    "display_case": (("normal", 0.7), ("high", 0.2), ("low", 0.1)),
    "cold_room": (("critical", 0.4), ("high", 0.5), ("normal", 0.1)),
    "ice_machine": (("normal", 0.6), ("low", 0.4)),
    "condensing_unit": (("critical", 0.5), ("high", 0.4), ("normal", 0.1)),
}

FIRST_NAMES = (
    "Aleksandr",
    "Sergey",
    "Dmitry",
    "Andrey",
    "Aleksey",
    "Maksim",
    "Ivan",
    "Oleg",
    "Yury",
    "Viktor",
    "Artem",
    "Roman",
    "Nikolay",
    "Pavel",
    "Anna",
    "Elena",
    "Rustem",
    "Enver",
    "Denis",
    "Igor",
)
LAST_NAMES = (
    "Koval",
    "Petrov",
    "Volkov",
    "Sidorov",
    "Bondarenko",
    "Kravchenko",
    "Melnik",
    "Shevchuk",
    "Tkachenko",
    "Umerov",
    "Ablaev",
    "Morozov",
    "Lebedev",
    "Kozlov",
    "Novikov",
    "Popov",
    "Sokolov",
    "Pavlenko",
    "Zaitsev",
    "Gorbunov",
)

# Russian public holidays of the contract period (the SLA clock stops on them for weekly calendars).
HOLIDAYS: tuple[date, ...] = tuple(
    date(y, m, d)
    for y in (2026, 2027)
    for m, d in ((1, 1), (1, 2), (1, 7), (2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4))
)


@dataclass(frozen=True, slots=True)
class TerritorySpec:
    name: str
    box: tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

    def geojson(self) -> dict[str, object]:
        x0, y0, x1, y1 = self.box
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@dataclass(frozen=True, slots=True)
class CustomerSpec:
    ref: str  # the natural key (customer external_ref)
    name: str
    segment: str
    opening: tuple[time, time]


@dataclass(frozen=True, slots=True)
class SiteSpec:
    ref: str  # external_ref, unique across the company
    customer_ref: str
    name: str
    address: str
    town: str
    lat: float
    lon: float
    opening: tuple[time, time]  # access hours every day
    contact_name: str
    contact_phone: str


@dataclass(frozen=True, slots=True)
class EquipmentSpec:
    serial: str  # natural key
    site_ref: str
    equipment_type: str
    model: str
    installed_on: date
    warranty_ends_on: date
    required_skills: tuple[tuple[str, int], ...]
    criticality: str
    service_minutes: int


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    site_ref: str
    serial: str  # the unit serviced
    rrule: str
    first_on: date
    visit_time: time
    tolerance_days: int
    duration_minutes: int
    required_skills: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class SlaSpec:
    priority: str
    response_minutes: int
    fix_minutes: int
    required_skills: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ContractSpec:
    customer_ref: str
    contract_type: str
    starts_on: date
    ends_on: date
    sla: tuple[SlaSpec, ...]
    business_hours: tuple[time, time] | None  # every day, or None for 24/7
    holidays: tuple[date, ...]
    emergency_quota_per_year: int
    monthly_price: int  # RUB
    schedules: tuple[ScheduleSpec, ...]


@dataclass(frozen=True, slots=True)
class ShiftSpec:
    start: time
    end: time
    break_minutes: int = 45
    break_earliest: time = time(12, 0)
    break_latest: time = time(14, 0)


@dataclass(frozen=True, slots=True)
class TechnicianSpec:
    name: str  # natural key
    first_name: str
    town: str
    lat: float
    lon: float
    skills: dict[str, int]
    territory: str
    weekly_shifts: dict[str, ShiftSpec] = field(default_factory=dict)
    phone: str = ""


# Addresses under example domains (RFC 2606): the day's e-mail never leaves the machine's mail catcher.
DISPATCH_DESK_EMAIL = "dispatch@fieldline.example"
CONTRACT_DESK_EMAIL = "contracts@fieldline.example"


def _mailbox_name(name: str) -> str:
    return ".".join("".join(ch for ch in word.lower() if ch.isalnum()) for word in name.split()) or "contact"


def customer_email(customer: CustomerSpec) -> str:
    return f"service.{customer.ref.lower()}@customers.example"


def technician_email(technician: TechnicianSpec) -> str:
    return f"{_mailbox_name(technician.name)}@fieldline.example"


@dataclass(frozen=True, slots=True)
class Company:
    seed: int
    territories: tuple[TerritorySpec, ...]
    customers: tuple[CustomerSpec, ...]
    sites: tuple[SiteSpec, ...]
    equipment: tuple[EquipmentSpec, ...]
    contracts: tuple[ContractSpec, ...]
    technicians: tuple[TechnicianSpec, ...]

    def town(self, name: str) -> Town:
        return next(t for t in TOWNS if t.name == name)


def _scatter(town: Town, rng: random.Random) -> tuple[float, float]:
    dlat = rng.gauss(0.0, town.spread_km / 2) / KM_PER_DEGREE_LAT
    dlon = rng.gauss(0.0, town.spread_km / 2) / (KM_PER_DEGREE_LAT * math.cos(math.radians(town.lat)))
    return round(town.lat + dlat, 5), round(town.lon + dlon, 5)


def _pick_town(rng: random.Random, towns: tuple[Town, ...] = TOWNS) -> Town:
    return rng.choices(towns, weights=[t.population for t in towns])[0]


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _count(rng: random.Random, expected: float) -> int:
    """A small count with the given mean: the whole part plus one with the fractional chance."""
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def _technician_towns(sites: list[SiteSpec], technicians: int) -> list[Town]:
    """Home towns in proportion to the work around them (largest remainder over the eight larger towns)."""
    homes = TOWNS[:8]
    near = {t.name: 0 for t in homes}
    for site in sites:
        here = next(t for t in TOWNS if t.name == site.town)
        closest = min(homes, key=lambda h: (h.lat - here.lat) ** 2 + ((h.lon - here.lon) * 0.7) ** 2)
        near[closest.name] += 1
    total = sum(near.values()) or 1
    quotas = {name: technicians * n / total for name, n in near.items()}
    counts = {name: int(q) for name, q in quotas.items()}
    for name in sorted(quotas, key=lambda n: quotas[n] - counts[n], reverse=True)[: technicians - sum(counts.values())]:
        counts[name] += 1
    return [t for t in homes for _ in range(counts[t.name])]


def _sla_terms(segment: str) -> tuple[SlaSpec, ...]:
    refrigeration = (("refrigeration", 2),)
    if segment in ("supermarket chain", "distributor"):
        return (
            SlaSpec("P1", 180, 480, refrigeration),
            SlaSpec("P2", 360, 1440, refrigeration),
            SlaSpec("P3", 1440, 2880),
            SlaSpec("P4", 2880, 7200),
        )
    return (
        SlaSpec("P1", 240, 720, refrigeration),
        SlaSpec("P2", 480, 1440, refrigeration),
        SlaSpec("P3", 1440, 4320),
        SlaSpec("P4", 4320, 10080),
    )


def generate_company(
    seed: int = 1,
    customers: int = 40,
    sites: int = 300,
    technicians: int = 25,
    contract_start: date = date(2026, 1, 1),
) -> Company:
    """The company for ``seed``: ``customers`` customers sharing about ``sites`` sites, ``technicians`` staff."""
    rng = random.Random(seed)
    segment_mix = [s for s, n in SEGMENTS for _ in range(n)]
    rng.shuffle(segment_mix)
    customer_specs: list[CustomerSpec] = []
    used_names: set[str] = set()
    for i in range(customers):
        segment = segment_mix[i % len(segment_mix)] if i < len(segment_mix) else rng.choice(segment_mix)
        base = rng.choice(segment.names)
        home = _pick_town(rng)
        name = base if segment.kind in ("supermarket chain", "distributor") else f"{base} {home.name}"
        while name in used_names:
            name = f"{name} {rng.randint(2, 99)}"
        used_names.add(name)
        customer_specs.append(CustomerSpec(f"CUS-{seed}-{i + 1:03d}", name, segment.kind, segment.hours))
    by_kind = {s.kind: s for s, _ in SEGMENTS}

    # Each customer gets its segment's minimum; the rest of the sites go by the segment's weight.
    per_customer = [by_kind[c.segment].sites[0] for c in customer_specs]
    capacity = [by_kind[c.segment].sites[1] - by_kind[c.segment].sites[0] for c in customer_specs]
    while sum(per_customer) < sites and any(capacity):
        i = rng.choices(range(len(customer_specs)), weights=capacity)[0]
        per_customer[i] += 1
        capacity[i] -= 1

    site_specs: list[SiteSpec] = []
    equipment_specs: list[EquipmentSpec] = []
    contract_specs: list[ContractSpec] = []
    serial_no = 0
    for customer, count in zip(customer_specs, per_customer, strict=True):
        segment = by_kind[customer.segment]
        schedules: list[ScheduleSpec] = []
        for s in range(count):
            town = _pick_town(rng)
            lat, lon = _scatter(town, rng)
            street = rng.choice(STREETS)
            number = rng.randint(1, 160)
            short = customer.name.split()[0] if customer.segment in ("shop", "restaurant") else customer.name
            site = SiteSpec(
                ref=f"{customer.ref}-S{s + 1:02d}",
                customer_ref=customer.ref,
                name=f"{short}, {town.name}, {street} {number}",
                address=f"{street} St {number}, {town.name}",
                town=town.name,
                lat=lat,
                lon=lon,
                opening=segment.hours,
                contact_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                contact_phone=f"+7 978 {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
            )
            site_specs.append(site)
            units = [kind for kind, mean in segment.units for _ in range(_count(rng, mean))] or [segment.units[0][0]]
            for kind in units:
                serial_no += 1
                installed = date(rng.randint(2014, 2025), rng.randint(1, 12), rng.randint(1, 28))
                skills, minutes = UNIT_SERVICE[kind]
                unit = EquipmentSpec(
                    serial=f"FL{seed}-{serial_no:05d}",
                    site_ref=site.ref,
                    equipment_type=kind,
                    model=rng.choice(MAKES[kind]),
                    installed_on=installed,
                    warranty_ends_on=date(installed.year + 2, installed.month, installed.day),
                    required_skills=skills,
                    criticality=_weighted(rng, CRITICALITY[kind]),
                    service_minutes=minutes,
                )
                equipment_specs.append(unit)
                monthly = rng.random() < segment.monthly
                # a working day in the first weeks of the contract, so visits spread over the month
                first = contract_start.replace(day=rng.randint(1, 28))
                while first.weekday() >= 5:
                    first = first.replace(day=first.day + 1 if first.day < 28 else 1)
                schedules.append(
                    ScheduleSpec(
                        site_ref=site.ref,
                        serial=unit.serial,
                        rrule="FREQ=MONTHLY" if monthly else "FREQ=MONTHLY;INTERVAL=3",
                        first_on=first,
                        visit_time=time(rng.choice((9, 10, 11, 13, 14)), 0),
                        tolerance_days=2 if monthly else 5,
                        duration_minutes=minutes,
                        required_skills=skills,
                    )
                )
        contract_specs.append(
            ContractSpec(
                customer_ref=customer.ref,
                contract_type="full_maintenance",
                starts_on=contract_start,
                ends_on=date(contract_start.year + 1, 12, 31),
                sla=_sla_terms(customer.segment),
                business_hours=None if customer.segment in ("supermarket chain", "distributor") else segment.hours,
                holidays=() if customer.segment in ("supermarket chain", "distributor") else HOLIDAYS,
                emergency_quota_per_year=max(6, 4 * count),
                monthly_price=int(count * rng.choice((9_000, 12_000, 15_000))),
                schedules=tuple(schedules),
            )
        )

    technician_specs: list[TechnicianSpec] = []
    names: set[str] = set()
    for t, town in enumerate(_technician_towns(site_specs, technicians)):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        while name in names:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        names.add(name)
        levels: dict[str, int] = {"refrigeration": rng.choices((1, 2, 3, 4), weights=(0.15, 0.35, 0.35, 0.15))[0]}
        if rng.random() < 0.55:
            levels["electrical"] = rng.choice((1, 2, 3))
        if rng.random() < 0.45 or t % 4 == 0:  # every territory needs someone certified for refrigerant
            levels["gas"] = 1
        early = rng.random() < 0.5
        shift = ShiftSpec(time(8, 0), time(17, 0)) if early else ShiftSpec(time(9, 0), time(18, 0))
        days = WEEKDAYS[:5] if t % 5 else WEEKDAYS[1:6]  # every fifth works Tuesday to Saturday
        lat, lon = _scatter(town, rng)
        technician_specs.append(
            TechnicianSpec(
                name=name,
                first_name=name.split()[0],
                town=town.name,
                lat=lat,
                lon=lon,
                skills=levels,
                territory=town.territory,
                weekly_shifts={d: shift for d in days},
                phone=f"+7 978 700-{(t + 1) // 100:02d}-{(t + 1) % 100:02d}",  # by index: the RNG's draws stay put
            )
        )
    territories = tuple(TerritorySpec(n, box) for n, box in TERRITORY_BOXES.items())
    return Company(
        seed=seed,
        territories=territories,
        customers=tuple(customer_specs),
        sites=tuple(site_specs),
        equipment=tuple(equipment_specs),
        contracts=tuple(contract_specs),
        technicians=tuple(technician_specs),
    )
