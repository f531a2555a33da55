"""Staff corrections as candidate training examples (the learning loop).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Applies this revision."""
    op.create_table(
        "console_candidates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, unique=True),
        sa.Column("conversation_id", sa.Integer),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("original_text", sa.Text),
        sa.Column("deid_text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("labelled_by", sa.String(64), nullable=False),
        sa.Column("labelled_at", sa.Float, nullable=False),
        sa.Column("confirmed_by", sa.String(64)),
        sa.Column("confirmed_at", sa.Float),
    )
    op.create_index("ix_console_candidates_conversation_id", "console_candidates", ["conversation_id"])


def downgrade() -> None:
    """Reverts this revision."""
    op.drop_index("ix_console_candidates_conversation_id", "console_candidates")
    op.drop_table("console_candidates")
