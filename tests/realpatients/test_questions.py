"""bts/questions.py: the second question of a message is found, one question stays one."""

from __future__ import annotations

import pytest

from bts.questions import other_questions, split_questions


@pytest.mark.parametrize(
    "text, others",
    [
        ("how long is a session? do you take medicare?", ["do you take medicare?"]),
        ("What is sciatica? Also, where are you located", ["where are you located"]),
        ("do you take medicare and also how long is a session", ["how long is a session"]),
        ("my back hurts. another question: are you open saturday?", ["are you open saturday?"]),
        ("Is it better to take Tylenol or Advil? And how many sessions will I need?",
         ["And how many sessions will I need?"]),
    ],
)
def test_the_other_questions_are_found(text: str, others: list) -> None:
    assert other_questions(text) == others


@pytest.mark.parametrize(
    "text",
    [
        "what is sciatica?",
        "I have had back pain for 3 weeks. It goes down my leg when I sit. What could it be?",
        "can I take ibuprofen and also use a heating pad",
        "hi? are you there",
        "my back hurts",
        "",
    ],
)
def test_one_question_stays_one(text: str) -> None:
    assert len(split_questions(text)) == 1
    assert other_questions(text) == []
