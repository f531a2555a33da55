"""Builds the dask graph of each set of targets once per loaded model instead of on every graph run.

`DaskGraphRunner.run` works out the nodes the targets need (a recursive walk that visits shared
dependencies once per path) and builds a new dask graph for every NLU parse and every action
prediction, although that graph never changes once the model is loaded (see docs/benchmark.md).
Here it is built once per runner and set of targets and copied for each run.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.runner.dask import DaskGraphRunner

from bts.runtime.patches import require_rasa

# Rasa's own method, the reference the tests compare with.
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
    """Installs the cached graph run (idempotent)."""
    require_rasa(__name__)
    DaskGraphRunner.run = run_graph
