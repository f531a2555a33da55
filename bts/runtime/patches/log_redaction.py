"""Keeps what patients type out of the server's logs, also when Rasa logs an exception.

Rasa's structured logs carry message text, slots and events in named fields, and its JSON
exception renderer adds every frame's local variables (the message text among them) to the log.
Here the fields Rasa itself lists as anonymizable are replaced by "[redacted]", and tracebacks
are rendered without local variables.
"""

from __future__ import annotations

from typing import Any, Dict

from bts.runtime.patches import require_rasa

REDACTED = "[redacted]"
# The keys of Rasa 3.6's `rasa.utils.log_utils._anonymizer`, plus the channels' own.
PATIENT_KEYS = frozenset({
    "text", "response_text", "user_text", "slot_values", "parse_data_text", "parse_data_entities",
    "prediction_events", "tracker_latest_message", "prefilled_slots", "message", "response",
    "slot_candidates", "rasa_event", "rasa_events", "tracker_states", "current_states",
    "old_states", "successes", "current_entity", "next_entity", "states", "entity", "token_text",
    "user_message", "json_message", "request_body", "metadata",
})


def redact(event_dict: Dict[str, Any]) -> Dict[str, Any]:
    """Replaces every patient-data field of a structured log entry."""
    for key in PATIENT_KEYS.intersection(event_dict):
        event_dict[key] = REDACTED
    return event_dict


def apply() -> None:
    """Installs the redaction into the logging Rasa configures at start (idempotent)."""
    require_rasa(__name__)
    import rasa.utils.log_utils as log_utils
    import structlog
    from structlog.tracebacks import ExceptionDictTransformer

    anonymize = log_utils._anonymizer
    if getattr(anonymize, "__bts_redacts__", False):
        return

    def redacting_anonymizer(logger: Any, name: str, event_dict: Dict[str, Any]) -> Dict[str, Any]:
        return redact(anonymize(logger, name, event_dict))

    redacting_anonymizer.__bts_redacts__ = True  # type: ignore[attr-defined]
    log_utils._anonymizer = redacting_anonymizer
    # configure_structlog reads this attribute when the server starts.
    structlog.processors.dict_tracebacks = structlog.processors.ExceptionRenderer(
        ExceptionDictTransformer(show_locals=False)
    )
