"""Tests of actions/clinic.py: answers built from the clinic details."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import clinic as clinic_actions
from actions.clinic import (
    EXAMPLE_NOTE,
    ActionTellHours,
    contact_text,
    cost_text,
    hours_text,
    insurance_text,
    languages_text,
    location_text,
    open_now_text,
)
from actions.config import Clinic, parse_clinic
from tests.conftest import make_tracker

DENVER = ZoneInfo("America/Denver")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=DENVER)


# 2026-11-30 is a Monday; clinic hours in the fixture: Mon-Thu 8-17, Fri 8-12.
@pytest.mark.parametrize(
    "now, expected",
    [
        (at(2026, 11, 30, 9), "Right now we're open, until 5:00 PM today"),
        (at(2026, 11, 30, 7, 59), "closed. We open again today at 8:00 AM"),
        (at(2026, 11, 30, 17, 0), "closed. We open again tomorrow at 8:00 AM"),
        (at(2026, 12, 4, 12, 30), "closed. We open again on Monday at 8:00 AM"),
        (at(2026, 12, 5, 10), "closed. We open again on Monday at 8:00 AM"),
        (at(2026, 12, 6, 23, 59), "closed. We open again tomorrow at 8:00 AM"),
    ],
)
def test_open_now_is_computed_in_clinic_time(clinic: Clinic, now: datetime, expected: str) -> None:
    assert expected in open_now_text(clinic, now)


def test_open_now_converts_utc_to_mountain_time(clinic: Clinic) -> None:
    # 15:30 UTC on a Monday in winter is 8:30 AM in Las Cruces (UTC-7): open.
    assert "open, until" in open_now_text(clinic, datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc))
    # 14:30 UTC is 7:30 AM local: still closed.
    assert "closed" in open_now_text(clinic, datetime(2026, 11, 30, 14, 30, tzinfo=timezone.utc))


def test_open_now_follows_daylight_saving_time(clinic: Clinic) -> None:
    # In July Las Cruces is UTC-6, so 14:30 UTC is 8:30 AM: open.
    assert "open, until" in open_now_text(clinic, datetime(2026, 7, 6, 14, 30, tzinfo=timezone.utc))


def test_a_clinic_without_hours_is_just_closed(clinic_raw: Dict[str, Any]) -> None:
    clinic_raw["hours"] = {}
    assert open_now_text(parse_clinic(clinic_raw), at(2026, 11, 30, 9)) == "We're closed right now."


def test_hours_list_every_day(clinic: Clinic) -> None:
    text = hours_text(clinic, at(2026, 11, 30, 9))
    assert "Monday: 8:00 AM to 5:00 PM" in text
    assert "Friday: 8:00 AM to 12:00 PM" in text
    assert "Sunday: closed" in text
    assert EXAMPLE_NOTE not in text  # hours are not marked as an example in the fixture


def test_example_values_are_labelled(clinic: Clinic) -> None:
    assert EXAMPLE_NOTE in contact_text(clinic)  # phone is an example in the fixture
    assert EXAMPLE_NOTE not in location_text(clinic)


def test_answers_use_the_clinic_details(clinic: Clinic) -> None:
    assert "123 Example St." in location_text(clinic)
    assert "(575) 555-0142" in contact_text(clinic)
    assert "English and Spanish" in languages_text(clinic)
    insurance = insurance_text(clinic)
    assert "Medicare, Example Health Plan" in insurance
    assert "20%" in insurance and "pay for yourself" in insurance


def test_cost_without_prices_points_to_the_phone(clinic: Clinic, clinic_raw: Dict[str, Any]) -> None:
    assert "call us at (575) 555-0142" in cost_text(clinic)
    clinic_raw["prices"] = {"first_evaluation": "$120"}
    assert "first evaluation: $120" in cost_text(parse_clinic(clinic_raw))


async def test_hours_action_sends_text_and_buttons(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clinic_actions.config, "clinic", lambda: clinic)
    dispatcher = CollectingDispatcher()
    events = await ActionTellHours().run(dispatcher, make_tracker("are you open?"), {})
    assert events == []
    [message] = dispatcher.messages
    assert "Our hours are:" in message["text"]
    assert {"title": "Book an appointment", "payload": "/book_appointment"} in message["buttons"]
