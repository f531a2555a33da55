"""Deleting conversations: one on a patient's request, or all expired ones (retention purge).

These are the only writes the console makes to Rasa's `events` table. Each removes the
conversation's events and every console row about it (summary, messages, tags, notes, NLU
labels); the audit log keeps who deleted what and when, without patient content.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Set

import sqlalchemy as sa

from console.db import audit as audit_log
from console.db import has_table
from console.db.schema import (
    booking_requests,
    conversations,
    events,
    messages,
    nlu_labels,
    notes,
    outbox,
    state,
    tags,
    tracker_checkpoints,
)

CHUNK = 500
LAST_PURGE_KEY = "last_purge_at"


def _delete_console_rows(conn: sa.Connection, conversation_ids: List[int]) -> None:
    for i in range(0, len(conversation_ids), CHUNK):
        ids = conversation_ids[i : i + CHUNK]
        for table in (messages, tags, notes, nlu_labels):
            conn.execute(table.delete().where(table.c.conversation_id.in_(ids)))
        conn.execute(conversations.delete().where(conversations.c.id.in_(ids)))


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
    _delete_console_rows(conn, [conversation["id"]])
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


def expired_senders(conn: sa.Connection, cutoff: float) -> List[str]:
    """Sender ids whose newest event is older than `cutoff` (decided on Rasa's table itself)."""
    if not has_table(conn.engine, events.name):
        return []
    return [
        r.sender_id
        for r in conn.execute(
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < cutoff)
        )
    ]


def purge(
    engine: sa.engine.Engine,
    retention_days: int,
    actor: str = "system",
    role: str = "system",
    now: Optional[float] = None,
    dry_run: bool = False,
) -> Dict[str, Any]:
    """Deletes every conversation with no event in the last `retention_days` days.

    A conversation that receives a new event while the purge runs is kept: each delete
    re-checks that the sender has no event at or after the cutoff.

    Returns:
        {"cutoff": float, "conversations": n, "events": n, "dry_run": bool}.
    """
    if retention_days <= 0:
        raise ValueError("retention is off (0 days): nothing to purge")
    now = time.time() if now is None else now
    cutoff = now - retention_days * 86400
    with engine.begin() as conn:
        if not has_table(engine, events.name):
            return {"cutoff": cutoff, "conversations": 0, "events": 0, "dry_run": dry_run}
        senders = expired_senders(conn, cutoff)
        result: Dict[str, Any] = {
            "cutoff": cutoff,
            "conversations": len(senders),
            "events": 0,
            "dry_run": dry_run,
        }
        if dry_run:
            return result
        recent = sa.select(events.c.sender_id).where(events.c.timestamp >= cutoff)
        purged: List[str] = []
        for i in range(0, len(senders), CHUNK):
            chunk = senders[i : i + CHUNK]
            still_expired = [
                r.sender_id
                for r in conn.execute(
                    sa.select(events.c.sender_id)
                    .distinct()
                    .where(events.c.sender_id.in_(chunk), events.c.sender_id.not_in(recent))
                )
            ]
            if still_expired:
                result["events"] += conn.execute(
                    events.delete().where(
                        events.c.sender_id.in_(still_expired), events.c.sender_id.not_in(recent)
                    )
                ).rowcount
                if has_table(engine, tracker_checkpoints.name):
                    conn.execute(
                        tracker_checkpoints.delete().where(tracker_checkpoints.c.sender_id.in_(still_expired))
                    )
                purged += still_expired
        # Console rows of purged conversations, and of conversations already gone from `events`
        # whose console rows are older than the cutoff.
        ids: Set[int] = set()
        for i in range(0, len(purged), CHUNK):
            ids.update(
                r.id
                for r in conn.execute(
                    sa.select(conversations.c.id).where(conversations.c.sender_id.in_(purged[i : i + CHUNK]))
                )
            )
        ids.update(
            r.id
            for r in conn.execute(
                sa.select(conversations.c.id).where(
                    conversations.c.last_ts < cutoff, conversations.c.sender_id.not_in(recent)
                )
            )
        )
        _delete_console_rows(conn, sorted(ids))
        result["conversations"] = len(purged)
        result["console_rows"] = len(ids)
        audit_log.record(
            conn,
            actor,
            role,
            "purge",
            "retention",
            retention_days,
            {
                "cutoff": round(cutoff, 3),
                "conversations": len(purged),
                "events": result["events"],
            },
        )
        if conn.execute(sa.select(state.c.key).where(state.c.key == LAST_PURGE_KEY)).first():
            conn.execute(state.update().where(state.c.key == LAST_PURGE_KEY).values(value=str(now)))
        else:
            conn.execute(state.insert().values(key=LAST_PURGE_KEY, value=str(now)))
    return result


def last_purge(conn: sa.Connection) -> Optional[float]:
    value = conn.execute(sa.select(state.c.value).where(state.c.key == LAST_PURGE_KEY)).scalar()
    return float(value) if value else None
