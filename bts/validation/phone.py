"""US phone numbers, normalised to E.164.

Phone numbers are checked with `phonenumbers.is_possible_number` plus the structural rules of the North
American Numbering Plan (area code and exchange do not start with 0 or 1, the area code is not an N11 code
such as 911), NOT with `is_valid_number`. The fictional range 555-0100 to 555-0199 is reserved for films,
demos and tests, and the clinic's example number and our tests use it; `is_valid_number` depends on the
metadata version (it has flagged such numbers, and newly opened area codes, as invalid), so it would reject
numbers a patient may really give us. A US number is one with country code +1 (the whole NANP).

An extension is kept in RFC 3966 style after the E.164 number: `+15755550142;ext=12`. Everything before
`;ext=` is plain E.164, and `phonenumbers.parse` reads the whole string back.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from bts.validation.result import ValidationResult, fail, ok

_PHONE_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]*\d\)?|\+?\d")
_EXTENSION = re.compile(r"^\s*,?\s*(?:x|ext\.?|extension|extensión|#)\s*(\d{1,6})\b", re.IGNORECASE)
_EXTENSION_GLUED = re.compile(r"(?<=\d)\s*(?:x|ext\.?|extension|extensión|#)\s*\d{1,6}\b", re.IGNORECASE)


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
        return fail("phone_no_digits")
    # A token mixing digits and letters (other than an extension marker) is a vanity number: 1-800-FLOWERS.
    for token in cleaned.split():
        bare = _EXTENSION_GLUED.sub("", token).strip(".,;:!?")
        bare = re.sub(r"^(?:x|ext\.?|extension|extensión|#)(?=\d)", "", bare, flags=re.IGNORECASE)
        if re.search(r"\d", bare) and re.search(r"[^\W\d_]", bare) or re.search(r"\d[-.][^\W\d_]", token):
            return fail("phone_letters")
    runs = [m for m in _PHONE_RUN.finditer(cleaned) if len(re.sub(r"\D", "", m.group())) >= 7]
    if len(runs) > 1:
        return fail("phone_several")
    if not runs:
        return fail("phone_short")
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
        return fail("phone_not_us")
    if country_and_number is not None:
        national = country_and_number[1:]
    elif len(digits) == 11 and digits.startswith("1"):
        national = digits[1:]
    else:
        national = digits
    if len(national) == 7:
        return fail("phone_area_missing")
    if len(national) < 10:
        return fail("phone_too_short")
    if len(national) > 10:
        return fail("phone_too_long")
    area, exchange = national[:3], national[3:6]
    if area[0] in "01":
        return fail("phone_area_code")
    if area[1:] == "11":
        return fail("phone_n11", area=area)
    if exchange[0] in "01":
        return fail("phone_exchange")
    try:
        number = phonenumbers.parse("+1" + national, None)
    except phonenumbers.NumberParseException:  # pragma: no cover - the digits were checked above
        return fail("phone_invalid")
    if not phonenumbers.is_possible_number(number):  # pragma: no cover - the length was checked above
        return fail("phone_invalid")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ok(f"{e164};ext={extension}" if extension else e164)


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
