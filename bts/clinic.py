"""The clinic's details from `clinic.yml`: loaded and checked once, with a clear message per mistake.

Answers are built from these details at run time, so that editing the file needs no retraining.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bts import env

WEEKDAYS: Tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ClinicConfigError(ValueError):
    """Raised when `clinic.yml` is missing or malformed; the message says what to fix."""


@dataclass(frozen=True)
class Clinic:
    """Clinic details used in answers.

    Attributes:
        name: Clinic name.
        city: City and state.
        timezone: IANA time zone of the clinic.
        phone: Front-desk phone number as patients should dial it.
        email: Contact e-mail address, may be empty.
        booking_url: Online booking page, may be empty.
        address: Street address.
        directions: Parking and entrance notes ("how do I find you?"), may be empty.
        directions_by_language: The same notes per language code, when clinic.yml gives them per
            language (`directions: {en: ..., es: ...}`).
        hours: Opening hours per weekday name; closed days are absent.
        insurers: Accepted insurers.
        accepts_self_pay: Whether patients may pay themselves.
        prices: Published prices by item; empty when not published.
        languages: Languages spoken by staff.
        pool: Whether the clinic has its own pool for aquatic therapy.
        example_fields: Names of fields whose values are examples, not real details.
    """

    name: str
    city: str
    timezone: str
    phone: str
    email: str
    booking_url: str
    address: str
    directions: str
    hours: Dict[str, Tuple[time, time]]
    insurers: List[str]
    accepts_self_pay: bool
    prices: Dict[str, str]
    languages: List[str]
    pool: bool
    example_fields: frozenset = field(default_factory=frozenset)
    directions_by_language: Dict[str, str] = field(default_factory=dict)

    def directions_in(self, language: str) -> str:
        """The directions in `language`, or in English when they are not given in it."""
        return self.directions_by_language.get(language, self.directions)

    @property
    def tz(self) -> ZoneInfo:
        """The clinic's time zone as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)

    def is_example(self, *names: str) -> bool:
        """Tells whether any of the given fields still holds an example value.

        Args:
            *names: Field names from `clinic.yml`.

        Returns:
            True if at least one of them is listed under `example_fields`.
        """
        return any(name in self.example_fields for name in names)


def _parse_time(value: Any, where: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ClinicConfigError(f"{where}: expected a time like \"07:30\", got {value!r}")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _parse_hours(raw: Any) -> Dict[str, Tuple[time, time]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ClinicConfigError("hours: expected a mapping of weekday to [open, close]")
    hours: Dict[str, Tuple[time, time]] = {}
    for day, span in raw.items():
        day_name = str(day).lower()
        if day_name not in WEEKDAYS:
            raise ClinicConfigError(f"hours: unknown weekday {day!r}")
        if not isinstance(span, list) or len(span) != 2:
            raise ClinicConfigError(f"hours.{day_name}: expected [open, close]")
        opens = _parse_time(span[0], f"hours.{day_name}")
        closes = _parse_time(span[1], f"hours.{day_name}")
        if closes <= opens:
            raise ClinicConfigError(f"hours.{day_name}: closing time must be after opening time")
        hours[day_name] = (opens, closes)
    return hours


def _required_text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ClinicConfigError(f"{key}: a non-empty text value is required")
    return value.strip()


def _directions(raw: Any) -> Dict[str, str]:
    if isinstance(raw, Mapping):
        return {str(lang): str(text).strip() for lang, text in raw.items() if text}
    return {"en": str(raw or "").strip()}


def parse_clinic(raw: Any) -> Clinic:
    """Builds a `Clinic` from the parsed YAML of `clinic.yml`.

    Args:
        raw: The YAML document as loaded by `yaml.safe_load`.

    Returns:
        The validated clinic details.

    Raises:
        ClinicConfigError: If a field is missing or malformed.
    """
    if not isinstance(raw, Mapping):
        raise ClinicConfigError("clinic.yml must be a mapping of field names to values")
    timezone = _required_text(raw, "timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ClinicConfigError(f"timezone: unknown time zone {timezone!r}") from exc
    prices = raw.get("prices") or {}
    if not isinstance(prices, Mapping):
        raise ClinicConfigError("prices: expected a mapping of item to price text")
    return Clinic(
        name=_required_text(raw, "name"),
        city=_required_text(raw, "city"),
        timezone=timezone,
        phone=_required_text(raw, "phone"),
        email=str(raw.get("email") or "").strip(),
        booking_url=str(raw.get("booking_url") or "").strip(),
        address=_required_text(raw, "address"),
        directions=_directions(raw.get("directions")).get("en", ""),
        directions_by_language=_directions(raw.get("directions")),
        hours=_parse_hours(raw.get("hours")),
        insurers=[str(item) for item in raw.get("insurers") or []],
        accepts_self_pay=bool(raw.get("accepts_self_pay", False)),
        prices={str(k): str(v) for k, v in prices.items()},
        languages=[str(item) for item in raw.get("languages") or ["English"]],
        pool=bool(raw.get("pool", False)),
        example_fields=frozenset(str(item) for item in raw.get("example_fields") or []),
    )


def load_clinic(path: Path) -> Clinic:
    """Reads and validates a clinic details file.

    Args:
        path: Path of the YAML file.

    Returns:
        The validated clinic details.

    Raises:
        ClinicConfigError: If the file is missing, not YAML, or malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClinicConfigError(f"cannot read clinic details from {path}: {exc}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ClinicConfigError(f"{path} is not valid YAML: {exc}") from exc
    return parse_clinic(raw)


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def clinic_path(environ: Mapping[str, str]) -> Path:
    """Where the clinic details are: `BTS_CLINIC_FILE`, or `clinic.yml` in the project."""
    return env.path(environ, "BTS_CLINIC_FILE", PROJECT_ROOT / "clinic.yml", PROJECT_ROOT)


@functools.lru_cache(maxsize=1)
def current() -> Clinic:
    """The process-wide clinic details, read from `clinic.yml` on first use."""
    return load_clinic(clinic_path(os.environ))
