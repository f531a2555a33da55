"""Tests of components/policies.py: cached TED predictions equal TED's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from components.policies import CachedTEDPolicy, PredictionCache, state_key

DOMAIN = Domain.from_dict(
    {
        "intents": ["greet", "ask_hours", "book"],
        "slots": {"red_flag": {"type": "bool", "mappings": [{"type": "custom"}]}},
        "actions": ["action_tell_hours"],
        "responses": {
            "utter_greet": [{"text": "Hi"}],
            "utter_urgent": [{"text": "Call 911"}],
            "utter_book": [{"text": "Booking"}],
        },
    }
)


def _tracker(*turns: str, red_flag: bool = False) -> DialogueStateTracker:
    answers = {"greet": "utter_greet", "ask_hours": "action_tell_hours", "book": "utter_book"}
    tracker = DialogueStateTracker("t", DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen"))
    for intent in turns:
        tracker.update(UserUttered(intent, {"name": intent, "confidence": 1.0}))
        if red_flag:
            tracker.update(SlotSet("red_flag", True))
        tracker.update(ActionExecuted(answers[intent]))
        tracker.update(ActionExecuted("action_listen"))
    return tracker


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> CachedTEDPolicy:
    storage = LocalModelStorage(tmp_path_factory.mktemp("ted"))
    context = ExecutionContext(GraphSchema({}), "test")
    config: Dict[str, Any] = {**CachedTEDPolicy.get_default_config(), "epochs": 2, "max_history": 5,
                              "random_seed": 42}
    ted = CachedTEDPolicy.create(config, storage, Resource("ted"), context)
    stories = [
        _tracker("greet", "ask_hours"),
        _tracker("ask_hours", "book"),
        _tracker("greet", "book", red_flag=True),
    ]
    trackers = [
        TrackerWithCachedStates.from_events("s", list(t.events), DOMAIN.slots, domain=DOMAIN) for t in stories
    ]
    ted.train(trackers, DOMAIN)
    return ted


def _probabilities(policy: TEDPolicy, tracker: DialogueStateTracker) -> List[float]:
    return list(policy.predict_action_probabilities(tracker, DOMAIN).probabilities)


def test_a_repeated_state_window_is_answered_from_the_cache(
    policy: CachedTEDPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    run_inference = policy.model.run_inference  # type: ignore[union-attr]
    monkeypatch.setattr(policy.model, "run_inference", lambda data: calls.append(1) or run_inference(data))
    first = _probabilities(policy, _tracker("greet", "ask_hours"))
    # Another conversation, same intents: the same states, whatever the patient typed.
    again = _tracker("greet", "ask_hours")
    again.events[1].text = "good morning!"  # type: ignore[attr-defined]
    assert _probabilities(policy, again) == first
    assert len(calls) == 1
    # A different state (the slot is set) runs the model again.
    other = _probabilities(policy, _tracker("greet", "ask_hours", red_flag=True))
    assert len(calls) == 2 and other != first


def test_cached_predictions_equal_teds_own(policy: CachedTEDPolicy) -> None:
    for turns in (("greet",), ("ask_hours", "book"), ("greet", "book", "ask_hours", "greet")):
        cached = [_probabilities(policy, _tracker(*turns)) for _ in range(2)]
        # TEDPolicy's own method on the same model, which never looks at the cache.
        fresh = TEDPolicy.predict_action_probabilities(policy, _tracker(*turns), DOMAIN).probabilities
        assert cached[0] == cached[1]
        assert np.allclose(cached[1], fresh, atol=1e-6)


def test_only_the_last_max_history_states_matter(policy: CachedTEDPolicy) -> None:
    long = _tracker(*(["greet", "ask_hours"] * 10))
    short = _tracker(*(["greet", "ask_hours"] * 3))
    assert policy._cache_key(long, DOMAIN, None) == policy._cache_key(short, DOMAIN, None)


def test_lru_cache_is_bounded_and_keeps_recent_entries() -> None:
    cache = PredictionCache(size=2)
    cache.put("a", ([1.0], None))
    cache.put("b", ([2.0], None))
    assert cache.get("a") == ([1.0], None)
    cache.put("c", ([3.0], None))
    assert len(cache) == 2 and cache.get("b") is None and cache.get("a") is not None
    assert (cache.hits, cache.misses) == (2, 1)


def test_state_key_ignores_dict_order() -> None:
    one = [{"user": {"intent": "greet"}, "prev_action": {"action_name": "action_listen"}}]
    two = [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}]
    assert state_key(one) == state_key(two)
    assert state_key(one) != state_key([{"user": {"intent": "book"}}])


def test_config_uses_it() -> None:
    text = (Path(__file__).resolve().parents[2] / "config.yml").read_text()
    assert "- name: components.policies.CachedTEDPolicy" in text
