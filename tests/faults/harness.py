"""Harness of the storage and delivery fault tests: real receiver and worker processes.

Every test gets its own temporary database, spool file and ports; the demo receiver
(`python -m bts.booking.receiver`) and the outbox worker (`python -m bts.booking.worker`) run as separate
processes, stopped with SIGTERM at the end. Short timeouts and backoff keep the tests to seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import requests
from sqlalchemy import select

from bts.booking.settings import PROJECT_ROOT, Settings
from bts.booking.store import Store
from bts.db.schema import booking_requests, outbox

SECRET = "fault-test-secret"
RECEIVER_TOKEN = "fault-test-receiver-token"
MEASUREMENTS: List[Dict[str, Any]] = []
FAST = {
    "BTS_WEBHOOK_TIMEOUT_S": "0.5",
    "BTS_OUTBOX_POLL_S": "0.1",
    "BTS_OUTBOX_BACKOFF_BASE_S": "0.2",
    "BTS_OUTBOX_BACKOFF_MAX_S": "1.0",
    "BTS_OUTBOX_LEASE_S": "10",
    "BTS_SUBMIT_DELIVERY_BUDGET_S": "2.5",
}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float, step: float = 0.05) -> bool:
    """Polls `predicate` until it is truthy or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class Faults:
    """Starts and stops the processes of one fault test and reads their state."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: List[subprocess.Popen] = []
        self.db_url = f"sqlite:///{tmp / 'db' / 'bts.db'}"
        self.spool = tmp / "spool" / "bookings.jsonl"
        self.receiver_port = free_port()

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}/webhook"

    def env(self, **overrides: str) -> Dict[str, str]:
        """Environment of the action-server side and the worker."""
        return {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "BTS_DATABASE_URL": self.db_url,
            "BTS_SPOOL_FILE": str(self.spool),
            "BTS_WEBHOOK_URL": self.webhook_url,
            "BTS_WEBHOOK_SECRET": SECRET,
            **FAST,
            **overrides,
        }

    def _spawn(self, name: str, command: List[str], env: Dict[str, str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")
        proc = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_receiver(self, faults: str = "", mode: str = "ok", hang_s: float = 2.0) -> subprocess.Popen:
        """Starts the demo receiver and waits until it answers."""
        env = {
            **os.environ,
            "BTS_WEBHOOK_SECRET": SECRET,
            "BTS_RECEIVER_DATA_FILE": str(self.tmp / "received.json"),
            "BTS_RECEIVER_TOKEN": RECEIVER_TOKEN,
            "BTS_PROFILE": "",
        }
        command = [
            sys.executable, "-m", "bts.booking.receiver",
            "--port", str(self.receiver_port), "--mode", mode, "--faults", faults, "--hang-s", str(hang_s),
        ]
        proc = self._spawn("receiver", command, env)
        ready = wait_until(lambda: self.received() is not None or proc.poll() is not None, 30, 0.1)
        assert ready and proc.poll() is None, self.log("receiver")
        return proc

    def start_worker(self, **overrides: str) -> subprocess.Popen:
        """Starts the outbox worker with `env(**overrides)`."""
        command = [sys.executable, "-m", "bts.booking.worker"]
        proc = self._spawn("worker", command, self.env(**overrides))
        # The worker installs its SIGTERM handler just before it logs this line; a test that stops it
        # earlier (its deliveries may all come from the store's immediate attempts) would see -15.
        started = wait_until(
            lambda: "outbox worker started" in self.log("worker") or proc.poll() is not None, 60, 0.05
        )
        assert started and proc.poll() is None, self.log("worker")
        return proc

    def received(self) -> Optional[Dict[str, Any]]:
        """The receiver's `/received` document, or None while it is not answering."""
        try:
            return requests.get(
                f"http://127.0.0.1:{self.receiver_port}/received",
                headers={"Authorization": f"Bearer {RECEIVER_TOKEN}"},
                timeout=1,
            ).json()
        except requests.RequestException:
            return None

    def store(self, **overrides: str) -> Store:
        """A store configured like the action server of this test."""
        return Store(Settings.from_env(self.env(**overrides)))

    def table(self, table: Any) -> List[Dict[str, Any]]:
        store = self.store()
        try:
            store.ensure_schema()
            with store.engine.connect() as conn:
                return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]
        finally:
            store.dispose()

    def requests_rows(self) -> List[Dict[str, Any]]:
        return self.table(booking_requests)

    def outbox_rows(self) -> List[Dict[str, Any]]:
        return self.table(outbox)

    def stop(self, proc: subprocess.Popen, timeout: float = 10) -> Optional[int]:
        """SIGTERM to the process group, SIGKILL if it does not stop; returns the exit code."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
        return proc.returncode

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)
