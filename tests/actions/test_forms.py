"""Tests of actions/forms.py: answers versus interruptions, and finding details in passing."""

from __future__ import annotations

import pytest

from actions.forms import (
    Turn,
    Validator,
    ask_action,
    find_email,
    find_name,
    find_phone,
    is_interruption,
    mentioned_field,
)
from bts.validation import validate_name, validate_phone


@pytest.mark.parametrize(
    "turn, validator, free_text, expected",
    [
        # A valid answer wins over a question-like intent.
        (Turn("575 555 0142", "ask_contact", 0.9), validate_phone, False, False),
        # A red flag always interrupts, even when it would be a valid answer.
        (Turn("I can't control my bladder", "red_flag", 1.0), validate_name, True, True),
        (Turn("what should I wear", "faq", 0.95), validate_phone, False, True),
        (Turn("12345", "nlu_fallback", 0.3), validate_phone, False, False),  # a bad answer, re-asked
        (Turn("what are your hours", "ask_hours", 0.9), validate_name, True, True),
        # A reason for the visit reads like an FAQ topic but is an answer, not a question.
        (Turn("lower back pain", "faq", 0.95), validate_name, True, False),
        (Turn("sciatica down my left leg", "ask_diagnosis", 0.8), validate_name, True, False),
        (Turn("do you take medicare", "ask_insurance", 0.9), validate_name, True, True),
        (Turn("Grace Hopper", "greet", 0.7), validate_name, True, False),
        (Turn("stop", "stop", 0.98), validate_name, True, True),
        (Turn("stop", "stop", 0.3), validate_name, True, False),
        (Turn("/ask_hours", "ask_hours", 1.0), validate_phone, False, True),
        (Turn("talk to a person", "request_handoff", 0.9), validate_phone, False, True),
    ],
)
def test_is_interruption(turn: Turn, validator: Validator, free_text: bool, expected: bool) -> None:
    assert is_interruption(turn, validator, free_text=free_text) is expected


def test_a_possible_red_flag_interrupts_even_a_valid_answer() -> None:
    latest = {"text": "Pat Example", "intent": {"name": "nlu_fallback", "confidence": 1.0},
              "intent_ranking": [{"name": "nlu_fallback", "confidence": 1.0},
                                 {"name": "red_flag", "confidence": 0.97}]}
    turn = Turn.from_latest_message(latest)
    assert turn.possible_red_flag
    assert is_interruption(turn, validate_name, free_text=True)


def test_turn_reads_the_latest_message() -> None:
    turn = Turn.from_latest_message({"text": "hi", "intent": {"name": "greet", "confidence": 0.9}})
    assert turn == Turn("hi", "greet", 0.9)
    assert Turn.from_latest_message({}) == Turn("", "", 0.0)


@pytest.mark.parametrize(
    "text, phone",
    [
        ("actually my number is 575-555-0199", "575-555-0199"),
        ("call me on (575) 555 0142 please", "(575) 555 0142"),
        ("+1 575.555.0142", "+1 575.555.0142"),
        ("no number here", None),
        ("my zip is 88001", None),
    ],
)
def test_find_phone(text: str, phone: str) -> None:
    assert find_phone(text) == phone


def test_find_email_and_name() -> None:
    assert find_email("oh and my email is pat@example.com.") == "pat@example.com"
    assert find_email("no email") is None
    assert find_name("Actually my name is Pat Example.") == "Pat Example"
    assert find_name("Pat Example") is None


def test_mentioned_field_matches_whole_words() -> None:
    words = {"phone": ("phone", "number"), "name": ("name",)}
    assert mentioned_field("change the phone", words) == "phone"
    assert mentioned_field("my NAME is wrong", words) == "name"
    assert mentioned_field("rename nothing", words) is None


async def test_ask_action_sends_its_question() -> None:
    from rasa_sdk.executor import CollectingDispatcher

    from tests.conftest import make_tracker

    action = ask_action("booking_phone", quiet_when="booking_stop_asked")()
    dispatcher = CollectingDispatcher()
    assert action.name() == "action_ask_booking_phone"
    assert await action.run(dispatcher, make_tracker(), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_ask_booking_phone"
    assert type(action).__name__ == "ActionAskBookingPhone"
    quiet = CollectingDispatcher()
    await action.run(quiet, make_tracker(slots={"booking_stop_asked": True}), {})
    assert quiet.messages == []


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("¿cuál es su horario?", "ask_hours", True),
        ("qué seguros aceptan", "ask_insurance", True),
        ("dolor de espalda baja", "faq", False),  # a reason for the visit, not a question
    ],
)
def test_a_spanish_question_interrupts_a_free_text_answer(text: str, intent: str, expected: bool) -> None:
    assert is_interruption(Turn(text, intent, 0.9), validate_name, free_text=True) is expected


def test_spanish_corrections_are_found_in_passing() -> None:
    assert find_phone("no, mi número es 575 555 0199") == "575 555 0199"
    assert find_name("perdón, me llamo José Luis García Pérez") == "José Luis García Pérez"
