"""Validators of the booking form's answers: pure functions, no Rasa, no I/O.

Every validator takes the patient's free text (and, where it matters, the clinic and the current time) and
returns a `ValidationResult` with:

* `ok`: whether the answer can be stored;
* `value`: the normalised value to store in the slot (`None` when not ok, or when an optional answer was
  skipped);
* `message`: when not ok, a short patient-facing explanation in plain words with an example of a good
  answer; empty when ok.

Decisions worth knowing:

* Phone numbers are checked with `phonenumbers.is_possible_number` plus the structural rules of the North
  American Numbering Plan (area code and exchange do not start with 0 or 1, the area code is not an N11 code
  such as 911), NOT with `is_valid_number`. The fictional range 555-0100 to 555-0199 is reserved for films,
  demos and tests, and the clinic's example number and our tests use it; `is_valid_number` depends on the
  metadata version (it has flagged such numbers, and newly opened area codes, as invalid), so it would
  reject numbers a patient may really give us. A US number is one with country code +1 (the whole NANP).
* An extension is kept in RFC 3966 style after the E.164 number: `+15755550142;ext=12`. Everything before
  `;ext=` is plain E.164, and `phonenumbers.parse` reads the whole string back.
* Preferred times are parsed with our own small rules for the parts `dateparser` 1.2.0 gets wrong or does
  not handle (times of day, parts of the day, weekdays with "next"/"this", recurring preferences, weeks and
  months), and `dateparser` reads the calendar dates ("December 3", "12/3", "2026-12-03"). See
  `parse_preferred_time` for the details.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, FrozenSet, Generic, List, Optional, Sequence, Set, Tuple, TypeVar

import dateparser
import phonenumbers

from actions.config import WEEKDAYS, Clinic

T = TypeVar("T")


@dataclass(frozen=True)
class ValidationResult(Generic[T]):
    """The outcome of validating one answer.

    Attributes:
        ok: Whether the answer is acceptable.
        value: The normalised value to store; `None` when not ok or when an optional answer was skipped.
        message: When not ok, what is wrong and an example of a good answer, for the patient. Empty when ok.
    """

    ok: bool
    value: Optional[T] = None
    message: str = ""


def _ok(value: Optional[T]) -> ValidationResult[T]:
    return ValidationResult(ok=True, value=value, message="")


def _fail(message: str) -> ValidationResult[Any]:
    return ValidationResult(ok=False, value=None, message=message)


def _squash(text: str) -> str:
    """NFC-normalises, straightens curly apostrophes and collapses whitespace."""
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    return " ".join(text.split())


def _words(text: str) -> str:
    """Lower-case text with punctuation other than apostrophes turned into single spaces."""
    return " ".join(re.sub(r"[^\w']+", " ", _squash(text).lower()).split())


def _phrases(text: str) -> FrozenSet[str]:
    """A set of phrases written as one "|"-separated string that may span lines."""
    return frozenset(" ".join(phrase.split()) for phrase in text.split("|"))


def _has(pattern: str, text: str) -> bool:
    """Tells whether `pattern` occurs in `text` as whole words (apostrophes count as word characters)."""
    return re.search(rf"(?<![\w'])(?:{pattern})(?![\w'])", text) is not None


# --------------------------------------------------------------------------------------------------
# Name
# --------------------------------------------------------------------------------------------------

NAME_EXAMPLE = '"Maria Lopez"'

_NAME_LEAD_IN = re.compile(
    r"^(?:(?:hi|hello|hey)[,!.]?\s+)?(?:my\s+(?:full\s+)?name\s+is|my\s+name's|name\s*:|i\s+am|i'm|"
    r"it's|it\s+is|this\s+is)\s+",
    re.IGNORECASE,
)
_NOT_NAMES = _phrases(
    """i don't know|i dont know|don't know|dont know|idk|dunno|not sure|none|no|nope|n/a|na|nothing|no name|
    skip|yes|yeah|yep|ok|okay|sure|hi|hello|hey|thanks|thank you|why|what|anonymous|prefer not to say|
    rather not say|i'd rather not say|no thanks|test|name|my name|full name|stop|cancel|help|unknown|nobody|
    someone|me|myself|patient"""
)
# Words that do not occur in names but do in sentences typed instead of a name.
_NOT_NAME_WORDS: FrozenSet[str] = frozenset(
    "don't dont doesn't idk know why what skip none nothing rather thanks thank appointment pain i to the is "
    "my want like need have can you please would book call am are it this that not no yes for with about how "
    "when where who do does".split()
)
_URL = re.compile(r"https?://|www\.|\.(?:com|org|net|edu|gov|io|us)\b", re.IGNORECASE)


def validate_name(text: str) -> ValidationResult[str]:
    """Validates the patient's full name.

    Accepts letters of any script plus spaces, hyphens, apostrophes and periods ("José Núñez", "O'Brien",
    "Mary-Jane Smith", "J. R. Smith"), 2 to 80 characters with at least 2 letters. A lead-in such as
    "my name is" is dropped. A single name is accepted (some people have only one).

    Args:
        text: What the patient typed.

    Returns:
        The name with whitespace collapsed; the patient's capitalisation is kept unless the name was typed
        all in lower or all in upper case, in which case it is title-cased ("o'brien" -> "O'Brien").
    """
    name = _NAME_LEAD_IN.sub("", _squash(text)).rstrip(",!?;:").strip()
    lowered = name.lower()
    if not name:
        return _fail(f"I didn't catch your name. What's your full name? For example {NAME_EXAMPLE}.")
    if "@" in name:
        return _fail(f"That looks like an email address, not a name. What's your full name? For example "
                     f"{NAME_EXAMPLE}.")
    if _URL.search(name):
        return _fail(f"That looks like a web address, not a name. What's your full name? For example "
                     f"{NAME_EXAMPLE}.")
    if any(ch.isdigit() for ch in name):
        if re.fullmatch(r"[\d\s()+.\-]+", name):
            return _fail(f"That looks like a number. I need your name here, for example {NAME_EXAMPLE}.")
        return _fail(f"Names can't have numbers in them. What's your full name? For example {NAME_EXAMPLE}.")
    words = set(re.findall(r"[\w']+", lowered))
    if lowered.strip(".") in _NOT_NAMES or _squash(text).lower().strip(".!?") in _NOT_NAMES or (
        words & _NOT_NAME_WORDS
    ):
        return _fail(f"I need your name so the clinic knows who to call. Please type your first and last "
                     f"name, for example {NAME_EXAMPLE}.")
    letters = [ch for ch in name if ch.isalpha()]
    allowed = all(ch.isalpha() or ch in " -'." or unicodedata.category(ch).startswith("M") for ch in name)
    if not allowed or not name[0].isalpha():
        return _fail(f"Please type your name using only letters, spaces, hyphens (-), apostrophes (') and "
                     f"periods, for example {NAME_EXAMPLE}.")
    if len(letters) < 2 or len(name) < 2:
        return _fail(f"That name is too short. Please type your full name, for example {NAME_EXAMPLE}.")
    if len(name) > 80:
        return _fail("That name is too long for our form (80 characters at most). Please type your first and "
                     "last name only.")
    if name == name.lower() or name == name.upper():
        name = name.title()
    return _ok(name)


# --------------------------------------------------------------------------------------------------
# Phone
# --------------------------------------------------------------------------------------------------

PHONE_EXAMPLE = '"(575) 555-0142"'

_PHONE_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]*\d\)?|\+?\d")
_EXTENSION = re.compile(r"^\s*,?\s*(?:x|ext\.?|extension|#)\s*(\d{1,6})\b", re.IGNORECASE)
_EXTENSION_GLUED = re.compile(r"(?<=\d)\s*(?:x|ext\.?|extension|#)\s*\d{1,6}\b", re.IGNORECASE)


def validate_phone(text: str) -> ValidationResult[str]:
    """Validates a US phone number and normalises it to E.164.

    Accepts the common ways of writing a US number ("575-555-0142", "(575) 555 0142", "+1 575 555 0142",
    "5755550142", "575.555.0142", "1-575-555-0142"), with words around it ("my number is ...") and an
    optional extension ("x12", "ext. 12"). Rejects numbers that are too short or too long, area codes or
    exchanges starting with 0 or 1, N11 area codes (911 ...), country codes other than +1, and letters.

    The fictional numbers 555-0100 to 555-0199 are accepted on purpose: demos and tests use them, and the
    check relies on `phonenumbers.is_possible_number` plus the numbering plan's structure rather than on
    `is_valid_number`, whose answer depends on the metadata version (see the module docstring).

    Args:
        text: What the patient typed.

    Returns:
        The E.164 number ("+15755550142"), with ";ext=12" appended when an extension was given.
    """
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    cleaned = re.sub(r"^tel:", "", cleaned, flags=re.IGNORECASE)
    if not any(ch.isdigit() for ch in cleaned):
        return _fail(f"Please type your phone number with digits, including the area code, for example "
                     f"{PHONE_EXAMPLE}.")
    # A token mixing digits and letters (other than an extension marker) is a vanity number: 1-800-FLOWERS.
    for token in cleaned.split():
        bare = _EXTENSION_GLUED.sub("", token).strip(".,;:!?")
        bare = re.sub(r"^(?:x|ext\.?|extension|#)(?=\d)", "", bare, flags=re.IGNORECASE)
        if re.search(r"\d", bare) and re.search(r"[^\W\d_]", bare) or re.search(r"\d[-.][^\W\d_]", token):
            return _fail(f"Please use only digits in your phone number, no letters. For example "
                         f"{PHONE_EXAMPLE}.")
    runs = [m for m in _PHONE_RUN.finditer(cleaned) if len(re.sub(r"\D", "", m.group())) >= 7]
    if len(runs) > 1:
        return _fail(f"I see more than one number there. Which one should the clinic call? Please type just "
                     f"one, for example {PHONE_EXAMPLE}.")
    if not runs:
        return _fail(f"That number looks too short. Please include the area code, for example "
                     f"{PHONE_EXAMPLE}.")
    run = runs[0]
    candidate = run.group().strip()
    extension_match = _EXTENSION.match(cleaned[run.end():])
    extension = extension_match.group(1) if extension_match else None
    digits = re.sub(r"\D", "", candidate)
    # "+44 ...", "011 44 ..." (dialling out of the US) and "00 44 ..." (out of Europe) carry a country code.
    country_and_number = None
    if candidate.startswith("+"):
        country_and_number = digits
    elif digits.startswith("011"):
        country_and_number = digits[3:]
    elif digits.startswith("00"):
        country_and_number = digits[2:]
    if country_and_number is not None and not country_and_number.startswith("1"):
        return _fail(f"We can only take US phone numbers (country code +1). Please give a US number, for "
                     f"example {PHONE_EXAMPLE}.")
    if country_and_number is not None:
        national = country_and_number[1:]
    elif len(digits) == 11 and digits.startswith("1"):
        national = digits[1:]
    else:
        national = digits
    if len(national) == 7:
        return _fail(f"Please include the area code, for example {PHONE_EXAMPLE}.")
    if len(national) < 10:
        return _fail(f"That number looks too short. A US phone number has 10 digits, for example "
                     f"{PHONE_EXAMPLE}.")
    if len(national) > 10:
        return _fail(f"That number looks too long. A US phone number has 10 digits, for example "
                     f"{PHONE_EXAMPLE}.")
    area, exchange = national[:3], national[3:6]
    if area[0] in "01":
        return _fail(f"US area codes don't start with 0 or 1. Please check the number, for example "
                     f"{PHONE_EXAMPLE}.")
    if area[1:] == "11":
        return _fail(f"{area} isn't an area code. Please check the number, for example {PHONE_EXAMPLE}.")
    if exchange[0] in "01":
        return _fail(f"The 3 digits after the area code can't start with 0 or 1. Please check the number, "
                     f"for example {PHONE_EXAMPLE}.")
    try:
        number = phonenumbers.parse("+1" + national, None)
    except phonenumbers.NumberParseException:  # pragma: no cover - the digits were checked above
        return _fail(f"That doesn't look like a phone number. Please try again, for example {PHONE_EXAMPLE}.")
    if not phonenumbers.is_possible_number(number):  # pragma: no cover - the length was checked above
        return _fail(f"That doesn't look like a phone number. Please try again, for example {PHONE_EXAMPLE}.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return _ok(f"{e164};ext={extension}" if extension else e164)


def format_phone_for_display(value: str) -> str:
    """Formats a number stored by `validate_phone` the way patients write it.

    Args:
        value: "+15755550142" or "+15755550142;ext=12".

    Returns:
        "(575) 555-0142" or "(575) 555-0142 ext. 12"; the value unchanged if it cannot be read.
    """
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


# --------------------------------------------------------------------------------------------------
# Email
# --------------------------------------------------------------------------------------------------

EMAIL_EXAMPLE = '"maria@example.com"'

_EMAIL_SKIP = _phrases(
    """skip|no|none|no email|nope|n/a|na|pass|no thanks|no thank you|i don't have one|i dont have one|
    don't have one|dont have one|i don't have email|i don't have an email|i dont have an email|
    don't have email|no e-mail|not now|rather not|prefer not to say|skip it|skip that|nah"""
)
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_EMAIL_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def validate_email(text: str) -> ValidationResult[str]:
    """Validates an optional email address with a pragmatic syntax check (no DNS or network).

    "skip", "no", "none", "no email" and similar are accepted with the value `None`. Otherwise the
    answer must contain one address of the form local@domain.tld: one "@", no spaces, a domain with a dot
    whose last part has at least 2 letters, at most 64 characters before the "@" and 254 in all. Words
    around the address ("my email is ...") are allowed.

    Args:
        text: What the patient typed.

    Returns:
        The address with its domain lower-cased (the part before "@" is kept as typed), or `None` when
        skipped.
    """
    squashed = _squash(text)
    lowered = squashed.lower().strip(" .!")
    if not lowered or lowered in _EMAIL_SKIP:
        return _ok(None)
    if "@" not in squashed:
        return _fail(f"That doesn't look like an email address. Please type it like {EMAIL_EXAMPLE}, or say "
                     f'"skip".')
    if re.search(r"\s@|@\s", squashed):
        return _fail(f"Email addresses can't have spaces. Please type it like {EMAIL_EXAMPLE}, or say "
                     f'"skip".')
    tokens = [token for token in squashed.split() if "@" in token]
    if len(tokens) > 1:
        return _fail(f"I see more than one email address. Please type just one, like {EMAIL_EXAMPLE}.")
    address = re.sub(r"^mailto:", "", tokens[0].strip("<>\"'(),;:!?"), flags=re.IGNORECASE).rstrip(".")
    if address.count("@") != 1:
        return _fail(f'An email address has exactly one "@". Please type it like {EMAIL_EXAMPLE}, or say '
                     f'"skip".')
    local, domain = address.split("@")
    domain = domain.lower()
    problem = ""
    if not local:
        problem = 'The part before the "@" is missing.'
    elif len(local) > 64 or len(address) > 254:
        problem = "That address is too long."
    elif not _EMAIL_LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        problem = 'The part before the "@" has characters email addresses can\'t use.'
    elif not domain:
        problem = 'The part after the "@" is missing.'
    elif "." not in domain:
        problem = 'The part after the "@" needs a dot, like "gmail.com".'
    else:
        try:
            ascii_domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_domain = ""
        labels = ascii_domain.split(".") if ascii_domain else []
        tld = labels[-1] if labels else ""
        if (
            not labels
            or len(ascii_domain) > 253
            or not all(_EMAIL_LABEL.match(label) for label in labels)
            or not (re.fullmatch(r"[a-z]{2,63}", tld) or tld.startswith("xn--"))
        ):
            problem = 'The part after the "@" doesn\'t look right.'
    if problem:
        return _fail(f"{problem} Please type your email like {EMAIL_EXAMPLE}, or say \"skip\".")
    return _ok(f"{local}@{domain}")


# --------------------------------------------------------------------------------------------------
# Preferred days and times
# --------------------------------------------------------------------------------------------------

MAX_DAYS_AHEAD = 183
"""How far ahead (about 6 months) a preferred date may be."""

RECENT_PAST_DAYS = 90
"""A year-less date at most this many days back is the one that just passed, not next year's."""

MIN_VISIT = timedelta(minutes=30)
"""Shortest stretch of opening hours that makes a requested time window usable."""

PART_WINDOWS: Dict[str, Tuple[time, time]] = {
    "morning": (time(6, 0), time(12, 0)),
    "lunchtime": (time(11, 30), time(13, 30)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(21, 0)),
    "night": (time(19, 0), time(23, 59)),
}
"""Clock windows of the parts of the day; "evening" starts at 5 PM."""

_PART_PHRASES = {
    "morning": "in the morning",
    "lunchtime": "around lunchtime",
    "afternoon": "in the afternoon",
    "evening": "in the evening",
    "night": "at night",
}
TIME_EXAMPLES = '"weekday mornings", "tomorrow at 10am" or "next Tuesday after 3"'

_DAY_FORMS: Dict[str, int] = {
    "mondays": 0, "monday": 0, "mon": 0,
    "tuesdays": 1, "tuesday": 1, "tues": 1, "tue": 1,
    "wednesdays": 2, "wednesday": 2, "weds": 2, "wed": 2,
    "thursdays": 3, "thursday": 3, "thurs": 3, "thur": 3, "thu": 3,
    "fridays": 4, "friday": 4, "fri": 4,
    "saturdays": 5, "saturday": 5, "sat": 5,
    "sundays": 6, "sunday": 6, "sun": 6,
}  # fmt: skip
_DAY_ALT = "|".join(sorted(_DAY_FORMS, key=len, reverse=True))
_DAY_SET_ALT = r"week\s?days?|work\s?days?|business\s+days?|week\s?nights?|weekends?|during\s+the\s+week"
_WEEKDAY = re.compile(
    rf"(?:\b(?P<prefix>this\s+coming|next|this|coming|every|each|on|any)\s+)?\b(?P<day>{_DAY_ALT})\b"
)
_DAY_SET = re.compile(rf"(?:\b(?P<prefix>every|any|on|during|this|next|a)\s+)?\b(?P<set>{_DAY_SET_ALT})\b")
_NEGATED_TAIL = re.compile(
    rf"\b(?:except|but|not|no|besides|than|never|can't|cannot|without)\s+(?:on\s+|for\s+|the\s+)?"
    rf"(?:(?:{_DAY_ALT}|{_DAY_SET_ALT})\s*(?:,|and|or|&|/)?\s*)*$"
)
_ANY = re.compile(
    r"\b(?:any\s?time|whenever|any\s+days?|no\s+preference|(?:it\s+)?doesn't\s+matter|does\s+not\s+matter|"
    r"(?:i'm\s+)?flexible|anything\s+works|any\s+of\s+them|either)\b"
)
_ASAP = re.compile(
    r"\b(?:asap|as\s+soon\s+as\s+possible|as\s+early\s+as\s+possible|soonest|earliest|first\s+available|"
    r"next\s+available|right\s+away|soon)\b"
)
_TIME = r"(\d{1,2})(?::([0-5]\d))?\s*(am|pm)?"
_NOT_TIME_AFTER = r"(?![\d/:\-]|\.\d|st\b|nd\b|rd\b|th\b|\s*(?:days?|weeks?|months?|years?)\b)"
_TIME_RANGE = re.compile(
    rf"(?:\b(?P<pre>between|from)\s+)?(?<![\d/:.\-]){_TIME}\s*(?:-|–|to|and|until|till)\s*{_TIME}"
    rf"{_NOT_TIME_AFTER}"
)
_RELATIONS = {
    "no earlier than": "after", "not before": "after", "any time after": "after", "anytime after": "after",
    "sometime after": "after", "some time after": "after", "starting at": "after", "starting from": "after",
    "from": "after", "past": "after", "after": "after",
    "no later than": "before", "not after": "before", "any time before": "before",
    "anytime before": "before", "before": "before", "until": "before", "till": "before", "til": "before",
    "by": "before",
    "work until": "after", "working until": "after", "work till": "after", "busy until": "after",
    "busy till": "after", "get off at": "after", "get off work at": "after", "off work at": "after",
    "off at": "after", "done at": "after", "finish at": "after", "finish work at": "after",
    "free after": "after", "free from": "after", "free before": "before", "free until": "before",
    "at around": "around", "at about": "around", "around": "around", "about": "around", "at": "at",
}  # fmt: skip
_REL_ALT = "|".join(
    re.escape(key).replace(r"\ ", r"\s+") for key in sorted(_RELATIONS, key=len, reverse=True)
)
_TIME_SINGLE = re.compile(rf"(?:\b(?P<rel>{_REL_ALT})\s+)?(?<![\d/:.\-]){_TIME}{_NOT_TIME_AFTER}")
_PART = re.compile(
    r"(?:\b(?P<prefix>this|every|in\s+the|on|early|late|mid)\s+)?\b"
    r"(?P<part>mornings?|afternoons?|evenings?|nights?|lunch\s?times?|lunch)\b"
)
_NEGATED_PART = re.compile(r"\b(?:not|no|but\s+not|except|never|can't\s+do|cannot\s+do)\s+(?:in\s+the\s+)?$")
_MONTHS: Dict[str, int] = {}
for _number in range(1, 13):
    _MONTHS[calendar.month_name[_number].lower()] = _number
    _MONTHS[calendar.month_abbr[_number].lower()] = _number
_MONTHS["sept"] = 9
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_RANGE = re.compile(
    rf"(?:\b(?:in|during|sometime\s+in|some\s+time\s+in|early|late|mid)\s+)?(?<!\d\s)(?<!\d)"
    rf"\b(?P<month>{_MONTH_ALT})\b(?!\.?\s*\d{{1,2}}(?!\d))(?!\s+the\s+\d)(?:\s+(?P<year>\d{{4}}))?"
)
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a couple": 2,
    "couple of": 2, "a few": 3, "few": 3,
}  # fmt: skip
_COUNT_ALT = r"\d{1,2}|" + "|".join(
    re.escape(key).replace(r"\ ", r"\s+") for key in sorted(_NUMBER_WORDS, key=len, reverse=True)
)
_IN_N = re.compile(
    rf"\b(?:in\s+(?P<n1>{_COUNT_ALT})\s+(?P<u1>day|week|month)s?|"
    rf"(?P<n2>{_COUNT_ALT})\s+(?P<u2>day|week|month)s?\s+from\s+(?:now|today))\b"
)
_REL_WEEK = re.compile(
    r"\b(?:(?P<later>later)\s+)?(?P<which>this|next|the\s+following)\s+week\b(?!\s?(?:day|end))"
)
_REL_MONTH = re.compile(r"\b(?:(?:later|sometime|some\s+time)\s+)?(?P<which>this|next)\s+month\b")
_REL_DAY = re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b|\btomorrow\b|\btoday\b|\btonight\b")
_ORDINAL = re.compile(r"^(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)$")
_DATE_HINT = re.compile(
    rf"\b(?:{_MONTH_ALT})\b|\d{{1,4}}[/\-.]\d{{1,2}}|\b\d{{1,2}}(?:st|nd|rd|th)\b|\b\d{{4}}\b|yesterday|ago"
)
_YEAR_GIVEN = re.compile(r"\b\d{4}\b|\d{1,2}/\d{1,2}/\d{2}\b|'\d{2}\b")
_FILLER: FrozenSet[str] = frozenset(
    """i i'm im i'd id i'll i've me my we us you your it it's its is am are be been was would could can will
    should shall might must do does did prefer preferably preferred ideally like love want need works work
    working good great best better fine ok okay please thanks thank the a an on at in of for to or and but
    also maybe perhaps probably possibly if possible sometime some time times day days appointment
    appointments visit visits slot slots available availability open free something anything earlier later
    early late that this that's be great come get see go with just only really so too then there here any
    usually generally mostly around about same well yes yeah sure hmm um uh let's say how what
    when""".split()
)

_DATEPARSER_SETTINGS: Dict[str, Any] = {
    "PREFER_DATES_FROM": "future",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "DATE_ORDER": "MDY",
    "PREFER_DAY_OF_MONTH": "first",
}


@dataclass
class _TimeSpec:
    """A time of day or a window the patient asked for."""

    relation: str  # "at", "around", "after", "before" or "between"
    start: time
    end: Optional[time] = None  # only for "between"


@dataclass
class _Request:
    """What the patient's words were understood to mean, before checking against the clinic."""

    asap: bool = False
    any_time: bool = False
    spec: Optional[_TimeSpec] = None
    parts: List[str] = field(default_factory=list)
    parts_plural: bool = False
    days: Set[int] = field(default_factory=set)
    excluded_days: Set[int] = field(default_factory=set)
    recurring_days: bool = False
    weekday_prefix: Optional[str] = None
    dates: List[date] = field(default_factory=list)
    date_range: Optional[Tuple[date, date, str]] = None
    error: str = ""


def _resolve_hour(hour: int, minute: int, ampm: Optional[str], parts: Sequence[str]) -> Optional[time]:
    """Turns "3", "3pm", "15:00" into a time; a bare hour from 1 to 6 is PM, from 7 to 11 is AM.

    The clinic is open in the daytime, so "after 3" means 3 PM and "at 8" means 8 AM. A part of the day
    said alongside ("tomorrow morning at 8") decides instead.
    """
    if ampm:
        if not 1 <= hour <= 12:
            return None
        if ampm == "pm" and hour != 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
    elif hour > 23:
        return None
    elif 1 <= hour <= 11:
        if parts and parts[0] in ("afternoon", "evening", "night"):
            hour += 12
        elif parts and parts[0] == "morning":
            pass
        elif hour <= 6:
            hour += 12
    return time(hour, minute)


def _clock(value: time, compact: bool = False) -> str:
    """Formats a time as "3:00 PM", or "3 PM" when `compact` and on the hour."""
    hour = value.hour % 12 or 12
    suffix = "AM" if value.hour < 12 else "PM"
    if compact and value.minute == 0:
        return f"{hour} {suffix}"
    return f"{hour}:{value.minute:02d} {suffix}"


def _day_name(index: int) -> str:
    return WEEKDAYS[index].capitalize()


def _day_list(indexes: Sequence[int], plural: bool = True, joiner: str = "and") -> str:
    """Names weekdays the short way: "Monday to Thursday", "Mondays and Wednesdays", "weekends"."""
    days = sorted(set(indexes))
    if days == [5, 6]:
        return "weekends"
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        return f"{_day_name(days[0])} to {_day_name(days[-1])}"
    names = [_day_name(day) + ("s" if plural else "") for day in days]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" {joiner} " + names[-1]


def opening_hours_text(clinic: Clinic) -> str:
    """Describes the clinic's opening hours in one phrase.

    Args:
        clinic: The clinic.

    Returns:
        For example "Monday to Thursday 7:30 AM–6 PM and Friday 7:30 AM–4 PM".
    """
    groups: List[Tuple[List[int], Tuple[time, time]]] = []
    for index, day in enumerate(WEEKDAYS):
        span = clinic.hours.get(day)
        if span is None:
            continue
        if groups and groups[-1][1] == span and groups[-1][0][-1] == index - 1:
            groups[-1][0].append(index)
        else:
            groups.append(([index], span))
    if not groups:
        return "by appointment only; please call us to find a time"
    phrases = []
    for days, (opens, closes) in groups:
        if len(days) == 1:
            names = _day_name(days[0])
        elif len(days) == 2:
            names = f"{_day_name(days[0])} and {_day_name(days[1])}"
        else:
            names = f"{_day_name(days[0])} to {_day_name(days[-1])}"
        phrases.append(f"{names} {_clock(opens, True)}–{_clock(closes, True)}")
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _closed_message(days: Sequence[int], clinic: Clinic) -> str:
    closed = sorted(set(days))
    what = "weekends" if closed == [5, 6] else _day_list(closed, plural=True)
    return f"We're closed on {what}. We're open {opening_hours_text(clinic)}."


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _month_span(year: int, month: int, today: date) -> Tuple[date, date]:
    first = max(date(year, month, 1), today)
    return first, date(year, month, calendar.monthrange(year, month)[1])


def _cut(text: str, match: re.Match) -> str:
    return text[: match.start()] + " " + text[match.end():]


def _parse_dateparser(text: str, clinic: Clinic, local_now: datetime) -> Optional[date]:
    """Reads a calendar date ("December 3", "12/3", "2026-12-03") with dateparser.

    Works around three dateparser 1.2.0 habits: an aware RELATIVE_BASE makes some inputs fail, so the
    clinic's wall-clock time is passed naive with TIMEZONE set; with PREFER_DATES_FROM='future' a date
    without a year that is today ("November 30" on November 30) is moved to next year, so the year is
    chosen here; and impossible dates ("December 32", "13/45") come back as odd years, so a date without
    a year must land this year or next.
    """
    settings = dict(
        _DATEPARSER_SETTINGS, TIMEZONE=clinic.timezone, RELATIVE_BASE=local_now.replace(tzinfo=None)
    )
    try:
        parsed = dateparser.parse(text, languages=["en"], settings=settings)
    except (ValueError, OverflowError, TypeError):  # pragma: no cover - defensive
        return None
    if parsed is None:
        return None
    found = parsed.date()
    today = local_now.date()
    if _YEAR_GIVEN.search(text) or re.search(r"\b(?:yesterday|ago)\b", text):
        return found
    if found.year not in (today.year, today.year + 1):
        return None
    try:
        this_year = found.replace(year=today.year)
    except ValueError:  # February 29
        return found
    if this_year >= today:
        return this_year
    if (found - today).days > MAX_DAYS_AHEAD and (today - this_year).days <= RECENT_PAST_DAYS:
        return this_year  # "November 29" said on November 30 means the one that just passed
    return found


def _understand(text: str, clinic: Clinic, local_now: datetime) -> _Request:
    """Picks the patient's words apart into days, dates, times and parts of the day."""
    today = local_now.date()
    request = _Request()
    s = " " + _squash(text).lower() + " "
    s = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", s)
    s = re.sub(r"\b(?:12\s+)?(?:noon|midday)\b", "12pm", s)
    s = re.sub(r"(\d)\s*o'?clock\b", r"\1:00", s)
    s = re.sub(r"(\d{1,2}(?::\d\d)?\s*(?:am|pm)?)\s*-?ish\b", r"around \1", s)
    s = re.sub(r"[,;!?()]", " ", s)
    s = re.sub(r"\bafter\s+work\b", "after 5pm", s)  # the usual end of a working day

    if _ASAP.search(s):
        request.asap = True
        s = _ASAP.sub(" ", s)

    # Parts of the day first: they decide whether a bare "8" is AM or PM.
    for match in reversed(list(_PART.finditer(s))):
        part = match.group("part")
        name = "lunchtime" if part.startswith("lunch") else part.rstrip("s")
        if _NEGATED_PART.search(s[: match.start()] + (match.group("prefix") or "")):
            # "not mornings" -> afternoons, "no afternoons" -> mornings; "not evenings" adds nothing.
            name = {"morning": "afternoon", "afternoon": "morning"}.get(name, "")
            negation = r"\b(?:not|no|but\s+not|except|never)\s+(?:in\s+the\s+)?$"
            before = re.sub(negation, " ", s[: match.start()])
            s = before + " " + s[match.end():]
        else:
            s = _cut(s, match)
        if not name:
            continue
        if part.endswith("s") and not part.startswith("lunch") or match.group("prefix") == "every":
            request.parts_plural = True
        if match.group("prefix") == "this":
            request.dates.append(today)
        if name not in request.parts:
            request.parts.insert(0, name)
    if re.search(r"\btonight\b", s):
        request.parts.append("evening")
    if re.search(r"\bweek\s?nights?\b", s):
        request.parts.append("evening")

    range_match = _TIME_RANGE.search(s)
    while range_match and not (
        range_match.group("pre") or range_match.group(4) or range_match.group(7)
        or range_match.group(3) or range_match.group(6)
    ):
        range_match = _TIME_RANGE.search(s, range_match.end())
    if range_match:
        h1, m1, ap1, h2, m2, ap2 = range_match.group(2, 3, 4, 5, 6, 7)
        if ap2 == "am" and not ap1 and int(h1) <= int(h2):
            ap1 = "am"
        start = _resolve_hour(int(h1), int(m1 or 0), ap1, request.parts)
        end = _resolve_hour(int(h2), int(m2 or 0), ap2, request.parts)
        if start is None or end is None:
            request.error = "time"
        elif end <= start:
            request.error = "range"
        else:
            request.spec = _TimeSpec("between", start, end)
        s = _cut(s, range_match)
    singles = [
        match for match in _TIME_SINGLE.finditer(s) if match.group("rel") or match.group(4) or match.group(3)
    ]
    if singles and request.spec is None and not request.error:
        if len(singles) > 1:
            request.error = "two_times"
        else:
            match = singles[0]
            at = _resolve_hour(int(match.group(2)), int(match.group(3) or 0), match.group(4), request.parts)
            relation = _RELATIONS[" ".join(match.group("rel").split())] if match.group("rel") else "at"
            if re.search(r"\bnot\s+$", s[: match.start()]):
                relation = {"after": "before", "before": "after"}.get(relation, relation)
            if at is None:
                request.error = "time"
            else:
                request.spec = _TimeSpec(relation, at)
    for match in reversed(singles):
        s = _cut(s, match)

    if _ANY.search(s):
        request.any_time = True
        s = _ANY.sub(" ", s)

    for match in reversed(list(_DAY_SET.finditer(s))):
        word = match.group("set").replace(" ", "")
        members = {5, 6} if word.startswith("weekend") else {0, 1, 2, 3, 4}
        if _NEGATED_TAIL.search(s[: match.start()]):
            request.excluded_days |= members
        else:
            request.days |= members
            request.recurring_days = True
        s = _cut(s, match)

    weekday_matches = list(_WEEKDAY.finditer(s))
    for match in weekday_matches:
        index = _DAY_FORMS[match.group("day")]
        if _NEGATED_TAIL.search(s[: match.start()]):
            request.excluded_days.add(index)
            continue
        request.days.add(index)
        prefix = " ".join((match.group("prefix") or "").split())
        if match.group("day").endswith("days") or prefix in ("every", "each", "any"):
            request.recurring_days = True
        elif prefix in ("next", "this", "coming", "this coming"):
            request.weekday_prefix = "next" if prefix == "next" else "this"
    for match in reversed(weekday_matches):
        s = _cut(s, match)
    s = re.sub(r"\b(?:except|but\s+not|besides|other\s+than|not\s+on|not)\s+(?=\s*$)", " ", s)

    week = _REL_WEEK.search(s)
    if week:
        monday = today - timedelta(days=today.weekday())
        if week.group("which") == "this":
            request.date_range = (today, monday + timedelta(days=6), "this week")
        else:
            monday += timedelta(days=7)
            request.date_range = (monday, monday + timedelta(days=6), "next week")
        s = _cut(s, week)
    month = _REL_MONTH.search(s)
    if month:
        target = today if month.group("which") == "this" else _add_months(today.replace(day=1), 1)
        first, last = _month_span(target.year, target.month, today)
        request.date_range = (first, last, f"{month.group('which')} month")
        s = _cut(s, month)
    named_month = _MONTH_RANGE.search(s)
    if named_month and not (named_month.group("month") == "may" and not re.search(
        r"\b(?:in|during|early|late|mid)\s+may\b|\bmay\s+\d{4}", s
    )):
        number = _MONTHS[named_month.group("month")]
        if named_month.group("year"):
            year = int(named_month.group("year"))
        else:
            year = today.year if number >= today.month else today.year + 1
        first, last = _month_span(year, number, today)
        if last < today:
            first = last = date(year, number, 1)
        request.date_range = (first, last, f"{calendar.month_name[number]} {year}")
        s = _cut(s, named_month)

    for match in reversed(list(_IN_N.finditer(s))):
        count_text = " ".join((match.group("n1") or match.group("n2")).split())
        count = int(count_text) if count_text.isdigit() else _NUMBER_WORDS[count_text]
        unit = match.group("u1") or match.group("u2")
        if unit == "day":
            request.dates.append(today + timedelta(days=count))
        elif unit == "week":
            request.dates.append(today + timedelta(weeks=count))
        else:
            request.dates.append(_add_months(today, count))
        s = _cut(s, match)
    for match in reversed(list(_REL_DAY.finditer(s))):
        word = match.group().strip()
        offset = 2 if "after" in word else 1 if word == "tomorrow" else 0
        request.dates.append(today + timedelta(days=offset))
        s = _cut(s, match)

    if not re.search(r"\bmay\s+\d|\d(?:st|nd|rd|th)?\s+(?:of\s+)?may\b", s):
        s = re.sub(r"\bmay\b", " ", s)
    leftover = " ".join(word for word in s.replace(".", " ").split() if word.strip("'-/") not in _FILLER)
    leftover_raw = " ".join(word for word in s.split() if word.strip("'-/.") not in _FILLER)
    if leftover:
        ordinal = _ORDINAL.match(leftover)
        if ordinal:
            day_number = int(ordinal.group(1))
            candidate: Optional[date] = None
            for months_ahead in range(0, 3):
                first = _add_months(today.replace(day=1), months_ahead)
                if day_number <= calendar.monthrange(first.year, first.month)[1]:
                    option = first.replace(day=day_number)
                    if option >= today:
                        candidate = option
                        break
            if candidate is None:
                request.error = request.error or "date"
            else:
                request.dates.append(candidate)
        elif _DATE_HINT.search(leftover_raw):
            found = _parse_dateparser(leftover_raw, clinic, local_now)
            if found is None:
                request.error = request.error or "date"
            else:
                request.dates.append(found)
        elif not (
            request.days or request.excluded_days or request.dates or request.date_range or request.spec
            or request.parts or request.any_time or request.asap
        ):
            request.error = request.error or "nonsense"
    return request


def _window(spec: Optional[_TimeSpec], parts: Sequence[str]) -> Optional[Tuple[time, time]]:
    """The clock window the patient asked for, or `None` for "any time of day"."""
    if spec is not None:
        if spec.relation == "after":
            return spec.start, time(23, 59)
        if spec.relation == "before":
            return time(0, 0), spec.start
        if spec.relation == "between" and spec.end is not None:
            return spec.start, spec.end
        return spec.start, spec.start
    if parts:
        windows = [PART_WINDOWS[part] for part in parts]
        return min(w[0] for w in windows), max(w[1] for w in windows)
    return None


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _fits(spec: Optional[_TimeSpec], parts: Sequence[str], opens: time, closes: time,
          earliest: Optional[time] = None) -> bool:
    """Tells whether the requested time fits in one day's opening hours (from `earliest` on, if given)."""
    lower = _minutes(opens)
    if earliest is not None:
        lower = max(lower, _minutes(earliest))
    upper = _minutes(closes)
    needed = int(MIN_VISIT.total_seconds() // 60)
    if spec is not None and spec.relation in ("at", "around"):
        start = _minutes(spec.start)
        return lower <= start and start + needed <= upper
    window = _window(spec, parts)
    if window is not None:
        lower, upper = max(lower, _minutes(window[0])), min(upper, _minutes(window[1]))
    return upper - lower >= needed


def _time_phrase(spec: Optional[_TimeSpec], parts: Sequence[str]) -> str:
    if spec is not None:
        if spec.relation == "between" and spec.end is not None:
            return f"between {_clock(spec.start)} and {_clock(spec.end)}"
        return f"{spec.relation} {_clock(spec.start)}"
    if parts:
        return " or ".join(_PART_PHRASES[part] for part in parts)
    return ""


def _summary_time(spec: Optional[_TimeSpec], parts: Sequence[str], closes: Sequence[time]) -> str:
    """The time part of the summary; an evening wish is shown with the closing time ("until 6 PM")."""
    phrase = _time_phrase(spec, parts)
    if spec is None and any(part in ("evening", "night") for part in parts) and closes:
        phrase += f" (until {_clock(max(closes), True)})"
    return phrase


def _outside_hours_message(day: date, spec: Optional[_TimeSpec], parts: Sequence[str], clinic: Clinic) -> str:
    day_name = WEEKDAYS[day.weekday()]
    opens, closes = clinic.hours[day_name]
    hours = f"We're open {_clock(opens, True)}–{_clock(closes, True)} on {day_name.capitalize()}s"
    if spec is not None and spec.relation in ("at", "around") and opens <= spec.start < closes:
        latest = (datetime.combine(day, closes) - MIN_VISIT).time()
        return (f"We close at {_clock(closes, True)} on {day_name.capitalize()}s, so the latest visit starts "
                f"at {_clock(latest)}. Please pick an earlier time.")
    return f"{hours}, so we don't have visits {_time_phrase(spec, parts)}. Please pick a time in those hours."


def _date_text(day: date, today: date) -> str:
    text = f"{_day_name(day.weekday())}, {calendar.month_name[day.month]} {day.day}"
    return text if day.year == today.year else f"{text}, {day.year}"


def _iso_time(day: date, at: time, clinic: Clinic) -> str:
    return datetime.combine(day, at, tzinfo=clinic.tz).isoformat()


def _result_value(raw: str, kind: str, summary: str, request: _Request, **extra: Any) -> Dict[str, Any]:
    spec = request.spec
    value: Dict[str, Any] = {
        "raw": raw,
        "kind": kind,
        "start": None,
        "end": None,
        "days": None,
        "part_of_day": " or ".join(request.parts) if request.parts else None,
        "time": spec.start.strftime("%H:%M") if spec else None,
        "time_end": spec.end.strftime("%H:%M") if spec and spec.end else None,
        "relation": spec.relation if spec else None,
        "asap": request.asap,
        "summary": summary,
    }
    value.update(extra)
    return value


def parse_preferred_time(text: str, clinic: Clinic, now: datetime) -> ValidationResult[Dict[str, Any]]:
    """Understands when the patient would like to come in and checks it against the clinic's hours.

    Understood: specific days ("tomorrow", "next Tuesday", "December 3", "12/3", "the 5th", "in 2 weeks",
    "today"), times ("at 10am", "after 3", "before noon", "around 2", "between 2 and 4", "9-11am"), parts
    of the day ("morning", "afternoon", "evening", "lunchtime"), recurring wishes ("weekday mornings",
    "Tuesdays", "every Friday afternoon", "weekends", "any day but Friday", "after 5"), ranges ("next week",
    "this month", "in January") and "any time" / "asap". A bare hour from 1 to 6 is read as PM, from 7 to 11
    as AM. "Next Tuesday" and a bare "Tuesday" mean the first Tuesday after today; "this Tuesday" may be
    today.

    `dateparser` reads calendar dates only; our own rules handle the rest, because dateparser 1.2.0 returns
    nothing for "next Tuesday", "tomorrow morning" or "Friday afternoon", reads a bare number as a day or
    month ("after 5" -> May 30, "Sunday at 10" -> October 30), fails on "5pm" when RELATIVE_BASE is
    time-zone aware, and moves a year-less date that is today to next year.

    Rejected, with a message saying why: dates or times in the past; closed days (with the opening hours);
    times outside that day's hours (a visit needs at least 30 minutes before closing); evenings or weekends
    when the clinic is closed then; dates more than about 6 months ahead; and text that is not a time.

    Args:
        text: What the patient typed.
        clinic: The clinic, for its time zone and opening hours.
        now: The current time; a naive value is taken as the clinic's local time.

    Returns:
        A dict with `raw` (the text as typed), `kind` ("datetime", "date", "recurring" or "any"), `start`
        (ISO datetime for "datetime", ISO date for "date", else None), `end` (last day of a range such as
        "next week", or the end of a "between" window on a specific day), `days` (weekday names, for
        "recurring"), `part_of_day`, `time` / `time_end` ("15:00"), `relation` ("at", "around", "after",
        "before", "between"), `asap`, and a human `summary` ("Tuesday, December 1, after 3:00 PM").
    """
    raw = _squash(text)
    tz = clinic.tz
    local_now = now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)
    today = local_now.date()
    nonsense = (f"Sorry, I didn't understand that. Please tell me what days and times work for you, like "
                f"{TIME_EXAMPLES}.")
    if not raw:
        return _fail(nonsense)
    request = _understand(raw, clinic, local_now)
    if request.error == "time":
        return _fail('I didn\'t understand that time. Please use a time like "10am" or "2:30pm".')
    if request.error == "range":
        return _fail('The end of that time range comes before its start. Please try again, like "between 2 '
                     'and 4pm".')
    if request.error == "two_times":
        return _fail('Please give me one time, or a range like "between 10am and 2pm".')
    if request.error in ("date", "nonsense"):
        if request.error == "date":
            return _fail(f'I couldn\'t read that date. Please try again, like "December 3" or "next '
                         f'Tuesday", or tell me what works, like {TIME_EXAMPLES}.')
        return _fail(nonsense)

    spec, parts = request.spec, request.parts
    past = ('That date has already passed. Please pick a day from today on, like "tomorrow morning" or "next '
            'Tuesday after 3".')
    too_far = ('That\'s more than 6 months away. We can only take requests for the next few months. Please '
               'pick something sooner, like "next Tuesday" or "in 2 weeks".')

    # A specific day: from a date, from "this/next <weekday>", or a lone weekday ("Friday afternoon").
    dates = sorted(set(request.dates))
    if len(dates) > 1:
        return _fail("I heard more than one date there. Please pick one day, like \"next Tuesday after 3\".")
    single_weekday = (
        len(request.days) == 1 and not request.recurring_days and not request.excluded_days
        and (request.weekday_prefix is not None or not (parts and request.parts_plural and not dates))
    )
    if dates and request.days:
        wanted = dates[0]
        if wanted.weekday() not in request.days:
            said = _day_list(sorted(request.days), plural=False, joiner="or")
            month = calendar.month_name[wanted.month]
            weekday_name = _day_name(wanted.weekday())
            return _fail(f"{month} {wanted.day} is a {weekday_name}, not a {said}. Which day did you mean?")
    if not dates and request.date_range and single_weekday:
        first, last, _label = request.date_range
        weekday = next(iter(request.days))
        candidates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        matching = [day for day in candidates if day.weekday() == weekday]
        if matching:
            dates = [matching[0]]
    elif not dates and single_weekday and not request.date_range:
        weekday = next(iter(request.days))
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 and request.weekday_prefix != "this":
            ahead = 7
        dates = [today + timedelta(days=ahead)]

    if dates:
        day = dates[0]
        if day < today:
            return _fail(past)
        if (day - today).days > MAX_DAYS_AHEAD:
            return _fail(too_far)
        day_name = WEEKDAYS[day.weekday()]
        if day_name not in clinic.hours:
            return _fail(_closed_message([day.weekday()], clinic))
        opens, closes = clinic.hours[day_name]
        earliest: Optional[time] = None
        if day == today:
            earliest = local_now.time().replace(second=0, microsecond=0)
            asked = _window(spec, parts)
            if asked is not None and asked[1] <= earliest:
                return _fail('That time has already passed today. Please pick a later time, or another day '
                             'like "tomorrow at 10am".')
            if not _fits(None, [], opens, closes, earliest):
                return _fail(f'We\'re closed for the rest of today. Please pick another day, like '
                             f'"tomorrow". We\'re open {opening_hours_text(clinic)}.')
            if not _fits(spec, parts, opens, closes, earliest):
                return _fail(_outside_hours_message(day, spec, parts, clinic))
        elif not _fits(spec, parts, opens, closes):
            return _fail(_outside_hours_message(day, spec, parts, clinic))
        when = _summary_time(spec, parts, [closes])
        summary = _date_text(day, today) + (f", {when}" if when else "")
        if spec is not None:
            end = _iso_time(day, spec.end, clinic) if spec.end else None
            start = _iso_time(day, spec.start, clinic)
            return _ok(_result_value(raw, "datetime", summary, request, start=start, end=end))
        return _ok(_result_value(raw, "date", summary, request, start=day.isoformat()))

    if request.date_range:
        first, last, label = request.date_range
        if last < today:
            return _fail(past)
        if (first - today).days > MAX_DAYS_AHEAD:
            return _fail(too_far)
        last = min(last, today + timedelta(days=MAX_DAYS_AHEAD))
        span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        allowed = request.days - request.excluded_days if request.days else None
        span = [day for day in span if allowed is None or day.weekday() in allowed]
        span = [day for day in span if day.weekday() not in request.excluded_days]
        open_days = [day for day in span if WEEKDAYS[day.weekday()] in clinic.hours]
        if not open_days:
            return _fail(_closed_message(sorted({day.weekday() for day in span}) or [5, 6], clinic))
        fitting = []
        for day in open_days:
            opens, closes = clinic.hours[WEEKDAYS[day.weekday()]]
            earliest_today = local_now.time() if day == today else None
            if _fits(spec, parts, opens, closes, earliest_today):
                fitting.append(day)
        if not fitting:
            return _fail(f"We don't have visits {_time_phrase(spec, parts)} {label}. We're open "
                         f"{opening_hours_text(clinic)}.")
        closes_list = [clinic.hours[WEEKDAYS[day.weekday()]][1] for day in fitting]
        when = _summary_time(spec, parts, closes_list)
        if fitting[0] == fitting[-1]:
            summary = _date_text(fitting[0], today)
        else:
            summary = f"Any day from {_date_text(fitting[0], today)} to {_date_text(fitting[-1], today)}"
        summary += f", {when}" if when else ""
        return _ok(_result_value(raw, "date", summary, request, start=fitting[0].isoformat(),
                                 end=fitting[-1].isoformat(),
                                 days=[WEEKDAYS[i] for i in sorted({day.weekday() for day in fitting})]))

    if request.days or request.excluded_days or spec is not None or parts:
        requested = set(request.days) if request.days else set(range(7))
        requested -= request.excluded_days
        if not requested:
            return _fail(f"That leaves no days. We're open {opening_hours_text(clinic)}. Which of those days "
                         f"work for you?")
        open_requested = [day for day in sorted(requested) if WEEKDAYS[day] in clinic.hours]
        if not open_requested:
            return _fail(_closed_message(sorted(requested), clinic))
        fitting_days = [
            day for day in open_requested if _fits(spec, parts, *clinic.hours[WEEKDAYS[day]])
        ]
        if not fitting_days:
            phrase = _time_phrase(spec, parts)
            on_days = ""
            if request.days:
                listed = _day_list(open_requested)
                on_days = f" {listed}" if " to " in listed else f" on {listed}"
            if parts and spec is None and all(part in ("evening", "night") for part in parts):
                opening = "We're not open " + phrase + on_days
            else:
                opening = f"We don't have visits {phrase}{on_days}"
            hours_text = opening_hours_text(clinic)
            return _fail(f"{opening}. We're open {hours_text}. Please pick a time in those hours.")
        closes_list = [clinic.hours[WEEKDAYS[day]][1] for day in fitting_days]
        when = _summary_time(spec, parts, closes_list) or "any time"
        days_text = _day_list(fitting_days)
        if fitting_days == [0, 1, 2, 3, 4]:
            days_text = "Weekdays (Monday to Friday)"
        summary = f"{days_text[0].upper()}{days_text[1:]}, {when}"
        day_names = [WEEKDAYS[i] for i in fitting_days]
        return _ok(_result_value(raw, "recurring", summary, request, days=day_names))

    if request.any_time or request.asap:
        summary = "As soon as possible" if request.asap else "Any time we're open"
        open_names = [day for day in WEEKDAYS if day in clinic.hours]
        return _ok(_result_value(raw, "any", summary, request, days=open_names or None))
    return _fail(nonsense)  # pragma: no cover - _understand reports nonsense itself


# --------------------------------------------------------------------------------------------------
# Reason, insurance, patient type, consent
# --------------------------------------------------------------------------------------------------

_NOT_REASONS: FrozenSet[str] = frozenset(
    ["no", "none", "idk", "nothing", "skip", "n/a", "na", "ok", "okay", "yes", "yeah", "nope", "dunno",
     "i don't know", "don't know", "i dont know", "not sure"]
)


def validate_reason(text: str) -> ValidationResult[str]:
    """Validates the reason for the visit.

    Args:
        text: What the patient typed (or the pre-filled reason they confirmed).

    Returns:
        The reason trimmed with whitespace collapsed; 3 to 300 characters with some letters in it.
    """
    reason = _squash(text)
    example = 'for example "lower back pain that goes down my leg"'
    too_little = sum(ch.isalpha() for ch in reason) < 2 or len(reason) < 3
    if too_little or reason.lower().strip(".!?") in _NOT_REASONS:
        return _fail(f"Please tell me in a few words why you'd like to come in, {example}.")
    if len(reason) > 300:
        return _fail("That's a bit long for our form. Please keep it under 300 characters. You can tell the "
                     "therapist the rest at your visit.")
    return _ok(reason)


_INSURANCE_SKIP: FrozenSet[str] = frozenset(
    ["skip", "no", "pass", "not sure", "i'm not sure", "im not sure", "i don't know", "i dont know", "idk",
     "don't know", "dont know", "rather not say", "i'd rather not say", "prefer not to say", "later", "n/a",
     "na", "no thanks", "no thank you", "skip it", "skip that", "nah", "unsure", "dunno"]
)
_SELF_PAY = re.compile(
    r"\b(?:self[\s-]?pay(?:ing)?|cash|pay(?:ing)?\s+(?:it\s+)?(?:myself|out\s+of\s+pocket|cash|in\s+cash)|"
    r"out[\s-]of[\s-]pocket|no\s+insurance|(?:don't|dont|do\s+not)\s+have\s+(?:any\s+)?insurance|uninsured|"
    r"not\s+insured|private\s+pay|none|nothing|i'll\s+pay|i\s+will\s+pay)\b"
)
_INSURANCE_LEAD_IN = re.compile(
    r"^(?:i\s+have|i've\s+got|i\s+got|i\s+use|i'm\s+with|i\s+am\s+with|we\s+have|it's|it\s+is|"
    r"my\s+insurance\s+is|insurance\s+is|my\s+insurer\s+is|through|with)\s+",
    re.IGNORECASE,
)


def validate_insurance(text: str, insurers: Sequence[str] = ()) -> ValidationResult[str]:
    """Understands the patient's insurance answer (optional).

    Args:
        text: What the patient typed.
        insurers: Insurer names the clinic knows (e.g. `Clinic.insurers`); an answer matching one of them,
            ignoring case, is returned with the clinic's spelling.

    Returns:
        "medicare" (Medicare, but not Medicare Advantage plans, which are kept by name); "self-pay" (self
        pay, cash, no insurance); `None` when skipped ("skip", "not sure"); otherwise the insurer's name
        as given, title-cased if typed all in lower case.
    """
    answer = _squash(text).strip(" .!?")
    lowered = answer.lower()
    if not lowered or lowered in _INSURANCE_SKIP:
        return _ok(None)
    if re.search(r"\bmedicare\b", lowered) and "advantage" not in lowered:
        return _ok("medicare")
    if _SELF_PAY.search(lowered):
        return _ok("self-pay")
    name = _INSURANCE_LEAD_IN.sub("", answer).strip()
    example = '"Blue Cross Blue Shield", "Medicare" or "self-pay", or say "skip"'
    if "@" in name or _URL.search(name):
        return _fail(f"Please tell me the name of your insurance company, like {example}.")
    if re.fullmatch(r"[\w\-\s]*\d[\w\-\s]*", name) and sum(ch.isdigit() for ch in name) >= 4:
        return _fail(f"That looks like a member ID number. Just the name of your insurance is enough, like "
                     f"{example}.")
    if sum(ch.isalpha() for ch in name) < 2:
        return _fail(f"I didn't catch that. What insurance do you have? For example {example}.")
    if len(name) > 80:
        return _fail(f"That's a bit long. Please give just the name of your insurance, like {example}.")
    for known in insurers:
        known_lower = known.lower()
        if name.lower() == known_lower or (len(name) >= 4 and name.lower() in known_lower):
            return _ok("medicare" if known_lower == "medicare" else known)
    if name == name.lower():
        name = name.title()
    return _ok(name)


_NEW_PATIENT = (
    r"new|brand\s+new|first\s*time|first\s+visit|first\s+appointment|never|not\s+yet|no\s+i\s+haven't|"
    r"not\s+(?:a\s+)?(?:returning|existing|current)(?:\s+patient)?|haven't\s+been|have\s+not\s+been|"
    r"never\s+been|not\s+been"
)
_RETURNING_PATIENT = (
    r"returning|return|existing|current\s+patient|been\s+(?:\w+\s+){0,4}before|came\s+before|"
    r"(?:i've|i\s+have|i\s+had|i'd)\s+been|was\s+(?:a\s+patient|there|here|in)|seen\s+(?:\w+\s+){0,3}before|"
    r"visited\s+(?:\w+\s+){0,3}before|(?:came|come|visited|was\s+seen|saw)\s+(?:\w+\s+){0,3}"
    r"(?:last|ago|before|in\s+\d{4})|again|come\s+back|came\s+back|coming\s+back|old\s+patient|regular|"
    r"already\s+(?:a\s+)?patient|been\s+a\s+patient|follow[\s-]?up|established|previous(?:ly)?|"
    r"not\s+(?:a\s+)?new(?:\s+patient)?|not\s+my\s+first"
)


def parse_patient_type(text: str) -> ValidationResult[str]:
    """Tells a new patient from a returning one.

    A bare "yes" or "no" is not accepted, because its meaning depends on how the question was asked.

    Args:
        text: What the patient typed ("first time", "I've been there before", "existing patient" ...).

    Returns:
        "new" or "returning".
    """
    words = _words(text)
    message = ('Are you new to us, or have you been here before? Please say "new" or "returning".')
    if not words:
        return _fail(message)
    # Negations first: "not new" is returning, "haven't been before" / "not returning" is new.
    if _has(r"not\s+(?:a\s+)?new(?:\s+patient)?|not\s+my\s+first(?:\s+time)?", words):
        return _ok("returning")
    if _has(r"(?:never|haven't|have\s+not|hasn't|didn't|did\s+not|not)\s+(?:\w+\s+){0,3}"
            r"(?:been|seen|visited|come|came|gone|a\s+patient)|not\s+(?:a\s+)?(?:returning|existing|current)",
            words):
        return _ok("new")
    returning = _has(_RETURNING_PATIENT, words)
    new = _has(_NEW_PATIENT, words)
    if returning and not new:
        return _ok("returning")
    if new and not returning:
        return _ok("new")
    return _fail(message)


_CONSENT_YES_PHRASES = (
    r"no\s+problem|no\s+worries|not\s+a\s+problem|why\s+not|of\s+course|don't\s+mind|do\s+not\s+mind"
)
_CONSENT_UNSURE = (
    r"i\s+don't\s+know|don't\s+know|dont\s+know|not\s+sure|idk|dunno|maybe|perhaps|i\s+guess\s+not"
)
_CONSENT_NO_PHRASES = (
    r"absolutely\s+not|definitely\s+not|certainly\s+not|of\s+course\s+not|(?:do\s+not|don't|dont)\s+"
    r"(?:consent|agree)|not\s+ok|not\s+okay|not\s+fine|no\s+way"
)
_CONSENT_YES = (
    r"yes|yeah|yea|yep|yup|ya|y|sure|ok|okay|k|fine|alright|all\s+right|agree|agreed|i\s+agree|consent|"
    r"i\s+consent|absolutely|definitely|certainly|please\s+do|go\s+ahead|sounds\s+good|correct|that's\s+fine|"
    r"that's\s+ok|you\s+may|you\s+can|please|affirmative|of\s+course|yes\s+please"
)
_CONSENT_NO = (
    r"no|nope|nah|n|never|don't|do\s+not|dont|not|no\s+thanks|stop|refuse|decline|i\s+decline|"
    r"rather\s+not|prefer\s+not|can't|cannot|won't|negative"
)


def parse_consent(text: str) -> ValidationResult[bool]:
    """Reads an explicit yes or no to being contacted.

    An answer with both a yes and a no in it ("ok but don't call me") is not accepted: it is asked again.

    Args:
        text: What the patient typed.

    Returns:
        True for yes ("yes", "sure", "ok", "yep", "of course"), False for no ("no", "nope", "don't call
        me").
    """
    words = _words(text)
    if _has(_CONSENT_UNSURE, words):
        words = ""
    elif _has(_CONSENT_NO_PHRASES, words):
        words = re.sub(rf"(?<![\w'])(?:{_CONSENT_NO_PHRASES})(?![\w'])", " no ", words)
    message = ('Sorry, I need a clear yes or no. May the clinic contact you about this request? Please say '
               '"yes" or "no".')
    yes = _has(_CONSENT_YES_PHRASES, words)
    rest = re.sub(rf"(?<![\w'])(?:{_CONSENT_YES_PHRASES})(?![\w'])", " ", words)
    yes = yes or _has(_CONSENT_YES, rest)
    no = _has(_CONSENT_NO, rest)
    if yes and not no:
        return _ok(True)
    if no and not yes:
        return _ok(False)
    return _fail(message)
