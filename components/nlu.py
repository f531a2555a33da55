"""Custom Rasa NLU components: an input guard and the red-flag detector.

`InputGuard` runs first and cuts over-long messages before any other component sees them.
`RedFlagDetector` runs last, after the intent classifier and the fallback classifier, so that a
red flag found by the rule-based matcher wins over a low-confidence or wrong prediction.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.red_flags import find_red_flags
from components.text import MAX_MESSAGE_CHARS, classify_text, truncate

RED_FLAG_INTENT = "red_flag"
RED_FLAG_ENTITY = "red_flag"


def _force_intent(message: Message, name: str, confidence: Optional[float] = 1.0) -> None:
    """Makes `name` the predicted intent, keeping the rest of the ranking below it."""
    prediction = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
    message.set(INTENT, prediction, add_to_output=True)
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
    message.set(INTENT_RANKING_KEY, [prediction] + ranking, add_to_output=True)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class InputGuard(GraphComponent):
    """Cuts messages to `max_chars` characters before NLU."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default configuration: the documented message limit."""
        return {"max_chars": MAX_MESSAGE_CHARS}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._max_chars = int(config["max_chars"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        """Creates the component (see `GraphComponent`)."""
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples are short; they pass unchanged."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Cuts each message's text to the limit.

        Args:
            messages: Incoming messages.

        Returns:
            The same messages, with `text` cut where it was too long.
        """
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and len(text) > self._max_chars:
                message.set(TEXT, truncate(text, self._max_chars))
        return messages


def may_be_retrieval_intent(message: Message, retrieval_intent: str, min_confidence: float) -> bool:
    """Whether the intent classifier left room for `retrieval_intent` on this message.

    Args:
        message: A message the intent classifier has processed.
        retrieval_intent: E.g. "faq".
        min_confidence: Below this confidence (and not the top intent) it is ruled out.

    Returns:
        True if it is the predicted intent or in the ranking with at least `min_confidence`.
    """
    intent = message.get(INTENT) or {}
    if intent.get(INTENT_NAME_KEY) == retrieval_intent:
        return True
    return any(
        item.get(INTENT_NAME_KEY) == retrieval_intent
        and (item.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= min_confidence
        for item in message.get(INTENT_RANKING_KEY) or []
    )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class FaqResponseSelector(ResponseSelector):
    """`ResponseSelector` that picks an answer only where the message may be an FAQ question.

    Rasa's selector runs its model on every message, though its answer is used only when the
    intent is the retrieval intent: 4.3 ms of a 27 ms turn (py-spy, 300 single-user turns), and
    every answer to a booking question pays it. Here it runs when the intent classifier (which
    runs before it) made the retrieval intent the top intent or gave it at least
    `min_retrieval_confidence` (default 0.05), so that "did you mean" suggestions for unclear
    messages still name FAQ topics (actions/fallback.py). Training is the same as Rasa's.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Rasa's defaults plus the confidence below which a message is not an FAQ question."""
        return {**ResponseSelector.get_default_config(), "min_retrieval_confidence": 0.05}

    def process(self, messages: List[Message]) -> List[Message]:
        """Selects answers for the messages that may be FAQ questions (see the class docstring).

        Args:
            messages: Messages with the intent classifier's prediction.

        Returns:
            The same messages; those that may be FAQ questions carry the selector's output.
        """
        if not self.retrieval_intent:
            return super().process(messages)
        floor = float(self.component_config.get("min_retrieval_confidence", 0.05))
        candidates = [m for m in messages if may_be_retrieval_intent(m, self.retrieval_intent, floor)]
        if candidates:
            super().process(candidates)
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class RedFlagDetector(GraphComponent):
    """Second net for emergencies, and a guard for messages without words.

    * A red-flag phrase found by the spaCy entity ruler (and not denied by the patient) makes
      `red_flag` the intent with confidence 1.0 and adds a `red_flag` entity whose value is the
      category, whatever the classifier predicted.
    * A `red_flag` prediction of the classifier alone (no rule matched) becomes `nlu_fallback`
      with `red_flag` kept in the ranking: the reply then starts with the emergency signs and
      the advice to call 911 (action_clarify_topic) instead of declaring an emergency on a guess.
      The classifier is confidently wrong on near-misses that share words with red flags ("do
      you take both Medicare and private insurance?", "no trouble with my bladder"), while the
      rules also handle denials. `urgent_on_classifier_alone: true` restores the urgent reply.
    * A message with no words (empty, spaces, emoji only, non-Latin script) becomes
      `nlu_fallback`, so that the clarifying reply explains what the assistant can read.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default configuration (see the class docstring)."""
        return {"urgent_on_classifier_alone": False}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._urgent_on_classifier_alone = bool(config["urgent_on_classifier_alone"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagDetector:
        """Creates the component (see `GraphComponent`)."""
        return cls({**cls.get_default_config(), **config})

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn: the rules live in `data/spacy/red_flag_rules.jsonl`."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Applies the red-flag rules and the no-words guard.

        Args:
            messages: Messages already classified by the earlier components.

        Returns:
            The same messages, with intent and entities updated where a rule fired.
        """
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            findings = find_red_flags(doc) if doc is not None else []
            # An emergency wrapped in markup is still an emergency: the rules come first.
            if not findings and classify_text(message.get(TEXT)) != "text":
                _force_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)
                continue
            if not findings:
                intent = message.get(INTENT) or {}
                if intent.get(INTENT_NAME_KEY) == RED_FLAG_INTENT and not self._urgent_on_classifier_alone:
                    confidence = intent.get(PREDICTED_CONFIDENCE_KEY)
                    _force_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME, confidence)
                continue
            _force_intent(message, RED_FLAG_INTENT)
            entities = list(message.get(ENTITIES) or [])
            for finding in findings:
                entities.append(
                    {
                        "entity": RED_FLAG_ENTITY,
                        "value": finding.category,
                        "start": finding.start,
                        "end": finding.end,
                        "extractor": self.__class__.__name__,
                    }
                )
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
