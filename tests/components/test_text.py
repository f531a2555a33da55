"""Tests of components/text.py."""

from __future__ import annotations

import pytest

from components.text import MAX_MESSAGE_CHARS, classify_text, truncate


def test_truncate_cuts_at_a_word_boundary() -> None:
    text = "sciatica " * 200
    cut = truncate(text)
    assert len(cut) <= MAX_MESSAGE_CHARS and cut.endswith("sciatica")


def test_truncate_cuts_a_single_huge_word_hard() -> None:
    assert len(truncate("x" * 5000)) == MAX_MESSAGE_CHARS


def test_short_text_is_unchanged() -> None:
    assert truncate("hi") == "hi"


@pytest.mark.parametrize(
    "text, kind",
    [(None, "empty"), ("", "empty"), (" \n", "empty"), ("👍", "no_words"), ("123 ?!", "no_words"),
     ("ишиас", "non_latin"), ("ciática", "text"), ("hi 👋", "text"), ("<b>x</b>", "markup")],
)
def test_classify_text(text: str, kind: str) -> None:
    assert classify_text(text) == kind


@pytest.mark.parametrize(
    "text",
    ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</div>", "<a href='x'>click</a>",
     "javascript:alert(document.cookie)", "'; DROP TABLE bookings; --", "1' OR '1'='1",
     "SELECT * FROM users", "select count(*) from events", "UNION SELECT password FROM staff",
     "insert into bookings values (1, 2)", "delete from bookings where 1=1",
     "```\nrm -rf /\n```", "{{ config.items() }}", "${jndi:ldap://x}", "def f(x): return x",
     "function go() { return 1 }", "console.log('hi')", "print('hello')"],
)
def test_markup_and_code_are_recognised(text: str) -> None:
    assert classify_text(text) == "markup"


@pytest.mark.parametrize(
    "text",
    ["how do i select a therapist from your list", "pain is < 5 out of 10 today", "i <3 this clinic",
     "can i drop off my forms and update my insurance", "or is it 2 = 2 sessions a week?",
     "what should i print out before my first visit", "i'd rate it 3/10 - better than yesterday",
     "my back hurts when i bend -- what helps?", "delete my data please",
     "I can't control my bladder since this morning"],
)
def test_questions_that_look_a_little_like_code_stay_text(text: str) -> None:
    assert classify_text(text) == "text"


def test_markup_check_is_fast_on_long_input() -> None:
    import time

    started = time.perf_counter()
    for text in ("<a " * 300_000, "def f(" * 100_000, "' or " * 200_000):
        classify_text(text)
    assert time.perf_counter() - started < 2.0
