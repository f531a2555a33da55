"""Where the booking store and outbox find their settings until they move into `bts.booking`.

The settings live in `bts.settings` and the clinic details in `bts.clinic`; this module only
re-exports them under their former names.
"""

from __future__ import annotations

from bts.clinic import WEEKDAYS, Clinic, ClinicConfigError, load_clinic, parse_clinic
from bts.clinic import current as clinic
from bts.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_SPOOL_FILE,
    PROJECT_ROOT,
    Settings,
    SettingsError,
    settings,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_SPOOL_FILE",
    "PROJECT_ROOT",
    "WEEKDAYS",
    "Clinic",
    "ClinicConfigError",
    "Settings",
    "SettingsError",
    "clinic",
    "load_clinic",
    "parse_clinic",
    "settings",
]
