from services.dispatch.db.customer_rows import CUSTOMER_ROWS
from services.dispatch.db.tables import metadata
from shared.migrations import run_env

run_env(metadata, customer_rows=CUSTOMER_ROWS)
