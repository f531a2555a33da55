"""The functions the actions call: store a request, look one up; one store per process."""

from __future__ import annotations

import threading
from typing import Optional

from bts.booking.records import SubmitResult
from bts.booking.settings import settings
from bts.booking.store import Store

_default_store: Optional[Store] = None
_default_lock = threading.Lock()


def default_store() -> Store:
    """The process-wide store, configured from the environment on first use."""
    global _default_store
    if _default_store is None:
        with _default_lock:
            if _default_store is None:
                _default_store = Store(settings())
    return _default_store


def submit_request(
    kind: str, conversation_id: str, details: dict, language: Optional[str] = None
) -> SubmitResult:
    """Stores a booking, callback or change request durably and starts its delivery.

    Writes the `booking_requests` row (status `new`, a fresh reference such as `BTS-7K2QM9XD`) and one
    `outbox` row per configured channel in one transaction, then makes one immediate delivery
    attempt. The whole call, database write included, waits at most about
    `BTS_SUBMIT_DELIVERY_BUDGET_S` (2.5 s by default); whatever is not delivered by then, the
    outbox worker retries. If the database is unreachable, the request is appended to the spool
    file and the worker replays it later.

    The call blocks for up to about 3 s: from an `async` action, run it with
    `await asyncio.to_thread(submit_request, ...)` so other conversations are not held up.

    Args:
        kind: `booking`, `callback` or `change`.
        conversation_id: The Rasa sender id (`tracker.sender_id`).
        details: The request's fields (see `docs/data-model.md`): name, phone (E.164), email,
            preferred_time_text, preferred_time, reason, patient_type, insurance, consent,
            related_reference. JSON-serialisable. Never logged.
        language: The patient's language, `en` or `es` (the `language` slot), so that the front
            desk calls back in it; defaults to `details["language"]`, else English.

    Returns:
        The reference to give the patient, and whether the request is already in the database
        (`stored=False` means spooled: the reference is valid all the same).

    Raises:
        ValueError: If `kind` is unknown or `details` is not a JSON-serialisable mapping.
        StorageError: If neither the database nor the spool file could take the request; the
            patient should then be asked to call the clinic.
    """
    result, _ = default_store().submit(kind, conversation_id, details, language=language)
    return result


def find_request(reference: str) -> Optional[dict]:
    """Looks a request up by its reference.

    Case, spaces and a missing dash do not matter (`bts 7k2q-m9xd` finds `BTS-7K2QM9XD`). While the
    database is unreachable, only spooled requests can be found.

    Args:
        reference: The reference as the patient typed it.

    Returns:
        The request as a dict with `reference`, `kind`, `status`, `conversation_id`,
        `created_at` and `updated_at` (ISO 8601, UTC), `details`, `stored` (False while
        spooled) and `deliveries` (channel, state, attempts, delivered_at); None when there is
        no such request or the text cannot be a reference. Never raises for storage outages.
    """
    return default_store().find(reference)


def find_requests_by_phone(phone_e164: str) -> list:
    """Looks requests up by the patient's phone number.

    Args:
        phone_e164: The number in E.164 form, e.g. `+15755550142`; it must match exactly.

    Returns:
        The matching requests (same dicts as `find_request`), newest first; empty when there
        are none or the database is unreachable and none are spooled.
    """
    return default_store().find_by_phone(phone_e164)
