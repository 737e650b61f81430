"""The dispatch service's customer-owned tables: row-level security for a customer's unit of work
(shared/db_roles.py). Table -> the condition a row of the current customer meets.

A customer calls dispatch only to follow its own visits (`/customer/...`, the visit report and its pictures): it
reads its jobs, their bookings, its visits' attachments and their bytes, and the photo of a technician; never a
booking's step history or anyone's position trail."""

from shared.db_roles import OWN_ROWS

CUSTOMER_ROWS = {
    "jobs": OWN_ROWS,
    "assignments": OWN_ROWS,
    "attachments": OWN_ROWS,
    # the steps' details hold internal reasons and positions: a customer follows the steps in requests' timeline
    "assignment_history": "false",
    # the bytes of the customer's own visits' pictures, and technicians' photos (shown to the customers they visit)
    "attachment_blobs": (
        "EXISTS (SELECT 1 FROM attachments a WHERE a.key = attachment_blobs.key AND a." + OWN_ROWS + ") "
        "OR EXISTS (SELECT 1 FROM technicians t WHERE t.photo_key = attachment_blobs.key)"
    ),
    "position_pings": "false",  # where a technician has been is nobody's business but dispatch's
}
