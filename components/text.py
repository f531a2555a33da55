"""Plain-text checks shared by the NLU pipeline and the action server."""

from __future__ import annotations

import unicodedata
from typing import Optional

from bts.runtime.channels import limits as _limits

# The channels cut messages to this length before Rasa stores them; `InputGuard` cuts again
# before NLU for messages that arrive another way.
MAX_MESSAGE_CHARS = _limits.MAX_MESSAGE_CHARS
truncate = _limits.truncate


def classify_text(text: Optional[str]) -> str:
    """Sorts a message into a kind of input, to answer the ones NLU cannot use.

    Args:
        text: The raw message text.

    Returns:
        "empty" (nothing or only spaces), "no_words" (emoji, punctuation), "non_latin"
        (letters, but none of them Latin) or "text".
    """
    stripped = (text or "").strip()
    if not stripped:
        return "empty"
    letters = [ch for ch in stripped if ch.isalpha()]
    if not letters:
        return "no_words"
    if not any("LATIN" in unicodedata.name(ch, "") for ch in letters):
        return "non_latin"
    return "text"
