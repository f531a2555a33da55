"""Configuration of the action server, read once from the environment and `clinic.yml`.

Everything the actions need to know about the deployment lives here, so that the other modules
stay free of `os.environ` look-ups and file reads.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent

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
        directions: Parking and entrance notes, may be empty.
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
        directions=str(raw.get("directions") or "").strip(),
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


class SettingsError(ValueError):
    """Raised when an environment variable has a value that cannot be used; the message names it."""


DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'bts.db'}"
DEFAULT_SPOOL_FILE = PROJECT_ROOT / "var" / "spool" / "bookings.jsonl"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env_text(env: Mapping[str, str], key: str, default: str = "") -> str:
    return str(env.get(key, default)).strip()


def _env_float(env: Mapping[str, str], key: str, default: float, minimum: float = 0.0) -> float:
    raw = _env_text(env, key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{key}: expected a number, got {raw!r}") from exc
    if value != value or value < minimum:  # NaN or too small
        raise SettingsError(f"{key}: expected a number of at least {minimum}, got {raw!r}")
    return value


def _env_int(env: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    raw = _env_text(env, key)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{key}: expected a whole number, got {raw!r}") from exc
    if value < minimum:
        raise SettingsError(f"{key}: expected a whole number of at least {minimum}, got {raw!r}")
    return value


def _env_bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = _env_text(env, key).lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{key}: expected true or false, got {raw!r}")


def _env_path(env: Mapping[str, str], key: str, default: Path) -> Path:
    raw = _env_text(env, key)
    if not raw:
        return default
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _database_url(env: Mapping[str, str]) -> str:
    url = _env_text(env, "BTS_DATABASE_URL")
    if not url:
        return DEFAULT_DATABASE_URL
    if url.startswith("postgres://"):  # the short form many hosts hand out; SQLAlchemy wants this one
        url = "postgresql://" + url[len("postgres://"):]
    return url


@dataclass(frozen=True)
class Settings:
    """Deployment settings taken from the environment.

    Attributes:
        clinic_file: Path of the clinic details file (`BTS_CLINIC_FILE`).
        database_url: SQLAlchemy URL of the project database (`BTS_DATABASE_URL`); a SQLite
            file `var/bts.db` by default, `postgresql://user:password@host/db` for PostgreSQL.
        spool_file: JSON-lines file that keeps requests while the database is unreachable
            (`BTS_SPOOL_FILE`, relative paths are taken from the project root).
        webhook_url: Where requests are POSTed as signed JSON (`BTS_WEBHOOK_URL`); empty turns
            the webhook channel off.
        webhook_secret: Shared secret of the HMAC-SHA256 signature (`BTS_WEBHOOK_SECRET`).
        webhook_timeout_s: Timeout of one webhook attempt in seconds (`BTS_WEBHOOK_TIMEOUT_S`).
        smtp_host: SMTP server (`BTS_SMTP_HOST`); empty turns the e-mail channel off.
        smtp_port: SMTP port (`BTS_SMTP_PORT`); 465 means TLS from the start.
        smtp_user: SMTP login (`BTS_SMTP_USER`); empty means no login.
        smtp_password: SMTP password (`BTS_SMTP_PASSWORD`).
        smtp_from: Sender address (`BTS_SMTP_FROM`).
        smtp_to: Recipient addresses (`BTS_SMTP_TO`, comma-separated).
        smtp_starttls: Whether to upgrade the connection with STARTTLS (`BTS_SMTP_STARTTLS`).
        smtp_timeout_s: Timeout of one SMTP operation in seconds (`BTS_SMTP_TIMEOUT_S`).
        outbox_backoff_base_s: First retry delay in seconds (`BTS_OUTBOX_BACKOFF_BASE_S`);
            it doubles with every failed attempt, with jitter.
        outbox_backoff_max_s: Cap of the retry delay in seconds (`BTS_OUTBOX_BACKOFF_MAX_S`).
        outbox_poll_s: How often the worker looks for due deliveries (`BTS_OUTBOX_POLL_S`).
        outbox_lease_s: How long a delivery attempt keeps its row to itself before another
            process may retry it, e.g. after a crash (`BTS_OUTBOX_LEASE_S`).
        submit_delivery_budget_s: How long a submission waits for its immediate delivery attempt
            before it answers the patient anyway (`BTS_SUBMIT_DELIVERY_BUDGET_S`).
    """

    clinic_file: Path
    database_url: str = DEFAULT_DATABASE_URL
    spool_file: Path = DEFAULT_SPOOL_FILE
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    webhook_timeout_s: float = 5.0
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = ""
    smtp_to: Tuple[str, ...] = ()
    smtp_starttls: bool = True
    smtp_timeout_s: float = 10.0
    outbox_backoff_base_s: float = 5.0
    outbox_backoff_max_s: float = 900.0
    outbox_poll_s: float = 2.0
    outbox_lease_s: float = 60.0
    submit_delivery_budget_s: float = 2.5

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Reads the settings from environment variables.

        Args:
            env: Mapping to read instead of `os.environ` (for tests).

        Returns:
            The settings.

        Raises:
            SettingsError: If a number or flag cannot be read; the message names the variable.
        """
        env = os.environ if env is None else env
        clinic_file = Path(env.get("BTS_CLINIC_FILE", str(PROJECT_ROOT / "clinic.yml")))
        smtp_to = tuple(
            address.strip() for address in _env_text(env, "BTS_SMTP_TO").split(",") if address.strip()
        )
        return cls(
            clinic_file=clinic_file,
            database_url=_database_url(env),
            spool_file=_env_path(env, "BTS_SPOOL_FILE", DEFAULT_SPOOL_FILE),
            webhook_url=_env_text(env, "BTS_WEBHOOK_URL"),
            webhook_secret=_env_text(env, "BTS_WEBHOOK_SECRET"),
            webhook_timeout_s=_env_float(env, "BTS_WEBHOOK_TIMEOUT_S", 5.0, minimum=0.1),
            smtp_host=_env_text(env, "BTS_SMTP_HOST"),
            smtp_port=_env_int(env, "BTS_SMTP_PORT", 587, minimum=1),
            smtp_user=_env_text(env, "BTS_SMTP_USER"),
            smtp_password=str(env.get("BTS_SMTP_PASSWORD", "")),
            smtp_from=_env_text(env, "BTS_SMTP_FROM"),
            smtp_to=smtp_to,
            smtp_starttls=_env_bool(env, "BTS_SMTP_STARTTLS", True),
            smtp_timeout_s=_env_float(env, "BTS_SMTP_TIMEOUT_S", 10.0, minimum=0.1),
            outbox_backoff_base_s=_env_float(env, "BTS_OUTBOX_BACKOFF_BASE_S", 5.0, minimum=0.01),
            outbox_backoff_max_s=_env_float(env, "BTS_OUTBOX_BACKOFF_MAX_S", 900.0, minimum=0.01),
            outbox_poll_s=_env_float(env, "BTS_OUTBOX_POLL_S", 2.0, minimum=0.01),
            outbox_lease_s=_env_float(env, "BTS_OUTBOX_LEASE_S", 60.0, minimum=0.1),
            submit_delivery_budget_s=_env_float(env, "BTS_SUBMIT_DELIVERY_BUDGET_S", 2.5, minimum=0.0),
        )

    @property
    def delivery_channels(self) -> Tuple[str, ...]:
        """The outbox channels switched on: `webhook` when a URL is set, `email` when an SMTP host is."""
        channels: List[str] = []
        if self.webhook_url:
            channels.append("webhook")
        if self.smtp_host:
            channels.append("email")
        return tuple(channels)

    def delivery_problems(self) -> List[str]:
        """Configuration mistakes that would keep deliveries from ever succeeding.

        Returns:
            One sentence per problem, naming the environment variable to fix; empty when fine.
        """
        problems: List[str] = []
        if self.webhook_url:
            if not self.webhook_url.startswith(("http://", "https://")):
                problems.append("BTS_WEBHOOK_URL must start with http:// or https://")
            if not self.webhook_secret:
                problems.append(
                    "BTS_WEBHOOK_SECRET must be set when BTS_WEBHOOK_URL is (requests are signed)"
                )
        if self.smtp_host:
            if not self.smtp_from:
                problems.append("BTS_SMTP_FROM must be set when BTS_SMTP_HOST is")
            if not self.smtp_to:
                problems.append("BTS_SMTP_TO must list at least one address when BTS_SMTP_HOST is")
            if self.smtp_user and not self.smtp_password:
                problems.append("BTS_SMTP_PASSWORD must be set when BTS_SMTP_USER is")
        if self.outbox_backoff_max_s < self.outbox_backoff_base_s:
            problems.append("BTS_OUTBOX_BACKOFF_MAX_S must not be smaller than BTS_OUTBOX_BACKOFF_BASE_S")
        return problems


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()


@functools.lru_cache(maxsize=1)
def clinic() -> Clinic:
    """The process-wide clinic details, read from `clinic.yml` on first use."""
    return load_clinic(settings().clinic_file)
