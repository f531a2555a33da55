"""Settings, read from the environment only (listed in `.env.example`)."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from bts import env as env_vars

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite:///var/bts.db"
MIN_SECRET_CHARS = 32
LOOPBACK_HOSTS = {"localhost", "::1", "[::1]"}
COOKIE_SECURE_VALUES = {
    "auto": "auto",
    "true": "always",
    "always": "always",
    "yes": "always",
    "1": "always",
    "false": "never",
    "never": "never",
    "no": "never",
    "0": "never",
}

log = logging.getLogger(__name__)


class ConfigError(env_vars.SettingsError):
    """A setting has an invalid value."""


def resolve_database_url(url: str, root: Path = ROOT) -> str:
    """Makes a relative SQLite path relative to the project root (as Rasa's `var/bts.db` is)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str((root / url[len(prefix) :]).resolve())
    return url


@dataclass(frozen=True)
class Settings:
    """Everything the console can be configured with.

    Attributes:
        database_url: SQLAlchemy URL of the project database (`BTS_DATABASE_URL`).
        secret_key: Keys session ids and CSRF tokens (`CONSOLE_SECRET_KEY`).
        secret_is_ephemeral: True when no key was configured and a random one is used (sessions
            end when the console restarts).
        host: Interface to listen on (`CONSOLE_HOST`).
        port: Port (`CONSOLE_PORT`).
        timezone: Time zone for dates shown and date filters (`CONSOLE_TIMEZONE`).
        retention_days: Conversations idle longer than this are purged; 0 keeps them forever
            (`CONSOLE_RETENTION_DAYS`).
        purge_interval_hours: How often the server runs the purge; 0 turns the schedule off
            (`CONSOLE_PURGE_INTERVAL_HOURS`).
        idle_minutes: Automatic logout after this many idle minutes (`CONSOLE_IDLE_MINUTES`).
        session_max_hours: Absolute session lifetime (`CONSOLE_SESSION_MAX_HOURS`).
        low_confidence: A patient message whose top intent is below this is "low confidence"
            (`CONSOLE_LOW_CONFIDENCE`).
        login_max_failures: Failed logins for one account from one IP address before that address
            is locked out of that account for a while; other addresses are not
            (`CONSOLE_LOGIN_MAX_FAILURES`).
        login_lock_minutes: How long (`CONSOLE_LOGIN_LOCK_MINUTES`).
        login_max_failures_per_ip: Failed logins from one IP address, over all accounts, before
            that address must wait the lock time (`CONSOLE_LOGIN_MAX_FAILURES_PER_IP`).
        login_max_attempts_global: Login attempts per minute from everywhere together before
            further ones are asked to wait a minute (`CONSOLE_LOGIN_MAX_ATTEMPTS_GLOBAL`).
        cookie_secure: `always` (`true`), `never` (`false`) or `auto` (the default: Secure unless
            the console listens on the loopback interface without a proxy in front and the
            request came over plain HTTP, which is `make run` in development) (`CONSOLE_COOKIE_SECURE`).
        trust_proxy: Honour X-Forwarded-Proto/For from one reverse proxy (`CONSOLE_TRUST_PROXY`).
        project_root: Where domain.yml and data/ are read from, for intent names (`BTS_PROJECT_ROOT`).
        page_size: Rows per page.
    """

    database_url: str
    secret_key: bytes = field(repr=False)
    secret_is_ephemeral: bool = False
    host: str = "127.0.0.1"
    port: int = 8090
    timezone: str = "America/Denver"
    retention_days: int = 365
    purge_interval_hours: float = 24.0
    idle_minutes: int = 15
    session_max_hours: int = 12
    low_confidence: float = 0.7
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    cookie_secure: str = "auto"
    trust_proxy: bool = False
    project_root: Path = ROOT
    page_size: int = 50
    login_max_failures_per_ip: int = 20
    login_max_attempts_global: int = 120

    @property
    def listens_on_loopback(self) -> bool:
        """True if the console only listens on the loopback interface."""
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, **overrides: object) -> Settings:
        """Reads the settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        root = Path(env.get("BTS_PROJECT_ROOT") or ROOT)
        secret = env.get("CONSOLE_SECRET_KEY", "")
        ephemeral = False
        if not secret:
            secret = secrets.token_urlsafe(48)
            ephemeral = True
        elif len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"CONSOLE_SECRET_KEY must have at least {MIN_SECRET_CHARS} characters")
        raw_secure = env.get("CONSOLE_COOKIE_SECURE", "auto").strip().lower() or "auto"
        cookie_secure = COOKIE_SECURE_VALUES.get(raw_secure)
        if cookie_secure is None:
            raise ConfigError("CONSOLE_COOKIE_SECURE must be true, false or auto")
        low = env_vars.number(env, "CONSOLE_LOW_CONFIDENCE", 0.7)
        if not 0 < low <= 1:
            raise ConfigError("CONSOLE_LOW_CONFIDENCE must be in (0, 1]")
        values = dict(
            database_url=resolve_database_url(env.get("BTS_DATABASE_URL") or DEFAULT_DATABASE_URL, root),
            secret_key=secret.encode(),
            secret_is_ephemeral=ephemeral,
            host=env.get("CONSOLE_HOST", "127.0.0.1") or "127.0.0.1",
            port=env_vars.whole(env, "CONSOLE_PORT", 8090, 1),
            timezone=env.get("CONSOLE_TIMEZONE", "America/Denver") or "America/Denver",
            retention_days=env_vars.whole(env, "CONSOLE_RETENTION_DAYS", 365),
            purge_interval_hours=env_vars.number(env, "CONSOLE_PURGE_INTERVAL_HOURS", 24.0),
            idle_minutes=env_vars.whole(env, "CONSOLE_IDLE_MINUTES", 15, 1),
            session_max_hours=env_vars.whole(env, "CONSOLE_SESSION_MAX_HOURS", 12, 1),
            low_confidence=low,
            login_max_failures=env_vars.whole(env, "CONSOLE_LOGIN_MAX_FAILURES", 5, 1),
            login_lock_minutes=env_vars.whole(env, "CONSOLE_LOGIN_LOCK_MINUTES", 15, 1),
            login_max_failures_per_ip=env_vars.whole(env, "CONSOLE_LOGIN_MAX_FAILURES_PER_IP", 20, 1),
            login_max_attempts_global=env_vars.whole(env, "CONSOLE_LOGIN_MAX_ATTEMPTS_GLOBAL", 120, 1),
            cookie_secure=cookie_secure,
            trust_proxy=env_vars.flag(env, "CONSOLE_TRUST_PROXY", False),
            project_root=root,
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
