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
