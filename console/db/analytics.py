"""Figures for the analytics page, over a date range in the clinic's time zone."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Dict, List, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from console.db.schema import conversations, messages

TOP_N = 10


def _days(start: dt.date, end: dt.date) -> List[dt.date]:
    out, day = [], start
    while day < end:
        out.append(day)
        day += dt.timedelta(days=1)
    return out


def compute(conn: sa.Connection, start_day: dt.date, end_day: dt.date, tz: ZoneInfo) -> Dict[str, Any]:
    """Conversations and messages per day, rates, top intents and top misunderstood messages.

    Args:
        conn: Connection.
        start_day: First day (inclusive), local date.
        end_day: Last day (exclusive), local date.
        tz: The clinic's time zone.
    """
    start = dt.datetime.combine(start_day, dt.time(), tz).timestamp()
    end = dt.datetime.combine(end_day, dt.time(), tz).timestamp()
    days = _days(start_day, end_day)
    per_day_conv: Counter = Counter()
    totals: Counter = Counter()
    for r in conn.execute(
        sa.select(
            conversations.c.first_ts,
            conversations.c.has_fallback,
            conversations.c.has_red_flag,
            conversations.c.handoff_reference,
            conversations.c.booking_reference,
        ).where(conversations.c.first_ts >= start, conversations.c.first_ts < end)
    ):
        per_day_conv[dt.datetime.fromtimestamp(r.first_ts, tz).date()] += 1
        totals["conversations"] += 1
        totals["fallback"] += bool(r.has_fallback)
        totals["red_flag"] += bool(r.has_red_flag)
        totals["handoff"] += r.handoff_reference is not None
        totals["booking"] += r.booking_reference is not None
    per_day_msg: Counter = Counter()
    in_range = (messages.c.ts >= start, messages.c.ts < end)
    for r in conn.execute(sa.select(messages.c.ts).where(*in_range)):
        per_day_msg[dt.datetime.fromtimestamp(r.ts, tz).date()] += 1
    n_messages = sum(per_day_msg.values())
    n_fallback_msgs = conn.execute(
        sa.select(sa.func.count()).select_from(messages).where(*in_range, messages.c.is_fallback)
    ).scalar_one()
    top_intents: List[Tuple[str, int]] = [
        (r.intent or "(none)", int(r.n))
        for r in conn.execute(
            sa.select(messages.c.intent, sa.func.count().label("n"))
            .where(*in_range)
            .group_by(messages.c.intent)
            .order_by(sa.desc("n"), messages.c.intent)
            .limit(TOP_N)
        )
    ]
    lowered = sa.func.lower(messages.c.text)
    misunderstood: List[Tuple[str, int]] = [
        (r.text, int(r.n))
        for r in conn.execute(
            sa.select(sa.func.min(messages.c.text).label("text"), sa.func.count().label("n"))
            .where(*in_range, messages.c.is_low_confidence)
            .group_by(lowered)
            .order_by(sa.desc("n"), lowered)
            .limit(TOP_N)
        )
    ]
    n = totals["conversations"]

    def rate(k: str) -> float:
        return totals[k] / n if n else 0.0

    return {
        "days": days,
        "conversations_per_day": [(d, per_day_conv.get(d, 0)) for d in days],
        "messages_per_day": [(d, per_day_msg.get(d, 0)) for d in days],
        "conversations": n,
        "messages": n_messages,
        "fallback_conversations": totals["fallback"],
        "fallback_rate": rate("fallback"),
        "fallback_message_rate": (n_fallback_msgs / n_messages) if n_messages else 0.0,
        "red_flags": totals["red_flag"],
        "handoffs": totals["handoff"],
        "handoff_rate": rate("handoff"),
        "bookings": totals["booking"],
        "booking_conversion": rate("booking"),
        "top_intents": top_intents,
        "misunderstood": misunderstood,
    }
