"""A stand-in for Rasa's socket.io channel inside the browser (Playwright's WebSocket routing).

It speaks just enough engine.io 4 / socket.io 5 for the widget: the handshake, the
`session_request` / `session_confirm` exchange, `user_uttered` with its acknowledgement and
`bot_uttered`. Tests script the replies and read what the widget sent, so the widget's side of
the protocol is checked without a trained model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

SOCKET_URL = re.compile(r".*/socket\.io/.*")
# Engine.io 4 handshake: no upgrades (already a WebSocket), pings rare enough not to matter.
OPEN = "0" + json.dumps({"sid": "fake", "upgrades": [], "pingInterval": 300000, "pingTimeout": 60000,
                         "maxPayload": 1000000})
EVENT = re.compile(r"^42(\d*)(\[.*)$", re.S)

Reply = Dict[str, Any]


@dataclass
class FakeRasa:
    """Answers every user message with `replies(text)`; issues ids from `issue(requested)`."""

    replies: Callable[[str], List[Reply]] = lambda text: [{"text": f"You said: {text}"}]
    issue: Callable[[Optional[str]], str] = lambda requested: "signed.fake-session-1"
    received: List[Any] = field(default_factory=list)  # [event, data] as the widget sent them
    sockets: List[Any] = field(default_factory=list)
    urls: List[str] = field(default_factory=list)  # of every WebSocket the widget opened
    confirmed: Optional[str] = None

    def install(self, page: Any) -> None:
        """Routes the page's socket.io WebSockets here and refuses long-polling."""
        page.route_web_socket(SOCKET_URL, self._connect)
        page.route(SOCKET_URL, lambda route: route.abort())

    def events(self, name: str) -> List[Any]:
        return [data for event, data in self.received if event == name]

    def emit(self, event: str, data: Any) -> None:
        """Sends an event to the newest connection, as the server would."""
        self.sockets[-1].send("42" + json.dumps([event, data]))

    def bot(self, message: Reply) -> None:
        self.emit("bot_uttered", message)

    # ------------------------------------------------------------------ protocol

    def _connect(self, ws: Any) -> None:
        self.sockets.append(ws)
        self.urls.append(ws.url)
        ws.on_message(lambda message: self._on_message(ws, message))
        ws.send(OPEN)

    def _on_message(self, ws: Any, message: Any) -> None:
        if not isinstance(message, str):
            return
        if message == "40" or message.startswith("40{"):
            ws.send("40" + json.dumps({"sid": "fake-socket"}))
            return
        if message == "3":  # pong
            return
        match = EVENT.match(message)
        if not match:
            return
        ack, payload = match.groups()
        event, *args = json.loads(payload)
        data = args[0] if args else None
        self.received.append([event, data])
        if event == "session_request":
            requested = data.get("session_id") if isinstance(data, dict) else None
            self.confirmed = self.issue(requested)
            ws.send("42" + json.dumps(["session_confirm", self.confirmed]))
        elif event == "user_uttered" and isinstance(data, dict):
            for reply in self.replies(str(data.get("message", ""))):
                ws.send("42" + json.dumps(["bot_uttered", reply]))
        if ack:
            ws.send(f"43{ack}[]")
