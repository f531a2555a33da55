"""Simulated patients for the scale test: REST conversations through nginx, and a booking.

The booking patient follows whatever the assistant asks: it recognises the question by its
words, presses a button whose title fits the answer when there is one (its payload is sent, as
the widget does), and otherwise types the answer. So the test does not depend on the exact
wording of the form.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from bts.bench.client import Reply, RestClient

REFERENCE = re.compile(r"\bBTS-[2-9A-HJ-NP-Z]{4,8}\b")

# (words of the question, words of a fitting button title, text to type otherwise); the first
# match wins, so more specific questions come first ("What's your full name?" also says "time").
ANSWERS: Sequence[Tuple[Tuple[str, ...], Tuple[str, ...], str]] = (
    (("full name", "your name"), (), "Pat Example"),
    (("insurance", "how will you pay"), ("medicare",), "Medicare"),
    (("new or", "returning patient"), ("new",), "new patient"),
    (("e-mail", "email"), ("skip",), "skip"),
    (("phone",), (), "(575) 555-0142"),
    (("days and times", "what time", "which day", "when would", "when can", "preferred time"), (),
     "next Tuesday at 10am"),
    (("reason",), (), "sciatica"),
)
CONFIRM = ("yes", "send", "confirm", "correct")


@dataclass
class Turn:
    """One message of a conversation and what came of it."""

    text: str
    reply: Reply
    at: float
    attempt: int


@dataclass
class Conversation:
    """What one simulated patient sent and received."""

    sender: str
    turns: List[Turn] = field(default_factory=list)
    reference: Optional[str] = None
    booking_transcript: List[str] = field(default_factory=list)

    @property
    def failures(self) -> List[Turn]:
        """Turns that got an error or an empty reply."""
        return [t for t in self.turns if not t.reply.ok or not t.reply.messages]

    @property
    def answered(self) -> List[str]:
        """Texts that got a proper reply, in order."""
        return [t.text for t in self.turns if t.reply.ok and t.reply.messages]


class Patient:
    """Sends messages of one conversation, retrying a failed message a few times.

    Args:
        client: The REST client (its own source address: one client per patient).
        sender: The conversation id.
        think_s: Pause before each message, as a person reads and types.
    """

    def __init__(self, client: RestClient, sender: str, think_s: float = 0.3, retries: int = 5) -> None:
        self.client = client
        self.conversation = Conversation(sender)
        self.think_s = think_s
        self.retries = retries
        self.lock = threading.Lock()

    def say(self, text: str) -> Reply:
        """Sends `text`; on an error or empty reply waits a second and sends it again."""
        time.sleep(self.think_s)
        reply = Reply(0.0, 0, error="not sent")
        for attempt in range(1, self.retries + 1):
            reply = self.client.send(self.conversation.sender, text)
            self.conversation.turns.append(Turn(text, reply, time.monotonic(), attempt))
            if reply.ok and reply.messages:
                return reply
            time.sleep(1.0)
        return reply


def next_answer(messages: List[Dict[str, Any]]) -> Optional[str]:
    """What the booking patient says next, given the assistant's last reply (None: no idea)."""
    if not messages:
        return None
    last = messages[-1]
    text = str(last.get("text") or "").lower()
    buttons = last.get("buttons") or []
    everything = " ".join(str(m.get("text") or "") for m in messages).lower()

    def button(words: Sequence[str]) -> Optional[str]:
        for item in buttons:
            title = str(item.get("title") or "").lower()
            if any(word in title for word in words):
                return str(item.get("payload") or item.get("title"))
        return None

    # The summary lists every field; it asks for a confirmation (and consent).
    if "name:" in everything and "phone:" in everything:
        return button(CONFIRM) or "yes"
    for question_words, button_words, typed in ANSWERS:
        if any(word in text for word in question_words):
            return (button(button_words) if button_words else None) or typed
    confirmations = ("consent", "is that right", "is this correct", "shall i send", "okay to")
    if any(word in text for word in confirmations):
        return button(CONFIRM) or "yes"
    return None


def book(patient: Patient, on_answer: Callable[[int], None] = lambda n: None,
         max_answers: int = 14) -> Optional[str]:
    """Books an appointment; returns the reference, or None if the form never finished.

    Args:
        patient: The booking patient.
        on_answer: Called with the number of answers given so far, after each one (the test
            kills and restarts a replica in the middle of the form this way).
        max_answers: Give up after this many answers.
    """
    conversation = patient.conversation
    reply = patient.say("I'd like to book an appointment")
    conversation.booking_transcript += ["> I'd like to book an appointment"] + [f"< {t}" for t in reply.texts]
    for number in range(1, max_answers + 1):
        found = next((REFERENCE.search(t) for t in reply.texts if REFERENCE.search(t)), None)
        if found:
            conversation.reference = found.group(0)
            return conversation.reference
        answer = next_answer(reply.messages)
        if answer is None:
            return None
        reply = patient.say(answer)
        conversation.booking_transcript += [f"> {answer}"] + [f"< {t}" for t in reply.texts]
        on_answer(number)
    return None
