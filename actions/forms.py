"""One pattern for the forms (booking, callback, change request): a table of slot -> validator.

While a form waits for an answer, the patient may instead ask a question, report an emergency, ask for a
person or want to stop. Those messages must not be swallowed as an answer (a red flag typed while the form
asks for the reason of the visit is an emergency, not a reason). `is_interruption` decides which is which;
`TableForm` reads the requested slot's answer, validates it with the slot's validator and says why an
answer was refused, using the response the validator named, in the conversation's language.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, ClassVar, Dict, FrozenSet, Iterable, List, Mapping, Optional, Type

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bts import clinic as clinic_file
from bts import contact
from bts.clinic import Clinic
from bts.validation import ValidationResult
from bts.validation.words import language_of

# Always handled by rules outside the form, whatever the form asked.
ALWAYS_INTERRUPT = {"red_flag", "stop", "request_handoff", "change_appointment", "set_language"}
# Answered by rules, after which the form asks its question again; only when the message is not
# a valid answer to the question (a phone number is never an "ask_contact" question).
INTERRUPTIONS = {
    "faq",
    "ask_hours",
    "ask_location",
    "ask_contact",
    "ask_languages",
    "ask_insurance",
    "ask_cost",
    "ask_diagnosis",
    "bot_challenge",
    "what_can_you_do",
    "out_of_scope",
    "book_appointment",
}
INTERRUPT_CONFIDENCE = 0.6
# Value of an optional slot the patient skipped: a form treats an empty slot as "still to ask".
SKIPPED = "none"

Validator = Callable[[str], ValidationResult[Any]]


def language(tracker: Tracker) -> str:
    """The conversation's language ("en" or "es")."""
    return language_of(tracker.get_slot("language"))


def say(dispatcher: CollectingDispatcher, result: ValidationResult[Any]) -> None:
    """Tells the patient why an answer was refused (the response the validator named)."""
    dispatcher.utter_message(response=result.message, **result.values)


@dataclass(frozen=True)
class Turn:
    """The patient's latest message, as the forms see it.

    Attributes:
        text: What the patient typed (or the button payload).
        intent: Predicted intent name.
        confidence: Confidence of the intent.
        possible_red_flag: The classifier alone thought of an emergency.
    """

    text: str
    intent: str
    confidence: float
    possible_red_flag: bool = False

    @classmethod
    def from_latest_message(cls, latest: Dict[str, Any]) -> Turn:
        """Builds a turn from `tracker.latest_message`."""
        intent = latest.get("intent") or {}
        ranking = [r for r in latest.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
        return cls(
            text=str(latest.get("text") or ""),
            intent=str(intent.get("name") or ""),
            confidence=float(intent.get("confidence") or 0.0),
            # components/nlu.py turned the classifier's red_flag guess into a fallback.
            possible_red_flag=intent.get("name") == "nlu_fallback"
            and bool(ranking)
            and ranking[0].get("name") == "red_flag",
        )


def is_interruption(turn: Turn, validator: Optional[Validator] = None, free_text: bool = False) -> bool:
    """Tells whether the message interrupts the form instead of answering its question.

    Args:
        turn: The patient's message.
        validator: Validator of the requested slot; a valid answer is never an interruption
            (except red flags, stop and handoff requests).
        free_text: True for questions any text can answer (name, reason): then a confident
            question intent wins over validity, so "what are your hours" is not taken as a name.

    Returns:
        True if rules should handle the message.
    """
    if turn.intent == "red_flag" or turn.possible_red_flag:
        return True
    if turn.intent in ALWAYS_INTERRUPT and turn.confidence >= INTERRUPT_CONFIDENCE:
        return True
    if turn.text.startswith("/"):
        return True  # an intent button (e.g. "Opening hours") pressed during the form
    question = turn.intent in INTERRUPTIONS and turn.confidence >= INTERRUPT_CONFIDENCE
    if free_text:
        # "lower back pain" answers "what is the reason for your visit?" even though it reads
        # like an FAQ topic; only a message phrased as a question interrupts a free-text answer.
        return question and looks_like_question(turn.text)
    if validator is not None and validator(turn.text).ok:
        return False
    return question


_QUESTION_START = re.compile(
    r"^(?:¿|what|what's|whats|how|when|where|why|who|which|do|does|did|can|could|is|are|should|will|"
    r"would|may|tell me|i want to know|i'd like to know|i was wondering|wondering|qu[eé]|c[oó]mo|"
    r"cu[aá]nd[oa]|d[oó]nde|por\s+qu[eé]|qui[eé]n|cu[aá]l|cu[aá]nto|tienen|aceptan|hay|puedo|pueden|"
    r"necesito\s+saber|quiero\s+saber)\b",
    re.IGNORECASE,
)


def looks_like_question(text: str) -> bool:
    """Tells whether a message is phrased as a question or a request for information."""
    stripped = text.strip()
    return stripped.endswith("?") or stripped.startswith("¿") or bool(_QUESTION_START.match(stripped))


def slot_value(result: ValidationResult[Any]) -> Any:
    """The value to store for a valid answer; `SKIPPED` for a skipped optional answer."""
    return SKIPPED if result.value is None else result.value


_NAME = re.compile(r"\b(?:my name is|me llamo|mi nombre es)\s+(.+)$", re.IGNORECASE)


def find_phone(text: str) -> Optional[str]:
    """The first thing in `text` that looks like a phone number, if any (see `bts.contact`)."""
    return contact.find_phone(text)


def find_email(text: str) -> Optional[str]:
    """The first e-mail address in `text`, if any (see `bts.contact`)."""
    return contact.find_email(text)


def find_name(text: str) -> Optional[str]:
    """The name in "my name is ..." / "me llamo ...", if the patient said it that way."""
    match = _NAME.search(text.strip())
    return match.group(1).strip().rstrip(".!") if match else None


def mentioned_field(text: str, keywords: Mapping[str, Iterable[str]]) -> Optional[str]:
    """Finds which field a patient wants to change ("change the phone" -> the phone slot).

    Args:
        text: The patient's message.
        keywords: Slot name -> words that name it.

    Returns:
        The first slot whose keyword appears as a word, or None.
    """
    lowered = text.lower()
    for slot, words in keywords.items():
        if any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", lowered) for word in words):
            return slot
    return None


def reset_events(slots: Iterable[str]) -> List[Dict[str, Any]]:
    """`SlotSet(slot, None)` events for every slot, as plain dicts."""
    return [SlotSet(slot, None) for slot in slots]


def ask_action(slot: str, quiet_when: Optional[str] = None) -> Type[Action]:
    """Makes the `action_ask_<slot>` action that asks for `slot` with the response `utter_ask_<slot>`.

    Args:
        slot: The slot the question fills.
        quiet_when: A slot; while it is true, the action asks nothing.

    Returns:
        An `Action` subclass named after the slot.
    """

    class AskAction(Action):
        def name(self) -> str:
            return f"action_ask_{slot}"

        async def run(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> List[Dict[str, Any]]:
            if not (quiet_when and tracker.get_slot(quiet_when)):
                dispatcher.utter_message(response=f"utter_ask_{slot}")
            return []

    AskAction.__name__ = AskAction.__qualname__ = "ActionAsk" + "".join(
        part.capitalize() for part in slot.split("_")
    )
    return AskAction


class TableForm(FormValidationAction, ABC):
    """A form whose slots are read and checked through one table of validators.

    A subclass lists its `fields` and returns their validators from `validators`. The requested slot
    takes the message unless it interrupts the form; `in_passing` may take a correction of another slot
    ("actually my number is ..."). Each new value is validated; a refused one is explained and asked
    again. Other slots the form sets (`control_slots`) pass through unchecked.
    """

    fields: ClassVar[List[str]] = []
    free_text: ClassVar[FrozenSet[str]] = frozenset()
    control_slots: ClassVar[List[str]] = []

    @abstractmethod
    def validators(self, clinic: Clinic, now: datetime, lang: str) -> Dict[str, Validator]:
        """The validator of each field."""

    def validator(self, slot: str, tracker: Tracker) -> Validator:
        """The validator of `slot` for this conversation, now."""
        clinic = clinic_file.current()
        return self.validators(clinic, datetime.now(clinic.tz), language(tracker))[slot]

    def in_passing(self, slot: str, turn: Turn, tracker: Tracker) -> Optional[str]:
        """A value for `slot` given while another slot was asked; none by default."""
        return None

    def accepted(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        """Slot updates for an accepted value (a subclass may confirm a correction)."""
        return {slot: value}

    async def extract(self, slot: str, tracker: Tracker) -> Dict[str, Any]:
        """The message as the answer to `slot`, unless it interrupts the form."""
        requested = tracker.get_slot("requested_slot")
        turn = Turn.from_latest_message(tracker.latest_message)
        if requested != slot:
            if requested is None or turn.intent == "red_flag" or turn.possible_red_flag:
                return {}
            found = self.in_passing(slot, turn, tracker)
            return {slot: found} if found and self.validator(slot, tracker)(found).ok else {}
        if is_interruption(turn, self.validator(slot, tracker), free_text=slot in self.free_text):
            return {}
        return {slot: turn.text}

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        found: Dict[str, Any] = {}
        for slot in await self.required_slots(self.fields, dispatcher, tracker, domain):
            if slot in self.fields:
                values = await self.extract(slot, tracker)
                found.update(values)
                tracker.slots.update(values)
        return [SlotSet(slot, value) for slot, value in found.items()]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        checked: Dict[str, Any] = {}
        for slot, value in tracker.slots_to_validate().items():
            if slot in self.fields and isinstance(value, str) and value != SKIPPED:
                result = self.validator(slot, tracker)(value)
                if result.ok:
                    checked.update(self.accepted(slot, slot_value(result), dispatcher, tracker))
                else:
                    say(dispatcher, result)
                    checked[slot] = None
            elif slot in self.fields or slot in self.control_slots:
                checked[slot] = value
            tracker.slots.update(checked)
        return [SlotSet(slot, value) for slot, value in checked.items()]
