"""Tests of components/nlu.py: the input guard and the red-flag detector inside Rasa's pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import spacy
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from components.nlu import FaqResponseSelector, InputGuard, RedFlagDetector, may_be_retrieval_intent
from components.text import MAX_MESSAGE_CHARS
from scripts.build_spacy_pipeline import build


@pytest.fixture(scope="module")
def nlp(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out: Path = tmp_path_factory.mktemp("spacy") / "en_bts"
    build(out)
    return spacy.load(out)


def classified(nlp: Any, text: str, intent: str, confidence: float) -> Message:
    """A message as it reaches the detector: parsed by spaCy (lower-cased, as Rasa does)."""
    message = Message({TEXT: text})
    message.set(SPACY_DOCS[TEXT], nlp(text.lower()))
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


def detect(nlp: Any, text: str, intent: str = "faq", confidence: float = 0.9) -> Dict[str, Optional[Any]]:
    detector = RedFlagDetector(RedFlagDetector.get_default_config())
    [message] = detector.process([classified(nlp, text, intent, confidence)])
    return {"intent": message.get("intent"), "entities": message.get("entities") or []}


def test_rule_match_overrides_the_classifier(nlp: Any) -> None:
    result = detect(nlp, "how much is a visit? also I wet myself today without noticing", "ask_cost", 0.97)
    assert result["intent"] == {"name": "red_flag", "confidence": 1.0}
    assert [e["value"] for e in result["entities"] if e["entity"] == "red_flag"] == ["bladder_bowel"]


def test_denied_red_flag_keeps_the_classifier_result(nlp: Any) -> None:
    result = detect(nlp, "I have no numbness in my groin, just pain in my left leg", "faq", 0.9)
    assert result["intent"]["name"] == "faq"


def test_classifier_alone_red_flag_becomes_fallback_keeping_the_ranking(nlp: Any) -> None:
    result = detect(nlp, "do you take both Medicare and private insurance?", "red_flag", 1.0)
    assert result["intent"]["name"] == "nlu_fallback"


def test_classifier_alone_can_be_trusted_by_configuration(nlp: Any) -> None:
    detector = RedFlagDetector({"urgent_on_classifier_alone": True})
    [message] = detector.process([classified(nlp, "something is very wrong with my legs", "red_flag", 0.95)])
    assert message.get("intent")["name"] == "red_flag"


@pytest.mark.parametrize("text", ["", "   ", "🙏🙏", "坐骨神经痛"])
def test_messages_without_words_become_fallback(nlp: Any, text: str) -> None:
    assert detect(nlp, text, "greet", 0.99)["intent"]["name"] == "nlu_fallback"


def test_a_red_flag_wrapped_in_markup_still_gets_the_urgent_reply(nlp: Any) -> None:
    result = detect(nlp, "<b>I can't control my bladder since this morning</b>", "faq", 0.9)
    assert result["intent"] == {"name": "red_flag", "confidence": 1.0}


def test_markup_without_a_red_flag_becomes_fallback(nlp: Any) -> None:
    assert detect(nlp, "<script>alert(1)</script>", "faq", 0.99)["intent"]["name"] == "nlu_fallback"


def test_input_guard_cuts_long_messages_only() -> None:
    guard = InputGuard(InputGuard.get_default_config())
    long_message = Message({TEXT: "word " * 5000})
    short_message = Message({TEXT: "what is sciatica"})
    guard.process([long_message, short_message])
    assert 0 < len(long_message.get(TEXT)) <= MAX_MESSAGE_CHARS
    assert short_message.get(TEXT) == "what is sciatica"


def ranked(top: str, ranking: Dict[str, float]) -> Message:
    message = Message({TEXT: "some question"})
    message.set("intent", {"name": top, "confidence": ranking.get(top, 1.0)})
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking.items()])
    return message


def test_a_message_may_be_an_faq_question_only_if_the_classifier_left_room_for_it() -> None:
    assert may_be_retrieval_intent(ranked("faq", {"faq": 0.3, "greet": 0.29}), "faq", 0.05)
    assert may_be_retrieval_intent(ranked("greet", {"greet": 0.6, "faq": 0.2}), "faq", 0.05)
    assert may_be_retrieval_intent(ranked("greet", {"greet": 0.9, "faq": 0.05}), "faq", 0.05)
    assert not may_be_retrieval_intent(ranked("greet", {"greet": 0.98, "faq": 0.01}), "faq", 0.05)
    assert not may_be_retrieval_intent(ranked("greet", {"greet": 0.98, "thank": 0.02}), "faq", 0.05)
    assert not may_be_retrieval_intent(Message({TEXT: "not classified"}), "faq", 0.05)


def test_the_faq_selector_answers_only_messages_that_may_be_faq_questions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: List[str] = []

    def rasa_process(self: Any, messages: List[Message]) -> List[Message]:
        for message in messages:
            seen.append(message.get("intent")["name"])
            message.set("response_selector", {"faq": {"response": {"intent_response_key": "faq/x"}}},
                        add_to_output=True)
        return messages

    monkeypatch.setattr(ResponseSelector, "process", rasa_process)
    selector = FaqResponseSelector.__new__(FaqResponseSelector)
    selector.component_config = FaqResponseSelector.get_default_config()
    selector.retrieval_intent = "faq"
    messages = [
        ranked("faq", {"faq": 0.9}),
        ranked("nlu_fallback", {"nlu_fallback": 0.5, "faq": 0.3}),
        ranked("booking", {"booking": 0.99, "faq": 0.001}),
    ]
    assert selector.process(messages) is messages
    assert seen == ["faq", "nlu_fallback"]
    assert messages[2].get("response_selector") is None
    # Without a retrieval intent, Rasa's selector answers for every retrieval intent: all messages.
    seen.clear()
    selector.retrieval_intent = None
    selector.process(messages)
    assert seen == ["faq", "nlu_fallback", "booking"]
    rasa_defaults = ResponseSelector.get_default_config()
    assert FaqResponseSelector.get_default_config()["epochs"] == rasa_defaults["epochs"]
