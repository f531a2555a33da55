"""TEDPolicy that remembers its predictions for dialogue states it has already seen.

TED's prediction is a pure function of the last `max_history` dialogue states (intents, entity
types, slots, active form, previous action): with `max_history: 5` and no end-to-end training, the
user's words are not part of its input. The same few states recur across patients all day
("asked an FAQ right after the greeting", "answered the booking form's next question"), yet stock
TED runs its TensorFlow model for every one of them: a quarter of a replica's busy time in a
profile of single-user turns (scripts/bench.py, py-spy).

`CachedTEDPolicy` keys its predictions on exactly the states TED featurises and runs the model
only for states it has not seen since the model was loaded. The cache is bounded (LRU) and lives
in the server's memory, so a new model starts with an empty one.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction, SupportedData
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

# Entries of a few KB each (one confidence per action): 5,000 states stay below 25 MB.
CACHE_SIZE = 5000


class PredictionCache:
    """A thread-safe LRU map from a dialogue-state key to a TED prediction's parts."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        """Creates an empty cache.

        Args:
            size: How many predictions to keep at most.
        """
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[str, Tuple[List[float], Optional[Dict[str, Any]]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Optional[Tuple[List[float], Optional[Dict[str, Any]]]]:
        """The stored prediction for `key`, if any (and marks it recently used)."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item

    def put(self, key: str, value: Tuple[List[float], Optional[Dict[str, Any]]]) -> None:
        """Stores a prediction, dropping the least recently used one when full."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def state_key(states: List[Dict[str, Any]]) -> str:
    """A canonical text for a list of dialogue states (dicts of tuples, lists and strings)."""
    return json.dumps(states, sort_keys=True, default=list)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True
)
class CachedTEDPolicy(TEDPolicy):
    """`TEDPolicy` (same training, same model) whose predictions are cached per state window."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Creates the policy as `TEDPolicy` does, with an empty prediction cache."""
        super().__init__(*args, **kwargs)
        self.prediction_cache = PredictionCache()

    def _cache_key(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[str, Any]],
    ) -> Optional[str]:
        """The states TED featurises for this tracker, as a key; None if it also reads text."""
        if self.only_e2e or (
            tracker.latest_action_name == ACTION_LISTEN_NAME and TEXT in self.fake_features
        ):
            # Trained end-to-end: the words of the message are part of the input.
            return None
        ml_only = self.supported_data() == SupportedData.ML_DATA
        states = self.featurizer.prediction_states(
            [tracker],
            domain,
            use_text_for_last_user_input=False,
            ignore_rule_only_turns=ml_only,
            rule_only_data=rule_only_data,
            ignore_action_unlikely_intent=ml_only,
        )[0]
        return state_key(states)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[str, Any]] = None,
        precomputations: Optional[MessageContainerForCoreFeaturization] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predicts the next action like `TEDPolicy`, from the cache when the states recur."""
        if self.model is None:
            return super().predict_action_probabilities(
                tracker, domain, rule_only_data, precomputations, **kwargs
            )
        key = self._cache_key(tracker, domain, rule_only_data)
        cached = self.prediction_cache.get(key) if key is not None else None
        if cached is not None:
            confidences, diagnostic = cached
            return self._prediction(list(confidences), diagnostic_data=diagnostic)
        prediction = super().predict_action_probabilities(
            tracker, domain, rule_only_data, precomputations, **kwargs
        )
        # Only plain predictions are cached: an end-to-end one or one with events depends on
        # more than the states.
        if (
            key is not None
            and not prediction.is_end_to_end_prediction
            and not prediction.events
            and not prediction.optional_events
        ):
            self.prediction_cache.put(key, (list(prediction.probabilities), prediction.diagnostic_data))
        return prediction
