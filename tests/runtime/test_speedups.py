"""Tests of the speed patches in bts/runtime/patches: Rasa's own answers, faster."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.events import Event, SessionStarted, SlotSet, UserUttered, deserialise_events
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from bts.runtime.patches import action_result, dask_graph, event_types

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "booking_name", "value": "Ana", "timestamp": None}],
     "responses": [{"text": "Thanks, Ana."}]},
    {"events": [{"event": "followup", "name": "utter_greet"}, {"event": "active_loop", "name": None}]},
    {},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot"}]},
    {"responses": "hi"},
]


def _action() -> RemoteAction:
    return RemoteAction("action_tell_hours", EndpointConfig("http://localhost:1/webhook"))


@pytest.mark.parametrize("result", VALID + INVALID)
def test_same_verdict_as_rasa(result: Dict[str, Any]) -> None:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        expected = None
    except jsonschema.ValidationError as error:
        expected = error.message
    action_result.apply()
    if expected is None:
        assert _action()._validate_action_result(result) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            _action()._validate_action_result(result)
        assert raised.value.message.startswith(expected)
        assert "Failed to validate Action server response" in raised.value.message


def test_event_classes_resolve_as_in_rasa() -> None:
    event_types.apply()
    assert event_types.RASA_RESOLVE_BY_TYPE is not event_types.resolve_event_type
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "session_started", "active_loop"} <= names
    for name in sorted(names) * 2:  # the second round comes from the cache
        assert Event.resolve_by_type(name) is event_types.RASA_RESOLVE_BY_TYPE(name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("nonsense", SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'nonsense'"):
        Event.resolve_by_type("nonsense")


def test_stored_events_come_back_the_same() -> None:
    event_types.apply()
    events = [SlotSet("booking_name", "Ana"), SessionStarted(), UserUttered("hi", {"name": "greet"})]
    assert deserialise_events([e.as_dict() for e in events]) == events


class Provide(GraphComponent):
    """A graph node that returns its configured value."""

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> Provide:
        return cls(config)

    def __init__(self, config: Dict[str, Any]) -> None:
        self.value = config.get("value", 0)

    def provide(self) -> Any:
        return self.value


class Add(Provide):
    """A graph node that adds what its dependencies returned, plus its own value."""

    def add(self, **parts: Any) -> Any:
        return sum(parts.values()) + self.value


def _runner(tmp_path: Path) -> DaskGraphRunner:
    def node(uses: Any, fn: str, needs: Dict[str, str], value: int = 0, target: bool = False) -> SchemaNode:
        return SchemaNode(needs=needs, uses=uses, constructor_name="create", fn=fn,
                          config={"value": value}, is_target=target)

    schema = GraphSchema({
        "one": node(Provide, "provide", {}, 1),
        "ten": node(Provide, "provide", {}, 10),
        "sum": node(Add, "add", {"a": "one", "b": "ten", "c": "__message__"}, 100),
        "top": node(Add, "add", {"a": "sum", "b": "one", "c": "sum"}, 1000, target=True),
        "unused": node(Provide, "provide", {}, 7),
    })
    return DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "test"))


def test_graph_runs_give_rasas_results_for_every_input_and_target(tmp_path: Path) -> None:
    dask_graph.apply()
    runner = _runner(tmp_path)
    assert DaskGraphRunner.run is dask_graph.run_graph
    for message in (5, 6, 5):  # the graph is built once and reused; inputs do not leak between runs
        for targets in (None, ["sum"], ["sum", "one"], ["top"]):
            ours = runner.run({"__message__": message}, targets)
            assert ours == dask_graph.RASA_GRAPH_RUN(runner, {"__message__": message}, targets)
    assert runner.run({"__message__": 5}, ["top"]) == {"top": 1000 + 116 + 1 + 116}
    graphs = runner.__dict__["_bts_dask_graphs"]
    assert set(graphs) == {("top",), ("sum",), ("sum", "one")}
    assert all("__message__" not in graph and "unused" not in graph for graph in graphs.values())
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        runner.run({"__message__": "one"}, ["sum"])
    with pytest.raises(GraphRunError):
        runner.run({}, ["sum"])  # the input placeholder has no value
