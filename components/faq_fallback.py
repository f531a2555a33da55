"""A confidence threshold for FAQ answers, like FallbackClassifier's threshold for intents.

Rasa's FallbackClassifier looks only at the intent's confidence: a message the intent classifier
is sure is "some FAQ question" gets whichever answer the ResponseSelector ranks first, however
unsure the selector is. On real patients' questions about things the FAQ does not cover, those
unsure picks were confident answers on the wrong topic. Below `threshold`, this component makes
the message `nlu_fallback` instead, keeping the rankings, so the clarifying reply still offers the
likeliest FAQ topics as buttons.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def answer_confidence(message: Message, retrieval_intent: str) -> float:
    """The ResponseSelector's confidence in its answer for `retrieval_intent` (0 if none)."""
    selected = (message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}).get(retrieval_intent) or {}
    return float((selected.get("response") or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class FaqFallbackClassifier(GraphComponent):
    """Makes an FAQ answer below `threshold` confidence a `nlu_fallback` (see the module)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default configuration: the retrieval intent and the answer's confidence threshold."""
        return {"retrieval_intent": "faq", "threshold": 0.7}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._retrieval_intent = str(config["retrieval_intent"])
        self._threshold = float(config["threshold"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FaqFallbackClassifier:
        """Creates the component (see `GraphComponent`)."""
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Turns unsure FAQ answers into `nlu_fallback`, as FallbackClassifier does for intents.

        Args:
            messages: Messages with the intent classifier's and the ResponseSelector's output.

        Returns:
            The same messages.
        """
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get(INTENT_NAME_KEY) != self._retrieval_intent:
                continue
            if answer_confidence(message, self._retrieval_intent) >= self._threshold:
                continue
            fallback = {
                INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME,
                PREDICTED_CONFIDENCE_KEY: self._threshold,
            }
            message.set(INTENT, fallback, add_to_output=True)
            ranking = list(message.get(INTENT_RANKING_KEY) or [])
            message.set(INTENT_RANKING_KEY, [fallback] + ranking, add_to_output=True)
        return messages
