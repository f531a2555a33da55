"""The production profile's promises, checked against the running profile (see conftest.py).

Only nginx is reachable from outside; TLS; Rasa's HTTP API off; socket.io and browser REST
requests only from the allowed origins, matched exactly; limits on request size, rate and open
WebSockets; the action server only with its token; passwords on PostgreSQL and Redis, and an
applications' role that cannot change or empty tables; no secret in a configuration file; no
conversation id in a log; private log files; the purge and the console under supervisord.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import stat
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import psycopg2
import pytest
import redis

from bts.deploy.profile import Profile
from bts.deploy.render import ENDPOINTS
from tests.scale.conftest import ALLOWED_ORIGIN, RECEIVER_PORT

Response = Tuple[int, Dict[str, str], bytes]
HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def request(profile: Profile, method: str, path: str, body: Optional[bytes] = None,
            headers: Optional[Dict[str, str]] = None, source_ip: Optional[str] = None) -> Response:
    conn = http.client.HTTPSConnection("localhost", profile.s.https_port, timeout=30,
                                       context=profile.ssl_context(),
                                       source_address=(source_ip, 0) if source_ip else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def listening() -> Dict[int, Set[str]]:
    """Port -> addresses listening on it (IPv4 and IPv6), from /proc/net."""
    found: Dict[int, Set[str]] = {}
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            if width == 8:
                ip = ".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))
            else:
                ip = "::" if set(address) == {"0"} else ("::1" if address.endswith("01000000") and
                                                          set(address[:24]) == {"0"} else address)
            found.setdefault(int(port, 16), set()).add(ip)
    return found


def test_only_nginx_listens_beyond_loopback(profile: Profile) -> None:
    s = profile.s
    internal = [*s.rasa_ports, s.actions_port, s.pg_port, s.redis_port, s.worker_port, RECEIVER_PORT]
    if s.console:
        internal.append(s.console_port)
    sockets = listening()
    for port in internal:
        assert sockets.get(port), f"nothing listens on {port}"
        assert sockets[port] <= {"127.0.0.1", "::1"}, (port, sockets[port])
    assert sockets.get(s.https_port) == {s.public_addr}


def test_plain_http_redirects_to_https(profile: Profile) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", profile.s.http_port, timeout=10)
    conn.request("GET", "/webhooks/rest/webhook")
    response = conn.getresponse()
    assert response.status == 301
    assert response.getheader("Location", "") == f"https://127.0.0.1:{profile.s.https_port}/webhooks/rest/webhook"


@pytest.mark.parametrize("method,path", [
    ("GET", "/status"), ("GET", "/version"), ("POST", "/model/parse"), ("GET", "/conversations/x/tracker"),
    ("POST", "/model"), ("GET", "/domain"), ("GET", "/"),
])
def test_rasa_http_api_is_not_reachable(profile: Profile, method: str, path: str) -> None:
    status, _, _ = request(profile, method, path, body=b"{}" if method == "POST" else None)
    assert status == 404
    # Not even on the replica itself: the API is not started (no --enable-api).
    if path != "/":
        conn = http.client.HTTPConnection("127.0.0.1", profile.s.rasa_ports[0], timeout=10)
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        assert conn.getresponse().status in (404, 405)


def test_rest_answers_through_nginx_and_refuses_other_methods(profile: Profile) -> None:
    body = json.dumps({"sender": "profile-check", "message": "what are your hours"}).encode()
    status, headers, raw = request(profile, "POST", "/webhooks/rest/webhook", body,
                                   {"Content-Type": "application/json", "X-BTS-Sender": "profile-check"})
    assert status == 200 and json.loads(raw), raw
    assert "max-age" in headers.get("strict-transport-security", "")
    assert request(profile, "GET", "/webhooks/rest/webhook")[0] == 403


@pytest.mark.parametrize("origin,allowed", [
    (ALLOWED_ORIGIN, True),
    ("https://clinic.example.evil.test", False),  # a prefix match would let this in
    ("https://evil.test/https://clinic.example", False),
    ("https://xclinic.example", False),
    ("http://clinic.example", False),  # other scheme
    ("https://clinic.example:8443", False),  # other port
    ("null", False),
    (None, False),  # no Origin and no session: refused
])
def test_socketio_only_from_allowed_origins(profile: Profile, origin: Optional[str], allowed: bool) -> None:
    headers = {"Origin": origin} if origin is not None else {}
    status, response_headers, body = request(profile, "GET", HANDSHAKE, headers=headers)
    if allowed:
        assert status == 200 and body.startswith(b"0{"), (status, body[:80])
        assert response_headers.get("access-control-allow-origin") == origin
    else:
        assert status == 403, (origin, status)
        assert "access-control-allow-origin" not in response_headers


def test_socketio_websocket_upgrade_checks_the_origin(profile: Profile) -> None:
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    path = "/socket.io/?EIO=4&transport=websocket"
    assert request(profile, "GET", path, headers={**upgrade, "Origin": "https://evil.test"})[0] == 403
    assert request(profile, "GET", path, headers={**upgrade, "Origin": ALLOWED_ORIGIN})[0] == 101


def test_socketio_session_continues_without_origin_only_with_its_sid(profile: Profile) -> None:
    _, _, body = request(profile, "GET", HANDSHAKE, headers={"Origin": ALLOWED_ORIGIN})
    sid = json.loads(body[1:])["sid"]
    # A same-origin browser GET carries no Origin; the session it continues passed the check.
    status, _, _ = request(profile, "GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
    assert status == 200


def test_request_size_is_capped(profile: Profile) -> None:
    big = json.dumps({"sender": "big", "message": "a" * 64_000}).encode()
    status, _, _ = request(profile, "POST", "/webhooks/rest/webhook", big,
                           {"Content-Type": "application/json", "X-BTS-Sender": "big"})
    assert status == 413


def test_rate_limit_is_per_client(profile: Profile) -> None:
    statuses: List[int] = []
    lock = threading.Lock()

    def handshake() -> None:
        origin = {"Origin": ALLOWED_ORIGIN}
        status = request(profile, "GET", HANDSHAKE, headers=origin, source_ip="127.0.0.201")[0]
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=handshake) for _ in range(profile.s.burst + 25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(429) >= 10, statuses
    assert statuses.count(200) >= profile.s.burst // 2, statuses
    # Another client is not affected.
    other = request(profile, "GET", HANDSHAKE, headers={"Origin": ALLOWED_ORIGIN}, source_ip="127.0.0.202")
    assert other[0] == 200


def test_databases_require_their_passwords(profile: Profile) -> None:
    for password in ("", "wrong"):
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(host="127.0.0.1", port=profile.s.pg_port, user=profile.s.pg_user,
                             password=password, dbname=profile.s.pg_db, connect_timeout=5)
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=profile.s.redis_port, socket_timeout=5).ping()
    assert redis.Redis(host="127.0.0.1", port=profile.s.redis_port, password=profile.s.redis_password).ping()


def test_no_secret_in_configuration_files(profile: Profile) -> None:
    secrets = [profile.s.pg_password, profile.s.redis_password, profile.s.webhook_secret,
               profile.s.action_token, profile.s.pg_owner_password]
    for path in (profile.layout.nginx_conf, profile.layout.supervisor_conf, ENDPOINTS):
        text = path.read_text()
        assert not any(secret in text for secret in secrets), path
    redis_conf = profile.layout.redis_dir / "redis.conf"
    assert stat.S_IMODE(redis_conf.stat().st_mode) == 0o600
    assert stat.S_IMODE(profile.key_path.stat().st_mode) == 0o600



class PollingClient:
    """An engine.io long-polling client from one address, as a browser without WebSockets."""

    def __init__(self, profile: Profile, source: str) -> None:
        self.profile = profile
        self.source = source
        self.headers = {"Origin": ALLOWED_ORIGIN}
        status, _, body = request(profile, "GET", HANDSHAKE, headers=self.headers, source_ip=source)
        assert status == 200, (status, body[:200])
        self.sid = json.loads(body[1:])["sid"]

    def poll(self) -> str:
        status, _, body = request(self.profile, "GET", f"{HANDSHAKE}&sid={self.sid}", headers=self.headers,
                                  source_ip=self.source)
        assert status == 200, (status, body[:200])
        return body.decode()

    def post(self, packet: str) -> None:
        headers = {**self.headers, "Content-Type": "text/plain;charset=UTF-8"}
        path = f"{HANDSHAKE}&sid={self.sid}"
        status, _, body = request(self.profile, "POST", path, packet.encode(), headers, self.source)
        assert status == 200 and body.lower() == b"ok", (status, body[:200])


def test_socketio_long_polling_conversation_sticks_to_one_replica(profile: Profile) -> None:
    """A whole widget conversation over engine.io long-polling, from several client addresses."""
    access_log = profile.log_dir / "nginx-access.log"
    used: Set[str] = set()
    for client in range(30, 40):
        before = len(access_log.read_text().splitlines())
        browser = PollingClient(profile, f"127.0.0.{client}")
        browser.post("40")
        assert browser.poll().startswith("40")
        browser.post('42["session_request",{"session_id":null}]')
        confirm = browser.poll()
        assert "session_confirm" in confirm, confirm
        message = {"message": "what are your hours", "session_id": json.loads(confirm[2:])[1]}
        browser.post("42" + json.dumps(["user_uttered", message]))
        answer = ""
        for _ in range(3):
            answer += browser.poll()
            if "bot_uttered" in answer:
                break
        assert "bot_uttered" in answer, answer
        lines = access_log.read_text().splitlines()[before:]
        replicas = {line.split("upstream=")[1].split()[0] for line in lines
                    if f" {browser.source} " in line and "/socket.io/" in line}
        assert len(replicas) == 1, replicas
        used |= replicas
    # The hash of an address is fixed, so this does not depend on chance from run to run.
    assert len(used) == 2, f"ten clients all went to {used}"


# ---- security findings of the production side --------------------------------------------------


def test_the_action_server_refuses_requests_without_its_token(profile: Profile) -> None:
    """A forged call of the booking action, straight to the action server, is refused."""
    body = json.dumps({"next_action": "action_submit_booking", "sender_id": "forged", "version": "3.6.21",
                       "tracker": {"sender_id": "forged", "slots": {"booking_confirmed": True}, "events": [],
                                   "latest_message": {}}, "domain": {}}).encode()
    for headers in ({}, {"X-BTS-Action-Token": "not-the-token"}):
        conn = http.client.HTTPConnection("127.0.0.1", profile.s.actions_port, timeout=10)
        conn.request("POST", "/webhook", body=body, headers={"Content-Type": "application/json", **headers})
        assert conn.getresponse().status in (401, 403), headers


def test_rest_refuses_browser_pages_of_other_origins(profile: Profile) -> None:
    body = json.dumps({"sender": "origin-check", "message": "hello"}).encode()
    headers = {"Content-Type": "text/plain", "X-BTS-Sender": "origin-check"}
    path = "/webhooks/rest/webhook"
    assert request(profile, "POST", path, body, {**headers, "Origin": "https://evil.example"})[0] == 403
    assert request(profile, "POST", path, body, {**headers, "Origin": ALLOWED_ORIGIN})[0] == 200


@contextlib.contextmanager
def websockets(profile: Profile, count: int, source: str) -> Iterator[List[int]]:
    """Opens `count` WebSockets to socket.io from `source`; yields their handshake statuses."""
    opened: List[ssl.SSLSocket] = []
    statuses: List[int] = []
    handshake = ("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\n"
                 f"Origin: {ALLOWED_ORIGIN}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode()
    try:
        for _ in range(count):
            raw = socket.create_connection(("127.0.0.1", profile.s.https_port), timeout=10,
                                           source_address=(source, 0))
            tls = profile.ssl_context().wrap_socket(raw, server_hostname="localhost")
            opened.append(tls)
            tls.sendall(handshake)
            statuses.append(int(tls.recv(4096).split(b" ", 2)[1]))
        yield statuses
    finally:
        for tls in opened:
            tls.close()


def test_open_websockets_per_client_are_limited(profile: Profile) -> None:
    allowed = profile.s.max_sockets
    with websockets(profile, allowed + 2, "127.0.0.203") as statuses:
        assert statuses[:allowed] == [101] * allowed, statuses
        assert statuses[allowed:] == [429, 429], statuses
        # Another client is not affected.
        with websockets(profile, 1, "127.0.0.204") as other:
            assert other == [101]


def test_socketio_long_polling_bodies_are_capped(profile: Profile) -> None:
    _, _, body = request(profile, "GET", HANDSHAKE, headers={"Origin": ALLOWED_ORIGIN},
                         source_ip="127.0.0.205")
    sid = json.loads(body[1:])["sid"]
    big = ("42" + json.dumps(["user_uttered", {"message": "a" * 64_000}])).encode()
    status, _, _ = request(profile, "POST", f"{HANDSHAKE}&sid={sid}", big,
                           {"Origin": ALLOWED_ORIGIN, "Content-Type": "text/plain"}, "127.0.0.205")
    assert status == 413


def test_logs_hold_no_conversation_id_and_are_private(profile: Profile) -> None:
    sender = "log-check-7f3a9c"
    access_log = profile.log_dir / "nginx-access.log"
    before = len(access_log.read_text().splitlines())
    body = json.dumps({"sender": sender, "message": "hello"}).encode()
    # Even a client that still puts the id in the URL does not get it into a log.
    status = request(profile, "POST", f"/webhooks/rest/webhook?sender={sender}", body,
                     {"Content-Type": "application/json", "X-BTS-Sender": sender})[0]
    assert status == 200
    deadline = time.monotonic() + 10
    while len(access_log.read_text().splitlines()) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(access_log.read_text().splitlines()) > before, "nginx logged nothing"
    for log in profile.log_dir.glob("nginx-*.log*"):
        assert sender not in log.read_text(errors="replace"), log.name
    assert stat.S_IMODE(profile.log_dir.stat().st_mode) == 0o700
    for log in profile.log_dir.iterdir():
        assert stat.S_IMODE(log.stat().st_mode) & 0o077 == 0, (log.name, oct(log.stat().st_mode))


@pytest.mark.parametrize("statement", [
    "TRUNCATE console_audit",
    "DROP TRIGGER console_audit_append_only ON console_audit",
    "ALTER TABLE console_audit DISABLE TRIGGER ALL",
    "DELETE FROM console_audit",
    "TRUNCATE events",
    "DROP TABLE events",
    "CREATE TABLE bts_probe (id integer)",
])
def test_the_applications_role_cannot_change_or_empty_tables(profile: Profile, statement: str) -> None:
    conn = psycopg2.connect(profile.database_url(), connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM console_audit")  # it still reads rows
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(statement)
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/", "/version", "/status", "/webhooks/rest/", "/no-such-page"])
def test_no_answer_names_the_software_or_its_version(profile: Profile, path: str) -> None:
    import rasa

    status, headers, body = request(profile, "GET", path)
    text = (body.decode(errors="replace") + json.dumps(headers)).lower()
    assert status >= 400
    assert rasa.__version__ not in text and "rasa" not in text, text[:200]
    assert "nginx/" not in text and "<center>nginx" not in text, text[:200]


def test_the_retention_purge_runs_under_supervisord(profile: Profile) -> None:
    assert profile.states().get("retention") == "RUNNING", profile.states()


def test_the_console_sets_secure_cookies(profile: Profile) -> None:
    if not profile.s.console:
        pytest.skip("no .venv-console: the profile runs without the staff console (make console-venv)")
    # Even over plain HTTP on loopback: the profile tells the console that it is behind TLS.
    with urllib.request.urlopen(f"http://127.0.0.1:{profile.s.console_port}/login", timeout=10) as response:
        cookies = response.headers.get_all("Set-Cookie") or []
    assert cookies and all("Secure" in cookie for cookie in cookies), cookies
    status, headers, _ = request(profile, "GET", "/login")  # the chat's port does not serve it
    assert status == 404
    conn = http.client.HTTPSConnection("localhost", profile.s.console_https_port, timeout=10,
                                       context=profile.ssl_context())
    conn.request("GET", "/login")
    response = conn.getresponse()
    assert response.status == 200 and "Secure" in (response.getheader("Set-Cookie") or "")
