"""Finds the separate questions in one message, so that the others can be offered as buttons.

Patients often ask two things at once ("how long is a session? and do you take medicare"). The
assistant answers the intent NLU found for the whole message; the other questions can then be
offered as buttons whose payload is the patient's own question, which goes through NLU when
tapped. Standard library only (shared by the action server and the evaluation).
"""

from __future__ import annotations

import re
from typing import List

# Where a new question starts: after a question mark, or at a spoken joint such as "also" or
# "another question" that follows a sentence or a comma.
_BREAK = re.compile(
    r"(?<=\?)\s+"
    r"|(?:[.;!]|,)\s*(?=(?:and\s+)?(?:also|plus|another question|one more (?:thing|question)|oh and)\b)"
    r"|\s+(?=(?:and\s+)?also\b(?:,)?\s+(?:do|does|is|are|can|could|how|what|when|where|will|should)\b)",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"^(?:and\s+)?(?:also|plus|another question|one more (?:thing|question)|oh and)[\s,:]*", re.IGNORECASE
)
_QUESTION_WORD = re.compile(
    r"^(?:do|does|did|is|are|can|could|how|what|when|where|which|who|why|will|would|should|may)\b", re.I
)
MIN_WORDS = 3
MAX_PARTS = 3


def split_questions(text: str) -> List[str]:
    """Splits a message into the questions it asks, in order.

    Args:
        text: The patient's message.

    Returns:
        The questions (at least one: the whole message when it asks one thing). A part counts as
        its own question when it has a question mark or starts with a question word and has at
        least three words; other parts stay with a neighbouring question.
    """
    parts: List[str] = []
    for raw in _BREAK.split(text or ""):
        part = _LEAD.sub("", (raw or "").strip(" ,;.")).strip()
        if not part:
            continue
        asks = part.endswith("?") or bool(_QUESTION_WORD.match(part))
        if parts and (not asks or len(part.split()) < MIN_WORDS):
            parts[-1] = f"{parts[-1]} {part}"
        else:
            parts.append(part)
    if len(parts) > 1 and len(parts[0].split()) < MIN_WORDS:  # "hi? are you there"
        parts[:2] = [f"{parts[0]} {parts[1]}"]
    return parts[:MAX_PARTS] or [(text or "").strip()]


def other_questions(text: str) -> List[str]:
    """The questions of a message after its first one (the one the assistant answers)."""
    return split_questions(text)[1:]
