"""Tests of actions/fallback.py: "did you mean" offers only what the model found likely."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionClarifyTopic, clarification, suggestions
from actions.topics import MENU, SOMETHING_ELSE
from bts.clinic import Clinic
from tests.actions.responses import said
from tests.conftest import make_tracker


def parse(
    text: str, ranking: List[Tuple[str, float]], faq: Sequence[Tuple[str, float]] = ()
) -> Dict[str, Any]:
    return {
        "text": text,
        "intent_ranking": [{"name": name, "confidence": confidence} for name, confidence in ranking],
        "response_selector": {
            "faq": {"ranking": [{"intent_response_key": key, "confidence": c} for key, c in faq]}
        },
    }


def test_the_likeliest_intents_become_topic_buttons() -> None:
    data = parse("hrs?", [("nlu_fallback", 0.55), ("ask_hours", 0.4), ("ask_location", 0.3),
                          ("ask_cost", 0.25), ("ask_contact", 0.22)])
    assert suggestions(data) == ["ask_hours", "ask_location", "ask_cost"]


def test_faq_topics_count_with_the_faq_intent_and_the_selector_confidence() -> None:
    data = parse("sciatic thing?", [("faq", 0.5), ("ask_hours", 0.25)],
                 [("faq/what_is_sciatica", 0.8), ("faq/symptoms", 0.3), ("faq/causes", 0.05)])
    # 0.5 * 0.8 = 0.4 first, then ask_hours 0.25; 0.5 * 0.3 and 0.5 * 0.05 are too unlikely.
    assert suggestions(data) == ["faq/what_is_sciatica", "ask_hours"]


def test_unlikely_topics_are_never_offered() -> None:
    """ "I have back pain" must not get three unrelated buttons because they were ranked at all."""
    data = parse("I have back pain. Please help.", [("nlu_fallback", 0.8), ("bot_challenge", 0.12),
                                                   ("request_handoff", 0.05), ("ask_location", 0.03)])
    assert suggestions(data) == []
    [(response, keys)] = clarification(data)
    assert response == "utter_fallback_can_help_with" and keys == list(MENU)


def test_red_flag_and_chitchat_are_never_suggested() -> None:
    data = parse("hmm", [("red_flag", 0.5), ("greet", 0.3), ("ask_insurance", 0.25)])
    assert suggestions(data) == ["ask_insurance"]


def test_did_you_mean_offers_a_way_out() -> None:
    reply = clarification(parse("hrs?", [("nlu_fallback", 0.5), ("ask_hours", 0.4)]))
    assert reply == [("utter_fallback_did_you_mean", ["ask_hours", SOMETHING_ELSE])]


@pytest.mark.parametrize(
    "text, response",
    [("", "utter_fallback_empty"), ("👍👍", "utter_fallback_no_words"),
     ("こんにちは", "utter_fallback_other_script"), ("<script>alert(1)</script>", "utter_fallback_markup"),
     ("SELECT * FROM users; --", "utter_fallback_markup")],
)
def test_unreadable_input_is_explained(text: str, response: str) -> None:
    assert clarification(parse(text, [])) == [(response, list(MENU))]


async def test_buttons_are_in_the_conversation_language(use_clinic: Clinic, domain: Dict[str, Any]) -> None:
    tracker = make_tracker("hrs?", "nlu_fallback", [{"name": "nlu_fallback", "confidence": 0.5},
                                                    {"name": "ask_hours", "confidence": 0.4}],
                           slots={"language": "es"})
    dispatcher = CollectingDispatcher()
    await ActionClarifyTopic().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert said(message, "es").startswith("Perdone, no estoy seguro")
    assert message["buttons"] == [{"title": "Horario", "payload": "/ask_hours"},
                                  {"title": "Otra cosa", "payload": "/what_can_you_do"}]


def test_a_possible_emergency_is_named_before_the_choices() -> None:
    data = parse("legs weird", [("nlu_fallback", 0.6), ("red_flag", 0.3), ("ask_hours", 0.2)])
    reply = clarification(data)
    assert reply[0] == ("utter_fallback_emergency_signs", [])
    assert reply[1][0] == "utter_fallback_did_you_mean"


def test_no_emergency_text_when_red_flag_is_unlikely() -> None:
    data = parse("hmm", [("nlu_fallback", 0.6), ("red_flag", 0.05), ("ask_hours", 0.3)])
    assert all(response != "utter_fallback_emergency_signs" for response, _ in clarification(data))


def test_in_a_form_only_the_emergency_signs_are_given() -> None:
    data = parse("legs weird", [("nlu_fallback", 0.6), ("red_flag", 0.3)])
    assert clarification(data, in_form=True) == [("utter_fallback_emergency_signs", [])]
    assert clarification(parse("hmm", [("nlu_fallback", 0.6)]), in_form=True)[0][0] != (
        "utter_fallback_emergency_signs"
    )
