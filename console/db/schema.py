"""The tables the console reads and writes.

Every table the project owns is defined once, in `bts/db/schema.py`, and created or upgraded by
its migrations (`python -m bts.db upgrade`). Only Rasa's `events` table is described here, to be
read: Rasa creates it. The console writes to tables of others only where docs/data-model.md lets
staff: the booking `status`, and the explicit deletion of a conversation (admin action; the
retention purge lives in `bts/retention.py`).
"""

from __future__ import annotations

import sqlalchemy as sa
from bts.db import migrate
from bts.db.schema import (
    audit,
    booking_requests,
    candidates,
    conversations,
    login_attempts,
    messages,
    metadata,
    nlu_labels,
    notes,
    outbox,
    sessions,
    state,
    tags,
    to_utc,
    tracker_checkpoints,
    users,
)

__all__ = [
    "audit", "booking_requests", "candidates", "conversations", "create_console_tables",
    "create_external_tables", "events", "external", "login_attempts", "messages", "metadata",
    "nlu_labels", "notes", "outbox", "sessions", "state", "tags", "to_utc", "tracker_checkpoints", "users",
]

external = sa.MetaData()

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


def create_console_tables(engine: sa.engine.Engine) -> None:
    """Brings the project database to the newest migration (its tables include the console's)."""
    migrate.upgrade(engine)


def create_external_tables(engine: sa.engine.Engine) -> None:
    """Creates Rasa's `events` and the project's tables (tests and benchmark only)."""
    external.create_all(engine)
    migrate.upgrade(engine)
