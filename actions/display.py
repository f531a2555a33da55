"""How stored answers read when they are repeated to the patient (summaries and confirmations).

Text the patient typed is repeated as plain text: it must never become a link or formatting in the
widget, whose bot messages understand `**bold**`, `[label](url)` and bare http(s) URLs.
"""

from __future__ import annotations

import re
from typing import Any, Dict

from actions.forms import SKIPPED
from bts.validation import format_phone_for_display

# An invisible word joiner between the characters that would start markup stops the widget's
# parser without changing what the patient sees.
_JOINER = "\u2060"
_MARKUP = re.compile(r"(:)(//)|(\])(\()|(\*)(\*)")

_WORDS: Dict[str, Dict[str, str]] = {
    "en": {
        "none": "none", "new": "New patient", "returning": "Returning patient", "medicare": "Medicare",
        "self-pay": "Self-pay", "booking_name": "name", "booking_phone": "phone", "booking_email": "e-mail",
        "booking_time": "preferred time", "booking_reason": "reason for the visit",
        "booking_patient_type": "new or returning", "booking_insurance": "insurance",
    },
    "es": {
        "none": "ninguno", "new": "Paciente nuevo", "returning": "Ya ha venido antes", "medicare": "Medicare",
        "self-pay": "Pago propio (sin seguro)", "booking_name": "nombre", "booking_phone": "teléfono",
        "booking_email": "correo electrónico", "booking_time": "horario preferido",
        "booking_reason": "motivo de la visita", "booking_patient_type": "paciente nuevo o de regreso",
        "booking_insurance": "seguro",
    },
}  # fmt: skip


def plain(text: Any) -> str:
    """The patient's text with every link or markup opener broken by an invisible joiner."""

    def breaker(match: re.Match) -> str:
        first = next(group for group in match.groups() if group is not None)
        rest = match.group(0)[len(first):]
        return first + _JOINER + rest

    return _MARKUP.sub(breaker, str(text))


def word(key: str, lang: str) -> str:
    """A label or fixed value ("New patient", "Pago propio") in the conversation's language."""
    return _WORDS.get(lang, _WORDS["en"]).get(key, key)


def display(slot: str, value: Any, lang: str) -> str:
    """How a stored value reads in the summary; the patient's own text is made plain."""
    if value in (None, SKIPPED):
        return word("none", lang)
    if slot.endswith("_phone"):
        return format_phone_for_display(str(value))
    if slot.endswith("_time") and isinstance(value, dict):
        return plain(value.get("summary"))
    if slot == "booking_patient_type" or (slot == "booking_insurance" and value in ("medicare", "self-pay")):
        return word(str(value), lang)
    return plain(value)
