"""Validators of the answers patients give in the forms: pure functions, no Rasa, no I/O.

Each takes the patient's text (and, where it matters, the clinic, the current time and the conversation's
language) and returns a `ValidationResult`: the value to store, or the name of the response that explains
what is wrong. They understand English and Spanish answers alike.
"""

from bts.validation.answers import parse_consent, parse_patient_type, validate_insurance, validate_reason
from bts.validation.email import validate_email
from bts.validation.name import validate_name
from bts.validation.phone import format_phone_for_display, validate_phone
from bts.validation.result import ValidationResult
from bts.validation.time_check import parse_preferred_time

__all__ = [
    "ValidationResult",
    "format_phone_for_display",
    "parse_consent",
    "parse_patient_type",
    "parse_preferred_time",
    "validate_email",
    "validate_insurance",
    "validate_name",
    "validate_phone",
    "validate_reason",
]
