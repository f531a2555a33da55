"""What a message may be before Rasa sees it, and how many a chat may send."""

from __future__ import annotations

import collections
import re
import time
from typing import Callable, Deque, Dict

# Messages longer than this are cut before they are stored: about 170 words, far more than a
# chat question needs, and it keeps a pasted essay from slowing the server or filling the store.
MAX_MESSAGE_CHARS = 1000
CUT_MARKER = "[message cut]"

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls but tab and newlines (PostgreSQL refuses NUL in text), and DEL.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadMessage(ValueError):
    """A message that cannot be handed to Rasa; the text says why, for the client."""


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


def clean_message(value: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The text to hand to Rasa for a message as a client sent it.

    Lone surrogates (which no encoder accepts) become U+FFFD, control characters are dropped, and
    a text over `limit` characters is cut and marked with `CUT_MARKER`.

    Args:
        value: The `message` field as received.
        limit: Maximum length before the marker.

    Returns:
        The cleaned text.

    Raises:
        BadMessage: If `value` is not a string.
    """
    if not isinstance(value, str):
        raise BadMessage(f"'message' must be a string, not {type(value).__name__}")
    text = _CONTROL.sub("", _LONE_SURROGATE.sub("\ufffd", value))
    if len(text) > limit:
        text = f"{truncate(text, limit)} {CUT_MARKER}"
    return text


class RateLimiter:
    """At most `max_events` per `window_s` seconds for each key (a sliding window).

    Args:
        max_events: Events allowed in any window.
        window_s: The window's length in seconds.
        clock: Monotonic seconds (replaceable in tests).
        max_keys: Keys remembered at most; the oldest are forgotten first.
    """

    def __init__(
        self,
        max_events: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.max_events = max_events
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._events: Dict[str, Deque[float]] = collections.OrderedDict()

    def allow(self, key: str) -> bool:
        """Records an event for `key` if the window has room; returns whether it had."""
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = collections.deque()
            while len(self._events) > self._max_keys:
                self._events.pop(next(iter(self._events)))
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if len(events) >= self.max_events:
            return False
        events.append(now)
        return True

    def forget(self, key: str) -> None:
        """Drops a key's history (e.g. when its socket disconnects)."""
        self._events.pop(key, None)
