"""Booking requests: `booking_form`, its summary and confirmation, and durable submission.

The form asks one thing at a time; the patient can correct any detail at any time ("actually my
number is ...", "no, mi número es ..."), or at the summary ("change the phone"), and is then brought
back to the summary. A confirmed request is checked again field by field, stored and passed to the
clinic through the outbox; the patient gets a reference to quote. The assistant never says an
appointment is booked: the front desk confirms it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, ClassVar, Dict, FrozenSet, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.display import display, plain
from actions.display import word as label
from actions.forms import (
    ALWAYS_INTERRUPT,
    INTERRUPT_CONFIDENCE,
    SKIPPED,
    TableForm,
    Turn,
    Validator,
    ask_action,
    find_email,
    find_name,
    find_phone,
    is_interruption,
    language,
    mentioned_field,
    reset_events,
)
from actions.submission import SUBMITTED, recheck
from bts import clinic as clinic_file
from bts.booking.api import submit_request
from bts.booking.records import StorageError
from bts.clinic import Clinic
from bts.validation import (
    parse_consent,
    parse_patient_type,
    parse_preferred_time,
    validate_email,
    validate_insurance,
    validate_name,
    validate_phone,
    validate_reason,
)

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
# Words a patient uses to name a field: "change the phone", "mi correo está mal".
FIELD_WORDS = {
    "booking_phone": ("phone", "number", "cell", "mobile", "teléfono", "telefono", "número", "numero",
                      "celular"),
    "booking_email": ("email", "e-mail", "mail", "correo"),
    "booking_name": ("name", "nombre"),
    "booking_time": ("time", "day", "date", "when", "schedule", "times", "horario", "hora", "día", "fecha"),
    "booking_reason": ("reason", "motivo", "razón", "razon"),
    "booking_patient_type": ("returning", "new patient", "patient type", "nuevo", "de regreso"),
    "booking_insurance": ("insurance", "medicare", "pay", "payment", "self-pay", "insurer", "seguro",
                          "aseguranza", "pago"),
}
FREE_TEXT = frozenset({"booking_name", "booking_reason"})
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
# The pre-filled reason is stored for the front desk, so it stays the same word in both languages.
SCIATICA_REASON = "Sciatica"
_CHANGE_WORDS = ("change", "wrong", "fix", "edit", "not right", "cambiar", "cambio", "mal", "corregir")
_NO_CONTACT_WORDS = ("contact", "call", "llamen", "llame", "contacten", "llamar")

# While "do you want to stop?" waits for an answer, the form stays quiet.
ASK_ACTIONS = [ask_action(slot, quiet_when="booking_stop_asked") for slot in FIELDS]


def validators(clinic: Clinic, now: datetime, lang: str = "en") -> Dict[str, Validator]:
    """The validator of each field, bound to the clinic, the current time and the language."""
    return {
        "booking_name": validate_name,
        "booking_phone": validate_phone,
        "booking_email": validate_email,
        "booking_time": lambda text: parse_preferred_time(text, clinic, now, lang),
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
        True if the patient mentioned sciatica ("ciática") or asked a sciatica FAQ in this session.
    """
    session: List[Dict[str, Any]] = []
    for event in events:
        if event.get("event") == "session_started":
            session = []
        elif event.get("event") == "user":
            session.append(event)
    for event in session:
        parse = event.get("parse_data") or {}
        text = str(event.get("text") or "").lower()
        if "sciatic" in text or "ciátic" in text or "ciatic" in text:
            return True
        selected = ((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}
        if selected.get("intent_response_key") in SCIATICA_TOPICS:
            return True
    return False


def summary_values(slots: Dict[str, Any], lang: str) -> Dict[str, str]:
    """The values of `utter_booking_summary`: every field as it reads, the patient's text made plain."""
    when = slots.get("booking_time")
    return {
        "name": display("booking_name", slots.get("booking_name"), lang),
        "phone": display("booking_phone", slots.get("booking_phone"), lang),
        "email": display("booking_email", slots.get("booking_email"), lang),
        "when": display("booking_time", when, lang),
        "when_raw": plain(when.get("raw") if isinstance(when, dict) else ""),
        "reason": display("booking_reason", slots.get("booking_reason"), lang),
        "patient_type": display("booking_patient_type", slots.get("booking_patient_type"), lang),
        "insurance": display("booking_insurance", slots.get("booking_insurance"), lang),
    }


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
    if consent.ok and consent.value is False and any(word in lowered for word in _NO_CONTACT_WORDS):
        return {"booking_confirmed": False, "booking_edit": False}
    if consent.ok or any(word in lowered for word in _CHANGE_WORDS):
        return {"booking_confirmed": None, "booking_edit": True}
    return {}


def booking_details(slots: Dict[str, Any], lang: str = "en") -> Dict[str, Any]:
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
        "insurance": None if insurance in (None, SKIPPED) else display("booking_insurance", insurance, "en"),
        "language": lang,
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


class ValidateBookingForm(TableForm):
    """Reads and checks the booking form's answers, corrections and summary decisions."""

    fields: ClassVar[List[str]] = FIELDS
    free_text: ClassVar[FrozenSet[str]] = FREE_TEXT
    control_slots: ClassVar[List[str]] = CONTROL_SLOTS

    def name(self) -> str:
        return "validate_booking_form"

    def validators(self, clinic: Clinic, now: datetime, lang: str) -> Dict[str, Validator]:
        return validators(clinic, now, lang)

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

    def in_passing(self, slot: str, turn: Turn, tracker: Tracker) -> Optional[str]:
        finders = {"booking_phone": find_phone, "booking_email": find_email, "booking_name": find_name}
        finder = finders.get(slot)
        return finder(turn.text) if finder else None

    def accepted(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") not in (slot, None):
            lang = language(tracker)
            dispatcher.utter_message(
                response="utter_booking_changed", field=label(slot, lang), value=display(slot, value, lang)
            )
        return {slot: value}

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        # The answer to "do you want to stop?" is that turn's whole meaning: no field may take it.
        if tracker.get_slot("booking_stop_asked"):
            decision = self.stop_decision(dispatcher, tracker)
        else:
            events = await super().get_extraction_events(dispatcher, tracker, domain)
            decision = self.summary_decision(dispatcher, tracker)
            if not decision:
                return events
            # "no, my number is ..." at the summary: the new number was just read, keep it.
            given = {event["name"] for event in events}
            decision = {slot: value for slot, value in decision.items() if slot not in given}
            events += [SlotSet(slot, value) for slot, value in decision.items()]
            tracker.slots.update(decision)
            return events
        tracker.slots.update(decision)
        return [SlotSet(slot, value) for slot, value in decision.items()]

    def stop_decision(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        """Answer to "do you want to stop?": yes ends the form, no goes on."""
        turn = Turn.from_latest_message(tracker.latest_message)
        if turn.intent == "red_flag":
            return {}
        answer = parse_consent(turn.text)
        if turn.intent in ("affirm", "stop") or (answer.ok and answer.value is True):
            return {"booking_stop_asked": False, "booking_cancelled": True}
        dispatcher.utter_message(response="utter_booking_go_on")
        return {"booking_stop_asked": False}

    def summary_decision(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        """The answer to the summary (or to the list of fields to change)."""
        if tracker.get_slot("requested_slot") != "booking_confirmed":
            return {}
        turn = Turn.from_latest_message(tracker.latest_message)
        if turn.intent in ALWAYS_INTERRUPT and turn.confidence >= INTERRUPT_CONFIDENCE:
            return {}
        # "change the phone" or "yes" answer the summary whatever intent NLU gave them.
        outcome = confirmation_outcome(turn.text)
        if not outcome and is_interruption(turn):
            return {}
        if not outcome:
            dispatcher.utter_message(response="utter_booking_unclear")
            return {"booking_confirmed": None}
        return outcome


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
            dispatcher.utter_message(response="utter_booking_edit")
        else:
            dispatcher.utter_message(
                response="utter_booking_summary", **summary_values(tracker.slots, language(tracker))
            )
        return []


class ActionConfirmStopBooking(Action):
    """Asks whether the patient really wants to stop the booking request."""

    def name(self) -> str:
        return "action_confirm_stop_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        dispatcher.utter_message(response="utter_booking_confirm_stop")
        return [SlotSet("booking_stop_asked", True)]


class ActionSubmitBooking(Action):
    """Checks a confirmed request again, stores it durably, passes it on and gives the reference."""

    def name(self) -> str:
        return "action_submit_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        clinic = clinic_file.current()
        lang = language(tracker)
        done = reset_events(FIELDS + CONTROL_SLOTS)
        if tracker.get_slot("booking_cancelled"):
            dispatcher.utter_message(response="utter_booking_stopped", phone=clinic.phone)
            return done
        if tracker.get_slot("booking_confirmed") is not True:
            dispatcher.utter_message(response="utter_booking_no_consent", phone=clinic.phone)
            return done
        # Slots can be forged by whoever reaches the action server: never store what was not checked here.
        slots, refused = recheck(tracker.slots, validators(clinic, datetime.now(clinic.tz), lang), FIELDS)
        if refused:
            names = ", ".join(label(slot, lang) for slot in refused)
            dispatcher.utter_message(response="utter_booking_refused", fields=names, phone=clinic.phone)
            return done
        details = booking_details(slots, lang)
        try:
            result = await asyncio.to_thread(submit_request, "booking", tracker.sender_id, details)
        except StorageError:
            logger.exception("booking request could not be stored or spooled")
            dispatcher.utter_message(response="utter_booking_save_failed", phone=clinic.phone)
            return [SlotSet("booking_confirmed", None)]
        first_name = plain(str(details["name"]).split()[0])
        dispatcher.utter_message(
            response="utter_booking_submitted", first_name=first_name, reference=result.reference,
            phone=clinic.phone,
        )
        dispatcher.utter_message(json_message=SUBMITTED)
        return [SlotSet("booking_reference", result.reference)] + done
