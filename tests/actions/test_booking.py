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
    summary_values,
    talked_about_sciatica,
)
from actions.submission import SUBMITTED
from bts.booking.records import StorageError, SubmitResult
from bts.clinic import Clinic
from tests.actions.responses import render, said

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
    text = render("utter_booking_summary", **summary_values(SLOTS, "en"))
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


def test_the_spanish_summary_reads_in_spanish() -> None:
    text = render("utter_booking_summary", "es", **summary_values(SLOTS, "es"))
    assert "Nombre: Pat Example" in text and "Nuevo o de regreso: Paciente nuevo" in text
    assert "Correo electrónico: ninguno" in text and "¿Está todo bien" in text


def test_patient_text_in_the_summary_can_never_become_a_link() -> None:
    forged = {**SLOTS, "booking_reason": "see [my chart](https://evil.example/login) or https://evil.example",
              "booking_time": {"raw": "**now** https://evil.example/x", "summary": "Any time we're open"}}
    text = render("utter_booking_summary", **summary_values(forged, "en"))
    assert "https://" not in text and "](" not in text and "**now**" not in text
    assert "evil.example/login" in text  # still readable, only not a link


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
        ("Sí, envíela", {"booking_confirmed": True, "booking_edit": False}),
        ("sí", {"booking_confirmed": True, "booking_edit": False}),
        ("cambiar el teléfono", {"booking_phone": None, **RESET}),
        ("mi correo está mal", {"booking_email": None, **RESET}),
        ("Quiero cambiar algo", {"booking_confirmed": None, "booking_edit": True}),
        ("No, no me llamen", {"booking_confirmed": False, "booking_edit": False}),
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
    assert talked_about_sciatica([user("tengo ciática en la pierna")])
    assert not talked_about_sciatica([user("what should I wear", "faq/what_to_wear")])
    old = [user("what is sciatica", "faq/what_is_sciatica"), {"event": "session_started"}, user("hi")]
    assert not talked_about_sciatica(old)


def test_details_hold_the_raw_text_next_to_the_parsed_time_and_the_language() -> None:
    details = booking_details(SLOTS, "es")
    assert details["preferred_time_text"] == "next tuesday after 3"
    assert details["preferred_time"] == "2026-12-01T15:00:00-07:00"
    assert details["email"] is None and details["insurance"] == "Medicare" and details["consent"]
    assert details["language"] == "es"


def tracker(
    slots: Dict[str, Any], text: str = "", requested: str = "", intent: str = "nlu_fallback",
    lang: str = "en",
) -> Tracker:
    return Tracker(
        sender_id="conv-1",
        slots={"requested_slot": requested, "language": lang, **slots},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "booking_form"},
        latest_action_name="action_listen",
    )


@pytest.fixture
def patched(use_clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    calls: List[Any] = []

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
    assert details["language"] == "en"
    text = said(dispatcher.messages[0])
    assert "BTS-7K2Q" in text and "within one business day" in text and "only once they confirm" in text
    assert {"event": "slot", "timestamp": None, "name": "booking_reference", "value": "BTS-7K2Q"} in events
    cleared = {e["name"] for e in events if e.get("value") is None}
    assert set(FIELDS) <= cleared


async def test_the_widget_is_told_to_forget_the_transcript_once_a_request_is_sent(patched: List[Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionSubmitBooking().run(dispatcher, tracker({**SLOTS, "booking_confirmed": True}), {})
    assert dispatcher.messages[-1]["custom"] == SUBMITTED == {"bts": {"event": "booking_submitted"}}


@pytest.mark.parametrize(
    "forged",
    [
        {"booking_phone": "not-a-phone 0000"},
        {"booking_name": "https://evil.example"},
        {"booking_email": "not an email"},
        {"booking_time": {"raw": "banana", "summary": "whenever"}},
        {"booking_time": "yesterday"},
        {"booking_name": None},
        {"booking_reason": ["a", "list"]},
    ],
)
async def test_forged_slots_are_refused_and_nothing_is_stored(
    patched: List[Any], forged: Dict[str, Any]
) -> None:
    dispatcher = CollectingDispatcher()
    slots = {**SLOTS, **forged, "booking_confirmed": True}
    await ActionSubmitBooking().run(dispatcher, tracker(slots), {})
    assert patched == []
    assert dispatcher.messages[0]["response"] == "utter_booking_refused"
    assert "nothing was sent" in said(dispatcher.messages[0])
    assert not any(message.get("custom") for message in dispatcher.messages)


async def test_stored_values_are_the_freshly_checked_ones(patched: List[Any]) -> None:
    slots = {**SLOTS, "booking_phone": "575 555 0142", "booking_confirmed": True}
    await ActionSubmitBooking().run(CollectingDispatcher(), tracker(slots), {})
    assert patched[0][2]["phone"] == "+15755550142"


async def test_nothing_is_sent_without_consent(patched: List[Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionSubmitBooking().run(dispatcher, tracker({**SLOTS, "booking_confirmed": False}), {})
    assert patched == [] and "nothing was sent" in said(dispatcher.messages[0])


async def test_storage_failure_keeps_the_details_and_gives_the_phone(
    use_clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> SubmitResult:
        raise StorageError("disk full")

    monkeypatch.setattr(booking, "submit_request", broken)
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(dispatcher, tracker({**SLOTS, "booking_confirmed": True}), {})
    assert use_clinic.phone in said(dispatcher.messages[0])
    assert [e["name"] for e in events] == ["booking_confirmed"]  # the other details stay


@pytest.mark.parametrize(
    "text, lang, intent, expected",
    [
        ("actually my number is 575-555-0199", "en", "ask_contact", "changed your phone to (575) 555-0199"),
        ("no, mi número es 575 555 0199", "es", "deny", "cambié su teléfono a (575) 555-0199"),
    ],
)
async def test_form_takes_a_phone_correction_while_asking_for_the_time(
    use_clinic: Clinic, text: str, lang: str, intent: str, expected: str
) -> None:
    current = tracker({**SLOTS, "booking_time": None}, text, "booking_time", intent, lang)
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, current, {"forms": {}, "slots": {}})
    assert {"event": "slot", "timestamp": None, "name": "booking_phone", "value": "+15755550199"} in events
    assert expected in said(dispatcher.messages[0], lang)


async def test_a_spanish_time_is_read_and_summarised_in_spanish(use_clinic: Clinic) -> None:
    slots = {**SLOTS, "booking_time": None}
    current = tracker(slots, "el martes por la mañana", "booking_time", "inform", "es")
    events = await ValidateBookingForm().run(CollectingDispatcher(), current, {"forms": {}, "slots": {}})
    [value] = [e["value"] for e in events if e["name"] == "booking_time"]
    assert value["raw"] == "el martes por la mañana" and value["summary"].startswith("Martes")
    assert value["summary"].endswith("por la mañana") and value["part_of_day"] == "morning"


async def test_a_refused_answer_is_explained_in_the_conversation_language(use_clinic: Clinic) -> None:
    current = tracker({**SLOTS, "booking_phone": None}, "12", "booking_phone", "inform", "es")
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, current, {"forms": {}, "slots": {}})
    assert {"event": "slot", "timestamp": None, "name": "booking_phone", "value": None} in events
    assert said(dispatcher.messages[0], "es").startswith("Ese número parece muy corto")


async def test_form_rejects_a_question_so_rules_can_answer_it(use_clinic: Clinic) -> None:
    current = tracker({**SLOTS, "booking_phone": None}, "what are your hours", "booking_phone", "ask_hours")
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, current, {"forms": {}, "slots": {}})
    assert [e for e in events if e["name"] != "requested_slot"] == []
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    "answer, lang, intent, cancelled",
    [("Yes, stop", "en", "stop", True), ("No, continue", "en", "deny", False),
     ("Sí, quiero parar", "es", "inform", True), ("No, quiero seguir", "es", "inform", False)],
)
async def test_the_answer_to_do_you_want_to_stop(
    use_clinic: Clinic, answer: str, lang: str, intent: str, cancelled: bool
) -> None:
    current = tracker({**SLOTS, "booking_stop_asked": True}, answer, "booking_time", intent, lang)
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, current, {"forms": {}, "slots": {}})
    slots = {e["name"]: e["value"] for e in events}
    assert slots.get("booking_cancelled", False) is cancelled and slots["booking_stop_asked"] is False
    if not cancelled:
        assert said(dispatcher.messages[0], lang) in ("Okay, let's go on with your booking request.",
                                                      "Muy bien, sigamos con su solicitud de cita.")


async def test_a_correction_at_the_summary_keeps_the_new_value(use_clinic: Clinic) -> None:
    current = tracker(SLOTS, "no, mi número es 575 555 0199", "booking_confirmed", "deny", "es")
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, current, {"forms": {}, "slots": {}})
    slots = {e["name"]: e["value"] for e in events}
    assert slots["booking_phone"] == "+15755550199" and slots["booking_confirmed"] is None
    assert slots["requested_slot"] == "booking_confirmed"  # back to the summary
