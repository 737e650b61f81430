"""The contracts service's customer-owned tables: row-level security for a customer's unit of work
(shared/db_roles.py). Table -> the condition a row of the current customer meets."""

from shared.db_roles import CURRENT_CUSTOMER, OWN_ROWS

CUSTOMER_ROWS = {
    "customers": f"id = {CURRENT_CUSTOMER}",
    "sites": OWN_ROWS,
    "equipment": OWN_ROWS,
    "contracts": OWN_ROWS,
    "planned_visits": OWN_ROWS,
    "service_jobs": OWN_ROWS,
}
