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
     ("ишиас", "non_latin"), ("ciática", "text"), ("hi 👋", "text"), ("<b>x</b>", "text")],
)
def test_classify_text(text: str, kind: str) -> None:
    assert classify_text(text) == kind
