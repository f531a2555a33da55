"""What the booking store hands out: requests as dicts, results, and claimed deliveries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from bts.db.schema import LANGUAGES

KINDS: Tuple[str, ...] = ("booking", "callback", "change")
CHANNELS: Tuple[str, ...] = ("webhook", "email")
STATUSES: Tuple[str, ...] = ("new", "contacted", "scheduled", "closed")
PENDING = "pending"
DELIVERED = "delivered"
DEFAULT_LANGUAGE = LANGUAGES[0]


class StorageError(RuntimeError):
    """Raised when a request can be neither stored in the database nor spooled to disk."""


@dataclass(frozen=True)
class SubmitResult:
    """Outcome of `submit_request`.

    Attributes:
        reference: The reference code to give the patient, e.g. `BTS-7K2QM9XD`.
        stored: True when the request is in the database; False when the database was
            unreachable and the request waits in the spool file (the reference stays valid).
    """

    reference: str
    stored: bool


@dataclass(frozen=True)
class OutboxJob:
    """One claimed delivery: an outbox row together with the request it delivers.

    Attributes:
        outbox_id: Primary key of the outbox row.
        channel: `webhook` or `email`.
        idempotency_key: Reference plus channel, unique per delivery.
        attempts: Number of this attempt (1 for the first).
        request: The request as `find_request` returns it.
    """

    outbox_id: int
    channel: str
    idempotency_key: str
    attempts: int
    request: Dict[str, Any]


@dataclass(frozen=True)
class ReplayResult:
    """What a spool replay did.

    Attributes:
        inserted: Requests written to the database.
        already_stored: Requests that were in the database already (an earlier replay or an
            insert whose commit looked failed but was not).
        rejected: Unreadable lines moved to the `.rejected` file next to the spool.
    """

    inserted: int = 0
    already_stored: int = 0
    rejected: int = 0


def utcnow() -> datetime:
    """The current time in UTC as a naive datetime, the way the tables store timestamps."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(value: Optional[datetime]) -> Optional[str]:
    """ISO 8601 in UTC with a `Z`, for payloads and API results."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """The naive UTC datetime of an ISO 8601 text."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def dump_details(details: Mapping[str, Any]) -> str:
    """The JSON text stored in `booking_requests.details`."""
    return json.dumps(dict(details), ensure_ascii=False, sort_keys=True)


def language_of(details: Mapping[str, Any]) -> str:
    """The patient's language from the details (`language`), English when missing or unknown."""
    language = str(details.get("language") or "").strip().lower()
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def request_dict(row: Mapping[str, Any], deliveries: Sequence[Mapping[str, Any]] = ()) -> Dict[str, Any]:
    """A stored request as the API returns it."""
    try:
        details = json.loads(row["details"]) if row["details"] else {}
    except ValueError:
        details = {}
    return {
        "reference": row["reference"],
        "kind": row["kind"],
        "status": row["status"],
        "conversation_id": row["conversation_id"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "language": row.get("language") or DEFAULT_LANGUAGE,
        "details": details,
        "stored": True,
        "deliveries": [
            {
                "channel": d["channel"],
                "state": d["state"],
                "attempts": d["attempts"],
                "delivered_at": iso(d["delivered_at"]),
            }
            for d in deliveries
        ],
    }


def spooled_dict(record: Mapping[str, Any]) -> Dict[str, Any]:
    """A spooled request as the API returns it."""
    details = record.get("details") or {}
    return {
        "reference": record.get("reference"),
        "kind": record.get("kind"),
        "status": "new",
        "conversation_id": record.get("conversation_id"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("created_at"),
        "language": language_of(record),
        "details": details,
        "stored": False,
        "deliveries": [],
    }


def details_phone(details_json: str) -> Optional[str]:
    """The phone number in stored details, if any."""
    try:
        details = json.loads(details_json)
    except ValueError:
        return None
    return details.get("phone") if isinstance(details, dict) else None


def like_escape(text: str) -> str:
    """Escapes `%`, `_` and backslashes for a LIKE pattern with a backslash as escape."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
