from services.notify.db.customer_rows import CUSTOMER_ROWS
from services.notify.db.tables import metadata
from shared.migrations import run_env

run_env(metadata, customer_rows=CUSTOMER_ROWS)
