"""Remembers the class of each event type name instead of walking every `Event` subclass per event.

Rebuilding a tracker from stored events calls `Event.resolve_by_type` once per event, and Rasa's
version searches all subclasses of `Event` each time (a visible share of a turn, see
docs/benchmark.md). Unknown names are not remembered, so classes defined later still resolve.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

from bts.runtime.patches import require_rasa

_EVENT_CLASSES: Dict[str, Type[Event]] = {}
# Rasa's own function, the reference the tests compare with.
RASA_RESOLVE_BY_TYPE = Event.resolve_by_type


def resolve_event_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """`Event.resolve_by_type`, remembering the class found for each type name.

    Args:
        type_name: An event's `event` field, e.g. "user".
        default: Returned for an unknown type name instead of raising.

    Returns:
        The event class (None for the obsolete "topic" events, as in Rasa).

    Raises:
        ValueError: For an unknown type name without a default (Rasa's own error).
    """
    cls = _EVENT_CLASSES.get(type_name)
    if cls is not None:
        return cls
    for cls in all_subclasses(Event):
        if cls.type_name == type_name:
            _EVENT_CLASSES[type_name] = cls
            return cls
    if type_name == "topic":
        return None
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def apply() -> None:
    """Installs the remembering lookup (idempotent)."""
    require_rasa(__name__)
    Event.resolve_by_type = staticmethod(resolve_event_type)
