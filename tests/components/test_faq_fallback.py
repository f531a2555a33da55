"""components/faq_fallback.py: unsure FAQ answers become nlu_fallback, sure ones stay."""

from __future__ import annotations

from typing import Any, Dict

from rasa.shared.nlu.training_data.message import Message

from components.faq_fallback import FaqFallbackClassifier


def message(intent: str, answer_confidence: float) -> Message:
    answer = {"intent_response_key": "faq/number_of_sessions", "confidence": answer_confidence}
    data: Dict[str, Any] = {
        "text": "how many mg of naproxen should i take",
        "intent": {"name": intent, "confidence": 0.99},
        "intent_ranking": [{"name": intent, "confidence": 0.99}, {"name": "ask_cost", "confidence": 0.01}],
        "response_selector": {
            "faq": {
                "response": answer,
                "ranking": [answer],
            }
        },
    }
    return Message(data=data)


def classify(msg: Message, threshold: float = 0.7) -> Message:
    return FaqFallbackClassifier({"retrieval_intent": "faq", "threshold": threshold}).process([msg])[0]


def test_an_unsure_faq_answer_becomes_a_fallback_that_keeps_the_ranking() -> None:
    result = classify(message("faq", 0.4))
    assert result.get("intent") == {"name": "nlu_fallback", "confidence": 0.7}
    assert [r["name"] for r in result.get("intent_ranking")] == ["nlu_fallback", "faq", "ask_cost"]
    assert result.get("response_selector")["faq"]["ranking"]


def test_a_sure_faq_answer_and_other_intents_are_left_alone() -> None:
    assert classify(message("faq", 0.9)).get("intent")["name"] == "faq"
    assert classify(message("ask_hours", 0.1)).get("intent")["name"] == "ask_hours"
