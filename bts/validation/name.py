"""The patient's full name, in English or Spanish ("José Luis García Pérez", "me llamo ...")."""

from __future__ import annotations

import re
import unicodedata
from typing import FrozenSet

from bts.validation.result import URL, ValidationResult, fail, ok, phrases, squash

_NAME_LEAD_IN = re.compile(
    r"^(?:(?:hi|hello|hey|hola|buenas|buenos\s+días|buenos\s+dias)[,!.]?\s+)?"
    r"(?:my\s+(?:full\s+)?name\s+is|my\s+name's|name\s*:|i\s+am|i'm|it's|it\s+is|this\s+is|"
    r"mi\s+nombre\s+(?:completo\s+)?es|me\s+llamo|nombre\s*:|soy|habla)\s+",
    re.IGNORECASE,
)
_NOT_NAMES = phrases(
    """i don't know|i dont know|don't know|dont know|idk|dunno|not sure|none|no|nope|n/a|na|nothing|no name|
    skip|yes|yeah|yep|ok|okay|sure|hi|hello|hey|thanks|thank you|why|what|anonymous|prefer not to say|
    rather not say|i'd rather not say|no thanks|test|name|my name|full name|stop|cancel|help|unknown|nobody|
    someone|me|myself|patient|no sé|no se|nada|ninguno|sí|si|hola|gracias|cancelar|ayuda|nombre|mi nombre|
    paciente|prefiero no decir|anónimo|anonimo|nadie|qué|que|por qué|porque|bueno|claro|vale"""
)
# Words that do not occur in names but do in sentences typed instead of a name.
_NOT_NAME_WORDS: FrozenSet[str] = frozenset(
    "don't dont doesn't idk know why what skip none nothing rather thanks thank appointment pain i to the is "
    "my want like need have can you please would book call am are it this that not no yes for with about how "
    "when where who do does quiero cita dolor tengo necesito puedo llamar gracias sé nombre qué cómo cuándo "
    "dónde porque ayuda usted favor".split()
)


def validate_name(text: str) -> ValidationResult[str]:
    """Validates the patient's full name.

    Accepts letters of any script plus spaces, hyphens, apostrophes and periods ("José Núñez", "O'Brien",
    "Mary-Jane Smith", "J. R. Smith", "María de la Cruz Pérez"), 2 to 80 characters with at least 2
    letters. A lead-in such as "my name is" or "me llamo" is dropped. A single name is accepted (some
    people have only one).

    Args:
        text: What the patient typed.

    Returns:
        The name with whitespace collapsed; the patient's capitalisation is kept unless the name was typed
        all in lower or all in upper case, in which case it is title-cased ("o'brien" -> "O'Brien").
    """
    name = _NAME_LEAD_IN.sub("", squash(text)).rstrip(",!?;:").strip()
    lowered = name.lower()
    if not name:
        return fail("name_missing")
    if "@" in name:
        return fail("name_email")
    if URL.search(name):
        return fail("name_url")
    if any(ch.isdigit() for ch in name):
        if re.fullmatch(r"[\d\s()+.\-]+", name):
            return fail("name_number")
        return fail("name_digits")
    found = set(re.findall(r"[\w']+", lowered))
    if lowered.strip(".") in _NOT_NAMES or squash(text).lower().strip(".!?¡¿") in _NOT_NAMES or (
        found & _NOT_NAME_WORDS
    ):
        return fail("name_not_a_name")
    letters = [ch for ch in name if ch.isalpha()]
    allowed = all(ch.isalpha() or ch in " -'." or unicodedata.category(ch).startswith("M") for ch in name)
    if not allowed or not name[0].isalpha():
        return fail("name_characters")
    if len(letters) < 2 or len(name) < 2:
        return fail("name_short")
    if len(name) > 80:
        return fail("name_long")
    if name == name.lower() or name == name.upper():
        name = _title(name)
    return ok(name)


_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "van", "von", "da", "di"})


def _title(name: str) -> str:
    """Title case that keeps Spanish particles small: "maria de la cruz" -> "Maria de la Cruz"."""
    parts = name.title().split(" ")
    return " ".join(
        part.lower() if index and part.lower() in _PARTICLES else part for index, part in enumerate(parts)
    )
