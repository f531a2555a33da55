"""The REST channel: malformed requests get a clear 4xx and never reach Rasa; no shared conversation."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Tuple

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bts.runtime.channels.limits import CUT_MARKER
from bts.runtime.channels.rest import RestInput
from bts.runtime.channels.sessions import SessionIds
from tests.runtime.serving import serving

SIGNED = SessionIds(b"k" * 48).issue()

REFUSED = [
    ("empty body", b"", 400, "empty"),
    ("blank body", b"  \n", 400, "empty"),
    ("not JSON", b"sender=a&message=b", 400, "not valid JSON"),
    ("a JSON array", b'[{"sender": "a", "message": "hi"}]', 400, "JSON object"),
    ("a JSON string", b'"hi"', 400, "JSON object"),
    ("a number message", b'{"sender": "a", "message": 5}', 400, "'message' must be a string, not int"),
    ("a list message", b'{"sender": "a", "message": ["hi"]}', 400, "not list"),
    ("an object message", b'{"sender": "a", "message": {"text": "hi"}}', 400, "not dict"),
    ("a null message", b'{"sender": "a", "message": null}', 400, "not NoneType"),
    ("no message", b'{"sender": "a"}', 400, "'message' is missing"),
    ("no sender", b'{"message": "hi"}', 400, "'sender' is missing"),
    ("an empty sender", b'{"sender": "", "message": "hi"}', 400, "'sender' is missing"),
    ("a number sender", b'{"sender": 7, "message": "hi"}', 400, "'sender' is missing"),
    ("a sender with a newline", b'{"sender": "a\\nb", "message": "hi"}', 400, "'sender' must be"),
    ("a socket.io session", json.dumps({"sender": SIGNED, "message": "hi"}).encode(), 403, "chat widget"),
    ("metadata not an object", b'{"sender": "a", "message": "hi", "metadata": [1]}', 400, "'metadata'"),
    ("a huge body", json.dumps({"sender": "a", "message": "x" * 20_000}).encode(), 413, "over"),
]


def post_all(bodies: List[bytes]) -> Tuple[List[Tuple[int, Any]], List[UserMessage]]:
    received: List[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    app = Sanic(f"rest_test_{len(bodies)}_{id(received)}")
    app.blueprint(RestInput().blueprint(on_new_message), url_prefix="/webhooks/rest")

    async def scenario() -> List[Tuple[int, Any]]:
        answers = []
        async with serving(app) as url, aiohttp.ClientSession() as http:
            for body in bodies:
                async with http.post(f"{url}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"}) as reply:
                    answers.append((reply.status, await reply.json()))
        return answers

    return asyncio.run(scenario()), received


def test_each_malformed_request_gets_a_clear_error_and_nothing_reaches_rasa() -> None:
    answers, received = post_all([body for _, body, _, _ in REFUSED])
    for (name, _, status, words), (got_status, got) in zip(REFUSED, answers, strict=True):
        assert got_status == status, name
        assert words in got["error"], (name, got)
    assert received == []  # nothing stored, and never a shared "default" conversation


def test_a_good_request_is_answered_with_its_text_cleaned_and_cut() -> None:
    bodies = [
        b'{"sender": "e2e-1", "message": "what is sciatica?"}',
        b'{"sender": "e2e-1", "message": "call \\ud83d me\\u0000"}',
        json.dumps({"sender": "e2e-2", "message": "word " * 300, "input_channel": "socketio"}).encode(),
    ]
    answers, received = post_all(bodies)
    assert [status for status, _ in answers] == [200, 200, 200]
    assert answers[0][1] == [{"recipient_id": "e2e-1", "text": "echo: what is sciatica?"}]
    assert received[1].text == "call \ufffd me"
    assert received[2].text is not None and received[2].text.endswith(CUT_MARKER)
    assert {m.input_channel for m in received} == {"rest"}  # a client cannot claim another channel


@pytest.mark.parametrize("sender", ["me", "e2e-0123456789", "latency-1a2b3c4d", "user@example.org",
                                    "a.b:c_d"])
def test_ordinary_conversation_ids_are_accepted(sender: str) -> None:
    answers, received = post_all([json.dumps({"sender": sender, "message": "hi"}).encode()])
    assert answers[0][0] == 200 and received[0].sender_id == sender


def test_a_failure_in_rasa_is_logged_without_the_text(caplog: pytest.LogCaptureFixture) -> None:
    async def failing(message: UserMessage) -> None:
        raise UnicodeEncodeError("utf-8", message.text or "", 0, 1, "surrogates not allowed")

    app = Sanic("rest_test_failure")
    app.blueprint(RestInput().blueprint(failing), url_prefix="/webhooks/rest")

    async def scenario() -> Dict[str, Any]:
        async with serving(app) as url, aiohttp.ClientSession() as http:
            async with http.post(f"{url}/webhooks/rest/webhook",
                                 json={"sender": "ana", "message": "my phone is 5755550142"}) as reply:
                return {"status": reply.status, "body": await reply.json()}

    assert asyncio.run(scenario()) == {"status": 200, "body": []}
    assert "Handling a REST message failed: UnicodeEncodeError" in caplog.text
    assert "5755550142" not in caplog.text
