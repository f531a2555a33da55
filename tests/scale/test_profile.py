"""The production profile's promises, checked against the running profile (see conftest.py).

Only nginx is reachable from outside; TLS; Rasa's HTTP API off; socket.io only from the allowed
origins, matched exactly; a request size cap; a per-client rate limit; passwords on PostgreSQL
and Redis; no secret in a configuration file.
"""

from __future__ import annotations

import http.client
import json
import stat
import threading
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import psycopg2
import pytest
import redis

from deploy.prod import ENDPOINTS, Profile
from tests.scale.conftest import ALLOWED_ORIGIN

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
    internal = [*s.rasa_ports, s.actions_port, s.pg_port, s.redis_port, s.worker_port, s.receiver_port]
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
    status, headers, raw = request(profile, "POST", "/webhooks/rest/webhook?sender=profile-check", body,
                                   {"Content-Type": "application/json"})
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
    status, _, _ = request(profile, "POST", "/webhooks/rest/webhook?sender=big", big,
                           {"Content-Type": "application/json"})
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
    secrets = [profile.s.pg_password, profile.s.redis_password, profile.s.webhook_secret]
    for path in (profile.nginx_conf, ENDPOINTS):
        text = path.read_text()
        assert not any(secret in text for secret in secrets), path
    redis_conf = profile.redis_dir / "redis.conf"
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
