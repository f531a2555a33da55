"""Helpers shared by the route modules: query-string parsing and the index refresh."""

from __future__ import annotations

import datetime as dt
from typing import Optional, Tuple
from zoneinfo import ZoneInfo

from flask import current_app, request

from console.db import indexer
from console.web import engine, settings

MESSAGES = {
    "reviewed": "Marked as reviewed.",
    "unreviewed": "Marked as not reviewed.",
    "tagged": "Tag added.",
    "untagged": "Tag removed.",
    "bad_tag": "A tag is 1 to 40 letters, digits, spaces, - or _.",
    "noted": "Note added.",
    "empty_note": "The note is empty.",
    "revealed": "Contact details shown for 10 minutes.",
    "labelled": "Added to the NLU training examples.",
    "dismissed": "Dismissed.",
    "reset": "Returned to the inbox.",
    "bad_intent": "Pick an intent from the list.",
    "status": "Status changed.",
    "bad_status": "That status change is not allowed (or someone changed it first).",
    "deleted": "Conversation deleted.",
    "purged": "Purge finished.",
    "role": "Role changed.",
    "active": "Account updated.",
    "unlocked": "Login unlocked.",
    "self": "You cannot change your own account here.",
    "no_retention": "Retention is off (0 days).",
}


def tz() -> ZoneInfo:
    return current_app.extensions["console_tz"]


def message() -> Optional[str]:
    return MESSAGES.get(request.args.get("msg", ""))


def parse_day(raw: Optional[str]) -> Optional[dt.date]:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def day_range(start: Optional[dt.date], end: Optional[dt.date]) -> Tuple[Optional[float], Optional[float]]:
    """UNIX bounds of local days [start, end] (end inclusive)."""
    zone = tz()
    lo = dt.datetime.combine(start, dt.time(), zone).timestamp() if start else None
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone).timestamp() if end else None
    return lo, hi


def refresh_index() -> None:
    """Indexes new events (a cheap query when there are none)."""
    indexer.sync(engine(), settings().low_confidence)
