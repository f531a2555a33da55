"""Deployment settings of the assistant's processes, read once from the environment.

One dataclass for every process that needs them (action server, outbox worker, demo receiver), so
that no other module looks up `os.environ` itself.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

from bts.env import SettingsError, flag, number, path, whole
from bts.env import text as env_text

PROJECT_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["PROJECT_ROOT", "Settings", "SettingsError", "settings"]

DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'bts.db'}"
DEFAULT_SPOOL_FILE = PROJECT_ROOT / "var" / "spool" / "bookings.jsonl"


def _database_url(env: Mapping[str, str]) -> str:
    url = env_text(env, "BTS_DATABASE_URL")
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
            address.strip() for address in env_text(env, "BTS_SMTP_TO").split(",") if address.strip()
        )
        return cls(
            clinic_file=clinic_file,
            database_url=_database_url(env),
            spool_file=path(env, "BTS_SPOOL_FILE", DEFAULT_SPOOL_FILE, PROJECT_ROOT),
            webhook_url=env_text(env, "BTS_WEBHOOK_URL"),
            webhook_secret=env_text(env, "BTS_WEBHOOK_SECRET"),
            webhook_timeout_s=number(env, "BTS_WEBHOOK_TIMEOUT_S", 5.0, minimum=0.1),
            smtp_host=env_text(env, "BTS_SMTP_HOST"),
            smtp_port=whole(env, "BTS_SMTP_PORT", 587, minimum=1),
            smtp_user=env_text(env, "BTS_SMTP_USER"),
            smtp_password=str(env.get("BTS_SMTP_PASSWORD", "")),
            smtp_from=env_text(env, "BTS_SMTP_FROM"),
            smtp_to=smtp_to,
            smtp_starttls=flag(env, "BTS_SMTP_STARTTLS", True),
            smtp_timeout_s=number(env, "BTS_SMTP_TIMEOUT_S", 10.0, minimum=0.1),
            outbox_backoff_base_s=number(env, "BTS_OUTBOX_BACKOFF_BASE_S", 5.0, minimum=0.01),
            outbox_backoff_max_s=number(env, "BTS_OUTBOX_BACKOFF_MAX_S", 900.0, minimum=0.01),
            outbox_poll_s=number(env, "BTS_OUTBOX_POLL_S", 2.0, minimum=0.01),
            outbox_lease_s=number(env, "BTS_OUTBOX_LEASE_S", 60.0, minimum=0.1),
            submit_delivery_budget_s=number(env, "BTS_SUBMIT_DELIVERY_BUDGET_S", 2.5, minimum=0.0),
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
