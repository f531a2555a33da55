"""Local demo of the clinic's side of the webhook: receives, verifies and shows booking requests.

It does what a real receiver must do: check the `X-BTS-Signature` HMAC over the raw body and
timestamp, reject stale or unsigned requests, and drop repeats by `Idempotency-Key` while still
answering 200 (so the sender stops retrying). Received requests are kept in memory and in a JSON
file under `var/`, listed on an HTML page at http://localhost:8099/ and as JSON at `/received`.

For fault tests it can misbehave on purpose: `--mode fail` answers 500 to every POST,
`--mode hang` never answers in time, and `--faults 500,hang,hang-after-store` misbehaves on the
first POSTs only, one fault per POST, then works normally. `hang-after-store` stores the request
and then does not answer in time: the sender sees a timeout although the clinic has the request,
the case idempotency keys exist for.

Received requests are health information: the page and `/received` need the token
`BTS_RECEIVER_TOKEN` (header `Authorization: Bearer TOKEN`, or `/login?token=TOKEN` once, which
sets a cookie), every request must name a local host (`Host: localhost`, against DNS
rebinding), and the receiver refuses to start in the production profile (`BTS_PROFILE=production`),
where a real clinic webhook must be configured.

Usage:
    python -m bts.booking.receiver [--port 8099] [--secret S] [--mode ok|fail|hang]
        [--faults 500,hang,hang-after-store] [--hang-s 30] [--data-file var/demo_receiver/received.json]

Environment (used when the flag is not given): BTS_RECEIVER_TOKEN, BTS_RECEIVER_PORT, BTS_WEBHOOK_SECRET,
BTS_RECEIVER_MODE, BTS_RECEIVER_FAULTS, BTS_RECEIVER_HANG_S, BTS_RECEIVER_DATA_FILE,
BTS_RECEIVER_HOST (default 127.0.0.1).
"""

from __future__ import annotations

import argparse
import hmac
import json
import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

from bts import env as envvars
from bts.booking.receiver_page import LOGIN_PAGE, render_page
from bts.booking.settings import PROJECT_ROOT as ROOT
from bts.booking.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from bts.db.engine import FILE_MODE, private_dir
from bts.db.schema import to_utc

DEFAULT_DATA_FILE = ROOT / "var" / "demo_receiver" / "received.json"
# Names a local browser uses for the receiver; a rebound DNS name of an attacker's page is none of them.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
COOKIE = "bts_receiver"
MODES = ("ok", "fail", "hang")
FAULTS = ("500", "hang", "hang-after-store")
MAX_BODY = 1_000_000

logger = logging.getLogger("bts.booking.receiver")


class Inbox:
    """Received requests, deduplicated by idempotency key, persisted to a JSON file.

    Args:
        data_file: Where to keep them; loaded at start so repeats are recognised after a restart.
        mode: `ok`, `fail` or `hang`.
        faults: Faults to inject, one per POST, before behaving as `mode` says.
    """

    def __init__(
        self,
        data_file: Path,
        mode: str = "ok",
        faults: Optional[List[str]] = None,
        retention_days: int = 0,
    ) -> None:
        self.data_file = data_file
        self.mode = mode
        self.faults = list(faults or [])
        self.retention_days = retention_days
        self.lock = threading.Lock()
        self.requests: Dict[str, Dict[str, Any]] = {}
        self.stats = {"posts": 0, "accepted": 0, "duplicates": 0, "rejected": 0, "faults_injected": 0}
        self.log: List[Dict[str, Any]] = []
        if data_file.exists():
            saved = json.loads(data_file.read_text(encoding="utf-8"))
            self.requests = {item["idempotency_key"]: item for item in saved.get("requests", [])}

    def next_fault(self) -> Optional[str]:
        """The fault to inject into this POST, if any (consumes it)."""
        with self.lock:
            self.stats["posts"] += 1
            if self.faults:
                self.stats["faults_injected"] += 1
                return self.faults.pop(0)
            if self.mode == "fail":
                return "500"
            if self.mode == "hang":
                return "hang"
            return None

    def note(self, key: str, outcome: str) -> None:
        """Records one POST's outcome for `/received` (no request content)."""
        with self.lock:
            self.log.append({"at": _now(), "idempotency_key": key, "outcome": outcome})

    def reject(self) -> None:
        """Counts a POST refused for a bad signature or body."""
        with self.lock:
            self.stats["rejected"] += 1

    def store(self, key: str, payload: Dict[str, Any]) -> bool:
        """Keeps a request unless its key was seen before.

        Returns:
            True if new, False if a repeat.
        """
        with self.lock:
            if key in self.requests:
                self.requests[key]["repeats"] += 1
                self.stats["duplicates"] += 1
                self._save()
                return False
            self.requests[key] = {
                "idempotency_key": key,
                "received_at": _now(),
                "repeats": 0,
                "payload": payload,
            }
            self.stats["accepted"] += 1
            self._save()
            return True

    def _save(self) -> None:
        if self.retention_days > 0:
            # The retention purge rewrites the file; this keeps a running receiver from undoing it.
            cutoff = datetime.now(timezone.utc) - timedelta(days=self.retention_days)
            self.requests = {
                key: item for key, item in self.requests.items() if to_utc(item["received_at"]) >= cutoff
            }
        private_dir(self.data_file.parent)
        tmp = self.data_file.with_name(self.data_file.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"requests": list(self.requests.values())}, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.data_file)

    def snapshot(self) -> Dict[str, Any]:
        """Everything received, for `/received`."""
        with self.lock:
            return {
                "requests": [dict(item) for item in self.requests.values()],
                "stats": dict(self.stats),
                "posts": list(self.log),
            }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class Handler(BaseHTTPRequestHandler):
    """HTTP handler; the server carries `inbox`, `secret`, `token` and `hang_s`."""

    server: ReceiverServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # The path only: a query string may carry the login token.
        logger.info("%s %s %s", self.address_string(), self.command, urlsplit(self.path).path)

    def _local_host(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            name = host[1:].split("]", 1)[0]
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in self.server.allowed_hosts

    def _authorised(self) -> bool:
        given = ""
        authorization = self.headers.get("Authorization") or ""
        if authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        else:
            cookie = SimpleCookie()
            try:
                cookie.load(self.headers.get("Cookie") or "")
            except Exception:  # noqa: BLE001 - a malformed cookie is no cookie
                cookie = SimpleCookie()
            if COOKIE in cookie:
                given = cookie[COOKIE].value
        return bool(given) and hmac.compare_digest(given.encode(), self.server.token.encode())

    def _login(self) -> None:
        token = (parse_qs(urlsplit(self.path).query).get("token") or [""])[0]
        if not token or not hmac.compare_digest(token.encode(), self.server.token.encode()):
            self._send(401, LOGIN_PAGE.encode("utf-8"), "text/html; charset=utf-8")
            return
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Set-Cookie", f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting

    def _json(self, status: int, document: Any) -> None:
        self._send(status, json.dumps(document, ensure_ascii=False).encode("utf-8"), "application/json")

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        """Serves the page, `/received` and `/health`."""
        path = self.path.split("?", 1)[0]
        if not self._local_host():
            self._json(421, {"error": "unknown host"})
        elif path == "/health":
            self._json(200, {"status": "ok"})
        elif path == "/login":
            self._login()
        elif path in ("/", "/received") and not self._authorised():
            self._send(401, LOGIN_PAGE.encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/":
            page = render_page(self.server.inbox.snapshot())
            self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/received":
            self._json(200, self.server.inbox.snapshot())
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        """Receives a webhook request."""
        if not self._local_host():
            self._json(421, {"error": "unknown host"})
            return
        if self.path.split("?", 1)[0] not in ("/", "/webhook"):
            self._json(404, {"error": "not found"})
            return
        inbox = self.server.inbox
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            inbox.reject()
            self._json(413 if length > MAX_BODY else 400, {"error": "bad Content-Length"})
            return
        body = self.rfile.read(length)
        key = (self.headers.get(IDEMPOTENCY_HEADER) or "").strip()
        fault = inbox.next_fault()
        if fault == "500":
            inbox.note(key, "fault 500")
            self._json(500, {"error": "injected failure"})
            return
        if fault == "hang":
            inbox.note(key, "fault hang")
            time.sleep(self.server.hang_s)
            self._json(503, {"error": "injected hang"})
            return
        if not verify_signature(
            self.server.secret, self.headers.get(TIMESTAMP_HEADER), body, self.headers.get(SIGNATURE_HEADER)
        ):
            inbox.reject()
            inbox.note(key, "rejected: bad signature")
            self._json(401, {"error": "bad or missing signature"})
            return
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not key or payload.get("reference") != key:
            inbox.reject()
            inbox.note(key, "rejected: bad payload")
            self._json(400, {"error": "JSON body with a reference equal to the Idempotency-Key expected"})
            return
        is_new = inbox.store(key, payload)
        inbox.note(key, "accepted" if is_new else "duplicate")
        if fault == "hang-after-store":
            time.sleep(self.server.hang_s)
        self._json(200, {"status": "received" if is_new else "duplicate", "reference": key})


class ReceiverServer(ThreadingHTTPServer):
    """Threaded HTTP server holding the receiver's state."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple,
        inbox: Inbox,
        secret: str,
        hang_s: float,
        token: str,
        allowed_hosts: frozenset = LOCAL_HOSTS,
    ) -> None:
        super().__init__(address, Handler)
        self.inbox = inbox
        self.secret = secret
        self.hang_s = hang_s
        self.token = token
        self.allowed_hosts = allowed_hosts


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Reads flags, falling back to the environment."""
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m bts.booking.receiver", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("--host", default=env.get("BTS_RECEIVER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("BTS_RECEIVER_PORT", "8099")))
    parser.add_argument("--secret", default=env.get("BTS_WEBHOOK_SECRET", ""))
    parser.add_argument("--mode", choices=MODES, default=env.get("BTS_RECEIVER_MODE", "ok"))
    parser.add_argument("--faults", default=env.get("BTS_RECEIVER_FAULTS", ""),
                        help="comma-separated faults for the first POSTs: " + ", ".join(FAULTS))
    parser.add_argument("--hang-s", type=float, default=float(env.get("BTS_RECEIVER_HANG_S", "30")))
    parser.add_argument("--data-file", type=Path,
                        default=Path(env.get("BTS_RECEIVER_DATA_FILE", str(DEFAULT_DATA_FILE))))
    args = parser.parse_args(argv)
    args.faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = [f for f in args.faults if f not in FAULTS]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {', '.join(FAULTS)}")
    if not args.data_file.is_absolute():
        args.data_file = ROOT / args.data_file
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if envvars.text(os.environ, "BTS_PROFILE").lower() == "production":
        print("error: the demo receiver does not run in the production profile; set BTS_WEBHOOK_URL "
              "to the clinic's own receiver", file=sys.stderr)
        return 2
    args = parse_args(argv)
    if not args.secret:
        print("error: set BTS_WEBHOOK_SECRET (or --secret) to the sender's secret", file=sys.stderr)
        return 2
    token = envvars.text(os.environ, "BTS_RECEIVER_TOKEN")
    if len(token) < 16:
        print("error: set BTS_RECEIVER_TOKEN (16 characters or more) to protect the received "
              "requests", file=sys.stderr)
        return 2
    extra = {h.strip().lower() for h in envvars.text(os.environ, "BTS_RECEIVER_ALLOWED_HOSTS").split(",")}
    inbox = Inbox(
        args.data_file, args.mode, args.faults, envvars.whole(os.environ, "BTS_BOOKING_RETENTION_DAYS", 365)
    )
    server = ReceiverServer(
        (args.host, args.port), inbox, args.secret, args.hang_s, token, LOCAL_HOSTS | (extra - {""})
    )

    def on_signal(signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logger.info(
        "demo receiver on http://%s:%d/ (mode %s, faults %s, data %s)",
        args.host, args.port, args.mode, ",".join(args.faults) or "none", args.data_file,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    logger.info("demo receiver stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
