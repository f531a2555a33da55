"""The tables as the first release created them (without migrations).

A database made by that release has some or all of these tables and no `alembic_version`;
this revision creates only what is missing, so such a database is taken over as it is.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# A frozen copy of the first release's tables: later revisions change them, never this one.
v1 = sa.MetaData()

sa.Table(
    "booking_requests", v1,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Index("ix_booking_requests_conversation_id", "conversation_id"),
)
sa.Table(
    "outbox", v1,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("booking_requests.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", sa.DateTime),
    sa.Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    sa.Index("ix_outbox_request_id", "request_id"),
)
sa.Table(
    "bts_tracker_checkpoints", v1,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("event_id", sa.Integer, nullable=False),
    sa.Column("slots", sa.Text, nullable=False),
)
sa.Table(
    "console_users", v1,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_login_at", sa.Float),
)
sa.Table(
    "console_sessions", v1,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("console_users.id"), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen_at", sa.Float, nullable=False),
    sa.Column("reveals", sa.Text, nullable=False),
)
sa.Table(
    "console_login_attempts", v1,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_failure_at", sa.Float, nullable=False),
    sa.Column("locked_until", sa.Float),
)
sa.Table(
    "console_conversations", v1,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, unique=True),
    sa.Column("first_ts", sa.Float, nullable=False, index=True),
    sa.Column("last_ts", sa.Float, nullable=False, index=True),
    sa.Column("n_user", sa.Integer, nullable=False),
    sa.Column("n_bot", sa.Integer, nullable=False),
    sa.Column("n_sessions", sa.Integer, nullable=False),
    sa.Column("has_fallback", sa.Boolean, nullable=False),
    sa.Column("has_low_confidence", sa.Boolean, nullable=False),
    sa.Column("has_red_flag", sa.Boolean, nullable=False),
    sa.Column("red_flag_category", sa.String(64)),
    sa.Column("booking_reference", sa.String(32)),
    sa.Column("handoff_reference", sa.String(32)),
    sa.Column("min_confidence", sa.Float),
    sa.Column("preview", sa.String(200)),
    sa.Column("reviewed_at", sa.Float),
    sa.Column("reviewed_by", sa.String(64)),
)
sa.Table(
    "console_messages", v1,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("conversation_id", sa.Integer, nullable=False, index=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("intent", sa.String(255)),
    sa.Column("confidence", sa.Float),
    sa.Column("is_fallback", sa.Boolean, nullable=False),
    sa.Column("is_low_confidence", sa.Boolean, nullable=False),
)
sa.Table(
    "console_tags", v1,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, nullable=False, index=True),
    sa.Column("tag", sa.String(40), nullable=False, index=True),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("conversation_id", "tag", name="uq_console_tags_conversation_tag"),
)
sa.Table(
    "console_notes", v1,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, nullable=False, index=True),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
sa.Table(
    "console_nlu_labels", v1,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("conversation_id", sa.Integer, nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("predicted_intent", sa.String(255)),
    sa.Column("intent", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("labelled_by", sa.String(64), nullable=False),
    sa.Column("labelled_at", sa.Float, nullable=False),
)
sa.Table(
    "console_audit", v1,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(40), nullable=False, index=True),
    sa.Column("target_type", sa.String(24)),
    sa.Column("target_id", sa.String(255)),
    sa.Column("detail", sa.Text),
    sa.Column("ip", sa.String(64)),
)
sa.Table(
    "console_state", v1,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

AUDIT_GUARDS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS console_audit_no_update BEFORE UPDATE ON console_audit "
        "BEGIN SELECT RAISE(ABORT, 'console_audit is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS console_audit_no_delete BEFORE DELETE ON console_audit "
        "BEGIN SELECT RAISE(ABORT, 'console_audit is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION console_audit_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'console_audit is append-only'; END; $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS console_audit_append_only ON console_audit",
        "CREATE TRIGGER console_audit_append_only BEFORE UPDATE OR DELETE ON console_audit "
        "FOR EACH ROW EXECUTE FUNCTION console_audit_append_only()",
    ],
}


def upgrade() -> None:
    """Applies this revision."""
    bind = op.get_bind()
    v1.create_all(bind, checkfirst=True)
    for statement in AUDIT_GUARDS.get(bind.dialect.name, []):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    """Reverts this revision."""
    raise NotImplementedError("the first schema is not removed by a migration; drop the database instead")
