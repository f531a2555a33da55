"""Tests of actions/booking.py: the summary, the confirmation answer, pre-fill and submission."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import booking
from actions.booking import (
    FIELDS,
    ActionSubmitBooking,
    ValidateBookingForm,
    booking_details,
    confirmation_outcome,
    summary_text,
    talked_about_sciatica,
)
from actions.config import Clinic
from bts.booking.records import StorageError, SubmitResult

SLOTS: Dict[str, Any] = {
    "booking_name": "Pat Example",
    "booking_phone": "+15755550142",
    "booking_email": "none",
    "booking_time": {"raw": "next tuesday after 3", "summary": "Tuesday, December 1, after 3:00 PM",
                     "start": "2026-12-01T15:00:00-07:00"},
    "booking_reason": "Sciatica",
    "booking_patient_type": "new",
    "booking_insurance": "medicare",
}


def test_summary_lists_every_field_readably_and_asks_for_consent() -> None:
    text = summary_text(SLOTS)
    for line in (
        "Name: Pat Example",
        "Phone: (575) 555-0142",
        "E-mail: none",
        'Preferred time: Tuesday, December 1, after 3:00 PM (you wrote: "next tuesday after 3")',
        "Reason for the visit: Sciatica",
        "New or returning: New patient",
        "Insurance: Medicare",
    ):
        assert line in text
    assert text.endswith("may our front desk contact you at (575) 555-0142 about this request?")


RESET = {"booking_confirmed": None, "booking_edit": False}


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("Yes, send it", {"booking_confirmed": True, "booking_edit": False}),
        ("yep", {"booking_confirmed": True, "booking_edit": False}),
        ("change the phone", {"booking_phone": None, "booking_confirmed": None, "booking_edit": False}),
        ("my email is wrong", {"booking_email": None, "booking_confirmed": None, "booking_edit": False}),
        ("Change the preferred time", {"booking_time": None, **RESET}),
        ("Change the insurance", {"booking_insurance": None, **RESET}),
        ("no", {"booking_confirmed": None, "booking_edit": True}),
        ("Change something", {"booking_confirmed": None, "booking_edit": True}),
        ("No, don't contact me", {"booking_confirmed": False, "booking_edit": False}),
        ("banana", {}),
    ],
)
def test_confirmation_outcome(answer: str, expected: Dict[str, Any]) -> None:
    assert confirmation_outcome(answer) == expected


def user(text: str, faq_key: str = "") -> Dict[str, Any]:
    parse: Dict[str, Any] = {"intent": {"name": "faq" if faq_key else "greet"}}
    if faq_key:
        parse["response_selector"] = {"faq": {"response": {"intent_response_key": faq_key}}}
    return {"event": "user", "text": text, "parse_data": parse}


def test_sciatica_is_detected_in_the_current_session_only() -> None:
    assert talked_about_sciatica([user("hi"), user("what causes it", "faq/causes")])
    assert talked_about_sciatica([user("my SCIATICA is bad")])
    assert not talked_about_sciatica([user("what should I wear", "faq/what_to_wear")])
    old = [user("what is sciatica", "faq/what_is_sciatica"), {"event": "session_started"}, user("hi")]
    assert not talked_about_sciatica(old)


def test_details_hold_the_raw_text_next_to_the_parsed_time() -> None:
    details = booking_details(SLOTS)
    assert details["preferred_time_text"] == "next tuesday after 3"
    assert details["preferred_time"] == "2026-12-01T15:00:00-07:00"
    assert details["email"] is None and details["insurance"] == "Medicare" and details["consent"]


def tracker(
    slots: Dict[str, Any], text: str = "", requested: str = "", intent: str = "nlu_fallback"
) -> Tracker:
    return Tracker(
        sender_id="conv-1",
        slots={"requested_slot": requested, **slots},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "booking_form"},
        latest_action_name="action_listen",
    )


@pytest.fixture
def patched(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    calls: List[Any] = []
    monkeypatch.setattr(booking.config, "clinic", lambda: clinic)

    def fake_submit(kind: str, conversation_id: str, details: Dict[str, Any]) -> SubmitResult:
        calls.append((kind, conversation_id, details))
        return SubmitResult(reference="BTS-7K2Q", stored=True)

    monkeypatch.setattr(booking, "submit_request", fake_submit)
    return calls


async def test_confirmed_request_is_submitted_and_the_reference_given(patched: List[Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(dispatcher, tracker({**SLOTS, "booking_confirmed": True}), {})
    [(kind, conversation, details)] = patched
    assert (kind, conversation, details["name"]) == ("booking", "conv-1", "Pat Example")
    text = dispatcher.messages[0]["text"]
    assert "BTS-7K2Q" in text and "within one business day" in text and "only once they confirm" in text
    assert {"event": "slot", "timestamp": None, "name": "booking_reference", "value": "BTS-7K2Q"} in events
    cleared = {e["name"] for e in events if e.get("value") is None}
    assert set(FIELDS) <= cleared


async def test_nothing_is_sent_without_consent(patched: List[Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionSubmitBooking().run(dispatcher, tracker({**SLOTS, "booking_confirmed": False}), {})
    assert patched == [] and "nothing was sent" in dispatcher.messages[0]["text"]


async def test_storage_failure_keeps_the_details_and_gives_the_phone(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(booking.config, "clinic", lambda: clinic)

    def broken(*_args: Any) -> SubmitResult:
        raise StorageError("disk full")

    monkeypatch.setattr(booking, "submit_request", broken)
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(dispatcher, tracker({**SLOTS, "booking_confirmed": True}), {})
    assert clinic.phone in dispatcher.messages[0]["text"]
    assert [e["name"] for e in events] == ["booking_confirmed"]  # the other details stay


async def test_form_takes_a_phone_correction_while_asking_for_the_time(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(booking.config, "clinic", lambda: clinic)
    slots = {**SLOTS, "booking_time": None}
    current = tracker(slots, "actually my number is 575-555-0199", "booking_time", "ask_contact")
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, current, {"forms": {}, "slots": {}})
    assert {"event": "slot", "timestamp": None, "name": "booking_phone", "value": "+15755550199"} in events
    assert "changed your phone to (575) 555-0199" in dispatcher.messages[0]["text"]


async def test_form_rejects_a_question_so_rules_can_answer_it(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(booking.config, "clinic", lambda: clinic)
    current = tracker({**SLOTS, "booking_phone": None}, "what are your hours", "booking_phone", "ask_hours")
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, current, {"forms": {}, "slots": {}})
    assert [e for e in events if e["name"] != "requested_slot"] == []
    assert dispatcher.messages == []
