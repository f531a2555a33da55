"""Rasa's socket.io input channel, fixed for python-socketio 5.x (the server side of the widget).

Rasa 3.6's `rasa.core.channels.socketio.SocketIOInput` calls `sio.enter_room(...)` without
`await`. Since python-socketio 5.10, `AsyncServer.enter_room` is a coroutine, so with
`session_persistence: true` the browser's socket never joins its session's room, and every bot
reply (emitted to that room) is lost: the widget would never see an answer. This subclass
re-registers the `session_request` handler with the call awaited; everything else (events,
`/socket.io` path, the `socketio` output channel name, session ids) is Rasa's own.

Use it in credentials.yml instead of `socketio:`:

    widget.rasa_channel.SocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
"""

from __future__ import annotations

import inspect
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

logger = logging.getLogger(__name__)

# Session ids are Rasa's uuid4().hex; anything else from a client is replaced by a new one.
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


class SocketIOInput(RasaSocketIOInput):
    """Rasa's socket.io channel with sessions that work on python-socketio 5.10 and later."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint, with a `session_request` handler that really joins the room."""
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by the parent's blueprint()

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Optional[Dict[str, Any]]) -> None:
            if not isinstance(data, dict):
                data = {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):  # python-socketio >= 5.10
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            logger.debug(f"User {sid} joined session {session_id}.")

        return socketio_webhook
