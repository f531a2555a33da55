"""Every table the project owns, in one SQLAlchemy Core schema (SQLAlchemy 1.4 and 2.x).

`booking_requests` and `outbox` belong to the booking package, `bts_tracker_checkpoints` to the
tracker store, `console_*` to the staff console. Rasa's own tables (`events`) are not here: Rasa
creates and changes them. Changes to these tables are made as migrations in
`bts/db/migrations/versions/`, never by editing a table here alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()

LANGUAGES = ("en", "es")


def to_utc(value: Any) -> dt.datetime:
    """Parses a datetime, ISO string or UNIX time into an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return dt.datetime.fromtimestamp(float(text), dt.timezone.utc)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """A UTC timestamp stored without zone (as the first booking tables did), read back aware."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        return to_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> Optional[dt.datetime]:
        return None if value is None else to_utc(value)


# ---------------------------------------------------------------- booking requests and delivery

booking_requests = sa.Table(
    "booking_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, default="new"),
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    # The patient's language, so the front desk can call back in it.
    sa.Column("language", sa.String(8), nullable=False, default="en", server_default="en"),
    sa.Index("ix_booking_requests_conversation_id", "conversation_id"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "request_id",
        sa.Integer,
        sa.ForeignKey("booking_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("state", sa.Text, nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", UTCDateTime),
    sa.Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    sa.Index("ix_outbox_request_id", "request_id"),
)

# ---------------------------------------------------------------- tracker store

# The slots of a conversation at a checkpoint (components/tracker_store.py). It holds patient
# data, so it is deleted with the conversation's events.
tracker_checkpoints = sa.Table(
    "bts_tracker_checkpoints",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    # Id (in `events`) of the last event whose effects `slots` include.
    sa.Column("event_id", sa.Integer, nullable=False),
    # JSON list of [slot name, value] for every slot that had been set at that point.
    sa.Column("slots", sa.Text, nullable=False),
)

# ---------------------------------------------------------------- staff console

users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_login_at", sa.Float),
)

sessions = sa.Table(
    "console_sessions",
    metadata,
    # HMAC of the cookie value: a copy of the database does not hand out live sessions.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("console_users.id"), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen_at", sa.Float, nullable=False),
    # JSON {"conversation:12": expires_at, "booking:3": expires_at}: audited reveals.
    sa.Column("reveals", sa.Text, nullable=False, default="{}"),
)

login_attempts = sa.Table(
    "console_login_attempts",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("first_failure_at", sa.Float, nullable=False),
    sa.Column("locked_until", sa.Float),
)

conversations = sa.Table(
    "console_conversations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, unique=True),
    sa.Column("first_ts", sa.Float, nullable=False, index=True),
    sa.Column("last_ts", sa.Float, nullable=False, index=True),
    sa.Column("n_user", sa.Integer, nullable=False, default=0),
    sa.Column("n_bot", sa.Integer, nullable=False, default=0),
    sa.Column("n_sessions", sa.Integer, nullable=False, default=0),
    sa.Column("has_fallback", sa.Boolean, nullable=False, default=False),
    sa.Column("has_low_confidence", sa.Boolean, nullable=False, default=False),
    sa.Column("has_red_flag", sa.Boolean, nullable=False, default=False),
    sa.Column("red_flag_category", sa.String(64)),
    sa.Column("booking_reference", sa.String(32)),
    sa.Column("handoff_reference", sa.String(32)),
    sa.Column("min_confidence", sa.Float),
    sa.Column("preview", sa.String(200)),
    sa.Column("reviewed_at", sa.Float),
    sa.Column("reviewed_by", sa.String(64)),
)

messages = sa.Table(
    "console_messages",
    metadata,
    # Rasa's events.id of the `user` event.
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("conversation_id", sa.Integer, nullable=False, index=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("intent", sa.String(255)),
    sa.Column("confidence", sa.Float),
    sa.Column("is_fallback", sa.Boolean, nullable=False, default=False),
    sa.Column("is_low_confidence", sa.Boolean, nullable=False, default=False),
)

tags = sa.Table(
    "console_tags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, nullable=False, index=True),
    sa.Column("tag", sa.String(40), nullable=False, index=True),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("conversation_id", "tag", name="uq_console_tags_conversation_tag"),
)

notes = sa.Table(
    "console_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, nullable=False, index=True),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

nlu_labels = sa.Table(
    "console_nlu_labels",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("conversation_id", sa.Integer, nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("predicted_intent", sa.String(255)),
    sa.Column("intent", sa.String(255)),  # the correct one; NULL when dismissed
    sa.Column("status", sa.String(16), nullable=False),  # labelled | dismissed
    sa.Column("labelled_by", sa.String(64), nullable=False),
    sa.Column("labelled_at", sa.Float, nullable=False),
)

# Staff corrections on their way to training data (bts/learning). The patient's own words are
# kept only until a person confirms the de-identified text, which alone is ever trained on.
candidates = sa.Table(
    "console_candidates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # Rasa's events.id of the corrected message (one candidate per message).
    sa.Column("event_id", sa.Integer, unique=True),
    sa.Column("conversation_id", sa.Integer, index=True),
    sa.Column("source", sa.String(24), nullable=False),  # nlu_inbox | conversation_test
    sa.Column("label", sa.String(255), nullable=False),  # intent or faq/<topic>
    sa.Column("language", sa.String(8), nullable=False, default="en", server_default="en"),
    sa.Column("original_text", sa.Text),  # NULL once confirmed
    sa.Column("deid_text", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | confirmed
    sa.Column("labelled_by", sa.String(64), nullable=False),
    sa.Column("labelled_at", sa.Float, nullable=False),
    sa.Column("confirmed_by", sa.String(64)),
    sa.Column("confirmed_at", sa.Float),
)

audit = sa.Table(
    "console_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(40), nullable=False, index=True),
    sa.Column("target_type", sa.String(24)),
    sa.Column("target_id", sa.String(255)),
    sa.Column("detail", sa.Text),  # JSON, never patient content
    sa.Column("ip", sa.String(64)),
    # sha256 over the previous entry's hash and this entry: an edited or deleted entry breaks
    # the chain (bts/db/audit.py). NULL only on entries written before the chain existed.
    sa.Column("entry_hash", sa.String(64)),
)

state = sa.Table(
    "console_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

CONSOLE_TABLES = (
    users, sessions, login_attempts, conversations, messages, tags, notes, nlu_labels, candidates, audit,
    state,
)

# The audit log is append-only for the applications; owners of the database can still drop
# these, which is why entries are hash-chained too.
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
