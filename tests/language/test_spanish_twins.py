"""Every patient-facing response has an English and a Spanish variation that match each other.

A response without its Spanish variation, or whose Spanish buttons lead somewhere else than the
English ones, fails here, so the two languages cannot drift apart silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "domain.yml", *sorted((ROOT / "data" / "responses").glob("*.yml"))]
# The greeting offers the other language: its language button is the one allowed difference.
LANGUAGE_BUTTON = "/set_language"


def _responses() -> Dict[str, List[Dict[str, Any]]]:
    responses: Dict[str, List[Dict[str, Any]]] = {}
    for path in SOURCES:
        responses.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return responses


RESPONSES = _responses()


def _language(variation: Dict[str, Any]) -> str:
    for condition in variation.get("condition") or []:
        if condition.get("name") == "language":
            return str(condition.get("value"))
    return "en"


def _other_conditions(variation: Dict[str, Any]) -> List[Any]:
    # A bool slot that must be false is the default case: it pairs with an unconditional English
    # variation (the Spanish one names it so that Rasa never picks both).
    return sorted(
        (c["name"], str(c["value"]))
        for c in variation.get("condition") or []
        if c.get("name") != "language" and c.get("value") is not False
    )


def _intent_payloads(variation: Dict[str, Any]) -> List[str]:
    return [
        b["payload"] for b in variation.get("buttons") or []
        if b["payload"].startswith("/") and not b["payload"].startswith(LANGUAGE_BUTTON)
    ]


def test_there_are_responses_to_check() -> None:
    assert len(RESPONSES) >= 30


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_english_variation_has_a_spanish_twin(name: str) -> None:
    variations = RESPONSES[name]
    english = [v for v in variations if _language(v) == "en"]
    spanish = [v for v in variations if _language(v) == "es"]
    assert english, f"{name} has no English variation"
    assert spanish, f"{name} has no Spanish variation (condition: slot language = es)"
    for variation in english:
        twins = [v for v in spanish if _other_conditions(v) == _other_conditions(variation)]
        assert twins, f"{name}: no Spanish variation for conditions {_other_conditions(variation)}"
        twin = twins[0]
        assert bool(twin.get("text")) == bool(variation.get("text"))
        assert _intent_payloads(twin) == _intent_payloads(variation), f"{name}: buttons differ"
        assert len(twin.get("buttons") or []) == len(variation.get("buttons") or [])


def test_spanish_text_is_not_a_copy_of_the_english() -> None:
    copies = [
        name for name, variations in RESPONSES.items()
        for en in variations if _language(en) == "en"
        for es in variations if _language(es) == "es" and es.get("text") and es.get("text") == en.get("text")
    ]
    assert not copies
