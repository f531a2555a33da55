"""What every submit action shares: the slots checked again, and the signal that a request was sent."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple

from actions.forms import SKIPPED, Validator

# The widget clears the transcript it keeps in the browser when a bot message carries this.
SUBMITTED: Dict[str, Any] = {"bts": {"event": "booking_submitted"}}
# Fields a patient may leave out.
OPTIONAL = frozenset({"booking_email", "booking_insurance", "change_reference", "change_time"})


def recheck(
    slots: Mapping[str, Any], validators: Mapping[str, Validator], fields: Sequence[str]
) -> Tuple[Dict[str, Any], List[str]]:
    """Validates every field again from the slots, as if the patient had just typed it.

    Slot values reach the action server from outside and are not trusted: a value that did not pass
    through the form (or was changed on the way) is refused here, and nothing is stored.

    Args:
        slots: The tracker's slots.
        validators: The validator of each field.
        fields: The fields to check.

    Returns:
        The slots with every field replaced by its freshly validated value, and the fields refused.
    """
    checked = dict(slots)
    refused: List[str] = []
    for slot in fields:
        value = slots.get(slot)
        if value in (None, SKIPPED):
            if slot not in OPTIONAL:
                refused.append(slot)
            continue
        if isinstance(value, dict):  # a parsed time keeps the patient's own words next to it
            value = value.get("raw")
        if not isinstance(value, str):
            refused.append(slot)
            continue
        result = validators[slot](value)
        if not result.ok or (result.value is None and slot not in OPTIONAL):
            refused.append(slot)
            continue
        checked[slot] = SKIPPED if result.value is None else result.value
    return checked, refused
