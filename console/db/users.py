"""Accounts and sessions (login throttling: console/throttle.py)."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from console.db.schema import sessions, users

ROLES = ("admin", "staff")


def by_username(conn: sa.Connection, username: str) -> Optional[Dict[str, Any]]:
    row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    return dict(row._mapping) if row else None


def by_id(conn: sa.Connection, user_id: int) -> Optional[Dict[str, Any]]:
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
    return dict(row._mapping) if row else None


def all_users(conn: sa.Connection) -> List[Dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(users).order_by(users.c.username))]


def create(conn: sa.Connection, username: str, password_hash: str, role: str) -> int:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    result = conn.execute(
        users.insert().values(
            username=username,
            password_hash=password_hash,
            role=role,
            active=True,
            created_at=time.time(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update(conn: sa.Connection, user_id: int, **values: Any) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(**values))


def end_sessions_of(conn: sa.Connection, user_id: int) -> None:
    conn.execute(sessions.delete().where(sessions.c.user_id == user_id))


# ------------------------------------------------------------------ sessions


def new_session(conn: sa.Connection, session_key: str, user_id: int) -> None:
    now = time.time()
    conn.execute(
        sessions.insert().values(
            id=session_key, user_id=user_id, created_at=now, last_seen_at=now, reveals="{}"
        )
    )


def get_session(conn: sa.Connection, session_key: str) -> Optional[Dict[str, Any]]:
    row = conn.execute(
        sa.select(sessions, users.c.username, users.c.role, users.c.active)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.id == session_key)
    ).first()
    if not row:
        return None
    item = dict(row._mapping)
    try:
        item["reveals"] = json.loads(row.reveals or "{}")
    except ValueError:
        item["reveals"] = {}
    return item


def touch_session(conn: sa.Connection, session_key: str, now: float) -> None:
    conn.execute(sessions.update().where(sessions.c.id == session_key).values(last_seen_at=now))


def set_reveals(conn: sa.Connection, session_key: str, reveals: Dict[str, float]) -> None:
    conn.execute(sessions.update().where(sessions.c.id == session_key).values(reveals=json.dumps(reveals)))


def delete_session(conn: sa.Connection, session_key: str) -> None:
    conn.execute(sessions.delete().where(sessions.c.id == session_key))


def delete_stale_sessions(conn: sa.Connection, idle_before: float, created_before: float) -> None:
    conn.execute(
        sessions.delete().where(
            sa.or_(sessions.c.last_seen_at < idle_before, sessions.c.created_at < created_before)
        )
    )
