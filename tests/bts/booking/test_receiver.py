"""Tests of the demo receiver: signature checks, dedupe, persistence, page, faults, access."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest
import requests

from bts.booking.receiver import Inbox, ReceiverServer, parse_args
from bts.booking.receiver_page import render_page
from bts.booking.settings import PROJECT_ROOT
from bts.booking.webhook import encode_payload, sign

TOKEN = "receiver-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

SECRET = "receiver-test-secret"


def payload(reference: str = "BTS-7K2Q", name: str = "Rosa Example") -> Dict[str, Any]:
    return {"version": 1, "event": "request.created", "reference": reference, "kind": "booking",
            "status": "new", "conversation_id": "c1", "created_at": "2024-05-01T15:00:00Z",
            "details": {"name": name, "phone": "+15755550142", "reason": "sciatica"}}


def post(url: str, document: Dict[str, Any], secret: str = SECRET, key: Optional[str] = None,
         timestamp: Optional[str] = None, timeout: float = 5) -> requests.Response:
    body = encode_payload(document)
    timestamp = timestamp or str(int(time.time()))
    return requests.post(url, data=body, timeout=timeout, headers={
        "Content-Type": "application/json",
        "Idempotency-Key": key if key is not None else document["reference"],
        "X-BTS-Timestamp": timestamp,
        "X-BTS-Signature": sign(secret, timestamp, body),
    })


class Running:
    def __init__(self, data_file: Path, mode: str = "ok", faults: Optional[list] = None, hang_s: float = 1):
        self.inbox = Inbox(data_file, mode, faults)
        self.server = ReceiverServer(("127.0.0.1", 0), self.inbox, SECRET, hang_s, TOKEN)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    started = Running(tmp_path / "received.json")
    yield started
    started.stop()


def test_a_signed_request_is_stored_once_and_repeats_are_acknowledged(running: Running) -> None:
    first = post(running.base + "/webhook", payload())
    assert first.status_code == 200 and first.json() == {"status": "received", "reference": "BTS-7K2Q"}
    again = post(running.base + "/webhook", payload())
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    received = requests.get(running.base + "/received", headers=AUTH, timeout=5).json()
    assert [r["idempotency_key"] for r in received["requests"]] == ["BTS-7K2Q"]
    assert received["requests"][0]["payload"] == payload() and received["requests"][0]["repeats"] == 1
    assert received["stats"] == {
        "posts": 2, "accepted": 1, "duplicates": 1, "rejected": 0, "faults_injected": 0
    }
    assert [p["outcome"] for p in received["posts"]] == ["accepted", "duplicate"]


@pytest.mark.parametrize(
    "kwargs, status",
    [
        ({"secret": "wrong"}, 401),
        ({"timestamp": str(int(time.time()) - 3600)}, 401),
        ({"key": ""}, 400),
        ({"key": "BTS-OTHER"}, 400),
    ],
)
def test_unsigned_stale_or_mismatched_requests_are_rejected(
    running: Running, kwargs: Dict[str, Any], status: int
) -> None:
    assert post(running.base + "/webhook", payload(), **kwargs).status_code == status
    assert running.inbox.snapshot()["requests"] == [] and running.inbox.stats["rejected"] == 1


def test_received_requests_survive_a_restart(tmp_path: Path) -> None:
    first = Running(tmp_path / "received.json")
    post(first.base + "/webhook", payload())
    first.stop()
    second = Running(tmp_path / "received.json")
    try:
        assert post(second.base + "/webhook", payload()).json()["status"] == "duplicate"
        assert len(second.inbox.snapshot()["requests"]) == 1
    finally:
        second.stop()
    assert json.loads((tmp_path / "received.json").read_text())["requests"][0]["repeats"] == 1


def test_the_page_lists_requests_with_every_value_escaped(running: Running) -> None:
    post(running.base + "/webhook", payload(name='<script>alert("x")</script> & Co'))
    page = requests.get(running.base + "/", headers=AUTH, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "BTS-7K2Q" in page.text and "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page.text
    assert "Nothing received yet" in render_page({"requests": [], "stats": running.inbox.stats})


def test_injected_faults_come_first_then_it_works(tmp_path: Path) -> None:
    receiver = Running(tmp_path / "r.json", faults=["500", "hang", "hang-after-store"], hang_s=0.6)
    try:
        url = receiver.base + "/webhook"
        assert post(url, payload()).status_code == 500
        with pytest.raises(requests.Timeout):
            post(url, payload(), timeout=0.3)
        with pytest.raises(requests.Timeout):
            post(url, payload(), timeout=0.3)
        assert len(receiver.inbox.snapshot()["requests"]) == 1  # stored before it hung
        assert post(url, payload()).json()["status"] == "duplicate"
        stats = receiver.inbox.snapshot()["stats"]
        assert stats["faults_injected"] == 3 and stats["accepted"] == 1 and stats["duplicates"] == 1
    finally:
        receiver.stop()


def test_fail_mode_answers_500_to_every_post(tmp_path: Path) -> None:
    receiver = Running(tmp_path / "r.json", mode="fail")
    try:
        assert [post(receiver.base + "/webhook", payload()).status_code for _ in range(3)] == [500] * 3
        assert receiver.inbox.snapshot()["requests"] == []
    finally:
        receiver.stop()


def test_flags_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTS_RECEIVER_PORT", "8123")
    monkeypatch.setenv("BTS_RECEIVER_FAULTS", "500, hang")
    monkeypatch.setenv("BTS_RECEIVER_DATA_FILE", "var/x.json")
    args = parse_args([])
    assert (args.port, args.faults, args.mode) == (8123, ["500", "hang"], "ok")
    assert args.data_file == PROJECT_ROOT / "var" / "x.json"
    assert parse_args(["--mode", "hang", "--port", "9"]).mode == "hang"
    with pytest.raises(SystemExit):
        parse_args(["--faults", "explode"])


def test_the_script_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "BTS_WEBHOOK_SECRET": SECRET, "BTS_RECEIVER_DATA_FILE": str(tmp_path / "r.json"),
           "BTS_RECEIVER_TOKEN": TOKEN, "BTS_PROFILE": ""}
    proc = subprocess.Popen([sys.executable, "-m", "bts.booking.receiver",
                             "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert post(f"http://127.0.0.1:{port}/webhook", payload()).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "demo receiver stopped" in (proc.stderr.read() if proc.stderr else "")
    missing = subprocess.run(
        [sys.executable, "-m", "bts.booking.receiver"],
        env={**env, "BTS_WEBHOOK_SECRET": ""}, capture_output=True, text=True, timeout=30,
    )
    assert missing.returncode == 2 and "BTS_WEBHOOK_SECRET" in missing.stderr


# -- access: token, Host header, production -----------------------------------------------------


def test_received_requests_are_shown_only_with_the_token(running: Running) -> None:
    assert post(running.base + "/webhook", payload()).status_code == 200
    for path in ("/", "/received"):
        anonymous = requests.get(running.base + path, timeout=5)
        wrong = requests.get(running.base + path, headers={"Authorization": "Bearer nope"}, timeout=5)
        assert anonymous.status_code == wrong.status_code == 401
        assert "Rosa" not in anonymous.text + wrong.text and "+1575" not in anonymous.text + wrong.text
        assert "Rosa" in requests.get(running.base + path, headers=AUTH, timeout=5).text
    session = requests.Session()
    assert session.get(running.base + "/login?token=wrong", timeout=5).status_code == 401
    login = session.get(f"{running.base}/login?token={TOKEN}", timeout=5)
    assert login.status_code == 200 and "Rosa" in login.text  # followed to the page with the cookie
    assert requests.get(running.base + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8099", "127.0.0.1.evil.example", "localhost.evil"]
)
def test_a_page_behind_a_rebound_dns_name_is_refused(running: Running, host: str) -> None:
    assert post(running.base + "/webhook", payload()).status_code == 200
    for path in ("/", "/received", "/health"):
        answer = requests.get(running.base + path, headers={**AUTH, "Host": host}, timeout=5)
        assert answer.status_code == 421 and "Rosa" not in answer.text
    port = running.base.rsplit(":", 1)[1]
    for local in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert requests.get(running.base + "/received", headers={**AUTH, "Host": local}, timeout=5).ok


@pytest.mark.parametrize(
    "extra, message",
    [({"BTS_RECEIVER_TOKEN": ""}, "BTS_RECEIVER_TOKEN"), ({"BTS_PROFILE": "production"}, "production")],
)
def test_the_receiver_does_not_start_without_a_token_or_in_production(
    extra: Dict[str, str], message: str
) -> None:
    env = {**os.environ, "BTS_WEBHOOK_SECRET": SECRET, "BTS_RECEIVER_TOKEN": TOKEN, "BTS_PROFILE": ""}
    env.update(extra)
    refused = subprocess.run(
        [sys.executable, "-m", "bts.booking.receiver", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=30,
    )
    assert refused.returncode == 2 and message in refused.stderr
