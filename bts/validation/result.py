"""The outcome of validating one answer, and text helpers every validator shares.

A failed answer carries the name of the response that explains the problem (in the conversation's
language, from `data/responses/validation.yml`) and the values to fill into it, never English text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Generic, Optional, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ValidationResult(Generic[T]):
    """The outcome of validating one answer.

    Attributes:
        ok: Whether the answer is acceptable.
        value: The normalised value to store; `None` when not ok or when an optional answer was skipped.
        message: When not ok, the name of the response that says what is wrong; empty when ok.
        values: Values to fill into that response.
    """

    ok: bool
    value: Optional[T] = None
    message: str = ""
    values: Dict[str, Any] = field(default_factory=dict)


def ok(value: Optional[T]) -> ValidationResult[T]:
    """An accepted answer."""
    return ValidationResult(ok=True, value=value)


def fail(key: str, **values: Any) -> ValidationResult[Any]:
    """A refused answer explained by the response `utter_invalid_<key>`."""
    return ValidationResult(ok=False, message=f"utter_invalid_{key}", values=values)


def squash(text: str) -> str:
    """NFC-normalises, straightens curly apostrophes and collapses whitespace."""
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    return " ".join(text.split())


def words(text: str) -> str:
    """Lower-case text with punctuation other than apostrophes turned into single spaces."""
    return " ".join(re.sub(r"[^\w']+", " ", squash(text).lower()).split())


def phrases(text: str) -> FrozenSet[str]:
    """A set of phrases written as one "|"-separated string that may span lines."""
    return frozenset(" ".join(phrase.split()) for phrase in text.split("|"))


def has(pattern: str, text: str) -> bool:
    """Tells whether `pattern` occurs in `text` as whole words (apostrophes count as word characters)."""
    return re.search(rf"(?<![\w'])(?:{pattern})(?![\w'])", text) is not None


URL = re.compile(r"https?://|www\.|\.(?:com|org|net|edu|gov|io|us)\b", re.IGNORECASE)
