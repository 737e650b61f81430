"""Request bodies the suites send to the services again and again: one place for each."""

from __future__ import annotations

from typing import Any


def contract_body(
    customer_id: str, site_ids: list[str], starts_on: str = "2026-01-01", **fields: Any
) -> dict[str, Any]:
    """A full-maintenance contract of these sites: P1 reached within 4 h and fixed within 8 by a refrigeration
    technician of level 2 or more."""
    return {
        "customer_id": customer_id,
        "contract_type": "full_maintenance",
        "starts_on": starts_on,
        "site_ids": site_ids,
        "sla": [
            {
                "priority": "P1",
                "response_minutes": 240,
                "fix_minutes": 480,
                "required_skills": [{"skill": "refrigeration", "min_level": 2}],
            }
        ],
        **fields,
    }
