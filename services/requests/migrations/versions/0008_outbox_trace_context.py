"""outbox.trace_context: the trace context of the event's writer, for the NATS headers (shared/tracing.py)

Revision ID: 0008_outbox_trace_context
Revises: 0007_request_photos
"""

from collections.abc import Sequence

from shared.messaging.migration_ops import add_outbox_trace_context, drop_outbox_trace_context

revision: str = "0008_outbox_trace_context"
down_revision: str | None = "0007_request_photos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_trace_context("requests")


def downgrade() -> None:
    drop_outbox_trace_context("requests")
