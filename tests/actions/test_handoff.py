"""Tests of actions/handoff.py: references, change types, no existence oracle, checked submissions."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from actions.handoff import (
    ActionPrepareChange,
    ActionSubmitCallback,
    ActionSubmitChange,
    ValidateChangeForm,
    parse_change_type,
    validate_reference,
)
from bts.booking import api as store
from bts.booking.records import SubmitResult
from bts.clinic import Clinic
from tests.actions.responses import rendered, said
from tests.conftest import make_tracker


@pytest.mark.parametrize(
    "text, ok, value",
    [
        ("BTS-7K2Q", True, "BTS-7K2Q"),
        ("bts 7k2q", True, "BTS-7K2Q"),
        ("I don't have it", True, None),
        ("lost it", True, None),
        ("no lo tengo", True, None),
        ("lo perdí", True, None),
        ("12", False, None),
    ],
)
def test_validate_reference(text: str, ok: bool, value: Optional[str]) -> None:
    result = validate_reference(text)
    assert (result.ok, result.value) == (ok, value)
    if not ok:
        assert '"BTS-"' in rendered(result) and '"BTS-"' in rendered(result, "es")


@pytest.mark.parametrize(
    "text, value",
    [("cancel", "cancel"), ("I have to cancel my visit", "cancel"), ("reschedule", "reschedule"),
     ("can we move it to friday", "reschedule"), ("hmm", None), ("quiero cancelar mi cita", "cancel"),
     ("cambiar de día", "reschedule"), ("necesito otra fecha", "reschedule")],
)
def test_parse_change_type(text: str, value: Optional[str]) -> None:
    assert parse_change_type(text).value == value


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """Records any look-up of a reference in the store (there must be none while chatting)."""
    seen: List[str] = []

    def find(reference: str) -> Optional[Dict[str, Any]]:
        seen.append(reference)
        return {"reference": reference} if reference == "BTS-7K2Q" else None

    monkeypatch.setattr(store, "find_request", find)
    monkeypatch.setattr(handoff, "find_request", find, raising=False)
    return seen


async def run_prepare(text: str) -> Any:
    dispatcher = CollectingDispatcher()
    events = await ActionPrepareChange().run(dispatcher, make_tracker(text), {})
    return events, [said(message) for message in dispatcher.messages]


async def test_cancel_does_not_reveal_whether_a_reference_exists(lookups: List[str]) -> None:
    known_events, known_said = await run_prepare("cancel BTS-7K2Q")
    unknown_events, unknown_said = await run_prepare("cancel BTS-9Z9Z")
    strip = [{k: v for k, v in e.items() if k != "value" or e["name"] != "change_reference"}
             for e in known_events]
    assert strip == [{k: v for k, v in e.items() if k != "value" or e["name"] != "change_reference"}
                     for e in unknown_events]
    assert [text.replace("BTS-7K2Q", "X") for text in known_said] == [
        text.replace("BTS-9Z9Z", "X") for text in unknown_said
    ]
    assert lookups == []


async def test_name_and_phone_are_asked_whatever_the_reference() -> None:
    form = ValidateChangeForm()
    for found in (True, False, None):
        tracker = make_tracker(slots={"change_reference": "BTS-7K2Q", "change_reference_found": found})
        required = await form.required_slots([], CollectingDispatcher(), tracker, {})
        assert required == ["change_reference", "change_type", "change_name", "change_phone"]


async def test_prepare_change_reads_reference_and_kind_from_the_first_message(lookups: List[str]) -> None:
    events, _ = await run_prepare("I need to cancel my appointment bts-7k2q please")
    slots = {e["name"]: e["value"] for e in events if e.get("value") is not None}
    assert slots == {"change_type": "cancel", "change_reference": "BTS-7K2Q"}


def handoff_tracker(slots: Dict[str, Any], lang: str = "en") -> Tracker:
    return make_tracker(slots={"language": lang, **slots})


@pytest.fixture
def submitted(use_clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    calls: List[Any] = []

    def fake_submit(kind: str, conversation_id: str, details: Dict[str, Any]) -> SubmitResult:
        calls.append((kind, details))
        return SubmitResult(reference="BTS-R3F3", stored=True)

    monkeypatch.setattr(handoff, "submit_request", fake_submit)
    return calls


CALLBACK = {"callback_name": "Ana García Pérez", "callback_phone": "+15755550142",
            "callback_time": {"raw": "cualquier día", "summary": "A cualquier hora"},
            "callback_reason": "Preguntas sobre el seguro"}


async def test_a_callback_is_stored_with_its_language_and_the_widget_told(submitted: List[Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionSubmitCallback().run(dispatcher, handoff_tracker(CALLBACK, "es"), {})
    [(kind, details)] = submitted
    assert kind == "callback" and details["language"] == "es" and details["phone"] == "+15755550142"
    assert "BTS-R3F3" in said(dispatcher.messages[0], "es")
    assert dispatcher.messages[-1]["custom"] == {"bts": {"event": "booking_submitted"}}


async def test_a_forged_callback_phone_is_refused(submitted: List[Any]) -> None:
    dispatcher = CollectingDispatcher()
    forged = handoff_tracker({**CALLBACK, "callback_phone": "not-a-phone 0000"})
    await ActionSubmitCallback().run(dispatcher, forged, {})
    assert submitted == [] and dispatcher.messages[0]["response"] == "utter_request_refused"


async def test_a_change_request_is_checked_and_stored(submitted: List[Any]) -> None:
    slots = {"change_reference": "BTS-7K2Q", "change_type": "cancel", "change_name": "Pat Example",
             "change_phone": "575 555 0142"}
    dispatcher = CollectingDispatcher()
    await ActionSubmitChange().run(dispatcher, handoff_tracker(slots), {})
    [(kind, details)] = submitted
    assert (kind, details["related_reference"], details["phone"]) == ("change", "BTS-7K2Q", "+15755550142")
    assert "cancel your appointment" in said(dispatcher.messages[0])
    forged = {**slots, "change_phone": "0000"}
    await ActionSubmitChange().run(CollectingDispatcher(), handoff_tracker(forged), {})
    assert len(submitted) == 1
