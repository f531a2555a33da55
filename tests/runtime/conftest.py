"""Tests apply runtime patches explicitly; each test gets Rasa back unpatched afterwards."""

from __future__ import annotations

from typing import Any, Iterator, List, Tuple

import pytest
import rasa.core.run
import rasa.server
import rasa.utils.log_utils
import structlog
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event

PATCHED: List[Tuple[Any, str]] = [
    (RemoteAction, "_validate_action_result"),
    (Event, "resolve_by_type"),
    (DaskGraphRunner, "run"),
    (MessageProcessor, "handle_message"),
    (rasa.core.run, "load_agent_on_start"),
    (rasa.server, "add_root_route"),
    (rasa.utils.log_utils, "_anonymizer"),
    (structlog.processors, "dict_tracebacks"),
]


@pytest.fixture(autouse=True)
def unpatched_rasa_afterwards() -> Iterator[None]:
    saved = [(owner, name, vars(owner)[name]) for owner, name in PATCHED]
    yield
    for owner, name, value in saved:
        setattr(owner, name, value)
