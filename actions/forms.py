"""Shared logic of the forms (booking, callback, change request): answers versus interruptions.

While a form waits for an answer, the patient may instead ask a question, report an emergency,
ask for a person or want to stop. Those messages must not be swallowed as an answer (a red flag
typed while the form asks for the reason of the visit is an emergency, not a reason). These
plain functions decide which is which; the form validation actions only wire them to Rasa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Type

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.validation import ValidationResult
from bts import contact

# Always handled by rules outside the form, whatever the form asked.
ALWAYS_INTERRUPT = {"red_flag", "stop", "request_handoff", "change_appointment"}
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


@dataclass(frozen=True)
class Turn:
    """The patient's latest message, as the forms see it.

    Attributes:
        text: What the patient typed (or the button payload).
        intent: Predicted intent name.
        confidence: Confidence of the intent.
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
            # The classifier alone thought of an emergency (components/nlu.py made it a fallback).
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
    r"^(what|what's|whats|how|when|where|why|who|which|do|does|did|can|could|is|are|should|will|"
    r"would|may|tell me|i want to know|i'd like to know|i was wondering|wondering)\b",
    re.IGNORECASE,
)


def looks_like_question(text: str) -> bool:
    """Tells whether a message is phrased as a question or a request for information."""
    stripped = text.strip()
    return stripped.endswith("?") or bool(_QUESTION_START.match(stripped))


def slot_value(result: ValidationResult[Any]) -> Any:
    """The value to store for a valid answer; `SKIPPED` for a skipped optional answer."""
    return SKIPPED if result.value is None else result.value


_NAME = re.compile(r"\bmy name is\s+(.+)$", re.IGNORECASE)


def find_phone(text: str) -> Optional[str]:
    """The first thing in `text` that looks like a phone number, if any (see `bts.contact`)."""
    return contact.find_phone(text)


def find_email(text: str) -> Optional[str]:
    """The first e-mail address in `text`, if any (see `bts.contact`)."""
    return contact.find_email(text)


def find_name(text: str) -> Optional[str]:
    """The name in "my name is ...", if the patient said it that way."""
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
        if any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in words):
            return slot
    return None


def reset_events(slots: Iterable[str]) -> List[Dict[str, Any]]:
    """`SlotSet(slot, None)` events for every slot, as plain dicts."""
    return [{"event": "slot", "timestamp": None, "name": slot, "value": None} for slot in slots]


Question = Tuple[str, List[Dict[str, str]]]


def ask_action(slot: str, question: Question, quiet_when: Optional[str] = None) -> Type[Action]:
    """Makes the `action_ask_<slot>` action a form uses to ask for `slot`.

    Forms could ask with `utter_ask_<slot>` responses, but `rasa data validate` reports those as
    unused, so the questions are actions.

    Args:
        slot: The slot the question fills.
        question: Text and buttons.
        quiet_when: A slot; while it is true, the action asks nothing.

    Returns:
        An `Action` subclass named after the slot.
    """
    text, buttons = question

    class AskAction(Action):
        def name(self) -> str:
            return f"action_ask_{slot}"

        async def run(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> List[Dict[str, Any]]:
            if not (quiet_when and tracker.get_slot(quiet_when)):
                dispatcher.utter_message(text=text, buttons=buttons)
            return []

    AskAction.__name__ = AskAction.__qualname__ = "ActionAsk" + "".join(
        part.capitalize() for part in slot.split("_")
    )
    return AskAction
