"""Reading settings from environment variables, with one clear message per bad value."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """Raised when an environment variable has a value that cannot be used; the message names it."""


def text(env: Mapping[str, str], key: str, default: str = "") -> str:
    """The variable's value without surrounding blanks, or `default` when it is unset."""
    return str(env.get(key, default)).strip()


def number(env: Mapping[str, str], key: str, default: float, minimum: float = 0.0) -> float:
    """A number of at least `minimum`; `default` when unset or empty."""
    raw = text(env, key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{key}: expected a number, got {raw!r}") from exc
    if value != value or value < minimum:  # NaN or too small
        raise SettingsError(f"{key}: expected a number of at least {minimum}, got {raw!r}")
    return value


def whole(env: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    """A whole number of at least `minimum`; `default` when unset or empty."""
    raw = text(env, key)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{key}: expected a whole number, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{key}: expected a whole number of at least {minimum}, got {raw!r}")
    return value


def flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    """true/false, yes/no, on/off or 1/0; `default` when unset or empty."""
    raw = text(env, key).lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{key}: expected true or false, got {raw!r}")


def path(env: Mapping[str, str], key: str, default: Path, root: Path) -> Path:
    """A path; a relative one is taken from `root` (the project folder)."""
    raw = text(env, key)
    if not raw:
        return default
    value = Path(raw).expanduser()
    return value if value.is_absolute() else root / value
