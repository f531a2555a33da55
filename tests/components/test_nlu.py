"""Tests of components/nlu.py: the input guard and the red-flag detector inside Rasa's pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import spacy
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from components.nlu import InputGuard, RedFlagDetector
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


def test_input_guard_cuts_long_messages_only() -> None:
    guard = InputGuard(InputGuard.get_default_config())
    long_message = Message({TEXT: "word " * 5000})
    short_message = Message({TEXT: "what is sciatica"})
    guard.process([long_message, short_message])
    assert 0 < len(long_message.get(TEXT)) <= MAX_MESSAGE_CHARS
    assert short_message.get(TEXT) == "what is sciatica"
