"""Tests of actions/topics.py: every button leads where it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Set

import yaml

from actions.topics import CATALOG, MENU, SOMETHING_ELSE

ROOT = Path(__file__).resolve().parents[2]


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


def test_faq_buttons_send_a_training_example_of_their_topic() -> None:
    examples = training_examples()
    for key, topic in CATALOG.items():
        if key.startswith("faq/"):
            assert topic.payload in examples.get(key, set()), f"{topic.payload!r} is not in {key}"


def test_intent_buttons_name_intents_of_the_domain() -> None:
    intents = domain_intents()
    for key, topic in list(CATALOG.items()) + [("what_can_you_do", SOMETHING_ELSE)]:
        if not key.startswith("faq/"):
            assert topic.payload == f"/{key}" and key in intents


def response_buttons() -> List[Dict[str, str]]:
    buttons: List[Dict[str, str]] = []
    for path in (ROOT / "domain.yml", ROOT / "data" / "responses" / "faq.yml"):
        for variations in yaml.safe_load(path.read_text())["responses"].values():
            for variation in variations:
                buttons.extend(variation.get("buttons", []))
    return buttons


def test_every_response_button_leads_to_a_known_intent_or_example() -> None:
    examples = set().union(*training_examples().values())
    intents = domain_intents()
    for button in response_buttons():
        payload = button["payload"]
        if payload.startswith("/"):
            assert payload[1:] in intents, payload
        else:
            assert payload in examples, f"button payload {payload!r} is not a training example"


def test_the_menu_offers_booking() -> None:
    assert CATALOG["book_appointment"] in MENU
