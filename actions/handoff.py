"""Handoff to a person (callback requests) and reschedule / cancel requests.

Both are stored and delivered through the same durable path as bookings (actions/store.py). The
assistant never says an appointment was moved or cancelled: it passes the request on, and the
front desk confirms.
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import config
from actions.config import Clinic
from actions.forms import SKIPPED, Question, Turn, ask_action, is_interruption, reset_events, slot_value
from actions.validation import (
    ValidationResult,
    format_phone_for_display,
    opening_hours_text,
    parse_preferred_time,
    validate_name,
    validate_phone,
    validate_reason,
)
from bts.booking.api import find_request, submit_request
from bts.booking.records import StorageError
from bts.booking.references import normalize_reference

logger = logging.getLogger(__name__)

CALLBACK_SLOTS = ["callback_name", "callback_phone", "callback_time", "callback_reason"]
CHANGE_SLOTS = ["change_reference", "change_type", "change_name", "change_phone", "change_time"]
CHANGE_CONTROL = ["change_reference_found"]
QUESTIONS: Dict[str, Question] = {
    "callback_name": ("What's your full name?", []),
    "callback_phone": ("What number should we call?", []),
    "callback_time": (
        'When is a good time to call you? For example "weekday afternoons" or "tomorrow morning".',
        [
            {"title": "Any time", "payload": "any time"},
            {"title": "Mornings", "payload": "weekday mornings"},
            {"title": "Afternoons", "payload": "weekday afternoons"},
        ],
    ),
    "callback_reason": ("In a few words, what would you like to talk about?", []),
    "change_reference": (
        "What's the reference of your booking? It looks like BTS-7K2Q.",
        [{"title": "I don't have it", "payload": "I don't have it"}],
    ),
    "change_type": (
        "Would you like to reschedule or to cancel?",
        [{"title": "Reschedule", "payload": "reschedule"}, {"title": "Cancel", "payload": "cancel"}],
    ),
    "change_name": ("What's the name the appointment is under?", []),
    "change_phone": ("What phone number did you give us?", []),
    "change_time": (
        'When would suit you instead? You can also say "skip" and sort it out on the phone.',
        [{"title": "Skip", "payload": "skip"}],
    ),
}
ASK_ACTIONS = [ask_action(slot, question) for slot, question in QUESTIONS.items()]
MENTIONED_REFERENCE = re.compile(r"\bBTS[-\s]?[2-9A-HJ-NP-Z]{4,8}\b", re.IGNORECASE)
NO_REFERENCE = re.compile(r"\b(don'?t|do not|dont|no|lost|can'?t find|forgot)\b", re.IGNORECASE)


def contact_line(clinic: Clinic) -> str:
    """"Call us at ... (hours)" for the end of handoff messages."""
    return f"You can also call us at {clinic.phone} ({opening_hours_text(clinic)})."


def validate_reference(text: str) -> ValidationResult[str]:
    """Reads a booking reference such as "BTS-7K2Q", or "I don't have it".

    Args:
        text: What the patient typed.

    Returns:
        The normalised reference; `None` (skipped) when the patient has none.
    """
    reference = normalize_reference(text)
    if reference:
        return ValidationResult(ok=True, value=reference)
    if NO_REFERENCE.search(text):
        return ValidationResult(ok=True, value=None)
    return ValidationResult(
        ok=False,
        message='That doesn\'t look like a reference. It looks like "BTS-7K2Q". If you don\'t have '
        'it, say "I don\'t have it".',
    )


def parse_change_type(text: str) -> ValidationResult[str]:
    """Reads whether the patient wants to reschedule or to cancel.

    Args:
        text: What the patient typed.

    Returns:
        "cancel" or "reschedule".
    """
    lowered = text.lower()
    if "cancel" in lowered:
        return ValidationResult(ok=True, value="cancel")
    if any(word in lowered for word in ("reschedul", "move", "change", "different", "another", "later")):
        return ValidationResult(ok=True, value="reschedule")
    return ValidationResult(ok=False, message="Would you like to reschedule or to cancel?")


def optional_time(text: str, clinic: Clinic, now: datetime) -> ValidationResult[Any]:
    """A new preferred time for a reschedule; "skip" leaves it to the phone call."""
    if text.strip().lower() in ("skip", "no", "not sure", "don't know", "dont know", "any"):
        return ValidationResult(ok=True, value=None)
    return parse_preferred_time(text, clinic, now)


class _HandoffForm(FormValidationAction, ABC):
    """Common extraction: the requested slot's answer, unless the message interrupts the form."""

    slots: List[str] = []

    @abstractmethod
    def validator(self, slot: str, clinic: Clinic) -> Any:
        """The validator of `slot`."""

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        slot = tracker.get_slot("requested_slot")
        if slot not in self.slots:
            return []
        clinic = config.clinic()
        turn = Turn.from_latest_message(tracker.latest_message)
        check = self.validator(slot, clinic)
        if is_interruption(turn, check, free_text=slot.endswith(("_name", "_reason"))):
            return []
        result: ValidationResult[Any] = check(turn.text)
        if not result.ok:
            dispatcher.utter_message(text=result.message)
            return [SlotSet(slot, None)]
        return [SlotSet(slot, slot_value(result))]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        # Values were validated while extracting; pass them (and control slots) on unchanged.
        return [SlotSet(k, v) for k, v in tracker.slots_to_validate().items()]


class ValidateCallbackForm(_HandoffForm):
    """Callback requests: name, phone, best time to call, short reason."""

    slots = CALLBACK_SLOTS

    def name(self) -> str:
        return "validate_callback_form"

    def validator(self, slot: str, clinic: Clinic) -> Any:
        now = datetime.now(clinic.tz)
        return {
            "callback_name": validate_name,
            "callback_phone": validate_phone,
            "callback_time": lambda text: parse_preferred_time(text, clinic, now),
            "callback_reason": validate_reason,
        }[slot]


class ValidateChangeForm(_HandoffForm):
    """Reschedule / cancel requests: reference (or name and phone), what to change, new time."""

    slots = CHANGE_SLOTS

    def name(self) -> str:
        return "validate_change_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        required = ["change_reference", "change_type"]
        if tracker.get_slot("change_reference_found") is not True:
            required += ["change_name", "change_phone"]
        if tracker.get_slot("change_type") == "reschedule":
            required.append("change_time")
        return required

    def validator(self, slot: str, clinic: Clinic) -> Any:
        now = datetime.now(clinic.tz)
        return {
            "change_reference": validate_reference,
            "change_type": parse_change_type,
            "change_name": validate_name,
            "change_phone": validate_phone,
            "change_time": lambda text: optional_time(text, clinic, now),
        }[slot]

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        for event in events:
            if event["name"] == "change_reference" and event["value"] not in (None, SKIPPED):
                found = await asyncio.to_thread(find_request, event["value"])
                if found is None:
                    dispatcher.utter_message(
                        text=f"I couldn't find {event['value']} in our records, so I'll pass on "
                        "your name and phone number with it."
                    )
                events.append(SlotSet("change_reference_found", found is not None))
        return events


class ActionPrepareCallback(Action):
    """Starts a callback request, re-using a name and phone the patient already gave."""

    def name(self) -> str:
        return "action_prepare_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        clinic = config.clinic()
        dispatcher.utter_message(
            text="I'll ask someone from our front desk to call you back. "
            + contact_line(clinic)
        )
        events: List[Dict[str, Any]] = reset_events(CALLBACK_SLOTS)
        for source, target in (("booking_name", "callback_name"), ("booking_phone", "callback_phone")):
            if tracker.get_slot(source):
                events.append(SlotSet(target, tracker.get_slot(source)))
        return events


class ActionSubmitCallback(Action):
    """Stores the callback request durably and tells the patient what happens next."""

    def name(self) -> str:
        return "action_submit_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        clinic = config.clinic()
        best_time = tracker.get_slot("callback_time") or {}
        details = {
            "name": tracker.get_slot("callback_name"),
            "phone": tracker.get_slot("callback_phone"),
            "best_time": best_time.get("summary"),
            "preferred_time_text": best_time.get("raw"),
            "reason": tracker.get_slot("callback_reason"),
            "consent": True,
        }
        reference = await _submit(dispatcher, "callback", tracker.sender_id, details, clinic)
        if reference is None:
            return []
        phone = format_phone_for_display(str(details["phone"]))
        dispatcher.utter_message(
            text=f"Thanks. I've asked our front desk to call you back at {phone} "
            f"({best_time.get('summary')}). Your reference is {reference}. They usually call within "
            f"one business day. {contact_line(clinic)}"
        )
        return [SlotSet("handoff_reference", reference)] + reset_events(CALLBACK_SLOTS)


class ActionPrepareChange(Action):
    """Starts a reschedule / cancel request, reading what the patient already said."""

    def name(self) -> str:
        return "action_prepare_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        events: List[Dict[str, Any]] = reset_events(CHANGE_SLOTS + CHANGE_CONTROL)
        text = str(tracker.latest_message.get("text") or "")
        change = parse_change_type(text)
        if change.ok:
            events.append(SlotSet("change_type", change.value))
        mentioned = MENTIONED_REFERENCE.search(text)
        reference = normalize_reference(mentioned.group(0)) if mentioned else None
        if reference:
            found = await asyncio.to_thread(find_request, reference)
            events += [
                SlotSet("change_reference", reference),
                SlotSet("change_reference_found", found is not None),
            ]
        return events


class ActionSubmitChange(Action):
    """Stores the change request; the front desk makes the actual change."""

    def name(self) -> str:
        return "action_submit_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        clinic = config.clinic()
        reference = tracker.get_slot("change_reference")
        change = tracker.get_slot("change_type")
        new_time = tracker.get_slot("change_time")
        details = {
            "related_reference": None if reference in (None, SKIPPED) else reference,
            "change": change,
            "name": tracker.get_slot("change_name"),
            "phone": tracker.get_slot("change_phone"),
            "preferred_time_text": new_time.get("raw") if isinstance(new_time, dict) else None,
            "preferred_time": new_time.get("start") if isinstance(new_time, dict) else None,
            "consent": True,
        }
        request_reference = await _submit(dispatcher, "change", tracker.sender_id, details, clinic)
        if request_reference is None:
            return []
        what = "cancel" if change == "cancel" else "reschedule"
        about = f" {details['related_reference']}" if details["related_reference"] else ""
        dispatcher.utter_message(
            text=f"I've passed your request to {what} your appointment{about} to our front desk "
            f"(request reference {request_reference}). Your appointment stays as it is until the "
            f"front desk confirms the change; they'll call you within one business day. "
            f"{contact_line(clinic)}"
        )
        return reset_events(CHANGE_SLOTS + CHANGE_CONTROL)


async def _submit(
    dispatcher: CollectingDispatcher, kind: str, sender: str, details: Dict[str, Any], clinic: Clinic
) -> Optional[str]:
    """Stores a request; on failure tells the patient to call and returns None."""
    try:
        result = await asyncio.to_thread(submit_request, kind, sender, details)
    except StorageError:
        logger.exception("%s request could not be stored or spooled", kind)
        dispatcher.utter_message(
            text="I'm sorry, I couldn't save your request because of a problem on our side. "
            f"Please call us at {clinic.phone}."
        )
        return None
    return result.reference
