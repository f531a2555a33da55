"""The Flask application: security hooks here, routes per resource in the sibling modules.

Every endpoint needs a logged-in session unless it is listed in PUBLIC_ENDPOINTS (fail closed);
endpoints marked with `admin_only` need the admin role; every POST needs the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from functools import wraps
from typing import Any, Callable, Dict, Optional
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, Response, abort, g, redirect, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from console import security
from console.config import Settings
from console.db import make_engine
from console.db import users as user_db
from console.db.schema import create_console_tables
from console.throttle import LoginThrottle

SESSION_COOKIE = "bts_console_session"
LOGIN_COOKIE = "bts_console_login"
PUBLIC_ENDPOINTS = {"auth.login", "static", "health"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
REVEAL_SECONDS = 600
# Longer texts are cut on the page (the rest is one click away), so no page renders a megabyte.
SHOWN_CHARS = 2000
TOUCH_EVERY_S = 10

log = logging.getLogger("console.web")


def admin_only(view: Callable) -> Callable:
    """Marks a view as admin-only (checked before the view runs, so staff get 403, not 404)."""
    view.console_role = "admin"  # type: ignore[attr-defined]
    return view


def required_role(app: Flask, endpoint: Optional[str]) -> Optional[str]:
    """'admin', 'staff' (any logged-in user) or None (public) for an endpoint."""
    if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
        return None
    view = app.view_functions.get(endpoint)
    return getattr(view, "console_role", "staff")


def engine() -> sa.engine.Engine:
    from flask import current_app

    return current_app.extensions["console_engine"]


def settings() -> Settings:
    from flask import current_app

    return current_app.extensions["console_settings"]


def login_throttle() -> LoginThrottle:
    from flask import current_app

    return current_app.extensions["console_login_throttle"]


def client_ip() -> str:
    return request.remote_addr or ""


def actor() -> Dict[str, Any]:
    return {"username": g.user["username"], "role": g.user["role"]}


def revealed(target: str) -> bool:
    """True if the current user sees phone numbers and e-mails of `target` unmasked."""
    if g.get("user") is None:
        return False
    # Admins too: every unmasked view starts with an audited "Show contact details".
    return float(g.reveals.get(target, 0)) > time.time()


def with_audit_reveal(target: str) -> None:
    reveals = {k: v for k, v in g.reveals.items() if float(v) > time.time()}
    reveals[target] = time.time() + REVEAL_SECONDS
    with engine().begin() as conn:
        user_db.set_reveals(conn, g.session_key, reveals)
    g.reveals = reveals


def cookie_secure() -> bool:
    """Whether cookies get the Secure flag (see `Settings.cookie_secure`)."""
    s = settings()
    if s.cookie_secure != "auto":
        return s.cookie_secure == "always"
    # Only a console on the loopback interface, reached without a proxy, may go without.
    return request.is_secure or s.trust_proxy or not s.listens_on_loopback


def set_session_cookie(response: BaseResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="Strict", secure=cookie_secure(), path="/"
    )


def clear_session_cookie(response: BaseResponse) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=cookie_secure()
    )


def _load_session() -> None:
    g.user, g.session_key, g.session_token, g.reveals, g.expired = None, None, None, {}, False
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return
    s = settings()
    key = security.keyed(s.secret_key, "session", token)
    now = time.time()
    with engine().begin() as conn:
        row = user_db.get_session(conn, key)
        if row is None:
            g.expired = True
            return
        idle = now - row["last_seen_at"] > s.idle_minutes * 60
        too_old = now - row["created_at"] > s.session_max_hours * 3600
        if idle or too_old or not row["active"]:
            user_db.delete_session(conn, key)
            g.expired = True
            return
        if now - row["last_seen_at"] > TOUCH_EVERY_S:
            user_db.touch_session(conn, key, now)
    g.user = {"id": row["user_id"], "username": row["username"], "role": row["role"]}
    g.session_key, g.session_token, g.reveals = key, token, row["reveals"]


def csrf_token() -> str:
    """The token forms must send back (bound to the session, or to the login form cookie)."""
    s = settings()
    if g.get("session_token"):
        return security.keyed(s.secret_key, "csrf", g.session_token)
    return security.keyed(s.secret_key, "login", g.get("login_nonce") or "")


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    # A cross-site Origin is refused outright. "null" (sent by some privacy settings) is left to the
    # token check.
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        return False
    s = settings()
    if request.endpoint == "auth.login":
        nonce = request.cookies.get(LOGIN_COOKIE) or ""
        expected = security.keyed(s.secret_key, "login", nonce) if nonce else ""
    elif g.get("session_token"):
        expected = security.keyed(s.secret_key, "csrf", g.session_token)
    else:
        expected = ""
    return bool(sent and expected and security.same(sent, expected))


def create_app(s: Optional[Settings] = None, db_engine: Optional[sa.engine.Engine] = None) -> Flask:
    """Builds the application (creates the console tables if they are missing)."""
    s = s or Settings.from_env()
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, TEMPLATES_AUTO_RELOAD=False, SECRET_KEY=s.secret_key)
    if s.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    db_engine = db_engine or make_engine(s.database_url)
    create_console_tables(db_engine)
    app.extensions["console_engine"] = db_engine
    app.extensions["console_settings"] = s
    app.extensions["console_login_throttle"] = LoginThrottle(
        s.login_max_failures,
        s.login_lock_minutes * 60,
        s.login_max_failures_per_ip,
        s.login_max_attempts_global,
    )
    tz = ZoneInfo(s.timezone)
    app.extensions["console_tz"] = tz

    from console.web import admin, analytics, auth, bookings, conversations, learning, nlu

    for module in (auth, conversations, nlu, learning, bookings, analytics, admin):
        app.register_blueprint(module.bp)

    @app.get("/healthz")
    def health() -> Response:
        return Response("ok\n", mimetype="text/plain")

    @app.get("/")
    def index() -> BaseResponse:
        return redirect(url_for("conversations.list_view"))

    @app.before_request
    def guard() -> Optional[BaseResponse]:
        g.started = time.perf_counter()
        g.login_nonce = request.cookies.get(LOGIN_COOKIE)
        role = required_role(app, request.endpoint)
        if request.endpoint == "static":
            return None
        _load_session()
        if role is not None and g.user is None:
            if request.method in ("GET", "HEAD") and not request.path.endswith((".csv", ".yml")):
                target = (
                    request.path
                    if request.path.startswith("/") and not request.path.startswith("//")
                    else "/"
                )
                return redirect(url_for("auth.login", next=target, expired=1 if g.expired else None))
            return Response("Login required.\n", status=401, mimetype="text/plain")
        if request.method in STATE_CHANGING and not _csrf_ok():
            return Response(
                "The form has expired or did not come from this site (CSRF check failed). "
                "Go back, reload the page and try again.\n",
                status=400,
                mimetype="text/plain",
            )
        if role == "admin" and g.user["role"] != "admin":
            abort(403)
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # same-origin: query strings (search terms) never leave the site, and browsers still send
        # an Origin header with form posts (with no-referrer, Chromium sends "Origin: null").
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        # Method, route pattern, status and time only: no query string (search terms), no bodies.
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info("%s %s %s %.1fms", request.method, rule, response.status_code, elapsed)
        return response

    @app.context_processor
    def template_globals() -> Dict[str, Any]:
        return {
            "csrf_token": csrf_token,
            "current_user": g.get("user"),
            "revealed": revealed,
            "idle_seconds": s.idle_minutes * 60,
        }

    @app.template_filter("when")
    def when(ts: Optional[float], fmt: str = "%Y-%m-%d %H:%M") -> str:
        if ts is None:
            return ""
        return dt.datetime.fromtimestamp(float(ts), tz).strftime(fmt)

    @app.template_filter("when_dt")
    def when_dt(value: Optional[dt.datetime]) -> str:
        return "" if value is None else value.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    @app.template_filter("pct")
    def pct(value: Optional[float]) -> str:
        return "" if value is None else f"{value * 100:.1f}%"

    @app.template_filter("conf")
    def conf(value: Optional[float]) -> str:
        return "" if value is None else f"{value:.2f}"

    @app.template_filter("masked")
    def masked(value: Any, target: str, limit: int = SHOWN_CHARS) -> str:
        shown, cut = security.clip("" if value is None else str(value), limit, revealed(target))
        return shown + " …" if cut else shown

    @app.template_filter("too_long")
    def too_long(value: Any, limit: int = SHOWN_CHARS) -> bool:
        return value is not None and len(str(value)) > limit

    @app.errorhandler(403)
    def forbidden(_err: Exception) -> Any:
        from flask import render_template

        return render_template(
            "error.html", code=403, message="Your role does not give access to this page."
        ), 403

    @app.errorhandler(404)
    def not_found(_err: Exception) -> Any:
        from flask import render_template

        return render_template("error.html", code=404, message="Not found (it may have been deleted)."), 404

    return app


def audit(
    conn: sa.Connection,
    action: str,
    target_type: Optional[str] = None,
    target_id: Any = None,
    detail: Optional[Dict[str, Any]] = None,
) -> None:
    """Records an action of the logged-in user in the audit log."""
    from console.db import audit as audit_log

    audit_log.record(
        conn, g.user["username"], g.user["role"], action, target_type, target_id, detail, client_ip()
    )


def audit_list(conn: sa.Connection, action: str, query: str = "", **detail: Any) -> None:
    """Audits a list or search view: the filters, and a keyed hash of the search words, never the words."""
    recorded = {k: v for k, v in detail.items() if v not in (None, "", {}, [])}
    if query.strip():
        recorded["query_hash"] = security.query_hash(settings().secret_key, query)
    audit(conn, action, None, None, recorded or None)


def wants_page(default: int = 1) -> int:
    try:
        return max(1, min(int(request.args.get("page", default)), 100000))
    except ValueError:
        return default


__all__ = ["admin_only", "audit", "create_app", "engine", "settings", "wraps"]
