"""Conversations through the trained model: replies follow the conversation's language.

The slot `language` is filled from NLU in the same turn, so the first reply to a Spanish message
is already Spanish, FAQ answers (retrieval responses) pick their Spanish variation, the urgent
red-flag reply comes first in Spanish, and a short "ok" does not switch back. Replies that come
from the action server are not part of this test (no action server runs here, so the session
is started as action_session_start would start it).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, List

import pytest

from scripts.model_files import current_model


@pytest.fixture(scope="module")
def agent() -> Any:
    from rasa.core.agent import Agent

    model = current_model()
    if not model.exists():
        pytest.fail(f"no trained model {model.name}: run `make train` first")
    return Agent.load(str(model))


def _chat(agent: Any, messages: List[str]) -> List[List[str]]:
    from rasa.shared.core.events import ActionExecuted, SessionStarted
    from rasa.shared.core.trackers import DialogueStateTracker

    sender = f"test-{uuid.uuid4().hex}"

    async def run() -> List[List[str]]:
        # A started session, as action_session_start (on the action server) leaves it.
        started = [SessionStarted(), ActionExecuted("action_listen")]
        tracker = DialogueStateTracker.from_events(sender, started, slots=agent.domain.slots)
        await agent.tracker_store.save(tracker)
        replies = []
        for message in messages:
            answers = await agent.handle_text(message, sender_id=sender)
            replies.append([a.get("text") or "" for a in answers or [] if a.get("text")])
        return replies

    return asyncio.run(run())


def test_a_spanish_faq_question_gets_the_spanish_answer(agent: Any) -> None:
    (reply,) = _chat(agent, ["¿Qué es la ciática?"])
    assert any(text.startswith("La ciática es un dolor") for text in reply), reply


def test_the_spanish_red_flag_gets_the_urgent_reply_first_in_spanish(agent: Any) -> None:
    message = "no puedo controlar la vejiga y tengo entumecimiento en la entrepierna"
    (reply,) = _chat(agent, [message])
    assert reply and reply[0].startswith("Lo que usted describe"), reply
    assert "911" in reply[0] and "sala de emergencias" in reply[0]


def test_language_switches_on_request_and_not_on_short_messages(agent: Any) -> None:
    replies = _chat(
        agent,
        [
            "what is sciatica",
            "en español por favor",
            "cuanto dura una sesion de terapia",
            "ok",
            "English please",
            "how long does a session last",
        ],
    )
    assert any(text.startswith("Sciatica is pain") for text in replies[0]), replies[0]
    assert any(text.startswith("De acuerdo, seguimos en español") for text in replies[1]), replies[1]
    assert any("45 a 60 minutos" in text for text in replies[2]), replies[2]
    assert all("Okay" not in text and "Great" not in text for text in replies[3]), replies[3]
    assert any(text.startswith("Okay, we'll continue in English") for text in replies[4]), replies[4]
    assert any("45 to 60 minutes" in text for text in replies[5]), replies[5]


def test_the_language_button_switches_to_spanish(agent: Any) -> None:
    replies = _chat(agent, ['/set_language{"language": "es"}'])
    assert any(text.startswith("De acuerdo, seguimos en español") for text in replies[0]), replies[0]
