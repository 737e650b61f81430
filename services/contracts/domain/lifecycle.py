"""The contract lifecycle: draft -> active -> suspended / expired / terminated."""

from __future__ import annotations

from datetime import date

from shared.errors import Conflict

CONTRACT_TYPES = ("full_maintenance", "on_call", "warranty")
ENDED_STATUSES = frozenset({"expired", "terminated"})
LIVE_STATUSES = ("active", "suspended")

_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"active", "terminated"}),
    "active": frozenset({"suspended", "expired", "terminated"}),
    "suspended": frozenset({"active", "expired", "terminated"}),
    "expired": frozenset(),
    "terminated": frozenset(),
}

# which request kinds each contract type serves; planned visits come only with full maintenance
SERVED_KINDS: dict[str, frozenset[str]] = {
    "full_maintenance": frozenset({"emergency", "routine", "planned"}),
    "on_call": frozenset({"emergency", "routine"}),
    "warranty": frozenset({"emergency", "routine"}),
}
# when several active contracts cover a unit, the fullest one answers
TYPE_PREFERENCE = ("full_maintenance", "warranty", "on_call")


def ensure_transition(current: str, target: str) -> None:
    if target not in _TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"a {current} contract cannot become {target}")


def period_problem(starts_on: date, ends_on: date | None) -> str | None:
    if ends_on is not None and ends_on < starts_on:
        return "ends_on must not be before starts_on"
    return None


def warranty_problem(contract_type: str, has_unit: bool, warranty_ends_on: date | None, on: date) -> str | None:
    """Why a warranty contract does not serve this request (None when it does, or is no warranty contract).

    Warranty covers a named unit while its warranty runs; a unit without a recorded end is taken as covered.
    """
    if contract_type != "warranty":
        return None
    if not has_unit:
        return "warranty covers named units only"
    if warranty_ends_on is not None and warranty_ends_on < on:
        return f"the unit's warranty ended on {warranty_ends_on.isoformat()}"
    return None
