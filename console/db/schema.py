"""Table definitions (SQLAlchemy Core).

`console_*` tables belong to the console. `events` (Rasa's SQL tracker store) and
`booking_requests`/`outbox` (the booking code) are described here only to be read; the console
never creates them in the project database (`create_external_tables` exists for tests and the
benchmark) and writes to them only where docs/data-model.md lets staff: the booking `status`, and
the explicit deletion of a conversation (admin action or retention purge).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData()
external = sa.MetaData()

# ---------------------------------------------------------------- console tables

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
)

state = sa.Table(
    "console_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


# ---------------------------------------------------------------- tables of others


class LooseDateTime(TypeDecorator):
    """A UTC timestamp read whatever way the writer stored it (datetime, ISO text, epoch).

    On SQLite values are written as SQLAlchemy's own DateTime does ("YYYY-MM-DD HH:MM:SS.ffffff",
    naive UTC), so a booking table created with SQLAlchemy's DateTime reads them back.
    """

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = to_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> Optional[dt.datetime]:
        return None if value is None else to_utc(value)


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


# Rasa 3.6 SQLTrackerStore.SQLEvent.
events = sa.Table(
    "events",
    external,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

# The assistant's tracker store (components/tracker_store.py): the slots of a conversation at a
# checkpoint. It holds patient data, so it is deleted with the conversation's events.
tracker_checkpoints = sa.Table(
    "bts_tracker_checkpoints",
    external,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("event_id", sa.Integer, nullable=False),
    sa.Column("slots", sa.Text, nullable=False),
)

booking_requests = sa.Table(
    "booking_requests",
    external,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.Text, unique=True),
    sa.Column("kind", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("conversation_id", sa.Text),
    sa.Column("created_at", LooseDateTime),
    sa.Column("updated_at", LooseDateTime),
    sa.Column("details", sa.Text),
)

outbox = sa.Table(
    "outbox",
    external,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("booking_requests.id")),
    sa.Column("channel", sa.Text),
    sa.Column("idempotency_key", sa.Text, unique=True),
    sa.Column("state", sa.Text),
    sa.Column("attempts", sa.Integer),
    sa.Column("next_attempt_at", LooseDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", LooseDateTime),
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


def create_console_tables(engine: sa.engine.Engine) -> None:
    """Creates the console's tables (idempotent) and makes the audit log append-only."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        for statement in AUDIT_GUARDS.get(engine.dialect.name, []):
            conn.exec_driver_sql(statement)


def create_external_tables(engine: sa.engine.Engine) -> None:
    """Creates `events`, `booking_requests` and `outbox` (tests and benchmark only)."""
    external.create_all(engine)
