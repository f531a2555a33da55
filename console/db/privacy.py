"""Deleting conversations: one on a patient's request, or all expired ones (`bts.retention`).

These are the only writes the console makes to Rasa's `events` table. Each removes the
conversation's events and every console row about it (summary, messages, tags, notes, NLU
labels); the audit log keeps who deleted what and when, without patient content.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import sqlalchemy as sa
from bts import retention

from console.db import audit as audit_log
from console.db import has_table
from console.db.schema import (
    booking_requests,
    events,
    outbox,
    state,
    tracker_checkpoints,
)

LAST_PURGE_KEY = retention.LAST_PURGE_KEY


def delete_conversation(
    conn: sa.Connection,
    conversation: Dict[str, Any],
    actor: Dict[str, Any],
    with_bookings: bool,
    ip: Optional[str],
) -> Dict[str, int]:
    """Deletes one conversation (and optionally its booking requests and their outbox rows)."""
    sender = conversation["sender_id"]
    removed = {"events": 0, "booking_requests": 0}
    if has_table(conn.engine, events.name):
        removed["events"] = conn.execute(events.delete().where(events.c.sender_id == sender)).rowcount
    if has_table(conn.engine, tracker_checkpoints.name):
        conn.execute(tracker_checkpoints.delete().where(tracker_checkpoints.c.sender_id == sender))
    if with_bookings and has_table(conn.engine, booking_requests.name):
        ids = [
            r.id
            for r in conn.execute(
                sa.select(booking_requests.c.id).where(booking_requests.c.conversation_id == sender)
            )
        ]
        if ids:
            if has_table(conn.engine, outbox.name):
                conn.execute(outbox.delete().where(outbox.c.request_id.in_(ids)))
            removed["booking_requests"] = conn.execute(
                booking_requests.delete().where(booking_requests.c.id.in_(ids))
            ).rowcount
    retention.delete_console_rows(conn, [conversation["id"]])
    audit_log.record(
        conn,
        actor["username"],
        actor["role"],
        "delete_conversation",
        "conversation",
        conversation["id"],
        {**removed, "with_bookings": with_bookings},
        ip,
    )
    return removed


def purge(
    engine: sa.engine.Engine,
    retention_days: int,
    actor: str = "system",
    role: str = "system",
    now: Optional[float] = None,
    dry_run: bool = False,
) -> Dict[str, Any]:
    """Deletes every conversation with no event in the last `retention_days` days (`bts.retention`).

    Returns:
        {"cutoff": float, "conversations": n, "events": n, "console_rows": n, "dry_run": bool}.
    """
    if retention_days <= 0:
        raise ValueError("retention is off (0 days): nothing to purge")
    with engine.execution_options(bts_write=True).begin() as conn:
        return retention.purge_conversations(conn, retention_days, actor, now, dry_run, role)


def last_purge(conn: sa.Connection) -> Optional[float]:
    value = conn.execute(sa.select(state.c.value).where(state.c.key == LAST_PURGE_KEY)).scalar()
    return float(value) if value else None
