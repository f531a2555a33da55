"""Tests of actions/clinic.py: answers built from clinic.yml, in the conversation's language."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic import (
    ActionTellContact,
    ActionTellHours,
    ActionTellLocation,
    hours_answer,
    languages_answer,
    location_answer,
    open_now,
)
from bts.clinic import Clinic, parse_clinic
from tests.actions.responses import render, said
from tests.conftest import make_tracker

DENVER = ZoneInfo("America/Denver")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=DENVER)


def text_of(clinic: Clinic, now: datetime, lang: str = "en") -> str:
    name, values = open_now(clinic, now, lang)
    return render(name, lang, **values)


# 2026-11-30 is a Monday; clinic hours in the fixture: Mon-Thu 8-17, Fri 8-12.
@pytest.mark.parametrize(
    "now, expected",
    [
        (at(2026, 11, 30, 9), "Right now we're open, until 5:00 PM today"),
        (at(2026, 11, 30, 7, 59), "closed. We open again today at 8:00 AM"),
        (at(2026, 11, 30, 17, 0), "closed. We open again tomorrow at 8:00 AM"),
        (at(2026, 12, 4, 13), "closed. We open again on Monday at 8:00 AM"),
    ],
)
def test_open_now_is_computed_in_clinic_time(clinic: Clinic, now: datetime, expected: str) -> None:
    assert expected in text_of(clinic, now)


def test_open_now_in_spanish(clinic: Clinic) -> None:
    assert "Volvemos a abrir el lunes a las 8:00 a. m." in text_of(clinic, at(2026, 12, 4, 13), "es")


def test_open_now_converts_utc_and_follows_daylight_saving_time(clinic: Clinic) -> None:
    assert "open, until" in text_of(clinic, datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc))
    assert "closed" in text_of(clinic, datetime(2026, 11, 30, 14, 30, tzinfo=timezone.utc))
    assert "open, until" in text_of(clinic, datetime(2026, 7, 6, 14, 30, tzinfo=timezone.utc))


def test_a_clinic_without_hours_is_just_closed(clinic_raw: Dict[str, Any]) -> None:
    clinic_raw["hours"] = {}
    assert text_of(parse_clinic(clinic_raw), at(2026, 11, 30, 9)) == "We're closed right now."


def test_hours_list_every_day(clinic: Clinic) -> None:
    messages, fields = hours_answer(clinic, at(2026, 11, 30, 9), "en", "what are your hours")
    week = render(messages[-1][0], "en", **messages[-1][1])
    assert "Monday: 8:00 AM to 5:00 PM" in week and "Friday: 8:00 AM to 12:00 PM" in week
    assert "Sunday: closed" in week and fields == ("hours",)
    messages, _ = hours_answer(clinic, at(2026, 11, 30, 9), "es", "cuál es su horario")
    assert "Lunes: de 8:00 a. m. a 5:00 p. m." in render(messages[-1][0], "es", **messages[-1][1])


@pytest.mark.parametrize(
    "question, lang, expected",
    [
        ("Are you open on Saturday?", "en", "No, we're closed on Saturdays."),
        ("are you open friday", "en", "Yes, we're open on Friday from 8:00 AM to 12:00 PM"),
        ("¿abren el sábado?", "es", "No, los sábados estamos cerrados."),
        ("are you open tomorrow?", "en", "Yes, we're open on Tuesday"),
    ],
)
def test_a_question_about_one_day_is_answered_for_that_day(
    clinic: Clinic, question: str, lang: str, expected: str
) -> None:
    messages, _ = hours_answer(clinic, at(2026, 11, 30, 19), lang, question)
    [(name, values)] = messages
    text = render(name, lang, **values)
    assert text.startswith(expected)
    assert "Right now" not in text


async def test_the_hours_action_answers_for_the_day_in_the_message(use_clinic: Clinic) -> None:
    dispatcher = CollectingDispatcher()
    await ActionTellHours().run(dispatcher, make_tracker("are you open on saturday?", "ask_hours"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_clinic_closed_on_day"]


def test_how_to_find_us_gives_the_address_and_directions(clinic_raw: Dict[str, Any]) -> None:
    clinic_raw["directions"] = {"en": "Parking behind the building.", "es": "Estacionamiento detrás."}
    clinic = parse_clinic(clinic_raw)
    [(name, values)], fields = location_answer(clinic, "es")
    text = render(name, "es", **values)
    assert "123 Example St." in text and "Estacionamiento detrás." in text
    assert "directions" in fields


def test_languages_are_named_in_the_conversation_language(clinic: Clinic) -> None:
    [(name, values)], _ = languages_answer(clinic, "es")
    assert "inglés y español" in render(name, "es", **values)


async def test_example_values_are_labelled(use_clinic: Clinic) -> None:
    contact = CollectingDispatcher()
    await ActionTellContact().run(contact, make_tracker(slots={"language": "es"}), {})
    responses: List[str] = [m["response"] for m in contact.messages]
    assert responses == ["utter_clinic_contact", "utter_clinic_example_note"]  # phone is an example
    assert "(575) 555-0142" in said(contact.messages[0], "es")
    location = CollectingDispatcher()
    await ActionTellLocation().run(location, make_tracker(), {})
    assert [m["response"] for m in location.messages] == ["utter_clinic_location"]
