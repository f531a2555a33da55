"""The widget's language stands for messages that carry no clear evidence of their own."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from rasa.shared.nlu.training_data.message import Message

from components.language import LanguageDetector


def detected(text: str, metadata: Any = None) -> Optional[str]:
    message = Message(data={"text": text, "metadata": metadata})
    LanguageDetector().process([message])
    values = [e["value"] for e in message.get("entities") or [] if e["entity"] == "language"]
    return values[-1] if values else None


@pytest.mark.parametrize("text", ["ok", "gracias", "5755550142"])
def test_a_short_message_takes_the_language_the_widget_shows(text: str) -> None:
    assert detected(text, {"lang": "es"}) == "es"
    assert detected(text, {"lang": "en"}) == "en"


def test_clear_text_wins_over_the_widget() -> None:
    assert detected("¿Qué es la ciática y cómo me puede ayudar la terapia?", {"lang": "en"}) == "es"
    assert detected("What is sciatica and how can therapy help me?", {"lang": "es"}) == "en"


@pytest.mark.parametrize("metadata", [None, {}, {"lang": "fr"}, "es", {"lang": 1}])
def test_without_a_known_widget_language_a_short_message_changes_nothing(metadata: Any) -> None:
    assert detected("ok", metadata) is None
