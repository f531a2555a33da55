"""Message cleaning, the rate limiter and signed session ids, on their own."""

from __future__ import annotations

import pytest

from bts.env import SettingsError
from bts.runtime.channels.limits import (
    CUT_MARKER,
    MAX_MESSAGE_CHARS,
    BadMessage,
    RateLimiter,
    clean_message,
    truncate,
)
from bts.runtime.channels.sessions import SessionIds, looks_signed


def test_long_messages_are_cut_at_a_word_and_marked() -> None:
    text = "back pain " * 300
    cleaned = clean_message(text)
    assert cleaned.endswith(" " + CUT_MARKER)
    body = cleaned.removesuffix(" " + CUT_MARKER)
    assert len(body) <= MAX_MESSAGE_CHARS and text.startswith(body) and body.endswith("pain")
    assert clean_message("x" * MAX_MESSAGE_CHARS) == "x" * MAX_MESSAGE_CHARS
    assert truncate("a" * 1500) == "a" * MAX_MESSAGE_CHARS


def test_lone_surrogates_are_repaired_and_control_characters_dropped() -> None:
    assert clean_message("pain \ud83d here \udc00") == "pain \ufffd here \ufffd"
    assert clean_message("a\x00b\x07c\x7f\td\ne") == "abc\td\ne"
    assert clean_message("ok 😀").encode("utf-8")  # real emoji stay as they are


@pytest.mark.parametrize("value", [5, 1.5, None, ["hi"], {"text": "hi"}, b"hi"])
def test_anything_but_a_string_is_refused(value: object) -> None:
    with pytest.raises(BadMessage, match="'message' must be a string"):
        clean_message(value)


def test_the_rate_limiter_allows_a_burst_per_window_per_key() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 10.0, clock=lambda: now[0], max_keys=2)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")
    now[0] = 10.5
    assert limiter.allow("a")  # the window moved on
    limiter.allow("c")  # a third key: the oldest is forgotten, memory stays bounded
    assert len(limiter._events) == 2


def test_session_ids_are_signed_and_checked_in_form_and_signature() -> None:
    ids = SessionIds(b"k" * 48)
    issued = ids.issue()
    assert looks_signed(issued) and ids.verify(issued)
    assert issued != ids.issue()
    assert not SessionIds(b"j" * 48).verify(issued)
    assert not ids.verify(issued.replace("s1.", "s2."))
    assert not ids.verify(None) and not ids.verify("0" * 32) and not ids.verify(issued + "x")


def test_the_session_secret_is_required_outside_dev() -> None:
    with pytest.raises(SettingsError, match="BTS_SESSION_SECRET is not set"):
        SessionIds.from_env({})
    with pytest.raises(SettingsError, match="at least 32 characters"):
        SessionIds.from_env({"BTS_SESSION_SECRET": "short"})
    dev = SessionIds.from_env({"BTS_PROFILE": "dev"})
    assert dev.verify(dev.issue())
    shared = {"BTS_SESSION_SECRET": "x" * 40}
    assert SessionIds.from_env(shared).verify(SessionIds.from_env(shared).issue())  # every replica
