"""Booking language (callbacks in the patient's language) and the audit log's hash chain.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Applies this revision."""
    # ADD COLUMN only (no table rebuild): SQLite would lose the audit log's triggers and the
    # outbox's foreign key target otherwise.
    op.add_column(
        "booking_requests", sa.Column("language", sa.String(8), nullable=False, server_default="en")
    )
    op.add_column("console_audit", sa.Column("entry_hash", sa.String(64)))


def downgrade() -> None:
    """Reverts this revision."""
    op.drop_column("console_audit", "entry_hash")
    op.drop_column("booking_requests", "language")
