"""The notify service's customer-owned tables: row-level security for a customer's unit of work
(shared/db_roles.py). Table -> the condition a row of the current customer meets (staff recipients have
no customer: a customer sees none of them)."""

from shared.db_roles import CURRENT_CUSTOMER, OWN_ROWS

CUSTOMER_ROWS = {
    "recipients": OWN_ROWS,
    "webhooks": OWN_ROWS,
    "deliveries": OWN_ROWS,
    "tracked_requests": OWN_ROWS,
    # the live streams' messages: a customer reads its own stream only (never a technician's or the staff's)
    "stream_messages": f"stream = 'customer:' || {CURRENT_CUSTOMER}::text",
}
