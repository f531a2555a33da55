"""De-identification of patient text before it leaves for training data, git or a model.

Phone numbers, e-mail addresses, dates, street addresses, booking references and names are
replaced by realistic fakes (fictional 555 numbers, example.com, "Alex Example"), so that an
exported example still reads like what a patient writes and still trains the same intent.
Names are found where patients introduce themselves ("my name is ...", "this is ...") and where
the conversation stored them (`known` values, such as the booking form's name slot).
Pure Python with no third-party imports (it is installed into both environments).
"""

from __future__ import annotations

import re
from typing import Iterable, List, Sequence

from bts import contact

FAKE_PHONE = "(575) 555-0100"
FAKE_EMAIL = "patient@example.com"
FAKE_NAME = "Alex Example"
FAKE_DATE = "March 3"
FAKE_NUMERIC_DATE = "03/03"
FAKE_ADDRESS = "123 Example St"
FAKE_REFERENCE = "BTS-EXAMPLE"
FAKE_ZIP = "88001"

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_WORDS = re.compile(
    rf"\b(?:{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}"
    rf"(?:,?\s+\d{{4}})?)(?!\w)",
    re.IGNORECASE,
)
# Day, month and year ("05/01/2024", "2024-05-01"); "7/10" is more often a pain score than a date.
_DATE_NUMBERS = re.compile(r"(?<![\d/.-])\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}(?![\d/.-])")
_STREET_TYPES = (
    r"(?:st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|way|ct|court|pl|place|"
    r"pkwy|parkway|hwy|highway|cir|circle|trl|trail|loop)\.?"
)
_ADDRESS = re.compile(
    rf"\b\d{{1,6}}\s+(?:[nsew]\.?\s+)?(?:[a-z0-9']+\s+){{0,3}}?{_STREET_TYPES}(?!\w)"
    r"(?:,?\s+(?:apt|apartment|unit|suite|ste|#)\.?\s*[a-z0-9-]+)?",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"\bBTS-[A-Z0-9]{3,}\b", re.IGNORECASE)
_ZIP = re.compile(r"(?<![\d-])\d{5}(?:-\d{4})?(?![\d-])")
# "my name is Maria Lopez", "this is Maria", "I'm Maria Lopez": one to three capitalised words.
_NAME_CUE = re.compile(
    r"\b(?:my name is|my name's|name is|this is|i am|i'm|im|call me|soy|me llamo|mi nombre es)\s+"
    r"((?:[A-ZÁÉÍÓÚÑÜ][\w'’-]*)(?:\s+[A-ZÁÉÍÓÚÑÜ][\w'’-]*){0,2})",
    re.IGNORECASE,
)
_NOT_NAMES = {
    "a", "an", "the", "in", "not", "having", "looking", "calling", "writing", "here", "so", "very",
    "sorry", "fine", "ok", "okay", "good", "new", "back", "still", "just", "also", "really", "done",
    "interested", "wondering", "trying", "going", "asking", "pregnant", "diabetic", "hurting",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
    "february", "march", "april", "june", "july", "august", "september", "october", "november",
    "december", "medicare", "medicaid", "border", "therapy", "i",
}


def _contact_fake(span: contact.Span, _original: str) -> str:
    return FAKE_PHONE if span.kind == "phone" else FAKE_EMAIL


def _name_fake(match: re.Match) -> str:
    words = match.group(1).split()
    # The cue is case-insensitive, the name is not: "I'm having pain" is not a name.
    kept: List[str] = []
    for word in words:
        if not word[:1].isupper() or word.lower() in _NOT_NAMES:
            break
        kept.append(word)
    if not kept:
        return match.group(0)
    fake = FAKE_NAME if len(kept) > 1 else FAKE_NAME.split()[0]
    start = match.start(1) - match.start(0)
    rest = " ".join(words[len(kept) :])
    return match.group(0)[:start] + fake + (" " + rest if rest else "")


def _known_values(known: Iterable[object]) -> List[str]:
    values = {str(v).strip() for v in known if isinstance(v, str) and len(str(v).strip()) >= 3}
    return sorted(values, key=len, reverse=True)


def deidentify(text: str, known: Sequence[object] = ()) -> str:
    """`text` with contact details, dates, addresses, references and names replaced by fakes.

    Args:
        text: What a patient typed (or a slot value).
        known: Values the conversation is known to hold about the patient (name, phone, ...);
            each occurrence is replaced too, whatever its shape.
    """
    if not text:
        return text
    for value in _known_values(known):
        fake = FAKE_EMAIL if "@" in value else FAKE_PHONE if any(c.isdigit() for c in value) else FAKE_NAME
        text = re.sub(re.escape(value), fake, text, flags=re.IGNORECASE)
    text = contact.replace(text, contact.spans(text), _contact_fake)
    text = _REFERENCE.sub(FAKE_REFERENCE, text)
    text = _ADDRESS.sub(FAKE_ADDRESS, text)
    text = _DATE_WORDS.sub(FAKE_DATE, text)
    text = _DATE_NUMBERS.sub(FAKE_NUMERIC_DATE, text)
    text = _ZIP.sub(FAKE_ZIP, text)
    return _NAME_CUE.sub(_name_fake, text)
