"""Measured fixes for hot spots of Rasa 3.6, applied when Rasa loads our components.

1. Rasa checks every reply of the action server with `jsonschema.validate(result, schema)`. That
function first validates the *schema* against JSON Schema's meta-schema, then builds a new
validator, on every call: in a profile of single-user turns (scripts/bench.py, py-spy) it took
24 % of the server's busy time, more than the whole NLU pipeline. The schema is a constant, so
here it is checked once and its validator reused. Results are accepted and rejected exactly as
before, with the same `ValidationError`.

2. Rebuilding a tracker from stored events looks up each event's class by walking every subclass
of `Event` again, for every event: 4 % of the busy time in the same profile. The class of each
type name is now remembered once found.

3. Every run of the model's graph (the NLU parse, and each prediction of the next action: three
or more per message) works out again which nodes the requested targets need, by a recursive walk
that visits shared dependencies once per path, and builds a new dask graph from them: 1.6 ms of
a 27 ms single-user turn (py-spy, 300 turns). The graph a set of targets needs never changes
once the model is loaded, so it is built once per set of targets and copied for each run.

tests/components/test_rasa_speedups.py checks that all three give Rasa's own answers.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Dict, List, Optional, Tuple, Type

from rasa.core.actions.action import RemoteAction
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_EVENT_CLASSES: Dict[str, Type[Event]] = {}
# Rasa's own function, kept as the reference the tests compare with (this module is imported
# before `apply` replaces it).
RASA_RESOLVE_BY_TYPE = Event.resolve_by_type


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
    # Rasa's own search; unknown names are not remembered (a class defined later may bring them).
    for cls in all_subclasses(Event):
        if cls.type_name == type_name:
            _EVENT_CLASSES[type_name] = cls
            return cls
    if type_name == "topic":
        return None
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


RASA_GRAPH_RUN = DaskGraphRunner.run
_graph_logger = logging.getLogger("rasa.engine.runner.dask")


def dask_graph_for(runner: DaskGraphRunner, targets: List[str]) -> Dict[str, Any]:
    """The dask graph that computes `targets`, built once per runner and set of targets.

    Args:
        runner: A loaded model's graph runner.
        targets: The nodes whose outputs are wanted.

    Returns:
        The graph shared by all runs: copy it before adding inputs.
    """
    graphs: Dict[Tuple[str, ...], Dict[str, Any]] = runner.__dict__.setdefault("_bts_dask_graphs", {})
    key = tuple(targets)
    graph = graphs.get(key)
    if graph is None:
        graph = runner._build_dask_graph(runner._graph_schema.minimal_graph_schema(targets))
        graphs[key] = graph
    return graph


def run_graph(
    self: DaskGraphRunner, inputs: Optional[Dict[str, Any]] = None, targets: Optional[List[str]] = None
) -> Dict[str, Any]:
    """`DaskGraphRunner.run` with the dask graph of each set of targets built once.

    Args:
        self: The runner.
        inputs: Values of the graph's input placeholders.
        targets: Nodes to compute (default: the schema's targets).

    Returns:
        The targets' outputs by node name.

    Raises:
        GraphRunError: As in Rasa, when an input clashes with a node name or a node fails.
    """
    import dask
    from rasa.engine.exceptions import GraphRunError

    run_targets = targets if targets else self._graph_schema.target_names
    graph = dict(dask_graph_for(self, run_targets))
    if inputs:
        self._add_inputs_to_graph(inputs, graph)
    # Rasa formats this message (every input, trackers included) even when debug logs are off.
    if _graph_logger.isEnabledFor(logging.DEBUG):
        _graph_logger.debug(f"Running graph with inputs: {inputs}, targets: {targets} "
                            f"and {self._execution_context}.")
    try:
        return dict(dask.get(graph, run_targets))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def apply() -> None:
    """Installs the fixes (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_event_type)
    DaskGraphRunner.run = run_graph
