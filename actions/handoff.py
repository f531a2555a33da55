"""Handoff to a person (callback requests) and reschedule / cancel requests.

Both are checked again, stored and delivered through the same durable path as bookings. The assistant
never says an appointment was moved or cancelled: it passes the request on, and the front desk confirms.
It never says whether a booking reference exists either: the same questions are asked and the same
reply given for any reference, and the front desk looks it up.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from typing import Any, ClassVar, Dict, FrozenSet, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.display import display
from actions.display import word as label
from actions.forms import SKIPPED, TableForm, Validator, ask_action, language, reset_events
from actions.submission import SUBMITTED, recheck
from bts import clinic as clinic_file
from bts.booking.api import submit_request
from bts.booking.records import StorageError
from bts.booking.references import normalize_reference
from bts.clinic import Clinic
from bts.validation import (
    ValidationResult,
    parse_preferred_time,
    validate_name,
    validate_phone,
    validate_reason,
)
from bts.validation.result import fail, ok
from bts.validation.words import opening_hours_text

logger = logging.getLogger(__name__)

CALLBACK_SLOTS = ["callback_name", "callback_phone", "callback_time", "callback_reason"]
CHANGE_SLOTS = ["change_reference", "change_type", "change_name", "change_phone", "change_time"]
CHANGE_CONTROL = ["change_reference_found"]
ASK_ACTIONS = [ask_action(slot) for slot in CALLBACK_SLOTS + CHANGE_SLOTS]
MENTIONED_REFERENCE = re.compile(r"\bBTS[-\s]?[2-9A-HJ-NP-Z]{4,12}\b", re.IGNORECASE)
NO_REFERENCE = re.compile(
    r"\b(don'?t|do not|dont|no|lost|can'?t find|forgot|perd[ií]|olvid[eé])\b", re.IGNORECASE
)
_CANCEL = ("cancel", "cancelar", "cancela", "anular")
_RESCHEDULE = ("reschedul", "move", "change", "different", "another", "later", "cambiar", "cambio", "mover",
               "otro día", "otro dia", "otra hora", "otra fecha", "reprogramar")


def validate_reference(text: str) -> ValidationResult[str]:
    """Reads a booking reference such as "BTS-7K2Q", or "I don't have it" / "no lo tengo".

    Args:
        text: What the patient typed.

    Returns:
        The normalised reference; `None` (skipped) when the patient has none.
    """
    reference = normalize_reference(text)
    if reference:
        return ok(reference)
    if NO_REFERENCE.search(text):
        return ok(None)
    return fail("reference")


def parse_change_type(text: str) -> ValidationResult[str]:
    """Reads whether the patient wants to reschedule or to cancel ("cancel", "cambiar de día")."""
    lowered = text.lower()
    if any(word in lowered for word in _CANCEL):
        return ok("cancel")
    if any(word in lowered for word in _RESCHEDULE):
        return ok("reschedule")
    return fail("change_type")


def optional_time(text: str, clinic: Clinic, now: datetime, lang: str) -> ValidationResult[Any]:
    """A new preferred time for a reschedule; "skip" / "omitir" leaves it to the phone call."""
    if text.strip().lower() in ("skip", "no", "not sure", "don't know", "dont know", "any", "omitir",
                                "no sé", "no se", "saltar"):
        return ok(None)
    return parse_preferred_time(text, clinic, now, lang)


def callback_validators(clinic: Clinic, now: datetime, lang: str) -> Dict[str, Validator]:
    """Callback requests: name, phone, best time to call, short reason."""
    return {
        "callback_name": validate_name,
        "callback_phone": validate_phone,
        "callback_time": lambda text: parse_preferred_time(text, clinic, now, lang),
        "callback_reason": validate_reason,
    }


def change_validators(clinic: Clinic, now: datetime, lang: str) -> Dict[str, Validator]:
    """Change requests: reference (or none), what to change, name, phone, new time."""
    return {
        "change_reference": validate_reference,
        "change_type": parse_change_type,
        "change_name": validate_name,
        "change_phone": validate_phone,
        "change_time": lambda text: optional_time(text, clinic, now, lang),
    }


def contact_values(clinic: Clinic, lang: str) -> Dict[str, str]:
    """The clinic's phone and opening hours, for "you can also call us at ..."."""
    return {"phone": clinic.phone, "hours": opening_hours_text(clinic, lang)}


class ValidateCallbackForm(TableForm):
    """Callback requests: name, phone, best time to call, short reason."""

    fields: ClassVar[List[str]] = CALLBACK_SLOTS
    free_text: ClassVar[FrozenSet[str]] = frozenset({"callback_name", "callback_reason"})

    def name(self) -> str:
        return "validate_callback_form"

    def validators(self, clinic: Clinic, now: datetime, lang: str) -> Dict[str, Validator]:
        return callback_validators(clinic, now, lang)


class ValidateChangeForm(TableForm):
    """Reschedule / cancel requests: reference, what to change, name and phone, new time."""

    fields: ClassVar[List[str]] = CHANGE_SLOTS
    free_text: ClassVar[FrozenSet[str]] = frozenset({"change_name"})

    def name(self) -> str:
        return "validate_change_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        # Name and phone are asked whatever the reference, so the questions reveal nothing about it.
        required = ["change_reference", "change_type", "change_name", "change_phone"]
        if tracker.get_slot("change_type") == "reschedule":
            required.append("change_time")
        return required

    def validators(self, clinic: Clinic, now: datetime, lang: str) -> Dict[str, Validator]:
        return change_validators(clinic, now, lang)


class ActionPrepareCallback(Action):
    """Starts a callback request, re-using a name and phone the patient already gave."""

    def name(self) -> str:
        return "action_prepare_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        clinic = clinic_file.current()
        dispatcher.utter_message(response="utter_callback_start", **contact_values(clinic, language(tracker)))
        events: List[Dict[str, Any]] = reset_events(CALLBACK_SLOTS)
        for source, target in (("booking_name", "callback_name"), ("booking_phone", "callback_phone")):
            if tracker.get_slot(source):
                events.append(SlotSet(target, tracker.get_slot(source)))
        return events


class ActionSubmitCallback(Action):
    """Checks the callback request again, stores it durably and says what happens next."""

    def name(self) -> str:
        return "action_submit_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        clinic = clinic_file.current()
        lang = language(tracker)
        slots, refused = recheck(
            tracker.slots, callback_validators(clinic, datetime.now(clinic.tz), lang), CALLBACK_SLOTS
        )
        if refused:
            return _refuse(dispatcher, refused, clinic, lang, CALLBACK_SLOTS)
        best_time = slots["callback_time"]
        details = {
            "name": slots["callback_name"],
            "phone": slots["callback_phone"],
            "best_time": best_time.get("summary"),
            "preferred_time_text": best_time.get("raw"),
            "reason": slots["callback_reason"],
            "language": lang,
            "consent": True,
        }
        reference = await _submit(dispatcher, "callback", tracker.sender_id, details, clinic)
        if reference is None:
            return []
        dispatcher.utter_message(
            response="utter_callback_submitted", reference=reference,
            callback_phone=display("callback_phone", details["phone"], lang),
            when=display("callback_time", best_time, lang), **contact_values(clinic, lang),
        )
        dispatcher.utter_message(json_message=SUBMITTED)
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
            events.append(SlotSet("change_reference", reference))
            dispatcher.utter_message(response="utter_change_reference_noted", related=reference)
        return events


class ActionSubmitChange(Action):
    """Checks and stores the change request; the front desk makes the actual change."""

    def name(self) -> str:
        return "action_submit_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        clinic = clinic_file.current()
        lang = language(tracker)
        fields = CHANGE_SLOTS if tracker.get_slot("change_type") == "reschedule" else CHANGE_SLOTS[:-1]
        slots, refused = recheck(
            tracker.slots, change_validators(clinic, datetime.now(clinic.tz), lang), fields
        )
        if refused:
            return _refuse(dispatcher, refused, clinic, lang, CHANGE_SLOTS + CHANGE_CONTROL)
        reference = slots.get("change_reference")
        new_time = tracker.get_slot("change_time") if "change_time" in fields else None
        details = {
            "related_reference": None if reference in (None, SKIPPED) else reference,
            "change": slots["change_type"],
            "name": slots["change_name"],
            "phone": slots["change_phone"],
            "preferred_time_text": new_time.get("raw") if isinstance(new_time, dict) else None,
            "preferred_time": new_time.get("start") if isinstance(new_time, dict) else None,
            "language": lang,
            "consent": True,
        }
        request_reference = await _submit(dispatcher, "change", tracker.sender_id, details, clinic)
        if request_reference is None:
            return []
        kind = "cancel" if details["change"] == "cancel" else "reschedule"
        dispatcher.utter_message(
            response=f"utter_change_submitted_{kind}", reference=request_reference,
            **contact_values(clinic, lang),
        )
        dispatcher.utter_message(json_message=SUBMITTED)
        return reset_events(CHANGE_SLOTS + CHANGE_CONTROL)


def _refuse(
    dispatcher: CollectingDispatcher, refused: List[str], clinic: Clinic, lang: str, slots: List[str]
) -> List[Dict[str, Any]]:
    """Says which details could not be checked; nothing is stored and the form's slots are cleared."""
    names = ", ".join(label(slot.replace("callback_", "booking_").replace("change_", "booking_"), lang)
                      for slot in refused)
    dispatcher.utter_message(response="utter_request_refused", fields=names, phone=clinic.phone)
    return reset_events(slots)


async def _submit(
    dispatcher: CollectingDispatcher, kind: str, sender: str, details: Dict[str, Any], clinic: Clinic
) -> Optional[str]:
    """Stores a request; on failure tells the patient to call and returns None."""
    try:
        result = await asyncio.to_thread(submit_request, kind, sender, details)
    except StorageError:
        logger.exception("%s request could not be stored or spooled", kind)
        dispatcher.utter_message(response="utter_request_save_failed", phone=clinic.phone)
        return None
    return result.reference
