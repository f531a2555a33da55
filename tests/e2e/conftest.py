"""Starts the real action server and Rasa server for end-to-end tests.

They start as in `make run` (`bts.runtime.server`, `bts.runtime.action_server` with a token), on
their own ports with a temporary tracker store, so tests neither disturb nor depend on a
`make run` that may be going on at the same time.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests

from bts.dev.model_files import ROOT, current_model

RASA_PORT = int(os.environ.get("BTS_TEST_RASA_PORT", "5105"))
ACTIONS_PORT = int(os.environ.get("BTS_TEST_ACTIONS_PORT", "5155"))
RECEIVER_PORT = int(os.environ.get("BTS_TEST_RECEIVER_PORT", "5199"))
WEBHOOK_SECRET = "e2e-test-secret"
RECEIVER_TOKEN = "e2e-test-receiver-token"
ACTION_TOKEN = secrets.token_urlsafe(32)
SESSION_SECRET = secrets.token_urlsafe(48)
READY_TIMEOUT_S = 240


class Servers:
    """Handles to the running servers and a REST client for them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "tracker.db"
        self.bookings_db = tmp / "bookings.db"
        self.url = f"http://localhost:{RASA_PORT}/webhooks/rest/webhook"
        self.receiver_url = f"http://localhost:{RECEIVER_PORT}"
        self.procs: Dict[str, subprocess.Popen] = {}
        # The action server stores requests in its own test database and delivers them to a
        # local receiver, so booking tests see exactly what the clinic would receive.
        self.actions_env = {
            "BTS_DATABASE_URL": f"sqlite:///{self.bookings_db}",
            "BTS_SPOOL_FILE": str(tmp / "spool" / "bookings.jsonl"),
            "BTS_WEBHOOK_URL": f"{self.receiver_url}/webhook",
            "BTS_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BTS_SMTP_HOST": "",
            "BTS_ACTION_TOKEN": ACTION_TOKEN,
        }

    def start_receiver(self) -> None:
        self.procs["receiver"] = self._spawn(
            "receiver",
            [sys.executable, "-m", "bts.booking.receiver", "--port", str(RECEIVER_PORT),
             "--secret", WEBHOOK_SECRET, "--data-file", str(self.tmp / "received.json")],
            env={"BTS_RECEIVER_TOKEN": RECEIVER_TOKEN, "BTS_PROFILE": ""},
        )
        self._wait(f"{self.receiver_url}/health", "receiver")

    def received(self) -> List[Dict[str, Any]]:
        """Requests the receiver accepted (each once), with their payloads."""
        auth = {"Authorization": f"Bearer {RECEIVER_TOKEN}"}
        return requests.get(f"{self.receiver_url}/received", headers=auth, timeout=5).json()["requests"]

    def start_actions(self) -> None:
        self.procs["actions"] = self._spawn(
            "actions",
            [sys.executable, "-m", "bts.runtime.action_server", "--host", "127.0.0.1",
             "--port", str(ACTIONS_PORT)],
            env=self.actions_env,
        )
        self._wait(f"http://localhost:{ACTIONS_PORT}/health", "actions")

    def stop_actions(self) -> None:
        self._stop("actions")

    def start_rasa(
        self,
        credentials: Path = ROOT / "credentials.yml",
        cors: Optional[str] = None,
        model: Optional[Path] = None,
    ) -> None:
        """Starts Rasa; `cors` is the origin of a web page that may call it (tests/widget)."""
        endpoints = self.tmp / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://localhost:{ACTIONS_PORT}/webhook"\n'
            f"  headers:\n    X-BTS-Action-Token: ${{BTS_ACTION_TOKEN}}\n"
            f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{self.db}"\n'
        )
        command = [
            sys.executable, "-m", "bts.runtime.server", "--model", str(model or current_model()),
            "--port", str(RASA_PORT), "--endpoints", str(endpoints),
            "--credentials", str(credentials),
        ]
        if cors:
            command += ["--cors", cors]
        rasa_env = {"BTS_ACTION_TOKEN": ACTION_TOKEN, "BTS_SESSION_SECRET": SESSION_SECRET}
        if cors:
            rasa_env["BTS_ALLOWED_ORIGINS"] = cors
        self.procs["rasa"] = self._spawn("rasa", command, env=rasa_env)
        self._wait(f"http://localhost:{RASA_PORT}/webhooks/rest/", "rasa")

    def send(self, sender: str, text: Any, timeout: float = 30) -> List[Dict[str, Any]]:
        response = requests.post(self.url, json={"sender": sender, "message": text}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def _spawn(
        self, name: str, command: List[str], env: Optional[Dict[str, str]] = None
    ) -> subprocess.Popen:
        port = int(command[command.index("--port") + 1])
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                # Never test against someone else's server that happens to use the port.
                raise RuntimeError(f"port {port} is already in use; set BTS_TEST_*_PORT to free ports")
        log = open(self.tmp / f"{name}.log", "ab")
        return subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **(env or {})},
        )

    def _wait(self, url: str, name: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {(self.tmp / f'{name}.log').read_text()[-3000:]}")
            try:
                requests.get(url, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.5)
        raise RuntimeError(f"{name} not ready after {READY_TIMEOUT_S} s")

    def _stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        for name in list(self.procs):
            self._stop(name)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if not current_model().exists():
        pytest.fail("no trained model for the current data: run `make train` first")
    running = Servers(tmp_path_factory.mktemp("e2e"))
    try:
        running.start_receiver()
        running.start_actions()
        running.start_rasa()
        yield running
    finally:
        running.stop()
