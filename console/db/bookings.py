"""The bookings and callbacks queue (tables written by the booking code; staff change `status`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa

from console.db import has_table
from console.db.schema import booking_requests, outbox

STATUSES = ("new", "contacted", "scheduled", "closed")
KINDS = ("booking", "callback", "change")
TRANSITIONS = {
    "new": ("contacted", "closed"),
    "contacted": ("scheduled", "closed"),
    "scheduled": ("closed",),
    "closed": ("contacted",),
}


def available(engine: sa.engine.Engine) -> bool:
    return has_table(engine, booking_requests.name)


def details_of(raw: Optional[str]) -> Dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def delivery_summary(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    """One word for the clinic notification's delivery: delivered, pending, failing or none."""
    if not rows:
        return {"state": "none", "rows": rows}
    if all(r.get("state") == "delivered" for r in rows):
        return {"state": "delivered", "rows": rows}
    failing = any(r.get("last_error") for r in rows if r.get("state") != "delivered")
    return {"state": "failing" if failing else "pending", "rows": rows}


def _outbox_by_request(conn: sa.Connection, ids: List[int]) -> Dict[int, List[Dict[str, Any]]]:
    out: Dict[int, List[Dict[str, Any]]] = {i: [] for i in ids}
    if ids and has_table(conn.engine, outbox.name):
        for r in conn.execute(sa.select(outbox).where(outbox.c.request_id.in_(ids)).order_by(outbox.c.id)):
            out.setdefault(r.request_id, []).append(dict(r._mapping))
    return out


def list_page(
    conn: sa.Connection,
    status: str = "",
    kind: str = "",
    reference: str = "",
    page: int = 1,
    page_size: int = 50,
) -> Tuple[List[Dict[str, Any]], int, Dict[str, int]]:
    """A page of requests (newest first), the number that match, and counts per status."""
    where = []
    if status in STATUSES:
        where.append(booking_requests.c.status == status)
    if kind in KINDS:
        where.append(booking_requests.c.kind == kind)
    if reference:
        where.append(booking_requests.c.reference == reference.strip().upper())
    total = conn.execute(sa.select(sa.func.count()).select_from(booking_requests).where(*where)).scalar_one()
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(booking_requests)
            .where(*where)
            .order_by(booking_requests.c.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ]
    deliveries = _outbox_by_request(conn, [r["id"] for r in rows])
    for r in rows:
        r["details"] = details_of(r["details"])
        r["delivery"] = delivery_summary(deliveries.get(r["id"], []))
    counts = {s: 0 for s in STATUSES}
    for status, n in conn.execute(
        sa.select(booking_requests.c.status, sa.func.count().label("n")).group_by(booking_requests.c.status)
    ):
        counts[str(status)] = int(n)
    return rows, total, counts


def get(conn: sa.Connection, request_id: int) -> Optional[Dict[str, Any]]:
    row = conn.execute(sa.select(booking_requests).where(booking_requests.c.id == request_id)).first()
    if not row:
        return None
    item = dict(row._mapping)
    item["details"] = details_of(item["details"])
    item["delivery"] = delivery_summary(_outbox_by_request(conn, [request_id]).get(request_id, []))
    return item


def set_status(conn: sa.Connection, request_id: int, old: str, new: str) -> bool:
    """Moves a request along the workflow; False if the move is not allowed or it changed meanwhile."""
    if new not in TRANSITIONS.get(old, ()):
        return False
    result = conn.execute(
        booking_requests.update()
        .where(booking_requests.c.id == request_id, booking_requests.c.status == old)
        .values(status=new, updated_at=dt.datetime.now(dt.timezone.utc))
    )
    return result.rowcount == 1


def all_rows(conn: sa.Connection) -> List[Dict[str, Any]]:
    """Every request with its delivery summary, oldest first (CSV export)."""
    rows = [
        dict(r._mapping) for r in conn.execute(sa.select(booking_requests).order_by(booking_requests.c.id))
    ]
    deliveries = _outbox_by_request(conn, [r["id"] for r in rows])
    for r in rows:
        r["details"] = details_of(r["details"])
        r["delivery"] = delivery_summary(deliveries.get(r["id"], []))
    return rows
