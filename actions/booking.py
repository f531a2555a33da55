"""Booking requests: `booking_form`, its summary and confirmation, and durable submission.

The form asks one thing at a time; the patient can correct any detail at any time ("actually my
number is ..."), or at the summary ("change the phone"), and is then brought back to the summary.
A confirmed request is stored and passed to the clinic through the outbox (actions/store.py);
the patient gets a reference to quote. The assistant never says an appointment is booked: the
front desk confirms it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import config
from actions.config import Clinic
from actions.forms import (
    ALWAYS_INTERRUPT,
    INTERRUPT_CONFIDENCE,
    SKIPPED,
    Question,
    Turn,
    ask_action,
    find_email,
    find_name,
    find_phone,
    is_interruption,
    mentioned_field,
    reset_events,
    slot_value,
)
from actions.validation import (
    ValidationResult,
    format_phone_for_display,
    parse_consent,
    parse_patient_type,
    parse_preferred_time,
    validate_email,
    validate_insurance,
    validate_name,
    validate_phone,
    validate_reason,
)
from bts.booking.api import submit_request
from bts.booking.records import StorageError

logger = logging.getLogger(__name__)

FIELDS = [
    "booking_name",
    "booking_phone",
    "booking_email",
    "booking_time",
    "booking_reason",
    "booking_patient_type",
    "booking_insurance",
]
CONTROL_SLOTS = ["booking_confirmed", "booking_edit", "booking_stop_asked", "booking_cancelled"]
LABELS = {
    "booking_name": "Name",
    "booking_phone": "Phone",
    "booking_email": "E-mail",
    "booking_time": "Preferred time",
    "booking_reason": "Reason for the visit",
    "booking_patient_type": "New or returning",
    "booking_insurance": "Insurance",
}
# Words a patient uses to name a field: "change the phone", "my email is wrong".
FIELD_WORDS = {
    "booking_phone": ("phone", "number", "cell", "mobile"),
    "booking_email": ("email", "e-mail", "mail"),
    "booking_name": ("name",),
    "booking_time": ("time", "day", "date", "when", "schedule", "times"),
    "booking_reason": ("reason",),
    "booking_patient_type": ("returning", "new patient", "patient type"),
    "booking_insurance": ("insurance", "medicare", "pay", "payment", "self-pay", "insurer"),
}
FREE_TEXT = {"booking_name", "booking_reason"}
SCIATICA_TOPICS = {
    "faq/what_is_sciatica",
    "faq/symptoms",
    "faq/causes",
    "faq/risk_factors",
    "faq/duration",
    "faq/self_care",
    "faq/when_to_see_doctor",
    "faq/pt_overview",
    "faq/core_strengthening",
    "faq/exercise_endorphins",
    "faq/soft_tissue_mobilization",
    "faq/low_impact_exercise",
}
SCIATICA_REASON = "Sciatica"

# The form's questions, one action each (see `actions.forms.ask_action`).
QUESTIONS: Dict[str, Question] = {
    "booking_name": (
        "I'll take a few details and pass your booking request to our front desk, who will call you "
        "to confirm a time. What's your full name?",
        [{"title": "Stop", "payload": "/stop"}],
    ),
    "booking_phone": ("What phone number can our front desk call you on?", []),
    "booking_email": (
        "What's your e-mail address? This is optional.",
        [{"title": "Skip", "payload": "skip"}],
    ),
    "booking_time": (
        'Which days and times suit you best? For example "weekday mornings" or "next Tuesday after 3".',
        [
            {"title": "Weekday mornings", "payload": "weekday mornings"},
            {"title": "Weekday afternoons", "payload": "weekday afternoons"},
            {"title": "Any time", "payload": "any time"},
        ],
    ),
    "booking_reason": ("What is the main reason for your visit?", []),
    "booking_patient_type": (
        "Are you a new or a returning patient?",
        [
            {"title": "New patient", "payload": "new patient"},
            {"title": "Returning patient", "payload": "returning patient"},
        ],
    ),
    "booking_insurance": (
        "How will you pay? Type the name of your insurance, or pick one:",
        [
            {"title": "Medicare", "payload": "Medicare"},
            {"title": "Self-pay", "payload": "self-pay"},
            {"title": "Skip", "payload": "skip"},
        ],
    ),
}
# While "do you want to stop?" waits for an answer, the form stays quiet.
ASK_ACTIONS = [
    ask_action(slot, question, quiet_when="booking_stop_asked") for slot, question in QUESTIONS.items()
]


def validators(clinic: Clinic, now: datetime) -> Dict[str, Any]:
    """The validator of each field, bound to the clinic and the current time."""
    return {
        "booking_name": validate_name,
        "booking_phone": validate_phone,
        "booking_email": validate_email,
        "booking_time": lambda text: parse_preferred_time(text, clinic, now),
        "booking_reason": validate_reason,
        "booking_patient_type": parse_patient_type,
        "booking_insurance": lambda text: validate_insurance(text, clinic.insurers),
    }


def talked_about_sciatica(events: List[Dict[str, Any]]) -> bool:
    """Tells whether the current session was about sciatica, to pre-fill the visit reason.

    Args:
        events: `tracker.events`. With our tracker store these are the last 5 to 10 user turns
            (components/tracker_store.py), so sciatica mentioned earlier than that is not seen
            and the form asks for the reason instead.

    Returns:
        True if the patient mentioned sciatica or asked a sciatica FAQ in this session.
    """
    session: List[Dict[str, Any]] = []
    for event in events:
        if event.get("event") == "session_started":
            session = []
        elif event.get("event") == "user":
            session.append(event)
    for event in session:
        parse = event.get("parse_data") or {}
        if "sciatic" in str(event.get("text") or "").lower():
            return True
        selected = ((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        if selected.get("intent_response_key") in SCIATICA_TOPICS:
            return True
    return False


def display(slot: str, value: Any) -> str:
    """How a stored value reads in the summary."""
    if value in (None, SKIPPED):
        return "none"
    if slot == "booking_phone":
        return format_phone_for_display(value)
    if slot == "booking_time" and isinstance(value, dict):
        return f"{value.get('summary')} (you wrote: \"{value.get('raw')}\")"
    if slot == "booking_patient_type":
        return "New patient" if value == "new" else "Returning patient"
    if slot == "booking_insurance":
        return {"medicare": "Medicare", "self-pay": "Self-pay"}.get(value, value)
    return str(value)


def summary_text(slots: Dict[str, Any]) -> str:
    """The summary the patient confirms before anything is sent.

    Args:
        slots: Current slot values.

    Returns:
        One line per field, then the confirmation question including consent to be contacted.
    """
    lines = ["Please check your booking request:"]
    lines += [f"{LABELS[slot]}: {display(slot, slots.get(slot))}" for slot in FIELDS]
    phone = display("booking_phone", slots.get("booking_phone"))
    lines.append(
        f"Is this right, and may our front desk contact you at {phone} about this request?"
    )
    return "\n".join(lines)


SUMMARY_BUTTONS = [
    {"title": "Yes, send it", "payload": "Yes, send it"},
    {"title": "Change something", "payload": "Change something"},
    {"title": "No, don't contact me", "payload": "No, don't contact me"},
]
EDIT_BUTTONS = [
    {"title": LABELS[slot], "payload": f"Change the {LABELS[slot].lower()}"} for slot in FIELDS
]


def confirmation_outcome(text: str) -> Dict[str, Any]:
    """Reads the patient's answer to the summary.

    Args:
        text: The answer.

    Returns:
        Slot updates: `booking_confirmed` True (send) or False (no contact wanted); or a field
        reset to None to change it; or `booking_edit` True to show the list of fields;
        empty when the answer is unclear.
    """
    field = mentioned_field(text, FIELD_WORDS)
    if field:
        return {field: None, "booking_confirmed": None, "booking_edit": False}
    consent = parse_consent(text)
    if consent.ok and consent.value is True:
        return {"booking_confirmed": True, "booking_edit": False}
    lowered = text.lower()
    if consent.ok and consent.value is False and ("contact" in lowered or "call" in lowered):
        return {"booking_confirmed": False, "booking_edit": False}
    if consent.ok or any(word in lowered for word in ("change", "wrong", "fix", "edit", "not right")):
        return {"booking_confirmed": None, "booking_edit": True}
    return {}


def booking_details(slots: Dict[str, Any]) -> Dict[str, Any]:
    """The request as stored and sent to the clinic (see docs/booking-integration.md)."""
    time_value = slots.get("booking_time") or {}
    email = slots.get("booking_email")
    insurance = slots.get("booking_insurance")
    return {
        "name": slots.get("booking_name"),
        "phone": slots.get("booking_phone"),
        "email": None if email in (None, SKIPPED) else email,
        "preferred_time_text": time_value.get("raw"),
        "preferred_time": time_value.get("start"),
        "preferred_time_summary": time_value.get("summary"),
        "reason": slots.get("booking_reason"),
        "patient_type": slots.get("booking_patient_type"),
        "insurance": None if insurance in (None, SKIPPED) else display("booking_insurance", insurance),
        "consent": True,
    }


class ActionPrepareBooking(Action):
    """Runs before the form starts: pre-fills the reason when the chat was about sciatica."""

    def name(self) -> str:
        return "action_prepare_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        events: List[Dict[str, Any]] = [SlotSet(slot, None) for slot in CONTROL_SLOTS]
        if tracker.get_slot("booking_reason") is None and talked_about_sciatica(tracker.events):
            events.append(SlotSet("booking_reason", SCIATICA_REASON))
        return events


class ValidateBookingForm(FormValidationAction):
    """Extracts and validates the booking form's answers, corrections and summary decisions."""

    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        if tracker.get_slot("booking_cancelled"):
            return []  # the patient confirmed stopping: the form ends, nothing is sent
        return FIELDS + ["booking_confirmed"]

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        # The answer to "do you want to stop?" is that turn's whole meaning: no field may take it.
        if tracker.get_slot("booking_stop_asked"):
            decision = await self.extract_booking_stop_asked(dispatcher, tracker, domain)
            tracker.slots.update(decision)
            return [SlotSet(slot, value) for slot, value in decision.items()]
        return await super().get_extraction_events(dispatcher, tracker, domain)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        # The SDK only returns required slots; the control slots must reach Rasa too.
        control = {k: v for k, v in tracker.slots_to_validate().items() if k in CONTROL_SLOTS}
        events = await super().get_validation_events(dispatcher, tracker, domain)
        return events + [SlotSet(slot, value) for slot, value in control.items()]

    def _requested(self, tracker: Tracker) -> Optional[str]:
        return tracker.get_slot("requested_slot")

    def _answer(self, tracker: Tracker, slot: str, clinic: Clinic) -> Optional[str]:
        """The message text if it answers `slot`, None if the form is interrupted."""
        if self._requested(tracker) != slot:
            return None
        turn = Turn.from_latest_message(tracker.latest_message)
        validator = validators(clinic, datetime.now(clinic.tz)).get(slot)
        if is_interruption(turn, validator, free_text=slot in FREE_TEXT):
            return None
        return turn.text

    async def extract_booking_stop_asked(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Answer to "do you want to stop?": yes ends the form, no goes on."""
        turn = Turn.from_latest_message(tracker.latest_message)
        if turn.intent == "red_flag":
            return {}
        answer = parse_consent(turn.text)
        if turn.intent in ("affirm", "stop") or (answer.ok and answer.value is True):
            return {"booking_stop_asked": False, "booking_cancelled": True}
        dispatcher.utter_message(text="Okay, let's go on with your booking request.")
        return {"booking_stop_asked": False}

    async def _extract_field(
        self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        clinic = config.clinic()
        text = self._answer(tracker, slot, clinic)
        if text is not None:
            return {slot: text}
        if self._requested(tracker) in (None, slot):
            return {}
        # Not the question being asked: a correction or an early answer in passing.
        turn = Turn.from_latest_message(tracker.latest_message)
        if turn.intent == "red_flag":
            return {}
        found = {
            "booking_phone": find_phone,
            "booking_email": find_email,
            "booking_name": find_name,
        }.get(slot, lambda _text: None)(turn.text)
        if found and validators(clinic, datetime.now(clinic.tz))[slot](found).ok:
            return {slot: found}
        return {}

    async def extract_booking_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Name, asked or corrected ("my name is ...")."""
        return await self._extract_field("booking_name", dispatcher, tracker)

    async def extract_booking_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Phone, asked or corrected (any US number in a message)."""
        return await self._extract_field("booking_phone", dispatcher, tracker)

    async def extract_booking_email(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """E-mail, asked or corrected (any address in a message)."""
        return await self._extract_field("booking_email", dispatcher, tracker)

    async def extract_booking_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Preferred days and times."""
        return await self._extract_field("booking_time", dispatcher, tracker)

    async def extract_booking_reason(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Reason for the visit."""
        return await self._extract_field("booking_reason", dispatcher, tracker)

    async def extract_booking_patient_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """New or returning patient."""
        return await self._extract_field("booking_patient_type", dispatcher, tracker)

    async def extract_booking_insurance(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Insurance, Medicare, self-pay, or skipped."""
        return await self._extract_field("booking_insurance", dispatcher, tracker)

    async def extract_booking_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The answer to the summary (or to the list of fields to change)."""
        if self._requested(tracker) != "booking_confirmed":
            return {}
        turn = Turn.from_latest_message(tracker.latest_message)
        if turn.intent in ALWAYS_INTERRUPT and turn.confidence >= INTERRUPT_CONFIDENCE:
            return {}
        # "change the phone" or "yes" answer the summary whatever intent NLU gave them.
        outcome = confirmation_outcome(turn.text)
        if not outcome and is_interruption(turn):
            return {}
        if not outcome:
            dispatcher.utter_message(
                text="Sorry, I didn't get that. Tap \"Yes, send it\" if everything is right, or "
                "tell me what to change."
            )
            return {"booking_confirmed": None}
        return outcome

    def _validated(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        if value is None or not isinstance(value, str):
            return {slot: value}
        clinic = config.clinic()
        result: ValidationResult[Any] = validators(clinic, datetime.now(clinic.tz))[slot](value)
        if not result.ok:
            dispatcher.utter_message(text=result.message)
            return {slot: None}
        corrected = self._requested(tracker) not in (slot, None) and tracker.get_slot(slot) is not None
        stored = slot_value(result)
        if corrected:
            dispatcher.utter_message(
                text=f"Thanks, I've changed your {LABELS[slot].lower()} to {display(slot, stored)}."
            )
        return {slot: stored}

    async def validate_booking_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The decision was read in `extract_booking_confirmed`; nothing more to check."""
        return {"booking_confirmed": value}

    async def validate_booking_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Checks the name."""
        return self._validated("booking_name", value, dispatcher, tracker)

    async def validate_booking_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Normalises the phone to E.164."""
        return self._validated("booking_phone", value, dispatcher, tracker)

    async def validate_booking_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Checks the e-mail; "skip" is fine."""
        return self._validated("booking_email", value, dispatcher, tracker)

    async def validate_booking_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Parses the preferred time in clinic time; past or closed times are explained."""
        return self._validated("booking_time", value, dispatcher, tracker)

    async def validate_booking_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Checks the reason."""
        return self._validated("booking_reason", value, dispatcher, tracker)

    async def validate_booking_patient_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Reads new or returning."""
        return self._validated("booking_patient_type", value, dispatcher, tracker)

    async def validate_booking_insurance(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Reads the insurance answer."""
        return self._validated("booking_insurance", value, dispatcher, tracker)


class ActionAskBookingConfirmed(Action):
    """Shows the summary (or, after "change something", the list of fields)."""

    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        if tracker.get_slot("booking_stop_asked"):
            return []
        if tracker.get_slot("booking_edit"):
            dispatcher.utter_message(text="What would you like to change?", buttons=EDIT_BUTTONS)
        else:
            dispatcher.utter_message(text=summary_text(tracker.slots), buttons=SUMMARY_BUTTONS)
        return []


class ActionConfirmStopBooking(Action):
    """Asks whether the patient really wants to stop the booking request."""

    def name(self) -> str:
        return "action_confirm_stop_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(
            text="Do you want to stop your booking request? Nothing has been sent yet.",
            buttons=[
                {"title": "Yes, stop", "payload": "Yes, stop"},
                {"title": "No, continue", "payload": "No, continue"},
            ],
        )
        return [SlotSet("booking_stop_asked", True)]


class ActionSubmitBooking(Action):
    """Stores a confirmed request durably, passes it to the clinic and gives the reference."""

    def name(self) -> str:
        return "action_submit_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        clinic = config.clinic()
        later = (
            f'To book later, just say "book an appointment", or call us at {clinic.phone}.'
        )
        if tracker.get_slot("booking_cancelled"):
            dispatcher.utter_message(text=f"Okay, I've stopped. Nothing was sent. {later}")
            return reset_events(FIELDS + CONTROL_SLOTS)
        if tracker.get_slot("booking_confirmed") is not True:
            dispatcher.utter_message(
                text=f"Okay. Without your OK to be contacted I can't pass on the request, so "
                f"nothing was sent. {later}"
            )
            return reset_events(FIELDS + CONTROL_SLOTS)
        details = booking_details(tracker.slots)
        try:
            result = await asyncio.to_thread(submit_request, "booking", tracker.sender_id, details)
        except StorageError:
            logger.exception("booking request could not be stored or spooled")
            dispatcher.utter_message(
                text="I'm sorry, I couldn't save your request because of a problem on our side. "
                f"Please call us at {clinic.phone}, or try again in a few minutes by tapping "
                "\"Send again\".",
                buttons=[{"title": "Send again", "payload": "Yes, send it"}],
            )
            return [SlotSet("booking_confirmed", None)]
        name = str(details["name"]).split()[0]
        dispatcher.utter_message(
            text=f"Thank you, {name}. Your booking request is on its way to our front desk. Your "
            f"reference is {result.reference}. The front desk will call you within one business "
            f"day to confirm a time; your appointment is booked only once they confirm it. If you "
            f"need us sooner, call {clinic.phone}."
        )
        return [SlotSet("booking_reference", result.reference)] + reset_events(FIELDS + CONTROL_SLOTS)
