"""The widget's socket.io channel: Origin allow-list, server-signed sessions, size and rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, AsyncIterator, List, Optional, Tuple

import aiohttp
import pytest
import websockets.client
import websockets.exceptions
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from websockets.typing import Origin

from bts.runtime.channels.limits import CUT_MARKER, MAX_MESSAGE_CHARS
from bts.runtime.channels.sessions import SessionIds, looks_signed
from bts.runtime.channels.socketio import SocketIOInput
from bts.runtime.messages import busy_text
from tests.runtime.serving import serving

SECRET = "s" * 48
ALLOWED = "http://localhost:8080"


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTS_SESSION_SECRET", SECRET)
    monkeypatch.setenv("BTS_ALLOWED_ORIGINS", f"{ALLOWED}, https://www.clinic.example")


class Server:
    """Our channel on a Sanic app; every message Rasa would get is recorded."""

    def __init__(self, **credentials: Any) -> None:
        self.received: List[UserMessage] = []
        self.channel = SocketIOInput.from_credentials(
            {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
             "session_persistence": True, **credentials}
        )
        self.app = Sanic(f"socket_test_{id(self)}")

        async def on_new_message(message: UserMessage) -> None:
            self.received.append(message)
            await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

        self.app.blueprint(self.channel.blueprint(on_new_message))


class Refused(Exception):
    """The server refused the socket.io connection."""


class Client:
    """A socket.io client over a raw WebSocket (engine.io 4 text protocol): fast and explicit."""

    def __init__(self) -> None:
        self.ws: Any = None
        self.bot: List[str] = []
        self.confirmed: List[str] = []

    async def connect(self, url: str, origin: Optional[str] = ALLOWED) -> None:
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        browser = Origin(origin) if origin else None
        self.ws = await websockets.client.connect(ws_url, origin=browser, max_size=None)
        assert str(await self.ws.recv()).startswith("0")  # engine.io open
        await self.ws.send("40")
        answer = str(await self.ws.recv())
        if answer.startswith("44"):
            await self.ws.close()
            raise Refused(answer)
        assert answer.startswith("40"), answer

    async def emit(self, event: str, data: Any) -> None:
        await self.ws.send("42" + json.dumps([event, data]))

    async def _next(self, into: List[str]) -> str:
        while not into:
            packet = str(await asyncio.wait_for(self.ws.recv(), 5))
            if packet == "2":
                await self.ws.send("3")  # engine.io ping
            elif packet.startswith("42"):
                event, data = json.loads(packet[2:])[:2]
                (self.confirmed if event == "session_confirm" else self.bot).append(
                    data if event == "session_confirm" else data["text"]
                )
        return into.pop(0)

    async def session(self, proposed: Optional[str] = None) -> str:
        await self.emit("session_request", {"session_id": proposed})
        return await self._next(self.confirmed)

    async def say(self, text: Any, session_id: Optional[str] = None) -> None:
        await self.emit("user_uttered", {"message": text, "session_id": session_id})

    async def replies(self, count: int) -> List[str]:
        return [await self._next(self.bot) for _ in range(count)]

    async def silent_for(self, seconds: float) -> bool:
        try:
            packet = await asyncio.wait_for(self.ws.recv(), seconds)
        except asyncio.TimeoutError:
            return True
        return packet in ("2",)

    async def close(self) -> None:
        await self.ws.close()


@contextlib.asynccontextmanager
async def running(**credentials: Any) -> AsyncIterator[Tuple[Server, str]]:
    server = Server(**credentials)
    async with serving(server.app) as url:
        yield server, url


def run(scenario: Any) -> Any:
    return asyncio.run(scenario())


def test_pages_not_on_the_allow_list_cannot_open_a_socket() -> None:
    async def scenario() -> None:
        async with running() as (_, url):
            for origin in ("https://evil.example", "http://localhost:8080.evil.example", "null"):
                client = Client()
                with pytest.raises(Refused):
                    await client.connect(url, origin=origin)
            for allowed in (ALLOWED, "https://www.clinic.example", None):  # None: not a browser
                client = Client()
                await client.connect(url, origin=allowed)
                await client.close()

    run(scenario)


def test_the_server_issues_a_signed_id_and_resumes_only_ids_it_signed() -> None:
    async def scenario() -> None:
        async with running() as (_, url):
            client = Client()
            await client.connect(url)
            guessed = "0123456789abcdef0123456789abcdef"  # the old client-chosen form
            issued = await client.session(guessed)
            assert issued != guessed and looks_signed(issued)
            assert SessionIds(SECRET.encode()).verify(issued)
            assert await client.session(issued) == issued  # a reload resumes the conversation
            forged = issued[:-1] + ("A" if issued[-1] != "A" else "B")
            assert await client.session(forged) not in (forged, issued)
            other_key = SessionIds(b"k" * 48).issue()
            assert await client.session(other_key) != other_key
            await client.close()

    run(scenario)


def test_a_socket_speaks_only_for_the_session_it_joined() -> None:
    async def scenario() -> None:
        async with running() as (server, url):
            victim, attacker = Client(), Client()
            await victim.connect(url)
            await attacker.connect(url)
            victim_id = await victim.session()
            attacker_id = await attacker.session()
            await attacker.say("hello from the attacker", session_id=victim_id)
            assert await attacker.replies(1) == ["echo: hello from the attacker"]
            assert [m.sender_id for m in server.received] == [attacker_id]
            assert await victim.silent_for(0.3)
            fresh = Client()
            await fresh.connect(url)
            await fresh.say("no session yet", session_id=victim_id)
            assert await fresh.silent_for(0.3)
            assert len(server.received) == 1  # dropped: it never asked for a session
            for client in (victim, attacker, fresh):
                await client.close()

    run(scenario)


def test_messages_are_cleaned_and_cut_before_rasa_sees_them() -> None:
    async def scenario() -> None:
        async with running() as (server, url):
            client = Client()
            await client.connect(url)
            await client.session()
            await client.say("call me \ud83d at 5755550142\x00")
            await client.say(42)  # not a string: dropped
            await client.say("word " * 400)
            await client.replies(2)
            texts = [m.text for m in server.received]
            assert texts[0] == "call me \ufffd at 5755550142"
            assert texts[1] is not None and texts[1].endswith(" " + CUT_MARKER)
            assert len(texts[1]) <= MAX_MESSAGE_CHARS + len(CUT_MARKER) + 1
            assert len(texts) == 2
            await client.close()

    run(scenario)


def test_a_socket_sending_too_fast_gets_the_busy_reply_instead_of_the_assistant() -> None:
    async def scenario() -> None:
        async with running(rate_limit=3, rate_window_s=60) as (server, url):
            client = Client()
            await client.connect(url)
            session_id = await client.session()
            for n in range(5):
                await client.say(f"question {n}")
            replies = await client.replies(3 + 2 * 2)  # the busy reply is two messages (en, es)
            assert replies.count("echo: question 0") == 1
            assert [m.text for m in server.received] == ["question 0", "question 1", "question 2"]
            english, spanish = busy_text().split("\n\n")
            assert (replies.count(english), replies.count(spanish)) == (2, 2)
            # A new socket on the same session is limited as well.
            again = Client()
            await again.connect(url)
            assert await again.session(session_id) == session_id
            await again.say("question 5")
            assert await again.replies(2) == busy_text().split("\n\n")
            assert len(server.received) == 3
            for each in (client, again):
                await each.close()

    run(scenario)


def test_a_polling_packet_over_the_buffer_limit_is_refused() -> None:
    async def scenario() -> Tuple[int, int, int]:
        async with running() as (server, url), aiohttp.ClientSession() as http:
            # engine.io drops the session while answering; Sanic then times the request out.
            server.app.config.RESPONSE_TIMEOUT = 2
            base = f"{url}/socket.io/?EIO=4&transport=polling"
            async with http.get(base, headers={"Origin": ALLOWED}) as opened:
                sid = json.loads((await opened.text())[1:])["sid"]
            headers = {"Origin": ALLOWED}
            for packet in ("40", '42["session_request",{}]'):
                async with http.post(f"{base}&sid={sid}", data=packet, headers=headers) as posted:
                    assert posted.status == 200
            session_id = None
            while session_id is None:
                async with http.get(f"{base}&sid={sid}", headers=headers) as polled:
                    for packet in (await polled.text()).split("\x1e"):
                        if packet.startswith('42["session_confirm"'):
                            session_id = json.loads(packet[2:])[1]
            small = json.dumps(["user_uttered", {"message": "hi", "session_id": session_id}])
            big = json.dumps(["user_uttered", {"message": "x" * 20_000, "session_id": session_id}])
            async with http.post(f"{base}&sid={sid}", data="42" + small, headers=headers) as ok:
                small_status = ok.status
            async with http.post(f"{base}&sid={sid}", data="42" + big, headers=headers) as refused:
                return small_status, refused.status, len(server.received)

    # Without the limit engine.io takes 1 MB in one packet.
    small_status, big_status, received = run(scenario)
    assert small_status == 200
    assert big_status in (400, 503)
    assert received == 1  # only the small message reached Rasa


def test_a_websocket_frame_over_the_buffer_limit_closes_the_socket() -> None:
    async def scenario() -> Tuple[bool, int]:
        async with running() as (server, url):
            ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
            async with websockets.client.connect(ws_url, origin=Origin(ALLOWED), max_size=None) as ws:
                assert str(await ws.recv()).startswith("0")  # engine.io open
                await ws.send("40")
                assert str(await ws.recv()).startswith("40")  # socket.io connect
                await ws.send('42["session_request",{}]')
                assert "session_confirm" in str(await ws.recv())
                await ws.send('42["user_uttered",{"message":"%s"}]' % ("x" * 20_000))
                closed = False
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                except websockets.exceptions.ConnectionClosed:
                    closed = True
            return closed, len(server.received)

    assert run(scenario) == (True, 0)


class FakeTrackerStore:
    """Answers the conversation's `language` slot, as Rasa's tracker store would."""

    def __init__(self, language: str) -> None:
        self.language = language

    async def retrieve(self, sender_id: str) -> Any:
        language = self.language

        class Tracker:
            def get_slot(self, name: str) -> Optional[str]:
                return language if name == "language" else None

        return Tracker()


def test_custom_payloads_and_the_conversation_language_reach_the_widget() -> None:
    async def scenario() -> None:
        async with running() as (server, url):
            server.app.ctx.agent = type("Agent", (), {"tracker_store": FakeTrackerStore("es")})()

            client = Client()
            await client.connect(url)
            session_id = await client.session()
            await client.emit("user_uttered", {"message": "hola", "session_id": session_id,
                                               "metadata": {"lang": "en"}})
            packets: List[Any] = []
            while len(packets) < 2:
                packet = str(await asyncio.wait_for(client.ws.recv(), 5))
                if packet.startswith("42"):
                    packets.append(json.loads(packet[2:]))
            # The echo reply, then the widget is told the conversation is now in Spanish.
            assert packets[0][0] == "bot_uttered" and packets[0][1]["text"] == "echo: hola"
            assert packets[1] == ["bot_uttered", {"bts": {"language": "es"}}]
            await client.close()

    run(scenario)


def test_a_custom_payload_is_sent_as_the_message_itself() -> None:
    from bts.runtime.channels.socketio import WidgetOutput

    emitted: List[Tuple[Any, ...]] = []

    class Sio:
        async def emit(self, *args: Any, **kwargs: Any) -> None:
            emitted.append((args, kwargs))

    output = WidgetOutput(Sio(), "bot_uttered")
    asyncio.run(output.send_custom_json("conversation-1", {"bts": {"event": "booking_submitted"}}))
    assert emitted == [(("bot_uttered", {"bts": {"event": "booking_submitted"}}), {"room": "conversation-1"})]
