"""Analytics over a date range, as server-rendered SVG charts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template, request

from console import charts
from console.db import analytics as analytics_db
from console.web import audit_list, engine
from console.web.common import parse_day, refresh_index, tz

bp = Blueprint("analytics", __name__)
DEFAULT_DAYS = 30
MAX_DAYS = 366


@bp.get("/analytics")
def page() -> Any:
    refresh_index()
    today = dt.datetime.now(tz()).date()
    end = parse_day(request.args.get("to")) or today
    start = parse_day(request.args.get("from")) or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS - 1)
    with engine().begin() as conn:
        data = analytics_db.compute(conn, start, end + dt.timedelta(days=1), tz())
        audit_list(conn, "view_analytics", start=start.isoformat(), end=end.isoformat())
    return render_template(
        "analytics.html",
        d=data,
        start=start,
        end=end,
        conv_chart=charts.daily_bars(data["conversations_per_day"], "Conversations per day"),
        msg_chart=charts.daily_bars(data["messages_per_day"], "Patient messages per day"),
        intent_chart=charts.horizontal_bars(data["top_intents"], "Top intents"),
    )
