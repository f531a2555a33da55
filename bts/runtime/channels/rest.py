"""The REST input channel: Rasa's, refusing malformed requests with a clear 4xx before anything is stored.

Rasa 3.6's `rest` channel answers an empty body or a JSON array with a 500, a non-string
`message` with an empty 200, puts requests without `sender` into one shared "default"
conversation, trusts a client-supplied `input_channel`, and logs the message text when handling
fails. Here each of those gets a 400 with a JSON error, conversation ids have a plain form, ids of
socket.io sessions are refused (403: a widget conversation stays in its socket), and failures are
logged without the text.

Use it in credentials.yml as `bts.runtime.channels.rest.RestInput:`; the URL stays
`/webhooks/rest/webhook`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bts.runtime.channels.limits import BadMessage, clean_message
from bts.runtime.channels.sessions import looks_signed

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16_000
# Conversation ids end up in URLs, logs and the console: letters, digits and a few separators.
SENDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


class RequestError(ValueError):
    """A request the channel refuses; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def parse_request(body: bytes) -> Tuple[str, str, Dict[str, Any]]:
    """Sender, cleaned text and metadata of a REST request body.

    Args:
        body: The raw request body.

    Returns:
        (sender, text, metadata).

    Raises:
        RequestError: With the reason and the status to answer with.
    """
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(f"the request body is over {MAX_BODY_BYTES} bytes", 413)
    if not body.strip():
        raise RequestError('the request body is empty: send {"sender": "...", "message": "..."}')
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestError('the request body must be a JSON object: {"sender": "...", "message": "..."}')
    sender = data.get("sender")
    if not isinstance(sender, str) or not sender:
        raise RequestError("'sender' is missing: every conversation needs its own id")
    if looks_signed(sender):
        raise RequestError("this conversation belongs to the chat widget and cannot be continued here", 403)
    if not SENDER.match(sender):
        raise RequestError(
            "'sender' must be 1-128 letters, digits or . _ : @ - (starting with a letter or digit)"
        )
    if "message" not in data:
        raise RequestError("'message' is missing")
    try:
        text = clean_message(data["message"])
    except BadMessage as error:
        raise RequestError(str(error)) from None
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise RequestError("'metadata' must be a JSON object")
    return sender, text, metadata


class RestInput(RasaRestInput):
    """Rasa's REST channel with request checks (see the module docstring)."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """`GET /` (health) and `POST /webhook`, as Rasa's."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, text, metadata = parse_request(request.body or b"")
            except RequestError as error:
                return response.json({"error": str(error)}, status=error.status)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
            try:
                await on_new_message(message)
            except asyncio.CancelledError:
                logger.error("A REST message timed out before the assistant answered.")
            except Exception as error:  # noqa: BLE001 - logged without the message, as Rasa answers
                logger.error("Handling a REST message failed: %s.", type(error).__name__)
            return response.json(collector.messages)

        return webhook
