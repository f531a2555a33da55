"""Tests of actions/session.py: the disclaimer opens every conversation."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart, session_start_events
from bts import clinic as clinic_file
from bts.clinic import Clinic, parse_clinic
from tests.conftest import make_tracker


async def test_session_starts_with_the_disclaimer_then_listens(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clinic_file, "current", lambda: clinic)
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, make_tracker(), {})
    assert dispatcher.messages[0]["response"] == "utter_disclaimer"
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")


@pytest.mark.parametrize(
    "pool, example, expected",
    [(True, False, True), (True, True, False), (False, False, False)],
)
def test_pool_slot_is_true_only_for_a_confirmed_pool(
    clinic_raw: Dict[str, Any], pool: bool, example: bool, expected: bool
) -> None:
    clinic_raw["pool"] = pool
    clinic_raw["example_fields"] = ["pool"] if example else []
    events = session_start_events(parse_clinic(clinic_raw))
    assert {"event": "slot", "name": "clinic_has_pool", "value": expected, "timestamp": None} in events


async def test_a_spanish_page_opens_the_conversation_in_spanish(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from bts.clinic import PROJECT_ROOT

    monkeypatch.setattr(clinic_file, "current", lambda: clinic)
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"session_started_metadata": {"lang": "es"}})
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"].startswith("Hola, soy el asistente virtual")
    assert {"event": "slot", "name": "language", "value": "es", "timestamp": None} in events
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")


async def test_an_english_or_unknown_page_language_keeps_the_english_disclaimer(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clinic_file, "current", lambda: clinic)
    for metadata in (None, {"lang": "fr"}, "es"):
        dispatcher = CollectingDispatcher()
        events = await ActionSessionStart().run(
            dispatcher, make_tracker(slots={"session_started_metadata": metadata}), {}
        )
        assert dispatcher.messages[0]["response"] == "utter_disclaimer"
        assert not [e for e in events if e.get("name") == "language"]
