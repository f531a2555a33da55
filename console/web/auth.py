"""Login and logout."""

from __future__ import annotations

import time
from typing import Any, Dict

from flask import Blueprint, g, redirect, render_template, request, url_for

from console import security
from console.db import audit as audit_log
from console.db import users as user_db
from console.web import (
    LOGIN_COOKIE,
    clear_session_cookie,
    client_ip,
    cookie_secure,
    engine,
    login_throttle,
    set_session_cookie,
    settings,
)

bp = Blueprint("auth", __name__)
GENERIC_ERROR = "Login failed. Check your username and password, or wait a few minutes and try again."


THROTTLED = {
    "ip": "Too many failed logins from your network. Wait {minutes} minutes and try again.",
    "global": "The console is receiving too many login attempts. Wait a minute and try again.",
}


def _safe_next(value: str | None) -> str:
    return security.safe_next(value, url_for("conversations.list_view"))


def _form(error: str = "", status: int = 200) -> Any:
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    fresh = not nonce
    if fresh:
        nonce = security.new_token()
    g.login_nonce = nonce
    response = render_template(
        "login.html",
        error=error,
        next=_safe_next(request.values.get("next")),
        expired=bool(request.args.get("expired")),
    )
    from flask import make_response

    resp = make_response(response, status)
    if fresh:
        resp.set_cookie(
            LOGIN_COOKIE,
            nonce,
            httponly=True,
            samesite="Strict",
            secure=cookie_secure(),
            path="/login",
        )
    return resp


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if g.get("user"):
            return redirect(_safe_next(request.args.get("next")))
        return _form()
    s = settings()
    username = (request.form.get("username") or "").strip().lower()[:64]
    password = request.form.get("password") or ""
    target = _safe_next(request.form.get("next"))  # decided before anything is written
    ip = client_ip()
    refusal = login_throttle().refusal(username, ip)
    if refusal in THROTTLED:  # no password check and no write: cheap to refuse
        response = _form(THROTTLED[refusal].format(minutes=s.login_lock_minutes), 429)
        response.headers["Retry-After"] = str(login_throttle().retry_after_s())
        return response
    now = time.time()
    with engine().connect() as conn:
        user = user_db.by_username(conn, username) if username else None
    # Always one argon2 verification, whether the account exists, is locked or not.
    ok = security.check_password(user["password_hash"] if user else None, password)
    locked = refusal == "account"
    if locked or not ok or not user or not user["active"]:
        if not locked:
            login_throttle().failed(username, ip)
        with engine().begin() as conn:
            audit_log.record(
                conn,
                username or "(empty)",
                user["role"] if user else "-",
                "login_failed",
                "user",
                username or None,
                {"locked": locked},
                ip,
            )
        return _form(GENERIC_ERROR, 401)
    login_throttle().succeeded(username, ip)
    token = security.new_token()
    with engine().begin() as conn:
        old = g.get("session_key")
        if old:
            user_db.delete_session(conn, old)
        user_db.new_session(conn, security.keyed(s.secret_key, "session", token), user["id"])
        values: Dict[str, Any] = {"last_login_at": now}
        if security.needs_rehash(user["password_hash"]):
            values["password_hash"] = security.hash_password(password)
        user_db.update(conn, user["id"], **values)
        user_db.delete_stale_sessions(conn, now - s.idle_minutes * 60, now - s.session_max_hours * 3600)
        audit_log.record(conn, username, user["role"], "login", "user", username, None, ip)
    response = redirect(target)
    set_session_cookie(response, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@bp.post("/logout")
def logout() -> Any:
    with engine().begin() as conn:
        user_db.delete_session(conn, g.session_key)
        audit_log.record(
            conn, g.user["username"], g.user["role"], "logout", "user", g.user["username"], None, client_ip()
        )
    response = redirect(url_for("auth.login"))
    clear_session_cookie(response)
    return response
