"""The append-only, hash-chained audit log: who did what, when. Details never hold patient content."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from bts.db import audit as audit_chain

from console.db.schema import audit

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "view_transcript",
    "view_booking",
    "view_message",
    "view_conversations",
    "view_bookings",
    "view_nlu_inbox",
    "view_analytics",
    "reveal",
    "export_nlu",
    "export_story",
    "export_bookings",
    "delete_conversation",
    "purge",
    "review",
    "unreview",
    "tag_add",
    "tag_remove",
    "note_add",
    "nlu_label",
    "nlu_dismiss",
    "nlu_reset",
    "booking_status",
    "user_create",
    "user_password",
    "user_role",
    "user_active",
    "user_unlock",
    "view_learning",
    "candidate_edit",
    "candidate_confirm",
    "candidate_delete",
    "learning_train",
    "learning_gates",
    "learning_promote",
    "learning_promote_refused",
    "learning_rollback",
)


def record(
    conn: sa.Connection,
    username: str,
    role: str,
    action: str,
    target_type: Optional[str] = None,
    target_id: Optional[Any] = None,
    detail: Optional[Dict[str, Any]] = None,
    ip: Optional[str] = None,
) -> None:
    """Appends one entry (inside the caller's transaction, so it is written with the change)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    audit_chain.append(
        conn,
        ts=time.time(),
        username=username[:64],
        role=role[:16],
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:255],
        detail=json.dumps(detail, sort_keys=True) if detail else None,
        ip=(ip or "")[:64] or None,
    )


def search(
    conn: sa.Connection,
    username: Optional[str] = None,
    action: Optional[str] = None,
    start: Optional[float] = None,
    end: Optional[float] = None,
    page: int = 1,
    page_size: int = 100,
) -> Tuple[List[Dict[str, Any]], int]:
    """Entries, newest first, and the total that match."""
    where = []
    if username:
        where.append(audit.c.username == username)
    if action:
        where.append(audit.c.action == action)
    if start is not None:
        where.append(audit.c.ts >= start)
    if end is not None:
        where.append(audit.c.ts < end)
    total = conn.execute(sa.select(sa.func.count()).select_from(audit).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(audit)
        .where(*where)
        .order_by(audit.c.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    out = []
    for r in rows:
        item = dict(r._mapping)
        item["detail"] = json.loads(r.detail) if r.detail else {}
        out.append(item)
    return out, total
