"""Checks action server replies with one reused validator instead of re-checking the schema each time.

Rasa's `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)`, which
validates the constant schema against the meta-schema and builds a new validator on every reply
(the largest single cost of a served turn, see docs/benchmark.md). Replies are accepted and
rejected exactly as before, with the same `ValidationError`.
"""

from __future__ import annotations

import functools
from typing import Any, Dict

from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

from bts.runtime.patches import require_rasa

# Rasa's own method, the reference the tests compare with.
RASA_VALIDATE = RemoteAction._validate_action_result


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
    """Installs the reused validator (idempotent)."""
    require_rasa(__name__)
    RemoteAction._validate_action_result = validate_action_result
