"""Command line: `python -m console COMMAND` (create-user, set-password, list-users, purge, serve, sync)."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
import threading
import time
from typing import List, Optional

import sqlalchemy as sa
from bts.env import SettingsError

from console import security
from console.config import Settings
from console.db import audit as audit_log
from console.db import indexer, make_engine
from console.db import users as user_db
from console.db.privacy import last_purge, purge
from console.db.schema import create_console_tables

log = logging.getLogger("console")


def _engine(s: Settings) -> sa.engine.Engine:
    engine = make_engine(s.database_url)
    create_console_tables(engine)
    return engine


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


def create_user(s: Settings, username: str, role: str, password_stdin: bool) -> int:
    username = username.strip().lower()
    if not security.USERNAME_RE.match(username):
        print("error: a username is 2-64 lower-case letters, digits, '.', '_' or '-'", file=sys.stderr)
        return 2
    engine = _engine(s)
    with engine.connect() as conn:
        if user_db.by_username(conn, username):
            print(f"error: user {username!r} already exists", file=sys.stderr)
            return 1
    password = _read_password(password_stdin)
    problem = security.password_problem(password)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    with engine.begin() as conn:
        user_db.create(conn, username, security.hash_password(password), role)
        audit_log.record(conn, "cli", "system", "user_create", "user", username, {"role": role})
    print(f"created {role} account {username!r}")
    return 0


def set_password(s: Settings, username: str, password_stdin: bool) -> int:
    engine = _engine(s)
    with engine.connect() as conn:
        user = user_db.by_username(conn, username.strip().lower())
    if not user:
        print("error: no such user", file=sys.stderr)
        return 1
    password = _read_password(password_stdin)
    problem = security.password_problem(password)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    with engine.begin() as conn:
        user_db.update(conn, user["id"], password_hash=security.hash_password(password), active=True)
        user_db.end_sessions_of(conn, user["id"])
        audit_log.record(conn, "cli", "system", "user_password", "user", user["username"])
    print(f"password of {user['username']!r} changed; its sessions were ended")
    return 0


def list_users(s: Settings) -> int:
    with _engine(s).connect() as conn:
        for u in user_db.all_users(conn):
            print(f"{u['username']:24} {u['role']:6} {'active' if u['active'] else 'inactive'}")
    return 0


def run_purge(s: Settings, days: Optional[int], dry_run: bool) -> int:
    retention = s.retention_days if days is None else days
    if retention <= 0:
        print("retention is off (CONSOLE_RETENTION_DAYS=0): nothing to purge")
        return 0
    result = purge(_engine(s), retention, actor="cli", role="system", dry_run=dry_run)
    verb = "would purge" if dry_run else "purged"
    print(
        f"{verb} {result['conversations']} conversation(s) with no message in {retention} days"
        + ("" if dry_run else f" ({result['events']} events)")
    )
    return 0


def purge_scheduler(s: Settings, engine: sa.engine.Engine, stop: threading.Event) -> None:
    """Runs the retention purge every `purge_interval_hours` (first run when one is due)."""
    interval = s.purge_interval_hours * 3600
    while not stop.is_set():
        try:
            with engine.connect() as conn:
                last = last_purge(conn) or 0.0
            if time.time() - last >= interval:
                result = purge(engine, s.retention_days, actor="scheduler", role="system")
                log.info("scheduled purge: %d conversation(s) removed", result["conversations"])
        except Exception:  # noqa: BLE001 - keep the scheduler alive; the message holds no PHI
            log.exception("scheduled purge failed")
        stop.wait(min(interval, 3600))


def serve(s: Settings, host: Optional[str], port: Optional[int]) -> int:
    from waitress import serve as waitress_serve

    from console.web import create_app

    engine = make_engine(s.database_url)
    app = create_app(s, engine)
    if s.secret_is_ephemeral:
        log.warning(
            "CONSOLE_SECRET_KEY is not set: using a random key, so sessions end when the console restarts"
        )
    stop = threading.Event()
    if s.retention_days > 0 and s.purge_interval_hours > 0:
        threading.Thread(target=purge_scheduler, args=(s, engine, stop), name="purge", daemon=True).start()
    host, port = host or s.host, port or s.port
    log.info(
        "staff console on http://%s:%d/", "localhost" if host in ("127.0.0.1", "0.0.0.0") else host, port
    )
    try:
        # Behind a reverse proxy (CONSOLE_TRUST_PROXY=1) the app's ProxyFix reads X-Forwarded-*.
        waitress_serve(app, host=host, port=port, threads=8, ident="bts-console")
    finally:
        stop.set()
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        prog="python -m console", description="Border Therapy Services staff console"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("create-user", help="create an account (the password is prompted, or read from stdin)")
    p.add_argument("username")
    p.add_argument("--role", choices=user_db.ROLES, required=True)
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    p = sub.add_parser("set-password", help="set a new password (ends the account's sessions)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    sub.add_parser("list-users", help="list accounts")
    p = sub.add_parser("purge", help="delete conversations older than the retention period")
    p.add_argument("--days", type=int, help="override CONSOLE_RETENTION_DAYS")
    p.add_argument("--dry-run", action="store_true", help="only count")
    sub.add_parser("sync", help="index new tracker events now")
    p = sub.add_parser("serve", help="run the web server (default http://localhost:8090/)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    try:
        s = Settings.from_env()
    except SettingsError as err:  # also the console's own ConfigError
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.command == "create-user":
        return create_user(s, args.username, args.role, args.password_stdin)
    if args.command == "set-password":
        return set_password(s, args.username, args.password_stdin)
    if args.command == "list-users":
        return list_users(s)
    if args.command == "purge":
        return run_purge(s, args.days, args.dry_run)
    if args.command == "sync":
        n = indexer.sync(_engine(s), s.low_confidence)
        print(f"indexed {n} event(s)")
        return 0
    return serve(s, args.host, args.port)
