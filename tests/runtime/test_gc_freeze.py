"""Tests of bts/runtime/patches/gc_freeze.py: the loaded model leaves the garbage collector's sight once."""

from __future__ import annotations

import asyncio
import gc
from typing import Any, Iterator, List

import pytest
import rasa.core.run

from bts.runtime.patches import gc_freeze


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_heap_is_frozen_right_after_rasa_loads_the_model_and_garbage_goes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_while_loading: List[int] = []

    async def load_agent_on_start(*args: Any) -> str:
        frozen_while_loading.append(gc.get_freeze_count())
        Cycle()  # garbage of loading that only a collection frees
        return "agent"

    monkeypatch.setattr(rasa.core.run, "load_agent_on_start", load_agent_on_start)
    gc_freeze.apply()
    gc_freeze.apply()  # idempotent: one wrapper
    wrapped = rasa.core.run.load_agent_on_start
    assert wrapped.__wrapped__ is load_agent_on_start
    assert asyncio.run(wrapped("model", None, None, "app", "loop")) == "agent"
    assert frozen_while_loading == [0]
    assert gc.get_freeze_count() > 1000
    assert not any(isinstance(o, Cycle) for o in gc.get_objects())


def test_nothing_is_frozen_when_loading_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    async def load_agent_on_start(*args: Any) -> str:
        raise FileNotFoundError("no model")

    monkeypatch.setattr(rasa.core.run, "load_agent_on_start", load_agent_on_start)
    gc_freeze.apply()
    with pytest.raises(FileNotFoundError):
        asyncio.run(rasa.core.run.load_agent_on_start("model", None, None, "app", "loop"))
    assert gc.get_freeze_count() == 0
