"""The assistant's responses as Rasa renders them, for tests of what a patient would read."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Dict, List

import yaml

from bts.validation import ValidationResult

ROOT = Path(__file__).resolve().parents[2]
RESPONSE_FILES = [ROOT / "domain.yml", *sorted((ROOT / "data" / "responses").glob("*.yml"))]


@functools.lru_cache(maxsize=1)
def all_responses() -> Dict[str, List[Dict[str, Any]]]:
    """Every response of the domain and of data/responses, by name."""
    found: Dict[str, List[Dict[str, Any]]] = {}
    for path in RESPONSE_FILES:
        found.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return found


def variation(name: str, lang: str = "en") -> Dict[str, Any]:
    """The variation Rasa picks for a conversation in `lang` (the Spanish one has a language condition)."""
    variations = all_responses()[name]
    for candidate in variations:
        conditions = candidate.get("condition") or []
        if any(c.get("name") == "language" and c.get("value") == lang for c in conditions):
            return candidate
    return next(candidate for candidate in variations if not candidate.get("condition"))


def render(response: str, lang: str = "en", /, **values: Any) -> str:
    """The response's text with its {placeholders} filled as Rasa fills them."""
    text = str(variation(response, lang).get("text", ""))
    return re.sub(r"{([^\n{}]+?)}", lambda m: str(values[m.group(1)]), text)


def rendered(result: ValidationResult[Any], lang: str = "en") -> str:
    """What the patient reads when a validator refused an answer."""
    return render(result.message, lang, **result.values)


def said(message: Dict[str, Any], lang: str = "en") -> str:
    """What the patient reads for one message a custom action sent."""
    values = {k: v for k, v in message.items() if k not in ("response", "buttons", "template")}
    if not message.get("response"):
        return str(message.get("text"))
    return render(message["response"], lang, **values)
