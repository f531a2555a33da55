"""Helpers for the console tests: databases shaped like the project's, accounts, logged-in clients."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from console import security
from console.config import Settings
from console.db import make_engine
from console.db import users as user_db
from console.db.schema import (
    booking_requests,
    create_console_tables,
    create_external_tables,
    events,
    outbox,
)

ROOT = Path(__file__).resolve().parents[2]

FIXTURE = Path(__file__).parent / "fixtures" / "conversations.json"
PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def settings_for(db: Path, **overrides: Any) -> Settings:
    env = {"BTS_DATABASE_URL": f"sqlite:///{db}", "CONSOLE_SECRET_KEY": SECRET, "BTS_PROJECT_ROOT": str(ROOT)}
    return Settings.from_env(env, **overrides)


def user_event(
    sender: str,
    ts: float,
    text: str,
    intent: str,
    confidence: float,
    ranking: Optional[List] = None,
    entities: Optional[List] = None,
    retrieval: Optional[str] = None,
) -> Dict[str, Any]:
    intent_obj: Dict[str, Any] = {"name": intent, "confidence": confidence}
    if retrieval:
        intent_obj["full_retrieval_intent_name"] = retrieval
    data = {
        "event": "user",
        "timestamp": ts,
        "metadata": {},
        "text": text,
        "parse_data": {
            "intent": intent_obj,
            "entities": entities or [],
            "text": text,
            "message_id": "x",
            "metadata": {},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [[intent, confidence]])],
        },
        "input_channel": "rest",
    }
    return {
        "sender_id": sender,
        "type_name": "user",
        "timestamp": ts,
        "intent_name": intent,
        "action_name": None,
        "data": json.dumps(data),
    }


def other_event(sender: str, ts: float, spec: Dict[str, Any]) -> Dict[str, Any]:
    kind = spec["type"]
    data: Dict[str, Any] = {"event": kind, "timestamp": ts, "metadata": {}}
    action_name = None
    if kind == "action":
        data.update(name=spec["name"], policy=spec.get("policy"), confidence=spec.get("confidence"))
        action_name = spec["name"]
    elif kind == "bot":
        data.update(text=spec["text"], data={"buttons": spec.get("buttons")})
    elif kind == "slot":
        data.update(name=spec["name"], value=spec["value"])
        action_name = spec["name"]
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": ts,
        "intent_name": None,
        "action_name": action_name,
        "data": json.dumps(data),
    }


def load_handwritten(engine: sa.engine.Engine, now: Optional[float] = None) -> Dict[str, Any]:
    """Writes the hand-written fixture into `events` and the booking tables (created if missing)."""
    now = now or time.time()
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    create_external_tables(engine)
    rows: List[Dict[str, Any]] = []
    for conv in doc["conversations"]:
        ts = now - conv["days_ago"] * 86400
        for spec in conv["events"]:
            ts += 1.5
            if spec["type"] == "user":
                rows.append(
                    user_event(
                        conv["sender_id"],
                        ts,
                        spec["text"],
                        spec["intent"],
                        spec["confidence"],
                        spec.get("ranking"),
                        spec.get("entities"),
                        spec.get("retrieval"),
                    )
                )
            else:
                rows.append(other_event(conv["sender_id"], ts, spec))
    with engine.begin() as conn:
        conn.execute(events.insert(), rows)
        for b in doc["bookings"]:
            created = dt.datetime.fromtimestamp(now - b["days_ago"] * 86400, dt.timezone.utc)
            rid = conn.execute(
                booking_requests.insert().values(
                    reference=b["reference"],
                    kind=b["kind"],
                    status=b["status"],
                    conversation_id=b["conversation_id"],
                    created_at=created,
                    updated_at=created,
                    details=json.dumps(b["details"]),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            for o in b["outbox"]:
                conn.execute(
                    outbox.insert().values(
                        request_id=rid,
                        channel=o["channel"],
                        idempotency_key=f"{b['reference']}:{o['channel']}",
                        state=o["state"],
                        attempts=o["attempts"],
                        next_attempt_at=created,
                        last_error=o.get("last_error"),
                        delivered_at=created if o["state"] == "delivered" else None,
                    )
                )
    return doc


def make_db(path: Path, handwritten: bool = True) -> sa.engine.Engine:
    engine = make_engine(f"sqlite:///{path}")
    create_console_tables(engine)
    if handwritten:
        load_handwritten(engine)
    add_user(engine, "ada", "admin")
    add_user(engine, "sam", "staff")
    return engine


def add_user(engine: sa.engine.Engine, username: str, role: str, password: str = PASSWORD) -> None:
    with engine.begin() as conn:
        user_db.create(conn, username, security.hash_password(password), role)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def session_csrf(client: Any) -> str:
    """The CSRF token of the client's session (read from a page)."""
    return csrf_from(client.get("/conversations").get_data(as_text=True))


def conversation_id(engine: sa.engine.Engine, sender: str) -> int:
    from console.db.schema import conversations

    with engine.connect() as conn:
        return conn.execute(
            sa.select(conversations.c.id).where(conversations.c.sender_id == sender)
        ).scalar_one()
