"""Tests of components/gc_freeze.py: the loaded model leaves the garbage collector's sight once."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List

import pytest

from components.gc_freeze import agent_ready, freeze_after_load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_nothing_is_scheduled_without_a_running_loop() -> None:
    assert freeze_after_load(ready=lambda: True) is False
    assert gc.get_freeze_count() == 0


def test_objects_are_frozen_once_the_model_is_ready_and_garbage_is_collected_first() -> None:
    checks: List[bool] = []

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    async def scenario() -> None:
        Cycle()  # garbage that only a collection frees
        assert freeze_after_load(ready=lambda: checks.append(len(checks) >= 2) or checks[-1], every_s=0.01)
        await asyncio.sleep(0.005)
        assert gc.get_freeze_count() == 0  # still loading
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert checks == [False, False, True]  # checked until ready, then no more
    assert gc.get_freeze_count() > 1000
    assert not any(isinstance(o, Cycle) for o in gc.get_objects())


def test_it_gives_up_when_the_model_never_loads() -> None:
    checks: List[int] = []

    async def scenario() -> None:
        freeze_after_load(ready=lambda: checks.append(1) is not None and False, every_s=0.01,
                          give_up_after_s=0.05)
        await asyncio.sleep(0.3)

    asyncio.run(scenario())
    assert 2 <= len(checks) <= 10
    assert gc.get_freeze_count() == 0


def test_no_agent_means_not_ready() -> None:
    assert agent_ready() is False


def test_a_served_model_is_frozen_after_it_loads(tmp_path: Path) -> None:
    # As in a Rasa server: a Sanic app whose agent becomes ready after our module was imported.
    code = (
        "import asyncio, gc\n"
        "from sanic import Sanic\n"
        "app = Sanic('rasa_server')\n"
        "class Agent:\n"
        "    loaded = False\n"
        "    def is_ready(self): return self.loaded\n"
        "async def main():\n"
        "    app.ctx.agent = Agent()\n"
        "    import components.nlu  # noqa: F401  (Rasa imports it while loading the model)\n"
        "    await asyncio.sleep(0.7)\n"
        "    before = gc.get_freeze_count()\n"
        "    app.ctx.agent.loaded = True\n"
        "    await asyncio.sleep(0.7)\n"
        "    print(before, gc.get_freeze_count() > 10000)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "True"]
