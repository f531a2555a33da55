"""Admin pages: accounts, the audit log, retention and purge."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from console.db import audit as audit_log
from console.db import users as user_db
from console.db.privacy import last_purge, purge
from console.web import admin_only, audit, engine, login_throttle, settings, wants_page
from console.web.common import day_range, message, parse_day

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@admin_only
def users() -> Any:
    with engine().connect() as conn:
        rows = user_db.all_users(conn)
    locked = login_throttle().locked_usernames()
    return render_template(
        "admin/users.html", users=rows, locked=locked, roles=user_db.ROLES, message=message()
    )


def _other_user(user_id: int) -> Any:
    if user_id == g.user["id"]:
        return None
    with engine().connect() as conn:
        return user_db.by_id(conn, user_id)


@bp.post("/users/<int:user_id>/role")
@admin_only
def set_role(user_id: int) -> Any:
    role = request.form.get("role", "")
    user = _other_user(user_id)
    if user is None or role not in user_db.ROLES:
        return redirect(url_for("admin.users", msg="self"))
    with engine().begin() as conn:
        user_db.update(conn, user_id, role=role)
        user_db.end_sessions_of(conn, user_id)
        audit(conn, "user_role", "user", user["username"], {"role": role})
    return redirect(url_for("admin.users", msg="role"))


@bp.post("/users/<int:user_id>/active")
@admin_only
def set_active(user_id: int) -> Any:
    active = request.form.get("active") == "1"
    user = _other_user(user_id)
    if user is None:
        return redirect(url_for("admin.users", msg="self"))
    with engine().begin() as conn:
        user_db.update(conn, user_id, active=active)
        if not active:
            user_db.end_sessions_of(conn, user_id)
        audit(conn, "user_active", "user", user["username"], {"active": active})
    return redirect(url_for("admin.users", msg="active"))


@bp.post("/users/<int:user_id>/unlock")
@admin_only
def unlock(user_id: int) -> Any:
    with engine().begin() as conn:
        user = user_db.by_id(conn, user_id)
        if user:
            login_throttle().unlock(user["username"])
            audit(conn, "user_unlock", "user", user["username"])
    return redirect(url_for("admin.users", msg="unlocked"))


@bp.get("/audit")
@admin_only
def audit_view() -> Any:
    start, end = day_range(parse_day(request.args.get("from")), parse_day(request.args.get("to")))
    username = (request.args.get("user") or "").strip().lower()[:64]
    action = request.args.get("action", "")
    action = action if action in audit_log.ACTIONS else ""
    page = wants_page()
    with engine().connect() as conn:
        rows, total = audit_log.search(conn, username or None, action or None, start, end, page, 100)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/audit.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // 100)),
        actions=audit_log.ACTIONS,
        action=action,
        username=username,
        args=args,
        date_from=request.args.get("from", ""),
        date_to=request.args.get("to", ""),
    )


@bp.get("/privacy")
@admin_only
def privacy() -> Any:
    with engine().connect() as conn:
        last = last_purge(conn)
    return render_template("admin/privacy.html", s=settings(), last=last, message=message(), result=None)


@bp.post("/purge")
@admin_only
def purge_now() -> Any:
    s = settings()
    if s.retention_days <= 0:
        return redirect(url_for("admin.privacy", msg="no_retention"))
    result = purge(engine(), s.retention_days, actor=g.user["username"], role=g.user["role"])
    with engine().connect() as conn:
        last = last_purge(conn)
    return render_template("admin/privacy.html", s=s, last=last, message="Purge finished.", result=result)
