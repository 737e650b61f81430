"""The requests service's customer-owned tables: row-level security for a customer's unit of work
(shared/db_roles.py). Table -> the condition a row of the current customer meets."""

from shared.db_roles import OWN_ROWS, rows_of_request

CUSTOMER_ROWS = {
    "service_requests": OWN_ROWS,
    "surveys": OWN_ROWS,
    "request_timeline": rows_of_request(),
    "request_assignments": rows_of_request(),
    "request_photos": OWN_ROWS,
    # a stored picture's bytes: those of the customer's own photos (the photo's row is written first)
    "attachment_blobs": f"EXISTS (SELECT 1 FROM request_photos p WHERE p.key = attachment_blobs.key AND p.{OWN_ROWS})",
}
