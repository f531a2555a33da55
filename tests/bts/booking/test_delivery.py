"""Tests of delivery: signing, backoff, webhook and SMTP delivery, claims and attempts."""

from __future__ import annotations

import concurrent.futures
import email
import email.policy
import json
import socket
import socketserver
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from sqlalchemy import select

from bts.booking import mail as mail_module
from bts.booking.delivery import attempt, backoff_delay, deliver_due
from bts.booking.mail import build_email, send_email
from bts.booking.receiver import Inbox, ReceiverServer
from bts.booking.settings import Settings
from bts.booking.store import Store
from bts.booking.webhook import (
    DeliveryError,
    encode_payload,
    send_webhook,
    sign,
    verify_signature,
    webhook_payload,
)
from bts.db.schema import outbox
from bts.env import SettingsError


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


SECRET = "test-secret-123"
DETAILS: Dict[str, Any] = {
    "name": "Rosa Example",
    "phone": "+15755550142",
    "email": "rosa@example.com",
    "preferred_time_text": "next Tuesday after 3",
    "preferred_time": "2024-05-07T15:00:00-06:00",
    "reason": "sciatica",
    "patient_type": "returning",
    "insurance": "self-pay",
    "consent": True,
}
REQUEST: Dict[str, Any] = {
    "reference": "BTS-7K2Q",
    "kind": "booking",
    "status": "new",
    "conversation_id": "conv-1",
    "created_at": "2024-05-01T15:00:00Z",
    "updated_at": "2024-05-01T15:00:00Z",
    "details": DETAILS,
}


class Receiver:
    """The demo receiver, in a thread of the test process."""

    def __init__(self, tmp: Path, faults: Optional[List[str]] = None, hang_s: float = 2.0) -> None:
        self.inbox = Inbox(tmp / "received.json", "ok", faults)
        self.server = ReceiverServer(("127.0.0.1", 0), self.inbox, SECRET, hang_s, token="t" * 20)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    started = Receiver(tmp_path)
    yield started
    started.stop()


def hook_settings(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    base = Settings(
        database_url=f"sqlite:///{tmp_path / 'bts.db'}",
        spool_file=tmp_path / "spool" / "bookings.jsonl",
        webhook_url=url,
        webhook_secret=SECRET,
        webhook_timeout_s=0.5,
        outbox_backoff_base_s=0.05,
        outbox_backoff_max_s=0.2,
        outbox_lease_s=5,
        submit_delivery_budget_s=0,
    )
    return replace(base, **overrides)


def wait_for(condition: Any, timeout_s: float = 5.0) -> bool:
    """Polls `condition` until it holds or the deadline passes; returns whether it held."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def outbox_rows(store: Store) -> List[Dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- signature --------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"reference":"BTS-7K2Q"}'
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1700000000", body) == "sha256=" + expected
    assert verify_signature(SECRET, "1700000000", body, "sha256=" + expected, now=1700000100)


@pytest.mark.parametrize(
    "secret, timestamp, body, now",
    [
        ("wrong-secret", "1700000000", b'{"reference":"BTS-7K2Q"}', 1700000000),
        (SECRET, "1700000000", b'{"reference":"BTS-7K2R"}', 1700000000),  # tampered body
        (SECRET, "1700000001", b'{"reference":"BTS-7K2Q"}', 1700000000),  # tampered timestamp
        (SECRET, "1700000000", b'{"reference":"BTS-7K2Q"}', 1700000301),  # too old: replay
        (SECRET, "17000x0000", b'{"reference":"BTS-7K2Q"}', 1700000000),
        ("", "1700000000", b'{"reference":"BTS-7K2Q"}', 1700000000),
    ],
)
def test_bad_signatures_are_refused(secret: str, timestamp: str, body: bytes, now: float) -> None:
    good = sign(SECRET, "1700000000", b'{"reference":"BTS-7K2Q"}')
    assert not verify_signature(secret, timestamp, body, good, now=now)
    assert not verify_signature(SECRET, "1700000000", body, None, now=now)


def test_payload_is_deterministic_compact_json() -> None:
    payload = webhook_payload(REQUEST)
    assert payload == {
        "version": 1, "event": "request.created", "reference": "BTS-7K2Q", "kind": "booking",
        "status": "new", "conversation_id": "conv-1", "created_at": "2024-05-01T15:00:00Z",
        "language": "en", "details": DETAILS,
    }
    body = encode_payload(payload)
    assert body == encode_payload(dict(reversed(list(payload.items()))))
    assert b": " not in body and json.loads(body) == payload


# -- backoff ----------------------------------------------------------------------------------


def test_backoff_doubles_is_capped_and_jittered() -> None:
    assert [backoff_delay(n, 5, 900, rand=lambda: 0.999999) for n in (1, 2, 3, 4)] == pytest.approx(
        [5, 10, 20, 40], rel=1e-3
    )
    assert [backoff_delay(n, 5, 900, rand=lambda: 0.0) for n in (1, 2, 3)] == [2.5, 5, 10]
    assert backoff_delay(30, 5, 900, rand=lambda: 0.999999) == pytest.approx(900, rel=1e-3)
    assert backoff_delay(10_000, 5, 900) <= 900
    draws = {round(backoff_delay(3, 5, 900), 6) for _ in range(50)}
    assert len(draws) > 40 and all(10 <= d <= 20 for d in draws)


# -- webhook ----------------------------------------------------------------------------------


def test_webhook_posts_signed_json_with_the_reference_as_idempotency_key(tmp_path: Path) -> None:
    seen: Dict[str, Any] = {}

    class Capture(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            seen["headers"] = dict(self.headers)
            seen["body"] = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        send_webhook(hook_settings(tmp_path, url), REQUEST)
    finally:
        server.shutdown()
        server.server_close()
    headers, body = seen["headers"], seen["body"]
    assert headers["Idempotency-Key"] == "BTS-7K2Q"
    assert headers["Content-Type"].startswith("application/json")
    assert abs(int(headers["X-BTS-Timestamp"]) - time.time()) < 5
    assert headers["X-BTS-Signature"] == sign(SECRET, headers["X-BTS-Timestamp"], body)
    assert json.loads(body) == webhook_payload(REQUEST)


def test_the_demo_receiver_accepts_once_and_answers_repeats_with_200(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = hook_settings(tmp_path, receiver.url)
    send_webhook(config, REQUEST)
    send_webhook(config, REQUEST)
    snapshot = receiver.inbox.snapshot()
    assert len(snapshot["requests"]) == 1 and snapshot["requests"][0]["repeats"] == 1
    assert snapshot["stats"]["accepted"] == 1 and snapshot["stats"]["duplicates"] == 1


@pytest.mark.parametrize(
    "faults, message", [(["500"], "HTTP 500"), (["hang"], "timed out after 0.5 s")]
)
def test_webhook_failures_raise_a_short_error(tmp_path: Path, faults: List[str], message: str) -> None:
    receiver = Receiver(tmp_path, faults, hang_s=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match=message):
            send_webhook(hook_settings(tmp_path, receiver.url), REQUEST)
        assert time.monotonic() - started < 1.0
    finally:
        receiver.stop()


def test_webhook_connection_errors_and_redirects_raise(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="connection failed"):
        send_webhook(hook_settings(tmp_path, f"http://127.0.0.1:{closed_port()}/"), REQUEST)

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with pytest.raises(DeliveryError, match="HTTP 302"):
            send_webhook(hook_settings(tmp_path, f"http://127.0.0.1:{server.server_address[1]}/"), REQUEST)
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_refuses_to_send_unsigned(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError, match="BTS_WEBHOOK_SECRET"):
        send_webhook(hook_settings(tmp_path, "http://127.0.0.1:9/", webhook_secret=""), REQUEST)


# -- e-mail -----------------------------------------------------------------------------------


class SmtpCapture(socketserver.ThreadingTCPServer):
    """A minimal SMTP server on a real socket: enough for smtplib, keeps what it receives."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, reject_data_with: Optional[str] = None) -> None:
        self.messages: List[Tuple[str, List[str], bytes]] = []
        self.reject_data_with = reject_data_with
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class SmtpHandler(socketserver.StreamRequestHandler):
    server: SmtpCapture

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-test")
                self.reply("250 8BITMIME")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip()
                self.reply("250 ok")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip())
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while True:
                    line = self.rfile.readline()
                    if line in (b".\r\n", b""):
                        break
                    data += line[1:] if line.startswith(b"..") else line
                if self.server.reject_data_with:
                    self.reply(self.server.reject_data_with)
                else:
                    self.server.messages.append((sender, recipients, data))
                    self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


def smtp_settings(tmp_path: Path, port: int, **overrides: Any) -> Settings:
    smtp: Dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_from": "assistant@bts.example",
        "smtp_to": ("frontdesk@bts.example", "backup@bts.example"),
        "smtp_starttls": False,
        "smtp_timeout_s": 2,
    }
    return hook_settings(tmp_path, "", **{**smtp, **overrides})


def test_email_is_sent_over_smtp_with_a_phi_free_subject(tmp_path: Path) -> None:
    server = SmtpCapture()
    try:
        send_email(smtp_settings(tmp_path, server.port), REQUEST, "BTS-7K2Q:email")
    finally:
        server.shutdown()
        server.server_close()
    [(sender, recipients, data)] = server.messages
    assert sender == "<assistant@bts.example>"
    assert recipients == ["<frontdesk@bts.example>", "<backup@bts.example>"]
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert message["Subject"] == "[BTS] New booking request BTS-7K2Q"
    assert message["Message-ID"] == "<BTS-7K2Q.email@bts.example>"
    assert message["X-BTS-Idempotency-Key"] == "BTS-7K2Q:email"
    text = message.get_body(preferencelist=("plain",)).get_content()
    for expected in ("BTS-7K2Q", "Name: Rosa Example", "Phone: +15755550142",
                     "Reason for the visit: sciatica",
                     "Consent to be contacted: yes", "Preferred time (as written): next Tuesday after 3"):
        assert expected in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "BTS-7K2Q.json"
    assert json.loads(attachment.get_content()) == webhook_payload(REQUEST)


def test_email_refused_by_the_server_raises_with_the_code(tmp_path: Path) -> None:
    server = SmtpCapture(reject_data_with="451 try again later")
    try:
        with pytest.raises(DeliveryError, match="451"):
            send_email(smtp_settings(tmp_path, server.port), REQUEST, "BTS-7K2Q:email")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(DeliveryError, match="connection failed"):
        send_email(smtp_settings(tmp_path, closed_port()), REQUEST, "BTS-7K2Q:email")


def test_email_uses_starttls_and_login_when_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[str] = []

    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            calls.append(f"connect {host}:{port} {timeout}")

        def starttls(self, context: Any = None) -> None:
            calls.append("starttls")

        def login(self, user: str, password: str) -> None:
            calls.append(f"login {user}")

        def send_message(self, message: Any) -> Dict[str, Any]:
            calls.append("send")
            return {}

        def quit(self) -> None:
            calls.append("quit")

        def close(self) -> None:
            pass

    monkeypatch.setattr(mail_module.smtplib, "SMTP", FakeSMTP)
    config = smtp_settings(tmp_path, 587, smtp_starttls=True, smtp_user="bts", smtp_password="pw")
    send_email(config, REQUEST, "BTS-7K2Q:email")
    assert calls == ["connect 127.0.0.1:587 2", "starttls", "login bts", "send", "quit"]


def test_email_message_builds_without_a_server(tmp_path: Path) -> None:
    request = {**REQUEST, "details": {"name": "<b>x</b>"}}
    message = build_email(smtp_settings(tmp_path, 25), request, "K:email")
    assert "Rosa" not in message["Subject"] and message["To"] == "frontdesk@bts.example, backup@bts.example"


def test_a_spanish_speaking_patients_request_tells_the_front_desk_to_call_back_in_spanish(
    tmp_path: Path,
) -> None:
    store = Store(hook_settings(tmp_path, "http://127.0.0.1:9/hook"))
    result, _ = store.submit("booking", "c1", DETAILS, deliver_now=False, language="es")
    request = store.find(result.reference)
    assert request is not None and request["language"] == "es"
    assert webhook_payload(request)["language"] == "es"
    body = build_email(smtp_settings(tmp_path, 25), request, "K:email").get_body(("plain",))
    assert body is not None and "Language: Spanish (call back in Spanish)" in body.get_content()


# -- attempts, claims and the immediate attempt -------------------------------------------------


def test_a_failed_attempt_is_rescheduled_with_backoff_then_delivered(tmp_path: Path) -> None:
    receiver = Receiver(tmp_path, ["500"])
    try:
        config = hook_settings(tmp_path, receiver.url, outbox_backoff_base_s=30, outbox_backoff_max_s=60)
        store = Store(config)
        _, [outbox_id] = store.submit("booking", "c1", DETAILS, deliver_now=False)
        job = store.claim(outbox_id)
        assert job is not None and attempt(store, job) is False
        [row] = outbox_rows(store)
        assert row["state"] == "pending" and row["attempts"] == 1
        assert row["last_error"] == "webhook answered HTTP 500"
        assert timedelta(seconds=14) < row["next_attempt_at"] - utcnow() <= timedelta(seconds=30)
        assert deliver_due(store).due == 0  # not due yet
        later = utcnow() + timedelta(seconds=31)
        job = store.claim(outbox_id, now=later)
        assert job is not None and job.attempts == 2 and attempt(store, job) is True
        [row] = outbox_rows(store)
        assert row["state"] == "delivered" and row["delivered_at"] is not None
        assert len(receiver.inbox.snapshot()["requests"]) == 1
    finally:
        receiver.stop()


def test_parallel_passes_deliver_each_request_once(tmp_path: Path, receiver: Receiver) -> None:
    store = Store(hook_settings(tmp_path, receiver.url))
    references = {
        store.submit("booking", f"c{i}", DETAILS, deliver_now=False)[0].reference for i in range(12)
    }
    with concurrent.futures.ThreadPoolExecutor(4) as inner, concurrent.futures.ThreadPoolExecutor(3) as outer:
        passes = [outer.submit(deliver_due, store, 50, inner)]
        passes += [outer.submit(deliver_due, store, 50) for _ in range(2)]
        results = [p.result() for p in passes]
    assert sum(r.delivered for r in results) == 12
    snapshot = receiver.inbox.snapshot()
    assert {item["idempotency_key"] for item in snapshot["requests"]} == references
    assert snapshot["stats"]["posts"] == 12 and snapshot["stats"]["duplicates"] == 0
    assert {r["state"] for r in outbox_rows(store)} == {"delivered"}


def test_submit_delivers_immediately_when_the_receiver_is_up(tmp_path: Path, receiver: Receiver) -> None:
    store = Store(hook_settings(tmp_path, receiver.url, submit_delivery_budget_s=2.5))
    result, _ = store.submit("booking", "c1", DETAILS)
    assert [r["state"] for r in outbox_rows(store)] == ["delivered"]
    assert receiver.inbox.snapshot()["requests"][0]["payload"]["reference"] == result.reference


def test_submit_never_holds_the_chat_much_longer_than_its_budget(tmp_path: Path) -> None:
    receiver = Receiver(tmp_path, ["hang"], hang_s=6)
    try:
        config = hook_settings(tmp_path, receiver.url, webhook_timeout_s=10, submit_delivery_budget_s=2.5)
        store = Store(config)
        started = time.monotonic()
        result, _ = store.submit("booking", "c1", DETAILS)
        elapsed = time.monotonic() - started
        assert result.stored and elapsed < 3.0
        assert wait_for(lambda: outbox_rows(store)[0]["last_error"] is not None)
        [row] = outbox_rows(store)
        assert row["state"] == "pending" and "timed out" in row["last_error"]
    finally:
        receiver.stop()


def test_a_lost_answer_is_retried_and_dropped_as_a_repeat_by_the_receiver(tmp_path: Path) -> None:
    receiver = Receiver(tmp_path, ["hang-after-store"], hang_s=1.0)
    try:
        store = Store(hook_settings(tmp_path, receiver.url))
        result, [outbox_id] = store.submit("booking", "c1", DETAILS, deliver_now=False)
        assert deliver_due(store).failed == 1
        # Due again after the backoff (at most 0.2 s); nothing is delivered before that.
        assert wait_for(lambda: deliver_due(store).delivered == 1)
        snapshot = receiver.inbox.snapshot()
        assert len(snapshot["requests"]) == 1 and snapshot["stats"]["duplicates"] == 1
        assert outbox_rows(store)[0]["attempts"] == 2
    finally:
        receiver.stop()


def test_both_channels_are_delivered_independently(tmp_path: Path, receiver: Receiver) -> None:
    server = SmtpCapture()
    try:
        config = replace(smtp_settings(tmp_path, server.port), webhook_url=receiver.url)
        store = Store(config)
        store.submit("callback", "c1", DETAILS, deliver_now=False)
        assert deliver_due(store).delivered == 2
    finally:
        server.shutdown()
        server.server_close()
    assert len(server.messages) == 1 and len(receiver.inbox.snapshot()["requests"]) == 1


# -- delivery settings ------------------------------------------------------------------------


def test_delivery_settings_come_from_the_environment() -> None:
    config = Settings.from_env({
        "BTS_WEBHOOK_URL": "https://clinic.example/hook",
        "BTS_WEBHOOK_SECRET": "s3cret",
        "BTS_WEBHOOK_TIMEOUT_S": "3.5",
        "BTS_SMTP_HOST": "smtp.example",
        "BTS_SMTP_PORT": "465",
        "BTS_SMTP_USER": "bts",
        "BTS_SMTP_PASSWORD": "pw",
        "BTS_SMTP_FROM": "assistant@clinic.example",
        "BTS_SMTP_TO": "frontdesk@clinic.example, manager@clinic.example,",
        "BTS_SMTP_STARTTLS": "no",
    })
    assert config.webhook_url == "https://clinic.example/hook" and config.webhook_timeout_s == 3.5
    assert (config.smtp_host, config.smtp_port, config.smtp_user) == ("smtp.example", 465, "bts")
    assert config.smtp_to == ("frontdesk@clinic.example", "manager@clinic.example")
    assert config.smtp_starttls is False
    assert config.delivery_channels == ("webhook", "email") and config.delivery_problems() == []
    assert "s3cret" not in repr(config) and "smtp_password" not in repr(config)


@pytest.mark.parametrize(
    "env, problem",
    [
        ({"BTS_WEBHOOK_URL": "https://x/hook"}, "BTS_WEBHOOK_SECRET"),
        ({"BTS_WEBHOOK_URL": "ftp://x", "BTS_WEBHOOK_SECRET": "s"}, "BTS_WEBHOOK_URL"),
        ({"BTS_SMTP_HOST": "smtp", "BTS_SMTP_TO": "a@x"}, "BTS_SMTP_FROM"),
        ({"BTS_SMTP_HOST": "smtp", "BTS_SMTP_FROM": "a@x"}, "BTS_SMTP_TO"),
        ({"BTS_SMTP_HOST": "smtp", "BTS_SMTP_FROM": "a@x", "BTS_SMTP_TO": "b@x", "BTS_SMTP_USER": "u"},
         "BTS_SMTP_PASSWORD"),
    ],
)
def test_delivery_problems_name_the_variable(env: Dict[str, str], problem: str) -> None:
    assert any(problem in p for p in Settings.from_env(env).delivery_problems())


@pytest.mark.parametrize(
    "env, name",
    [
        ({"BTS_SMTP_PORT": "smtp"}, "BTS_SMTP_PORT"),
        ({"BTS_SMTP_PORT": "0"}, "BTS_SMTP_PORT"),
        ({"BTS_SMTP_STARTTLS": "maybe"}, "BTS_SMTP_STARTTLS"),
        ({"BTS_WEBHOOK_TIMEOUT_S": "0"}, "BTS_WEBHOOK_TIMEOUT_S"),
    ],
)
def test_unusable_delivery_settings_name_the_variable(env: Dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_deliveries_left_without_budget_go_back_to_the_worker_untried(tmp_path: Path) -> None:
    receiver = Receiver(tmp_path, ["hang"], hang_s=3)
    server = SmtpCapture()
    try:
        config = replace(smtp_settings(tmp_path, server.port), webhook_url=receiver.url,
                         webhook_timeout_s=5, submit_delivery_budget_s=0.8)
        store = Store(config)
        started = time.monotonic()
        store.submit("booking", "c1", DETAILS)
        assert time.monotonic() - started < 1.2
        # The webhook attempt times out in the background and records it.
        assert wait_for(lambda: outbox_rows(store)[0]["last_error"] is not None)
        webhook, mail = outbox_rows(store)
        assert webhook["channel"] == "webhook" and webhook["attempts"] == 1
        assert "timed out" in webhook["last_error"]
        assert mail["channel"] == "email" and mail["attempts"] == 0 and mail["last_error"] is None
        assert mail["next_attempt_at"] <= utcnow() and server.messages == []
        # The webhook's retry is due after its (millisecond) backoff.
        assert wait_for(lambda: len(store.due_outbox_ids(10)) == 2)
        assert deliver_due(store).delivered == 2  # e-mail, and the webhook retry (its fault is used up)
        assert len(server.messages) == 1 and len(receiver.inbox.snapshot()["requests"]) == 1
    finally:
        receiver.stop()
        server.shutdown()
        server.server_close()


def test_a_budget_used_up_by_the_database_write_leaves_everything_to_the_worker(tmp_path: Path) -> None:
    store = Store(hook_settings(tmp_path, "http://127.0.0.1:9/", submit_delivery_budget_s=0.001))
    store.submit("booking", "c1", DETAILS)
    [row] = outbox_rows(store)
    assert row["attempts"] == 0 and row["last_error"] is None and row["next_attempt_at"] <= utcnow()
