"""Keeps the console's per-conversation summary in step with Rasa's `events` table.

Rasa appends events with increasing ids, so the indexer reads only the events after the last id
it has seen (kept in `console_state`) and updates `console_conversations` (flags, counts, times)
and `console_messages` (one row per patient message, for search, the NLU inbox and analytics).
This makes the list, its filters and counts cheap queries over one row per conversation instead
of a scan of every event on every page view.

Ids are handed out when a row is inserted but become visible when its transaction commits, so
with two Rasa replicas on PostgreSQL a lower id can appear after a higher one was read. Every id
skipped over is kept as an open gap (a range, in `console_state`) and looked for again on each
sync until it shows up or `GAP_TTL_S` has passed (an id that never commits, after a rollback).

Messages are indexed masked (phone numbers and e-mails hidden), so that a search can never tell
more than the masked page shows.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from bts.contact import clip, mask

from console.db import has_table
from console.db.schema import conversations, events, messages, state

CURSOR_KEY = "events_cursor"
GAPS_KEY = "events_gaps"
MASKED_KEY = "messages_masked"
GAP_TTL_S = 600.0
MAX_GAPS = 500
BATCH = 5000
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_clarify_topic", "action_default_fallback", "action_two_stage_fallback"})
PREVIEW_CHARS = 200

_lock = threading.Lock()


_SURROGATES = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` without lone surrogates (JSON can carry them, UTF-8 databases cannot)."""
    return _SURROGATES.sub("", text)


def parse_data(raw: Optional[str]) -> Dict[str, Any]:
    """The JSON of an event, or {} if it is not readable."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def user_intent(data: Dict[str, Any]) -> tuple:
    """(intent name, confidence) of a `user` event's parse data."""
    intent = (data.get("parse_data") or {}).get("intent") or {}
    name = intent.get("name")
    confidence = intent.get("confidence")
    try:
        confidence = float(confidence) if confidence is not None else None
    except (TypeError, ValueError):
        confidence = None
    return name, confidence


def get_cursor(conn: sa.Connection) -> int:
    value = _get_state(conn, CURSOR_KEY)
    return int(value) if value else 0


def _mask_indexed_messages(engine: sa.engine.Engine) -> None:
    """Masks messages indexed before the index was kept masked (once per database)."""
    with engine.begin() as conn:
        if _get_state(conn, MASKED_KEY):
            return
        for table, key, column in (
            (messages, messages.c.event_id, messages.c.text),
            (conversations, conversations.c.id, conversations.c.preview),
        ):
            changed = []
            for row_id, text in conn.execute(sa.select(key, column).where(column.is_not(None))):
                masked = mask(text)
                if masked != text:
                    changed.append({"_id": row_id, "_value": masked})
            if changed:
                update = table.update().where(key == sa.bindparam("_id"))
                conn.execute(update.values({column.name: sa.bindparam("_value")}), changed)
        _swap_state(conn, MASKED_KEY, None, "1")


def _get_state(conn: sa.Connection, key: str) -> Optional[str]:
    return conn.execute(sa.select(state.c.value).where(state.c.key == key)).scalar()


def _swap_state(conn: sa.Connection, key: str, old: Optional[str], new: str) -> bool:
    """Sets `key` to `new` if it still holds `old` (None: missing); False if another indexer won."""
    if old == new:
        return True
    if old is None:
        # A concurrent first insert fails this transaction on the primary key, as a lost swap would.
        conn.execute(state.insert().values(key=key, value=new))
        return True
    result = conn.execute(state.update().where(state.c.key == key, state.c.value == old).values(value=new))
    return result.rowcount == 1


Gap = List[float]  # [first id, last id, when it was first seen (UNIX seconds)]


def _load_gaps(raw: Optional[str], now: float) -> List[Gap]:
    try:
        gaps = json.loads(raw) if raw else []
    except ValueError:
        gaps = []
    return [g for g in gaps if isinstance(g, list) and len(g) == 3 and now - g[2] < GAP_TTL_S]


def _next_gaps(gaps: List[Gap], cursor: int, ids: List[int], now: float) -> List[Gap]:
    """The open gaps after reading `ids` (sorted): found ids close theirs, skipped ids open new ones."""
    found = set(ids)
    out: List[Gap] = []
    for lo, hi, seen in gaps:
        start = int(lo)
        for i in sorted(x for x in found if lo <= x <= hi):
            if start < i:
                out.append([start, i - 1, seen])
            start = i + 1
        if start <= hi:
            out.append([start, int(hi), seen])
    previous = cursor
    for i in ids:
        if i > previous + 1:
            out.append([previous + 1, i - 1, now])
        previous = max(previous, i)
    return out[-MAX_GAPS:]


def _blank(sender_id: str, ts: float) -> Dict[str, Any]:
    return {
        "id": None,
        "sender_id": sender_id,
        "first_ts": ts,
        "last_ts": ts,
        "n_user": 0,
        "n_bot": 0,
        "n_sessions": 0,
        "has_fallback": False,
        "has_low_confidence": False,
        "has_red_flag": False,
        "red_flag_category": None,
        "booking_reference": None,
        "handoff_reference": None,
        "min_confidence": None,
        "preview": None,
    }


def _apply(
    summary: Dict[str, Any], row: Any, low_confidence: float, new_messages: List[Dict[str, Any]]
) -> None:
    ts = float(row.timestamp or 0.0)
    summary["first_ts"] = min(summary["first_ts"], ts)
    summary["last_ts"] = max(summary["last_ts"], ts)
    kind = row.type_name
    if kind == "user":
        data = parse_data(row.data)
        text = storable(str(data.get("text") or ""))
        intent, confidence = user_intent(data)
        is_fallback = intent == FALLBACK_INTENT
        is_low = is_fallback or (confidence is not None and confidence < low_confidence)
        summary["n_user"] += 1
        summary["has_fallback"] = summary["has_fallback"] or is_fallback
        summary["has_low_confidence"] = summary["has_low_confidence"] or is_low
        if confidence is not None and (
            summary["min_confidence"] is None or confidence < summary["min_confidence"]
        ):
            summary["min_confidence"] = confidence
        if summary["preview"] is None and text:
            summary["preview"] = clip(" ".join(text[: PREVIEW_CHARS * 4].split()), PREVIEW_CHARS)[0]
        new_messages.append(
            {
                "event_id": row.id,
                "sender_id": summary["sender_id"],
                "ts": ts,
                "text": mask(text),
                "intent": intent,
                "confidence": confidence,
                "is_fallback": is_fallback,
                "is_low_confidence": is_low,
            }
        )
    elif kind == "bot":
        summary["n_bot"] += 1
    elif kind == "session_started":
        summary["n_sessions"] += 1
    elif kind == "action":
        if row.action_name in FALLBACK_ACTIONS:
            summary["has_fallback"] = True
    elif kind == "slot":
        data = parse_data(row.data)
        name, value = data.get("name"), data.get("value")
        if name == "red_flag" and value:
            summary["has_red_flag"] = True
        elif name == "red_flag_category" and value:
            summary["red_flag_category"] = str(value)[:64]
        elif name == "booking_reference" and value:
            summary["booking_reference"] = str(value)[:32]
        elif name == "handoff_reference" and value:
            summary["handoff_reference"] = str(value)[:32]


SUMMARY_FIELDS = [c.name for c in conversations.columns if c.name not in ("id", "reviewed_at", "reviewed_by")]


def sync(engine: sa.engine.Engine, low_confidence: float, max_batches: Optional[int] = None) -> int:
    """Indexes the events added since the last call.

    Args:
        engine: The project database.
        low_confidence: Threshold below which a patient message counts as low confidence.
        max_batches: Stop after this many batches of events (None: until done).

    Returns:
        The number of events indexed.
    """
    if not has_table(engine, events.name):
        return 0
    done = 0
    batches = 0
    with _lock:
        _mask_indexed_messages(engine)
        while max_batches is None or batches < max_batches:
            with engine.begin() as conn:
                now = time.time()
                raw_cursor, raw_gaps = _get_state(conn, CURSOR_KEY), _get_state(conn, GAPS_KEY)
                cursor = int(raw_cursor) if raw_cursor else 0
                gaps = _load_gaps(raw_gaps, now)
                in_gaps = (events.c.id.between(int(g[0]), int(g[1])) for g in gaps)
                wanted = sa.or_(events.c.id > cursor, *in_gaps)
                rows = conn.execute(
                    sa.select(
                        events.c.id,
                        events.c.sender_id,
                        events.c.type_name,
                        events.c.timestamp,
                        events.c.action_name,
                        events.c.data,
                    )
                    .where(wanted)
                    .order_by(events.c.id)
                    .limit(BATCH)
                ).all()
                new_gaps = json.dumps(_next_gaps(gaps, cursor, [r.id for r in rows], now))
                if not rows:
                    _swap_state(conn, GAPS_KEY, raw_gaps, new_gaps)  # expired gaps are dropped
                    break
                senders = sorted({r.sender_id for r in rows})
                existing: Dict[str, Dict[str, Any]] = {}
                for i in range(0, len(senders), 500):
                    chunk = senders[i : i + 500]
                    for r in conn.execute(
                        sa.select(conversations).where(conversations.c.sender_id.in_(chunk))
                    ):
                        existing[r.sender_id] = dict(r._mapping)
                summaries: Dict[str, Dict[str, Any]] = {}
                new_messages: List[Dict[str, Any]] = []
                for row in rows:
                    summary = summaries.get(row.sender_id)
                    if summary is None:
                        summary = existing.get(row.sender_id) or _blank(
                            row.sender_id, float(row.timestamp or 0)
                        )
                        summaries[row.sender_id] = summary
                    _apply(summary, row, low_confidence, new_messages)
                inserts = [{k: s[k] for k in SUMMARY_FIELDS} for s in summaries.values() if s["id"] is None]
                updates = [s for s in summaries.values() if s["id"] is not None]
                if inserts:
                    conn.execute(conversations.insert(), inserts)
                if updates:
                    conn.execute(
                        conversations.update()
                        .where(conversations.c.id == sa.bindparam("_id"))
                        .values({k: sa.bindparam(k) for k in SUMMARY_FIELDS if k != "sender_id"}),
                        [
                            {"_id": s["id"], **{k: s[k] for k in SUMMARY_FIELDS if k != "sender_id"}}
                            for s in updates
                        ],
                    )
                if new_messages:
                    ids: Dict[str, int] = {}
                    need = sorted({m["sender_id"] for m in new_messages})
                    for i in range(0, len(need), 500):
                        chunk = need[i : i + 500]
                        for r in conn.execute(
                            sa.select(conversations.c.id, conversations.c.sender_id).where(
                                conversations.c.sender_id.in_(chunk)
                            )
                        ):
                            ids[r.sender_id] = r.id
                    conn.execute(
                        messages.insert(),
                        [
                            {
                                **{k: v for k, v in m.items() if k != "sender_id"},
                                "conversation_id": ids[m["sender_id"]],
                            }
                            for m in new_messages
                        ],
                    )
                new_cursor = str(max(cursor, rows[-1].id))
                if not (
                    _swap_state(conn, CURSOR_KEY, raw_cursor, new_cursor)
                    and _swap_state(conn, GAPS_KEY, raw_gaps, new_gaps)
                ):
                    raise RuntimeError("another indexer moved the events cursor during indexing")
            done += len(rows)
            batches += 1
            if len(rows) < BATCH:
                break
    return done
