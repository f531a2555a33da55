"""A keep-alive client of Rasa's REST channel, straight to a server or through the profile's nginx."""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

PATH = "/webhooks/rest/webhook"

@dataclass
class Reply:
    """One answered (or failed) message.

    Attributes:
        latency_s: Seconds from sending until the whole reply was read.
        status: HTTP status, or 0 when the connection failed.
        messages: The bot messages (dicts with `text`, `buttons`, ...).
        error: Why it failed, empty when it did not.
    """

    latency_s: float
    status: int
    messages: List[Dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """True for HTTP 200 with a JSON list."""
        return self.status == 200 and not self.error

    @property
    def texts(self) -> List[str]:
        """The texts of the bot messages."""
        return [str(m.get("text") or "") for m in self.messages]


class RestClient:
    """A keep-alive client of Rasa's REST channel, directly or through nginx.

    The conversation id also goes into the `X-BTS-Sender` header, which nginx hashes to pick the
    replica (a header, not the URL, so that it stays out of logs); Rasa reads it from the body.

    Args:
        base_url: `http://127.0.0.1:6005` or `https://localhost:6443`.
        ssl_context: Trust for HTTPS (the profile's self-signed certificate).
        source_ip: Local address to send from (127.0.0.x: one "client" per conversation, as the
            rate limit and the socket.io routing see clients).
        timeout_s: Per-request timeout.
    """

    IDLE_S = 4.0
    STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ssl.SSLEOFError,
             ssl.SSLZeroReturnError)

    def __init__(self, base_url: str, ssl_context: Optional[ssl.SSLContext] = None,
                 source_ip: Optional[str] = None, timeout_s: float = 60.0) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.https = parsed.scheme == "https"
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or (443 if self.https else 80)
        self.ssl_context = ssl_context
        self.source = (source_ip, 0) if source_ip else None
        self.timeout_s = timeout_s
        self._conn: Optional[http.client.HTTPConnection] = None
        self._last_used = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.https:
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout_s, context=self.ssl_context,
                    source_address=self.source)
            else:
                self._conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout_s, source_address=self.source)
        return self._conn

    def close(self) -> None:
        """Closes the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def send(self, sender: str, text: str) -> Reply:
        """Sends one message and waits for the whole reply."""
        body = json.dumps({"sender": sender, "message": text}).encode()
        headers = {"Content-Type": "application/json", "X-BTS-Sender": sender}
        # Servers close idle keep-alive connections (Sanic after 5 s, nginx after 30 s): do not
        # send into one that may be closing.
        if self._conn is not None and time.monotonic() - self._last_used > self.IDLE_S:
            self.close()
        for attempt in (1, 2):
            reused = self._conn is not None
            started = time.perf_counter()
            try:
                conn = self._connection()
                conn.request("POST", PATH, body=body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except self.STALE as exc:
                # A kept-alive connection the server had closed before reading anything: send
                # again on a new one. On a new connection, the error is the answer.
                self.close()
                if reused and attempt == 1:
                    continue
                return Reply(time.perf_counter() - started, 0, error=f"{type(exc).__name__}: {exc}")
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Reply(time.perf_counter() - started, 0, error=f"{type(exc).__name__}: {exc}")
            elapsed = time.perf_counter() - started
            self._last_used = time.monotonic()
            if response.status != 200:
                return Reply(elapsed, response.status, error=f"HTTP {response.status}")
            try:
                messages = json.loads(raw)
            except ValueError:
                return Reply(elapsed, response.status, error="reply is not JSON")
            if not isinstance(messages, list):
                return Reply(elapsed, response.status, error="reply is not a list")
            return Reply(elapsed, 200, messages)
        return Reply(0.0, 0, error="unreachable")
