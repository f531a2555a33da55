"""Tests of actions/fallback.py: clarifying replies for messages the assistant did not get."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import fallback
from actions.config import Clinic
from actions.fallback import EMERGENCY_SIGNS, ActionClarifyTopic, clarification, suggestions
from actions.topics import CATALOG, SOMETHING_ELSE
from tests.conftest import make_tracker


def parse(text: str, ranking: List[Dict[str, Any]], faq: List[str] = ()) -> Dict[str, Any]:
    return {
        "text": text,
        "intent_ranking": ranking,
        "response_selector": {
            "faq": {"ranking": [{"intent_response_key": key, "confidence": 0.3} for key in faq]}
        },
    }


def test_top_intents_become_topic_buttons() -> None:
    data = parse(
        "hrs?",
        [
            {"name": "nlu_fallback", "confidence": 0.55},
            {"name": "ask_hours", "confidence": 0.4},
            {"name": "ask_location", "confidence": 0.3},
            {"name": "ask_cost", "confidence": 0.2},
            {"name": "ask_contact", "confidence": 0.1},
        ],
    )
    assert suggestions(data) == [CATALOG["ask_hours"], CATALOG["ask_location"], CATALOG["ask_cost"]]


def test_faq_is_resolved_to_its_sub_topics() -> None:
    data = parse(
        "nerve thing?",
        [{"name": "faq", "confidence": 0.4}, {"name": "ask_hours", "confidence": 0.3}],
        faq=["faq/what_is_sciatica", "faq/causes", "faq/symptoms"],
    )
    assert suggestions(data) == [
        CATALOG["faq/what_is_sciatica"],
        CATALOG["faq/causes"],
        CATALOG["faq/symptoms"],
    ]


def test_red_flag_and_chitchat_are_never_suggested() -> None:
    data = parse(
        "hmm",
        [
            {"name": "red_flag", "confidence": 0.5},
            {"name": "greet", "confidence": 0.3},
            {"name": "ask_insurance", "confidence": 0.1},
        ],
    )
    assert suggestions(data) == [CATALOG["ask_insurance"]]


def test_clarification_offers_a_way_out() -> None:
    reply = clarification(parse("hrs?", [{"name": "ask_hours", "confidence": 0.4}]), "555")
    assert reply["buttons"][-1] == {"title": SOMETHING_ELSE.title, "payload": SOMETHING_ELSE.payload}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "didn't get any words"),
        ("   \n\t ", "didn't get any words"),
        ("😀👍🔥", "only read words"),
        ("???!!!", "only read words"),
        ("坐骨神经痛是什么", "only understand English"),
        ("что такое ишиас", "only understand English"),
        ("asdf qwer", "didn't understand"),
    ],
)
def test_unreadable_input_is_explained(text: str, expected: str) -> None:
    reply = clarification(parse(text, []), "(575) 555-0142")
    assert expected in reply["text"]
    assert reply["buttons"], "every clarification offers buttons"


async def test_action_uses_the_latest_message(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fallback.config, "clinic", lambda: clinic)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("こんにちは", intent="nlu_fallback")
    await ActionClarifyTopic().run(dispatcher, tracker, {})
    assert "(575) 555-0142" in dispatcher.messages[0]["text"]


def test_a_possible_emergency_is_named_before_the_choices() -> None:
    data = parse(
        "my legs feel funny down there",
        [
            {"name": "nlu_fallback", "confidence": 0.6},
            {"name": "red_flag", "confidence": 0.6},
            {"name": "faq", "confidence": 0.3},
        ],
        faq=["faq/symptoms"],
    )
    text = clarification(data, "555")["text"]
    assert text.startswith("If you have any emergency signs") and "911" in text


def test_no_emergency_text_when_red_flag_is_unlikely() -> None:
    data = parse("hrs", [{"name": "ask_hours", "confidence": 0.4}, {"name": "red_flag", "confidence": 0.05}])
    assert "911" not in clarification(data, "555")["text"]


def test_in_a_form_only_the_emergency_signs_are_given() -> None:
    data = parse("i feel weird down there", [{"name": "nlu_fallback", "confidence": 1.0},
                                            {"name": "red_flag", "confidence": 0.9}])
    assert clarification(data, "555", in_form=True) == {"text": EMERGENCY_SIGNS}
