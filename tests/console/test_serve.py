"""`python -m console serve` starts the real server (Waitress) and the scheduled purge."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import support


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_and_runs_the_scheduled_purge(tmp_path: Path) -> None:
    db = tmp_path / "bts.db"
    support.make_db(db).dispose()
    port = free_port()
    env = {
        **os.environ,
        "BTS_DATABASE_URL": f"sqlite:///{db}",
        "PYTHONPATH": str(support.ROOT),
        "CONSOLE_SECRET_KEY": support.SECRET,
        "CONSOLE_RETENTION_DAYS": "365",
    }
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=support.ROOT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        deadline = time.monotonic() + 15
        while "scheduled purge: 2 conversation(s) removed" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
