"""Phone numbers and e-mail addresses as they appear in free text: one definition for finding and masking.

The booking validators accept a phone number as a run of digits joined by spaces, dots, hyphens,
slashes and parentheses, after NFKC normalisation (so full-width digits and dashes count), and an
e-mail address as a whitespace-delimited token with an "@" (IDN domains included). The same shapes
are found here, on the same normalised view of the text, and reported as spans of the original
text, so that whatever a patient could give as contact details is also what gets masked.

Every pattern runs in linear time: a console thread must not stall on a megabyte-long message.
Pure Python with no third-party imports (it is installed into both environments).
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain, repeat
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

PHONE_SEPARATORS = r"\s().\-/"
# A run of digits joined by separators; the separator class and `\d` are disjoint, so each
# position has one way to match (no backtracking blow-up). It starts with a digit so that the
# regex engine skips ahead to digits; a "+" or "(" just before is added in `spans`.
_PHONE_RUN = re.compile(rf"\d(?:[\d{PHONE_SEPARATORS}]*\d)?\)?")
# An e-mail candidate is a whole whitespace-delimited token with an "@"; the look-behind lets a
# match start only at a token's first character, so each token is scanned once.
_EMAIL_TOKEN = re.compile(r"(?<!\S)[^\s@]*@\S*")
_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_WRAPPERS = "<>\"'(),;:!?"

MIN_PHONE_DIGITS = 7
"""Runs of fewer digits are not phone numbers (zip codes, times, counts)."""

MAX_DATE_DIGITS = 8
"""A date-shaped run ("2024-05-01", "05/01/2024") of at most this many digits is a date, not a phone."""


class Span(NamedTuple):
    """Where a phone number or e-mail address is in the original text."""

    kind: str  # "phone" or "email"
    start: int
    end: int
    digits: str = ""  # the phone number's digits (ASCII)


class _NFKC(dict):
    """NFKC of single characters, cached (at most `LIMIT` of them)."""

    LIMIT = 50_000

    def __missing__(self, char: str) -> str:
        value = unicodedata.normalize("NFKC", char)
        if len(self) < self.LIMIT:
            self[char] = value
        return value


_nfkc = _NFKC()


def _normalized(text: str) -> Tuple[str, Optional[List[int]]]:
    """The NFKC view of `text` (character by character) and, if lengths differ, each character's origin.

    Character by character, NFKC never composes across characters (which does not change digits,
    separators or "@"), and every step runs in C, so a megabyte costs milliseconds.
    """
    if text.isascii():
        return text, None
    parts = list(map(_nfkc.__getitem__, text))
    norm = "".join(parts)
    if len(norm) == len(text):  # every character maps to exactly one
        return norm, None
    origin = list(chain.from_iterable(map(repeat, range(len(text)), map(len, parts))))
    origin.append(len(text))
    return norm, origin


def _original(origin: Optional[List[int]], start: int, end: int) -> Tuple[int, int]:
    if origin is None:
        return start, end
    return origin[start], (origin[end - 1] + 1 if end > start else origin[start])


def _ascii_digits(run: str) -> str:
    digits = "".join(filter(str.isdecimal, run))
    return digits if digits.isascii() else "".join(str(unicodedata.decimal(ch)) for ch in digits)


def is_phone_run(run: str) -> bool:
    """True if a run matched by the phone pattern is a phone number rather than a short number or a date."""
    digits = sum(map(str.isdecimal, run))
    if digits < MIN_PHONE_DIGITS:
        return False
    return not (digits <= MAX_DATE_DIGITS and _DATE_LIKE.fullmatch(run.strip("()+")))


def _email_in_token(token: str) -> Optional[Tuple[int, int]]:
    """(start, end) of the address inside a token with an "@", after the wrappers the validator strips."""
    start = len(token) - len(token.lstrip(_WRAPPERS))
    end = len(token.rstrip(_WRAPPERS + "."))
    if token.startswith(("mailto:", "MAILTO:", "Mailto:"), start):
        start += len("mailto:")
    at = token.find("@", start, end)
    if at <= start or not token[at + 1 : end].strip("@."):
        return None
    return start, end


def spans(text: str) -> List[Span]:
    """Every phone number and e-mail address in `text`, in order, as spans of `text` itself."""
    if not text:
        return []
    norm, origin = _normalized(text)
    emails: List[Tuple[int, int]] = []
    for match in _EMAIL_TOKEN.finditer(norm) if "@" in norm else ():
        inner = _email_in_token(match.group())
        if inner is not None:
            emails.append((match.start() + inner[0], match.start() + inner[1]))
    found = [Span("email", *_original(origin, start, end)) for start, end in emails]
    index = 0
    for match in _PHONE_RUN.finditer(norm):
        while index < len(emails) and emails[index][1] <= match.start():
            index += 1
        # Digits inside an e-mail address belong to the address (a run that sticks out of one is
        # kept: `replace` merges overlapping spans).
        inside_email = (
            index < len(emails) and emails[index][0] <= match.start() and match.end() <= emails[index][1]
        )
        if inside_email or not is_phone_run(match.group()):
            continue
        start = match.start()
        if start and norm[start - 1] == "(":
            start -= 1
        if start and norm[start - 1] == "+":
            start -= 1
        start, end = _original(origin, start, match.end())
        found.append(Span("phone", start, end, _ascii_digits(match.group())))
    return sorted(found, key=lambda span: span.start)


def find_phone(text: str) -> Optional[str]:
    """The first phone number in `text` as written there, if any."""
    return next((text[s.start : s.end] for s in spans(text) if s.kind == "phone"), None)


def find_email(text: str) -> Optional[str]:
    """The first e-mail address in `text` as written there, if any."""
    return next((text[s.start : s.end] for s in spans(text) if s.kind == "email"), None)


def replace(text: str, found: Sequence[Span], render: Callable[[Span, str], str]) -> str:
    """`text` with each span replaced by `render(span, the original substring)`.

    Overlapping spans (a phone number glued to an e-mail address) are replaced together, as the first.
    """
    out: List[str] = []
    pos = 0
    index = 0
    while index < len(found):
        first = found[index]
        end = first.end
        index += 1
        while index < len(found) and found[index].start < end:
            end = max(end, found[index].end)
            index += 1
        out.append(text[pos : first.start])
        out.append(render(first._replace(end=end), text[first.start : end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def mask_hint(span: Span, original: str) -> str:
    """`[phone …42]` (the last two digits) or `[e-mail j…]` (the first character)."""
    if span.kind == "phone":
        return f"[phone …{span.digits[-2:]}]"
    return f"[e-mail {original[:1]}…]"


def mask(text: str) -> str:
    """Hides every phone number and e-mail address in `text`, keeping a hint of each."""
    return replace(text, spans(text), mask_hint)


CLIP_MARGIN = 256


def clip(text: str, limit: int, masked: bool = True) -> Tuple[str, bool]:
    """At most `limit` characters of `text` (masked unless `masked` is False), and whether it was cut.

    The cut never falls inside a phone number or an e-mail address (it moves before it), so the
    part shown never holds the start of one in clear; only `limit` plus a margin is scanned.
    """
    if len(text) <= limit:
        return (mask(text) if masked else text), False
    head = text[: limit + CLIP_MARGIN]
    found = spans(head)
    cut = next((span.start for span in found if span.start < limit < span.end), limit)
    shown = head[:cut]
    if masked:
        shown = replace(shown, [span for span in found if span.end <= cut], mask_hint)
    return shown, True
