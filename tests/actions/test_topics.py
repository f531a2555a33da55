"""Tests of actions/topics.py: every button leads where it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Set

import yaml

from actions.topics import MENU, SOMETHING_ELSE, TOPICS, button, response_name
from tests.actions.responses import all_responses, variation

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = {"responses": all_responses()}


def training_examples() -> Dict[str, Set[str]]:
    examples: Dict[str, Set[str]] = {}
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            if "intent" in block:
                lines = re.findall(r"^- (.*)$", block["examples"], flags=re.M)
                examples.setdefault(block["intent"], set()).update(line.strip() for line in lines)
    return examples


def domain_intents() -> Set[str]:
    return set(yaml.safe_load((ROOT / "domain.yml").read_text())["intents"])


def test_every_topic_has_a_button_in_both_languages() -> None:
    for key in (*TOPICS, SOMETHING_ELSE):
        english, spanish = button(key, DOMAIN, "en"), button(key, DOMAIN, "es")
        assert english and spanish and english["title"] != spanish["title"] or key == "ask_insurance", key


def test_faq_buttons_send_a_training_example_of_their_topic() -> None:
    examples = training_examples()
    for key in TOPICS:
        if key.startswith("faq/"):
            payload = variation(response_name(key), "en")["buttons"][0]["payload"]
            assert payload in examples.get(key, set()), f"{payload!r} is not in {key}"


def test_intent_buttons_name_intents_of_the_domain() -> None:
    intents = domain_intents()
    for key in TOPICS:
        if not key.startswith("faq/"):
            for lang in ("en", "es"):
                offered = button(key, DOMAIN, lang)
                assert offered is not None and offered["payload"] == f"/{key}"
            assert key in intents


def response_buttons() -> List[Dict[str, str]]:
    buttons: List[Dict[str, str]] = []
    for name, variations in all_responses().items():
        if name.startswith(("utter_ask_", "utter_booking_")):
            continue  # answers to a form's question, read by the form rather than by NLU
        for one in variations:
            if not one.get("condition"):  # English; Spanish payloads need Spanish training data
                buttons.extend(one.get("buttons", []))
    return buttons


def test_every_response_button_leads_to_a_known_intent_or_example() -> None:
    examples = set().union(*training_examples().values())
    intents = domain_intents()
    for offered in response_buttons():
        payload = offered["payload"]
        if payload.startswith("/"):
            assert payload[1:].split("{")[0] in intents, payload  # an intent, maybe with entities
        else:
            assert payload in examples, f"button payload {payload!r} is not a training example"


def test_the_menu_offers_booking() -> None:
    assert "book_appointment" in MENU
