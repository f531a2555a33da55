"""A measured fix for a hot spot of Rasa 3.6, applied when Rasa loads our components.

Rasa checks every reply of the action server with `jsonschema.validate(result, schema)`. That
function first validates the *schema* against JSON Schema's meta-schema, then builds a new
validator, on every call: in a profile of single-user turns (scripts/bench.py, py-spy) it took
24 % of the server's busy time, more than the whole NLU pipeline. The schema is a constant, so
here it is checked once and its validator reused. Results are accepted and rejected exactly as
before, with the same `ValidationError` (tests/components/test_rasa_speedups.py).
"""

from __future__ import annotations

import functools
from typing import Any, Dict

from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=1)
def action_result_validator() -> Any:
    """The validator of Rasa's action server response schema, built (and checked) once."""
    from jsonschema import validators

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with a reused validator.

    Args:
        self: The remote action.
        result: The action server's JSON response.

    Returns:
        True if the response is valid.

    Raises:
        jsonschema.ValidationError: If it is not (with Rasa's explanation appended).
    """
    from jsonschema.exceptions import best_match

    error = best_match(action_result_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the "
        f"Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def apply() -> None:
    """Installs the fix (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result
