"""The socket.io input channel of the website widget: Rasa's channel with limits and signed sessions.

Compared with Rasa 3.6's `socketio` channel:
* `session_request` joins the session's room with `await` (python-socketio 5.10 made
  `enter_room` a coroutine, and Rasa's channel never delivers a reply with it);
* session ids are issued and signed by the server (`sessions`), and each socket sends messages
  only for the session it joined, whatever id a message names;
* connections from pages whose Origin is not in `BTS_ALLOWED_ORIGINS` are refused;
* custom payloads reach the widget as the message's data (Rasa passes them to `emit` as keyword
  arguments, which python-socketio refuses), and after each message the widget is told when the
  conversation's language differs from the one it shows;
* engine.io accepts packets of at most `max_http_buffer_size` bytes (16 kB), each socket and each
  session may send `rate_limit` messages per `rate_window_s` seconds, and every message is
  cleaned and cut before Rasa stores it (`limits`).

Use it in credentials.yml as `bts.runtime.channels.socketio.SocketIOInput:` with Rasa's keys.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

import rasa.core.channels.channel
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bts import env
from bts.runtime.channels.limits import BadMessage, RateLimiter, clean_message
from bts.runtime.channels.sessions import SessionIds
from bts.runtime.messages import busy_text

logger = logging.getLogger(__name__)

ORIGINS_ENV = "BTS_ALLOWED_ORIGINS"
DEV_ORIGINS = ("http://localhost:8080",)
MAX_BUFFER_BYTES = 16_000
RATE_LIMIT = 10
RATE_WINDOW_S = 10.0


def allowed_origins(environ: Optional[Mapping[str, str]] = None) -> List[str]:
    """The page origins that may open a socket: `BTS_ALLOWED_ORIGINS` (comma- or space-separated)."""
    raw = env.text(os.environ if environ is None else environ, ORIGINS_ENV)
    origins = [o.strip().rstrip("/") for o in raw.replace(",", " ").split() if o.strip()]
    return origins or list(DEV_ORIGINS)


class WidgetOutput(SocketIOOutput):
    """Rasa's socket.io output, sending custom payloads (`{"bts": ...}`) as the message's data."""

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, json_message)


class LimitedSocketBlueprint(SocketBlueprint):
    """Rasa's socket.io blueprint that also caps WebSocket frames at the engine.io packet limit."""

    def register(self, app: Sanic, options: Dict[str, Any]) -> None:
        """Attaches the socket.io server and lowers Sanic's frame limit (1 MB by default)."""
        limit = self.ctx.sio.eio.max_http_buffer_size
        app.config.WEBSOCKET_MAX_SIZE = min(int(app.config.WEBSOCKET_MAX_SIZE), limit)
        self.ctx.served_by = app
        super().register(app, options)


async def conversation_language(app: Optional[Sanic], sender_id: str) -> Optional[str]:
    """The `language` slot of a conversation, or None where the server has no tracker store."""
    agent = getattr(getattr(app, "ctx", None), "agent", None) if app is not None else None
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    tracker = await store.retrieve(sender_id)
    value = tracker.get_slot("language") if tracker is not None else None
    return value if isinstance(value, str) else None


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io channel with working rooms, signed sessions, Origin checks and limits."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", False),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
            max_http_buffer_size=int(credentials.get("max_http_buffer_size", MAX_BUFFER_BYTES)),
            rate_limit=int(credentials.get("rate_limit", RATE_LIMIT)),
            rate_window_s=float(credentials.get("rate_window_s", RATE_WINDOW_S)),
        )

    def __init__(
        self,
        *args: Any,
        max_http_buffer_size: int = MAX_BUFFER_BYTES,
        rate_limit: int = RATE_LIMIT,
        rate_window_s: float = RATE_WINDOW_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_http_buffer_size = max_http_buffer_size
        self.limiter = RateLimiter(rate_limit, rate_window_s)
        # Read at start-up, so that a missing secret or translation stops the server at once.
        self.sessions = SessionIds.from_env()
        self.origins = allowed_origins()
        busy_text()
        self.joined: Dict[str, str] = {}  # socket id -> the session id it joined

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The socket.io server and its handlers (see the module docstring)."""
        # Origins are checked in `connect`; an empty list keeps engine.io from adding CORS headers
        # of its own next to Rasa's.
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=self.max_http_buffer_size
        )
        socketio_webhook = LimitedSocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: Dict[str, Any], auth: Optional[Dict] = None) -> bool:
            return self.accepts(environ, auth)

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            self.joined.pop(sid, None)
            self.limiter.forget(f"socket:{sid}")

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            proposed = data.get("session_id") if isinstance(data, dict) else None
            session_id = proposed if isinstance(proposed, str) and self.sessions.verify(proposed) else None
            session_id = session_id or self.sessions.issue()
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=namespace)
                if inspect.isawaitable(joined):  # python-socketio >= 5.10
                    await joined
            self.joined[sid] = session_id
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            message = self.user_message(sid, data, WidgetOutput(sio, self.bot_message_evt))
            if message is None:
                return
            socket_ok = self.limiter.allow(f"socket:{sid}")
            if not (socket_ok and self.limiter.allow(f"session:{message.sender_id}")):
                logger.warning("A socket sent too many messages; one was turned away.")
                await message.output_channel.send_text_message(message.sender_id, busy_text())
                return
            await on_new_message(message)
            await self.tell_language(getattr(socketio_webhook.ctx, "served_by", None), message)

        return socketio_webhook

    async def tell_language(self, app: Optional[Sanic], message: UserMessage) -> None:
        """Tells the widget the conversation's language when it shows another one."""
        shown = (message.metadata or {}).get("lang")
        if not isinstance(shown, str):
            return
        language = await conversation_language(app, message.sender_id)
        if language and language != shown:
            await message.output_channel.send_custom_json(message.sender_id, {"bts": {"language": language}})

    def accepts(self, environ: Dict[str, Any], auth: Optional[Dict]) -> bool:
        """Whether a socket may connect: an allowed Origin (or none: not a browser), and a JWT if set."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin.rstrip("/") not in self.origins:
            logger.warning("Refused a socket.io connection from a page not in %s.", ORIGINS_ENV)
            return False
        if self.jwt_key:
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and rasa.core.channels.channel.decode_bearer_token(
                token, self.jwt_key, self.jwt_algorithm
            ))
        return True

    def user_message(self, sid: str, data: Any, output: SocketIOOutput) -> Optional[UserMessage]:
        """The message a socket sent, for the session it joined; None (and a log line) to drop it."""
        if not isinstance(data, dict):
            logger.warning("Dropped a socket.io message that is not an object.")
            return None
        if self.session_persistence:
            sender_id = self.joined.get(sid)
            if sender_id is None:
                logger.warning("Dropped a socket.io message sent before `session_request`.")
                return None
        else:
            sender_id = sid
        try:
            text = clean_message(data.get("message", ""))
        except BadMessage as error:
            logger.warning("Dropped a socket.io message: %s.", error)
            return None
        metadata = data.get(self.metadata_key) or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                metadata = {}
        if not isinstance(metadata, dict):
            metadata = {}
        return UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
