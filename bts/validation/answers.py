"""Short answers of the forms: reason for the visit, insurance, new or returning, yes or no.

Each understands English and Spanish ("sin seguro", "primera vez", "sí, envíelo").
"""

from __future__ import annotations

import re
from typing import FrozenSet, Sequence

from bts.validation.result import URL, ValidationResult, fail, has, ok, squash, words

_NOT_REASONS: FrozenSet[str] = frozenset(
    ["no", "none", "idk", "nothing", "skip", "n/a", "na", "ok", "okay", "yes", "yeah", "nope", "dunno",
     "i don't know", "don't know", "i dont know", "not sure", "sí", "si", "nada", "no sé", "no se",
     "ninguno", "ninguna", "bueno", "vale"]
)


def validate_reason(text: str) -> ValidationResult[str]:
    """Validates the reason for the visit.

    Args:
        text: What the patient typed (or the pre-filled reason they confirmed).

    Returns:
        The reason trimmed with whitespace collapsed; 3 to 300 characters with some letters in it.
    """
    reason = squash(text)
    too_little = sum(ch.isalpha() for ch in reason) < 2 or len(reason) < 3
    if too_little or reason.lower().strip(".!?") in _NOT_REASONS:
        return fail("reason_missing")
    if len(reason) > 300:
        return fail("reason_long")
    return ok(reason)


_INSURANCE_SKIP: FrozenSet[str] = frozenset(
    ["skip", "no", "pass", "not sure", "i'm not sure", "im not sure", "i don't know", "i dont know", "idk",
     "don't know", "dont know", "rather not say", "i'd rather not say", "prefer not to say", "later", "n/a",
     "na", "no thanks", "no thank you", "skip it", "skip that", "nah", "unsure", "dunno", "omitir", "saltar",
     "no sé", "no se", "no estoy seguro", "no estoy segura", "prefiero no decir", "después", "despues",
     "no gracias", "paso"]
)
_SELF_PAY = re.compile(
    r"\b(?:self[\s-]?pay(?:ing)?|cash|pay(?:ing)?\s+(?:it\s+)?(?:myself|out\s+of\s+pocket|cash|in\s+cash)|"
    r"out[\s-]of[\s-]pocket|no\s+insurance|(?:don't|dont|do\s+not)\s+have\s+(?:any\s+)?insurance|uninsured|"
    r"not\s+insured|private\s+pay|none|nothing|i'll\s+pay|i\s+will\s+pay|efectivo|sin\s+seguro|"
    r"no\s+tengo\s+(?:seguro|aseguranza|insurance)|pago\s+(?:yo|propio|en\s+efectivo|de\s+mi\s+bolsillo)|"
    r"pagar[ée]\s+yo|de\s+mi\s+bolsillo|ninguno|nada)\b"
)
_INSURANCE_LEAD_IN = re.compile(
    r"^(?:i\s+have|i've\s+got|i\s+got|i\s+use|i'm\s+with|i\s+am\s+with|we\s+have|it's|it\s+is|"
    r"my\s+insurance\s+is|insurance\s+is|my\s+insurer\s+is|through|with|tengo|mi\s+seguro\s+es|"
    r"mi\s+aseguranza\s+es|el\s+seguro\s+es|es|con|por)\s+",
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
    answer = squash(text).strip(" .!?")
    lowered = answer.lower()
    if not lowered or lowered in _INSURANCE_SKIP:
        return ok(None)
    if re.search(r"\bmedicare\b", lowered) and "advantage" not in lowered:
        return ok("medicare")
    if _SELF_PAY.search(lowered):
        return ok("self-pay")
    name = _INSURANCE_LEAD_IN.sub("", answer).strip()
    if "@" in name or URL.search(name):
        return fail("insurance_not_a_name")
    if re.fullmatch(r"[\w\-\s]*\d[\w\-\s]*", name) and sum(ch.isdigit() for ch in name) >= 4:
        return fail("insurance_member_id")
    if sum(ch.isalpha() for ch in name) < 2:
        return fail("insurance_unclear")
    if len(name) > 80:
        return fail("insurance_long")
    for known in insurers:
        known_lower = known.lower()
        if name.lower() == known_lower or (len(name) >= 4 and name.lower() in known_lower):
            return ok("medicare" if known_lower == "medicare" else known)
    if name == name.lower():
        name = name.title()
    return ok(name)


_NEW_PATIENT = (
    r"new|brand\s+new|first\s*time|first\s+visit|first\s+appointment|never|not\s+yet|no\s+i\s+haven't|"
    r"not\s+(?:a\s+)?(?:returning|existing|current)(?:\s+patient)?|haven't\s+been|have\s+not\s+been|"
    r"never\s+been|not\s+been|nuevo|nueva|primera\s+vez|primera\s+cita|nunca|todavía\s+no|todavia\s+no"
)
_RETURNING_PATIENT = (
    r"returning|return|existing|current\s+patient|been\s+(?:\w+\s+){0,4}before|came\s+before|"
    r"(?:i've|i\s+have|i\s+had|i'd)\s+been|was\s+(?:a\s+patient|there|here|in)|seen\s+(?:\w+\s+){0,3}before|"
    r"visited\s+(?:\w+\s+){0,3}before|(?:came|come|visited|was\s+seen|saw)\s+(?:\w+\s+){0,3}"
    r"(?:last|ago|before|in\s+\d{4})|again|come\s+back|came\s+back|coming\s+back|old\s+patient|regular|"
    r"already\s+(?:a\s+)?patient|been\s+a\s+patient|follow[\s-]?up|established|previous(?:ly)?|"
    r"not\s+(?:a\s+)?new(?:\s+patient)?|not\s+my\s+first|ya\s+(?:he|soy|fui|estuve|vine|era)|regreso|"
    r"de\s+regreso|antes|otra\s+vez|existente|he\s+(?:ido|venido|estado)|paciente\s+(?:actual|de\s+antes)"
)


def parse_patient_type(text: str) -> ValidationResult[str]:
    """Tells a new patient from a returning one.

    A bare "yes" or "no" is not accepted, because its meaning depends on how the question was asked.

    Args:
        text: What the patient typed ("first time", "I've been there before", "existing patient" ...).

    Returns:
        "new" or "returning".
    """
    said = words(text)
    if not said:
        return fail("patient_type_unclear")
    # Negations first: "not new" is returning, "haven't been before" / "not returning" is new.
    if has(r"not\s+(?:a\s+)?new(?:\s+patient)?|not\s+my\s+first(?:\s+time)?|"
           r"no\s+soy\s+(?:paciente\s+)?nuev[oa]|"
           r"no\s+es\s+(?:mi\s+)?primera", said):
        return ok("returning")
    if has(r"(?:never|haven't|have\s+not|hasn't|didn't|did\s+not|not)\s+(?:\w+\s+){0,3}"
            r"(?:been|seen|visited|come|came|gone|a\s+patient)|not\s+(?:a\s+)?(?:returning|existing|current)|"
            r"no\s+(?:he|hemos)\s+(?:ido|venido|estado)|nunca\s+he",
            said):
        return ok("new")
    returning = has(_RETURNING_PATIENT, said)
    new = has(_NEW_PATIENT, said)
    if returning and not new:
        return ok("returning")
    if new and not returning:
        return ok("new")
    return fail("patient_type_unclear")


_CONSENT_YES_PHRASES = (
    r"no\s+problem|no\s+worries|not\s+a\s+problem|why\s+not|of\s+course|don't\s+mind|do\s+not\s+mind|"
    r"no\s+hay\s+problema|sin\s+problema|por\s+supuesto|cómo\s+no|como\s+no|está\s+bien|esta\s+bien"
)
_CONSENT_UNSURE = (
    r"i\s+don't\s+know|don't\s+know|dont\s+know|not\s+sure|idk|dunno|maybe|perhaps|i\s+guess\s+not|"
    r"no\s+sé|no\s+se|quizás|quizas|tal\s+vez|no\s+estoy\s+segur[oa]"
)
_CONSENT_NO_PHRASES = (
    r"absolutely\s+not|definitely\s+not|certainly\s+not|of\s+course\s+not|(?:do\s+not|don't|dont)\s+"
    r"(?:consent|agree)|not\s+ok|not\s+okay|not\s+fine|no\s+way|para\s+nada|de\s+ninguna\s+manera|"
    r"no\s+acepto|no\s+me\s+llamen"
)
_CONSENT_YES = (
    r"yes|yeah|yea|yep|yup|ya|y|sure|ok|okay|k|fine|alright|all\s+right|agree|agreed|i\s+agree|consent|"
    r"i\s+consent|absolutely|definitely|certainly|please\s+do|go\s+ahead|sounds\s+good|correct|that's\s+fine|"
    r"that's\s+ok|you\s+may|you\s+can|please|affirmative|of\s+course|yes\s+please|sí|si|claro|"
    r"de\s+acuerdo|vale|bueno|correcto|acepto|adelante|envíelo|envielo|mándelo|mandelo|listo|perfecto"
)
_CONSENT_NO = (
    r"no|nope|nah|n|never|don't|do\s+not|dont|not|no\s+thanks|stop|refuse|decline|i\s+decline|"
    r"rather\s+not|prefer\s+not|can't|cannot|won't|negative|nunca|nada|prefiero\s+no|no\s+gracias"
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
    said = words(text)
    if has(_CONSENT_UNSURE, said):
        said = ""
    elif has(_CONSENT_NO_PHRASES, said):
        said = re.sub(rf"(?<![\w'])(?:{_CONSENT_NO_PHRASES})(?![\w'])", " no ", said)
    yes = has(_CONSENT_YES_PHRASES, said)
    rest = re.sub(rf"(?<![\w'])(?:{_CONSENT_YES_PHRASES})(?![\w'])", " ", said)
    yes = yes or has(_CONSENT_YES, rest)
    no = has(_CONSENT_NO, rest)
    if yes and not no:
        return ok(True)
    if no and not yes:
        return ok(False)
    return fail("consent_unclear")
