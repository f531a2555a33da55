"""Tests of the outbox worker: passes, spool replay, health, clean shutdown, bad settings."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from bts.booking.receiver import Inbox, ReceiverServer
from bts.booking.settings import PROJECT_ROOT, Settings
from bts.booking.store import Store
from bts.booking.worker import Worker

SECRET = "worker-test-secret"
DETAILS: Dict[str, Any] = {"name": "Rosa Example", "phone": "+15755550142", "reason": "sciatica"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[ReceiverServer]:
    server = ReceiverServer(("127.0.0.1", 0), Inbox(tmp_path / "received.json"), SECRET, hang_s=3,
                            token="t" * 20)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def settings_for(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    base = Settings(
        database_url=f"sqlite:///{tmp_path / 'db' / 'bts.db'}",
        spool_file=tmp_path / "spool" / "bookings.jsonl",
        webhook_url=url,
        webhook_secret=SECRET,
        webhook_timeout_s=0.5,
        outbox_backoff_base_s=0.05,
        outbox_backoff_max_s=0.2,
        submit_delivery_budget_s=0,
    )
    return replace(base, **overrides)


def env_for(tmp_path: Path, url: str, **extra: str) -> Dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "BTS_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'bts.db'}",
        "BTS_SPOOL_FILE": str(tmp_path / "spool" / "bookings.jsonl"),
        "BTS_WEBHOOK_URL": url,
        "BTS_WEBHOOK_SECRET": SECRET,
        "BTS_WEBHOOK_TIMEOUT_S": "0.5",
        "BTS_OUTBOX_POLL_S": "0.1",
        "BTS_OUTBOX_BACKOFF_BASE_S": "0.05",
        "BTS_OUTBOX_BACKOFF_MAX_S": "0.2",
        **extra,
    }


def hook_url(server: ReceiverServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/webhook"


def test_a_pass_replays_the_spool_and_delivers_everything_due(
    tmp_path: Path, receiver: ReceiverServer
) -> None:
    config = settings_for(tmp_path, hook_url(receiver))
    blocker = tmp_path / "down"
    blocker.write_text("x")
    down = Store(replace(config, database_url=f"sqlite:///{blocker / 'bts.db'}"))
    spooled = down.submit("booking", "c-spooled", DETAILS)[0]
    store = Store(config)
    stored = store.submit("callback", "c-stored", DETAILS, deliver_now=False)[0]
    assert not spooled.stored and stored.stored
    worker = Worker(store, concurrency=2, poll_s=0.1)
    result = worker.run_once()
    worker.executor.shutdown()
    assert (result.due, result.delivered, result.failed) == (2, 2, 0)
    assert worker.totals["replayed"] == 1 and not store.spool.pending()
    keys = {item["idempotency_key"] for item in receiver.inbox.snapshot()["requests"]}
    assert keys == {spooled.reference, stored.reference}
    health = worker.health()
    assert health["outbox"] == {"delivered": 2} and health["database"] == "ok" and not health["spool_pending"]


def test_a_pass_survives_an_unreachable_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    blocker = tmp_path / "down"
    blocker.write_text("x")
    config = settings_for(tmp_path, "http://127.0.0.1:9/", database_url=f"sqlite:///{blocker / 'bts.db'}")
    store = Store(config)
    store.submit("booking", "c1", DETAILS)
    worker = Worker(store, concurrency=1)
    for _ in range(3):
        assert worker.run_once().due == 0
    worker.executor.shutdown()
    assert store.spool.pending() and worker.database_ok is False
    assert caplog.text.count("database unavailable (OperationalError); spooled requests wait") == 1
    health = worker.health()
    assert health["status"] == "degraded" and health["spool_pending"] is True


def start_worker(tmp_path: Path, env: Dict[str, str], *args: str) -> subprocess.Popen:
    log = open(tmp_path / "worker.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "bts.booking.worker", *args],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return json.loads(response.read())
    except OSError:
        return None


def test_the_worker_process_delivers_serves_health_and_stops_cleanly_on_sigterm(
    tmp_path: Path, receiver: ReceiverServer
) -> None:
    store = Store(settings_for(tmp_path, hook_url(receiver)))
    result = store.submit("booking", "c1", DETAILS, deliver_now=False)[0]
    port = free_port()
    worker = start_worker(tmp_path, env_for(tmp_path, hook_url(receiver)), "--health-port", str(port))
    try:
        delivered = wait_for(lambda: receiver.inbox.snapshot()["requests"], 20)
        assert delivered, (tmp_path / "worker.log").read_text()
        assert receiver.inbox.snapshot()["requests"][0]["idempotency_key"] == result.reference
        assert wait_for(lambda: (get_json(f"http://127.0.0.1:{port}/health") or {}).get("outbox")
                        == {"delivered": 1}, 5)
        stopping = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
        assert time.monotonic() - stopping < 2
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    log = (tmp_path / "worker.log").read_text()
    assert "stopping after the attempts in progress" in log and "outbox worker stopped" in log
    assert '"delivered": 1' in log


def test_sigterm_during_a_hanging_attempt_waits_for_it_and_records_it(tmp_path: Path) -> None:
    server = ReceiverServer(("127.0.0.1", 0), Inbox(tmp_path / "r.json", "hang"), SECRET, hang_s=5,
                            token="t" * 20)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = hook_url(server)
        store = Store(settings_for(tmp_path, url))
        store.submit("booking", "c1", DETAILS, deliver_now=False)
        worker = start_worker(tmp_path, env_for(tmp_path, url, BTS_WEBHOOK_TIMEOUT_S="1.5"))
        try:
            assert wait_for(lambda: server.inbox.snapshot()["stats"]["posts"] >= 1, 20)
            stopping = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=10) == 0
            assert time.monotonic() - stopping < 3
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    finally:
        server.shutdown()
        server.server_close()
    with store.engine.connect() as conn:
        last_error = conn.exec_driver_sql("SELECT last_error, state FROM outbox").one()
    assert last_error == ("webhook timed out after 1.5 s", "pending")


def test_unusable_delivery_settings_stop_the_worker_with_a_clear_message(tmp_path: Path) -> None:
    env = env_for(tmp_path, "https://clinic.example/hook", BTS_WEBHOOK_SECRET="")
    done = subprocess.run(
        [sys.executable, "-m", "bts.booking.worker", "--once"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "BTS_WEBHOOK_SECRET must be set" in done.stderr
    env = env_for(tmp_path, "", BTS_OUTBOX_POLL_S="later")
    done = subprocess.run(
        [sys.executable, "-m", "bts.booking.worker", "--once"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "BTS_OUTBOX_POLL_S" in done.stderr
