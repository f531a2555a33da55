"""Security of the servers as `make run` starts them, end to end against the real processes."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import uuid
from typing import Any, Tuple

import requests
import websockets.client
from websockets.typing import Origin

from bts.runtime.channels.sessions import looks_signed
from tests.e2e.conftest import ACTIONS_PORT, RASA_PORT, Servers

RASA = f"http://localhost:{RASA_PORT}"


def event_count(servers: Servers) -> int:
    with sqlite3.connect(servers.db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def test_malformed_rest_requests_get_a_clear_4xx_and_write_nothing(servers: Servers) -> None:
    servers.send(f"e2e-{uuid.uuid4().hex[:8]}", "hi")  # the store exists
    before = event_count(servers)
    bodies = [b"", b"[]", b'{"sender": "a", "message": 5}', b'{"sender": "a", "message": ["hi"]}',
              b'{"sender": "a", "message": {"x": 1}}', b'{"message": "hi"}',
              b'{"sender": "", "message": "hi"}']
    for body in bodies:
        reply = requests.post(servers.url, data=body, headers={"Content-Type": "application/json"},
                              timeout=10)
        assert 400 <= reply.status_code < 500, body
        assert reply.json()["error"], body
    assert event_count(servers) == before
    with sqlite3.connect(servers.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events WHERE sender_id = 'default'").fetchone()[0] == 0


def test_a_lone_surrogate_is_repaired_and_the_text_stays_out_of_the_log(servers: Servers) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    # A lone surrogate, as JSON allows and as a broken client sends it.
    body = '{"sender": "' + sender + '", "message": "my number is 5755550142 \\ud83d"}'
    reply = requests.post(servers.url, data=body.encode(), headers={"Content-Type": "application/json"},
                          timeout=30)
    assert reply.status_code == 200 and reply.json()
    with sqlite3.connect(servers.db) as conn:
        stored = [json.loads(row[0])["text"] for row in conn.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,))]
    assert stored == ["my number is 5755550142 \ufffd"]
    assert "5755550142" not in (servers.tmp / "rasa.log").read_text(errors="replace")


def test_the_rasa_port_does_not_tell_its_version(servers: Servers) -> None:
    reply = requests.get(f"{RASA}/", timeout=10)
    assert reply.status_code == 200
    assert "3.6" not in reply.text


def outward_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet is sent
        return str(probe.getsockname()[0])


def test_the_action_server_refuses_forged_calls_and_listens_on_loopback_only(servers: Servers) -> None:
    forged = {"next_action": "action_submit_booking", "sender_id": "someone-else", "version": "3.6.21",
              "tracker": {"sender_id": "someone-else", "slots": {"booking_phone": "not-a-phone 0000",
                                                                  "booking_confirmed": True}},
              "domain": {}}
    reply = requests.post(f"http://127.0.0.1:{ACTIONS_PORT}/webhook", json=forged, timeout=10)
    assert reply.status_code == 401
    assert requests.get(f"http://127.0.0.1:{ACTIONS_PORT}/health", timeout=10).status_code == 200
    address = outward_address()
    if not address.startswith("127."):
        with socket.socket() as probe:
            probe.settimeout(3)
            assert probe.connect_ex((address, ACTIONS_PORT)) != 0


async def socket_session(origin: str, proposed: Any = None) -> Tuple[bool, str]:
    url = f"ws://localhost:{RASA_PORT}/socket.io/?EIO=4&transport=websocket"
    async with websockets.client.connect(url, origin=Origin(origin)) as ws:
        await ws.recv()
        await ws.send("40")
        if str(await ws.recv()).startswith("44"):
            return False, ""
        await ws.send("42" + json.dumps(["session_request", {"session_id": proposed}]))
        while True:
            packet = str(await asyncio.wait_for(ws.recv(), 10))
            if packet.startswith('42["session_confirm"'):
                return True, str(json.loads(packet[2:])[1])


def test_sockets_need_an_allowed_origin_and_get_a_server_signed_id(servers: Servers) -> None:
    assert asyncio.run(socket_session("https://evil.example")) == (False, "")
    guessed = uuid.uuid4().hex
    accepted, issued = asyncio.run(socket_session("http://localhost:8080", guessed))
    assert accepted and issued != guessed and looks_signed(issued)
    assert asyncio.run(socket_session("http://localhost:8080", issued)) == (True, issued)
    # The widget's conversation cannot be continued over REST.
    reply = requests.post(servers.url, json={"sender": issued, "message": "what is my phone number?"},
                          timeout=10)
    assert reply.status_code == 403
