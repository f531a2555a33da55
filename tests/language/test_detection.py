"""Language detection on short English, Spanish and Spanglish messages (components/language.py)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import yaml

from components.language import LanguageDetector, detect_language, requested_language

CASES = yaml.safe_load((Path(__file__).parent / "detection_cases.yml").read_text(encoding="utf-8"))
EXPECTED = {"en": "en", "es": "es", "en_keep": None, "es_keep": None}
BAR = 0.95


def _cases() -> List[Tuple[str, Optional[str]]]:
    return [(text, EXPECTED[group]) for group, texts in CASES.items() for text in texts]


def test_the_set_is_big_enough() -> None:
    cases = _cases()
    assert len(cases) >= 150
    assert sum(1 for _, lang in cases if lang == "es") >= 50
    assert sum(1 for _, lang in cases if lang == "en") >= 50


def test_detection_is_right_on_at_least_95_percent() -> None:
    wrong = [f"{text!r}: expected {lang}, got {detect_language(text)}" for text, lang in _cases()
             if detect_language(text) != lang]
    total = len(_cases())
    print(f"\nlanguage detection: {total - len(wrong)}/{total} right")
    assert 1 - len(wrong) / total >= BAR, "\n".join(wrong)


def test_short_and_neutral_messages_never_switch() -> None:
    for text in ["ok", "gracias", "sí", "thanks", "575-555-0142", "Maria Lopez", "", "   ", "👍"]:
        assert detect_language(text) is None, text


def test_explicit_requests_switch_both_ways() -> None:
    assert requested_language("English please") == "en"
    assert requested_language("en inglés por favor") == "en"
    assert requested_language("Español") == "es"
    assert requested_language("can we talk in spanish?") == "es"
    assert requested_language("what is sciatica") is None


def test_the_component_adds_a_language_entity_only_when_clear() -> None:
    from rasa.shared.nlu.training_data.message import Message

    detector = LanguageDetector()
    spanish, unclear = Message(data={"text": "quiero hacer una cita"}), Message(data={"text": "ok"})
    detector.process([spanish, unclear])
    assert [e["value"] for e in spanish.get("entities") if e["entity"] == "language"] == ["es"]
    assert not unclear.get("entities")
