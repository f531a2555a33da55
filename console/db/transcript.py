"""A conversation's events from Rasa's `events` table, shaped for the transcript view."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from console.db import has_table
from console.db.indexer import FALLBACK_ACTIONS, FALLBACK_INTENT, parse_data
from console.db.schema import events

HIDDEN_ACTIONS = {"action_listen"}
HIDDEN_TYPES = {"user_featurization", "action_execution_rejected", "followup", "reset_slots"}
MAX_RUNNER_UPS = 3


def load_events(conn: sa.Connection, sender_id: str) -> List[Dict[str, Any]]:
    """The raw events of one conversation, oldest first, with their parsed JSON."""
    if not has_table(conn.engine, events.name):
        return []
    rows = conn.execute(
        sa.select(events.c.id, events.c.type_name, events.c.timestamp, events.c.action_name, events.c.data)
        .where(events.c.sender_id == sender_id)
        .order_by(events.c.id)
    ).all()
    return [
        {
            "id": r.id,
            "type": r.type_name,
            "ts": float(r.timestamp or 0),
            "action_name": r.action_name,
            "data": parse_data(r.data),
        }
        for r in rows
    ]


def message_text(conn: sa.Connection, sender_id: str, event_id: int) -> Optional[str]:
    """The full text of one patient or bot message of a conversation, or None."""
    if not has_table(conn.engine, events.name):
        return None
    row = conn.execute(
        sa.select(events.c.data).where(
            events.c.id == event_id, events.c.sender_id == sender_id, events.c.type_name.in_(("user", "bot"))
        )
    ).first()
    return None if row is None else str(parse_data(row.data).get("text") or "")


def _confidence(value: Any) -> Optional[float]:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _user_item(event: Dict[str, Any]) -> Dict[str, Any]:
    data = event["data"]
    parse = data.get("parse_data") or {}
    intent = parse.get("intent") or {}
    name = intent.get("name")
    ranking = [
        {"name": r.get("name"), "confidence": _confidence(r.get("confidence"))}
        for r in (parse.get("intent_ranking") or [])
        if isinstance(r, dict) and r.get("name") != name
    ][:MAX_RUNNER_UPS]
    retrieval = intent.get("full_retrieval_intent_name")
    if not retrieval and name:
        selector = (parse.get("response_selector") or {}).get(name) or {}
        retrieval = (selector.get("response") or {}).get("intent_response_key")
    entities = [
        {
            "entity": e.get("entity"),
            "value": e.get("value"),
            "extractor": e.get("extractor"),
            "start": e.get("start"),
            "end": e.get("end"),
        }
        for e in (parse.get("entities") or [])
        if isinstance(e, dict)
    ]
    return {
        "kind": "user",
        "event_id": event["id"],
        "ts": event["ts"],
        "text": str(data.get("text") or ""),
        "intent": name,
        "confidence": _confidence(intent.get("confidence")),
        "retrieval": retrieval,
        "runner_ups": ranking,
        "entities": entities,
        "slots": [],
        "fallback": name == FALLBACK_INTENT,
        "red_flag": False,
    }


def build(raw: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Turns raw events into transcript items and conversation-level markers.

    Returns:
        {"items": [...], "booking_references": [...], "handoff_references": [...],
         "red_flag_category": str | None}. Items, in order, are `session`, `user` (with the
        slots set after it), `action` (with the policy that chose it), `bot`, and `slot` (a slot
        set before any patient message).
    """
    items: List[Dict[str, Any]] = []
    last_user: Optional[Dict[str, Any]] = None
    bookings: List[str] = []
    handoffs: List[str] = []
    category: Optional[str] = None
    for event in raw:
        kind, data = event["type"], event["data"]
        if kind in HIDDEN_TYPES:
            continue
        if kind == "session_started":
            items.append({"kind": "session", "ts": event["ts"]})
            last_user = None
        elif kind == "user":
            last_user = _user_item(event)
            items.append(last_user)
        elif kind == "bot":
            buttons = [
                b.get("title") for b in ((data.get("data") or {}).get("buttons") or []) if isinstance(b, dict)
            ]
            items.append(
                {
                    "kind": "bot",
                    "event_id": event["id"],
                    "ts": event["ts"],
                    "text": str(data.get("text") or ""),
                    "buttons": buttons,
                    "utter": (data.get("metadata") or {}).get("utter_action"),
                }
            )
        elif kind == "action":
            name = data.get("name") or event["action_name"]
            if name in HIDDEN_ACTIONS:
                continue
            action = {
                "kind": "action",
                "ts": event["ts"],
                "name": name,
                "policy": data.get("policy"),
                "confidence": _confidence(data.get("confidence")),
                "fallback": name in FALLBACK_ACTIONS,
            }
            items.append(action)
            if last_user is not None and action["fallback"]:
                last_user["fallback"] = True
        elif kind == "slot":
            name, value = data.get("name"), data.get("value")
            if name == "red_flag" and value and last_user is not None:
                last_user["red_flag"] = True
            if name == "red_flag_category" and value:
                category = str(value)
            if name == "booking_reference" and value and str(value) not in bookings:
                bookings.append(str(value))
            if name == "handoff_reference" and value and str(value) not in handoffs:
                handoffs.append(str(value))
            slot = {"name": name, "value": value}
            if last_user is not None:
                last_user["slots"].append(slot)
            else:
                items.append({"kind": "slot", "ts": event["ts"], **slot})
    return {
        "items": items,
        "booking_references": bookings,
        "handoff_references": handoffs,
        "red_flag_category": category,
    }
