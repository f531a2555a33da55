"""Plain-text checks shared by the NLU pipeline and the action server (standard library only)."""

from __future__ import annotations

import unicodedata
from typing import Optional

# Messages longer than this are cut before NLU; the full text is still kept in the tracker.
# 1,000 characters is about 170 words, far more than a chat question needs, and it keeps
# tokenising and featurising a pasted essay from slowing the server down.
MAX_MESSAGE_CHARS = 1000


def truncate(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Cuts `text` to at most `limit` characters, at a word boundary where possible.

    Args:
        text: The message.
        limit: Maximum length.

    Returns:
        The text itself if short enough, otherwise its first words.
    """
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


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
