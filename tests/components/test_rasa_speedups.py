"""Tests of components/rasa_speedups.py: action server replies are judged exactly as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SessionStarted, SlotSet, UserUttered, deserialise_events
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from components import rasa_speedups

ROOT = Path(__file__).resolve().parents[2]

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "booking_name", "value": "Ana", "timestamp": None}],
     "responses": [{"text": "Thanks, Ana."}]},
    {"events": [{"event": "followup", "name": "utter_greet"}, {"event": "active_loop", "name": None}]},
    {},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot"}]},
    {"responses": "hi"},
]


def _action() -> RemoteAction:
    return RemoteAction("action_tell_hours", EndpointConfig("http://localhost:1/webhook"))


@pytest.mark.parametrize("result", VALID + INVALID)
def test_same_verdict_as_rasa(result: Dict[str, Any]) -> None:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        expected = None
    except jsonschema.ValidationError as error:
        expected = error.message
    rasa_speedups.apply()
    if expected is None:
        assert _action()._validate_action_result(result) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            _action()._validate_action_result(result)
        assert raised.value.message.startswith(expected)
        assert "Failed to validate Action server response" in raised.value.message


def test_loading_our_pipeline_installs_it() -> None:
    # A fresh interpreter, as when Rasa loads the model: importing the pipeline's module is enough.
    code = (
        "import components.nlu\n"
        "from rasa.core.actions.action import RemoteAction\n"
        "print(RemoteAction._validate_action_result.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "components.rasa_speedups"


def test_event_classes_resolve_as_in_rasa() -> None:
    rasa_speedups.apply()
    assert rasa_speedups.RASA_RESOLVE_BY_TYPE is not rasa_speedups.resolve_event_type
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "session_started", "active_loop"} <= names
    for name in sorted(names) * 2:  # the second round comes from the cache
        assert Event.resolve_by_type(name) is rasa_speedups.RASA_RESOLVE_BY_TYPE(name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("nonsense", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'nonsense'"):
        Event.resolve_by_type("nonsense")


def test_stored_events_come_back_the_same() -> None:
    rasa_speedups.apply()
    events = [SlotSet("booking_name", "Ana"), SessionStarted(), UserUttered("hi", {"name": "greet"})]
    assert deserialise_events([e.as_dict() for e in events]) == events
