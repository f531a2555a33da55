"""Tests of actions/session.py: the disclaimer opens every conversation."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from tests.conftest import make_tracker


async def test_session_starts_with_the_disclaimer_then_listens() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, make_tracker(), {})
    assert dispatcher.messages[0]["response"] == "utter_disclaimer"
    assert [e["event"] for e in events] == ["session_started", "action"]
    assert events[1]["name"] == "action_listen"
