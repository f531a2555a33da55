"""The bookings and callbacks queue: status workflow, delivery state, CSV export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from console import exports
from console.db import bookings as booking_db
from console.db import conversations as conv_db
from console.web import admin_only, audit, audit_list, engine, settings, wants_page, with_audit_reveal
from console.web.common import message, refresh_index

bp = Blueprint("bookings", __name__)


@bp.get("/bookings")
def list_view() -> Any:
    if not booking_db.available(engine()):
        return render_template("bookings/list.html", available=False, message=message())
    refresh_index()
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    reference = (request.args.get("reference") or "")[:32]
    page = wants_page()
    with engine().begin() as conn:
        items, total, counts = booking_db.list_page(conn, status, kind, reference, page, settings().page_size)
        links = conv_db.by_sender(conn, [i["conversation_id"] for i in items])
        audit_list(conn, "view_bookings", reference, status=status, kind=kind, page=page, results=total)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "bookings/list.html",
        available=True,
        items=items,
        total=total,
        counts=counts,
        status=status,
        kind=kind,
        reference=reference,
        statuses=booking_db.STATUSES,
        kinds=booking_db.KINDS,
        links=links,
        page=page,
        pages=max(1, -(-total // settings().page_size)),
        args=args,
        message=message(),
    )


@bp.get("/bookings/<int:request_id>")
def detail(request_id: int) -> Any:
    if not booking_db.available(engine()):
        abort(404)
    with engine().begin() as conn:
        item = booking_db.get(conn, request_id)
        if item is None:
            abort(404)
        links = conv_db.by_sender(conn, [item["conversation_id"]])
        audit(conn, "view_booking", "booking", request_id)
    return render_template(
        "bookings/detail.html",
        b=item,
        conversation_link=links.get(item["conversation_id"]),
        transitions=booking_db.TRANSITIONS.get(item["status"], ()),
        message=message(),
        target=f"booking:{request_id}",
    )


@bp.post("/bookings/<int:request_id>/status")
def set_status(request_id: int) -> Any:
    if not booking_db.available(engine()):
        abort(404)
    new = request.form.get("status", "")
    with engine().begin() as conn:
        item = booking_db.get(conn, request_id)
        if item is None:
            abort(404)
        ok = booking_db.set_status(conn, request_id, item["status"], new)
        if ok:
            audit(conn, "booking_status", "booking", request_id, {"from": item["status"], "to": new})
    return redirect(url_for("bookings.detail", request_id=request_id, msg="status" if ok else "bad_status"))


@bp.post("/bookings/<int:request_id>/reveal")
def reveal(request_id: int) -> Any:
    if not booking_db.available(engine()):
        abort(404)
    with engine().begin() as conn:
        if booking_db.get(conn, request_id) is None:
            abort(404)
        audit(conn, "reveal", "booking", request_id)
    with_audit_reveal(f"booking:{request_id}")
    return redirect(url_for("bookings.detail", request_id=request_id, msg="revealed"))


@bp.get("/bookings/export.csv")
@admin_only
def export() -> Any:
    if not booking_db.available(engine()):
        abort(404)
    with engine().begin() as conn:
        rows = booking_db.all_rows(conn)
        audit(conn, "export_bookings", "bookings", None, {"rows": len(rows)})
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M")
    return Response(
        exports.bookings_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="bts-bookings-{stamp}.csv"'},
    )
