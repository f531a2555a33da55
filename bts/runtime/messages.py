"""The server's own patient-facing text (`messages.yml`), read once at start-up."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict

import yaml

MESSAGES_FILE = Path(__file__).with_name("messages.yml")
LANGUAGES = ("en", "es")


@functools.cache
def load(path: Path = MESSAGES_FILE) -> Dict[str, Dict[str, str]]:
    """The messages by name and language; every message must have every language.

    Raises:
        ValueError: Naming the message and language that is missing or empty.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for name, texts in data.items():
        for language in LANGUAGES:
            if not isinstance(texts, dict) or not str(texts.get(language) or "").strip():
                raise ValueError(f"{path}: message {name!r} has no {language!r} text")
    return {name: {lang: str(texts[lang]).strip() for lang in LANGUAGES} for name, texts in data.items()}


def busy_text() -> str:
    """The "busy, try again; in an emergency call 911" reply, in English then Spanish."""
    busy = load()["busy"]
    return "\n\n".join(busy[language] for language in LANGUAGES)
