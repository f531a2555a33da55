"""Outbox worker: delivers pending booking requests until each one is delivered.

Every `BTS_OUTBOX_POLL_S` seconds it

1. replays the spool file (requests taken while the database was unreachable) into the
   database, as soon as the database answers again;
2. claims every due `outbox` row and attempts its delivery (webhook and/or e-mail, see
   `bts/booking/delivery.py`), a few in parallel; failed attempts are retried with exponential backoff.

SIGTERM or Ctrl-C stops it cleanly: attempts in progress finish (each is bounded by its timeout)
and their outcome is recorded; nothing else is started. Several workers may run at once: rows
are claimed one by one, so no delivery is attempted twice at the same time.

Usage:
    python -m bts.booking.worker [--once] [--poll-s 2] [--concurrency 4] [--health-port 8098]

With `--health-port`, `GET /health` on 127.0.0.1 answers JSON with the outbox counts, the
spool state and the time of the last pass. Exit codes: 0 after a clean stop, 2 when the
delivery settings are unusable (the message says which variable to fix).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

from bts import env as envvars
from bts.booking.delivery import DeliveryPass, deliver_due
from bts.booking.records import ReplayResult
from bts.booking.settings import Settings
from bts.booking.store import Store
from bts.env import SettingsError

logger = logging.getLogger("bts.booking.worker")

BATCH = 100
DB_ERROR_LOG_EVERY_S = 60.0


class Worker:
    """Runs replay-and-deliver passes until told to stop.

    Args:
        store: The store to work on.
        concurrency: Deliveries attempted at the same time.
        poll_s: Pause between passes when there is nothing more to do.
    """

    def __init__(self, store: Store, concurrency: int = 4, poll_s: float = 2.0) -> None:
        self.store = store
        self.poll_s = poll_s
        self.stop_event = threading.Event()
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix="bts-outbox"
        )
        self.last_pass_at: Optional[float] = None
        self.totals = {"delivered": 0, "failed": 0, "replayed": 0, "passes": 0}
        self.database_ok: Optional[bool] = None
        self._last_db_error_log = 0.0

    def replay(self) -> ReplayResult:
        """Replays the spool if it holds anything; database errors are logged, not raised."""
        total = ReplayResult()
        for _ in range(2):  # a second round picks up lines spooled during the first
            if not self.store.spool.pending():
                break
            try:
                result = self.store.replay_spool()
            except Exception as exc:  # noqa: BLE001 - try again next pass
                self._database_down(exc, "spooled requests wait")
                break
            total = ReplayResult(
                inserted=total.inserted + result.inserted,
                already_stored=total.already_stored + result.already_stored,
                rejected=total.rejected + result.rejected,
            )
            self.totals["replayed"] += result.inserted
            if not (result.inserted or result.already_stored or result.rejected):
                break
        return total

    def _database_down(self, exc: Exception, what: str) -> None:
        self.database_ok = False
        now = time.monotonic()
        if now - self._last_db_error_log >= DB_ERROR_LOG_EVERY_S:
            logger.error("database unavailable (%s); %s", type(exc).__name__, what)
            self._last_db_error_log = now

    def run_once(self) -> DeliveryPass:
        """One pass: replay the spool, then deliver everything due.

        Returns:
            The delivery counts of this pass (batches of due rows until none are left).
        """
        self.replay()
        due = delivered = failed = skipped = 0
        while not self.stop_event.is_set():
            try:
                result = deliver_due(self.store, BATCH, self.executor)
            except Exception as exc:  # noqa: BLE001 - try again next pass
                self._database_down(exc, "deliveries wait")
                break
            if self.database_ok is False:
                logger.info("database reachable again")
            self.database_ok = True
            due += result.due
            delivered += result.delivered
            failed += result.failed
            skipped += result.skipped
            if result.due < BATCH:
                break
        self.totals["delivered"] += delivered
        self.totals["failed"] += failed
        self.totals["passes"] += 1
        self.last_pass_at = time.time()
        return DeliveryPass(due=due, delivered=delivered, failed=failed, skipped=skipped)

    def run(self) -> None:
        """Passes until `stop()`; then waits for attempts in progress and returns."""
        logger.info(
            "outbox worker started (channels: %s; poll %.2f s)",
            ", ".join(self.store.config.delivery_channels) or "none", self.poll_s,
        )
        try:
            while not self.stop_event.is_set():
                self.run_once()
                self.stop_event.wait(self.poll_s)
        finally:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.store.dispose()
            logger.info("outbox worker stopped (%s)", json.dumps(self.totals, sort_keys=True))

    def stop(self) -> None:
        """Asks the worker to stop after the attempts in progress."""
        self.stop_event.set()

    def health(self) -> Dict[str, Any]:
        """State for the health endpoint (counts only, no request content)."""
        document: Dict[str, Any] = {
            "status": "ok",
            "last_pass_at": self.last_pass_at,
            "totals": dict(self.totals),
            "spool_pending": self.store.spool.pending(),
        }
        try:
            document["outbox"] = self.store.outbox_counts()
            document["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            document["database"] = f"unavailable ({type(exc).__name__})"
            document["status"] = "degraded"
        return document


def serve_health(worker: Worker, port: int) -> ThreadingHTTPServer:
    """Starts the `/health` endpoint on 127.0.0.1 in a background thread."""

    class HealthHandler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            found = self.path.split("?", 1)[0] == "/health"
            body = json.dumps(worker.health() if found else {"error": "not found"}).encode("utf-8")
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), HealthHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    return server


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bts.booking.worker", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument("--once", action="store_true", help="make one pass and exit")
    parser.add_argument("--poll-s", type=float, default=None,
                        help="seconds between passes (default: BTS_OUTBOX_POLL_S)")
    parser.add_argument("--concurrency", type=int,
                        default=envvars.whole(os.environ, "BTS_OUTBOX_CONCURRENCY", 4, minimum=1))
    parser.add_argument("--health-port", type=int,
                        default=envvars.whole(os.environ, "BTS_WORKER_HEALTH_PORT", 0),
                        help="serve GET /health on this port (0: off)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args = parse_args(argv)
        config = Settings.from_env()
    except SettingsError as exc:
        logger.error("bad setting: %s", exc)
        return 2
    problems = config.delivery_problems()
    if problems:
        for problem in problems:
            logger.error("configuration: %s", problem)
        return 2
    if not config.delivery_channels:
        logger.warning("no delivery channel configured (BTS_WEBHOOK_URL, BTS_SMTP_HOST): requests are "
                       "stored and replayed from the spool, but not delivered")
    poll_s = config.outbox_poll_s if args.poll_s is None else args.poll_s
    worker = Worker(Store(config), args.concurrency, poll_s)
    if args.once:
        result = worker.run_once()
        worker.executor.shutdown(wait=True)
        logger.info("one pass: %d due, %d delivered, %d failed", result.due, result.delivered, result.failed)
        return 0

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("signal %d: stopping after the attempts in progress", signum)
        worker.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    health = serve_health(worker, args.health_port) if args.health_port else None
    try:
        worker.run()
    finally:
        if health is not None:
            health.shutdown()
            health.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
