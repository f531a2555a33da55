"""Tests of components/message_gate.py: a few messages at a time, strictly first come first served."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any, List

import pytest
from rasa.core.processor import MessageProcessor

from components import message_gate
from components.message_gate import FifoGate, gated, limit_from_env

ROOT = Path(__file__).resolve().parents[2]


def test_the_limit_comes_from_the_environment_with_a_clear_error() -> None:
    assert limit_from_env({}) == message_gate.DEFAULT_LIMIT == 2
    assert limit_from_env({"BTS_MAX_CONCURRENT_MESSAGES": " 3 "}) == 3
    assert limit_from_env({"BTS_MAX_CONCURRENT_MESSAGES": "0"}) == 0
    for bad in ("two", "-1", "1.5"):
        with pytest.raises(ValueError, match="BTS_MAX_CONCURRENT_MESSAGES must be a whole number"):
            limit_from_env({"BTS_MAX_CONCURRENT_MESSAGES": bad})


class Recorder:
    """Message handlers that wait for the test to let them finish, recording what runs when."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started: List[int] = []
        self.finish: dict = {}

    async def handle(self, index: int) -> int:
        self.started.append(index)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.finish.setdefault(index, asyncio.Event()).wait()
            return index * 10
        finally:
            self.running -= 1


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_at_most_the_limit_runs_and_the_rest_start_in_arrival_order() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        handle = gated(recorder.handle, 2)
        tasks = [asyncio.create_task(handle(i)) for i in range(6)]
        await settle()
        assert recorder.started == [0, 1]
        # Finishing out of order still admits the waiters in the order they arrived.
        for done in (1, 0, 3, 2, 5, 4):
            recorder.finish.setdefault(done, asyncio.Event()).set()
            await settle()
        assert await asyncio.gather(*tasks) == [0, 10, 20, 30, 40, 50]
        assert recorder.started == [0, 1, 2, 3, 4, 5]
        assert recorder.most == 2

    asyncio.run(scenario())


def test_a_newcomer_cannot_take_a_slot_handed_to_a_waiter() -> None:
    async def scenario() -> None:
        gate = FifoGate(1)
        order: List[str] = []
        await gate.acquire()

        async def take(name: str) -> None:
            await gate.acquire()
            order.append(name)
            gate.release()

        waiter = asyncio.create_task(take("waiter"))
        await settle()
        gate.release()
        # Arrives after the release but before the waiter has run again.
        newcomer = asyncio.create_task(take("newcomer"))
        await asyncio.gather(waiter, newcomer)
        assert order == ["waiter", "newcomer"]
        assert gate.active == 0

    asyncio.run(scenario())


def test_cancelled_waiters_and_failing_handlers_give_their_slots_back() -> None:
    async def scenario() -> None:
        recorder = Recorder()

        async def handle(index: int) -> int:
            if index == 1:
                raise RuntimeError("the action server is down")
            return await recorder.handle(index)

        gate_handle = gated(handle, 1)
        first = asyncio.create_task(gate_handle(0))
        failing = asyncio.create_task(gate_handle(1))
        cancelled = asyncio.create_task(gate_handle(2))
        last = asyncio.create_task(gate_handle(3))
        await settle()
        cancelled.cancel()
        await settle()
        recorder.finish.setdefault(0, asyncio.Event()).set()
        recorder.finish.setdefault(3, asyncio.Event()).set()
        assert await first == 0
        with pytest.raises(RuntimeError):
            await failing
        assert await last == 30
        assert cancelled.cancelled()
        gate = message_gate.gate_for(asyncio.get_running_loop(), 1)
        assert (gate.active, gate.waiting) == (0, 0)
        assert recorder.started == [0, 3]

    asyncio.run(scenario())


def test_a_waiter_cancelled_after_being_admitted_passes_its_slot_on() -> None:
    async def scenario() -> None:
        gate = FifoGate(1)
        await gate.acquire()
        admitted = asyncio.create_task(gate.acquire())
        behind = asyncio.create_task(gate.acquire())
        await settle()
        gate.release()  # hands the slot to `admitted` ...
        admitted.cancel()  # ... which is cancelled before it runs again
        await settle()
        assert admitted.cancelled()
        await asyncio.wait_for(behind, 1)
        assert gate.active == 1
        gate.release()
        assert gate.active == 0

    asyncio.run(scenario())


def test_zero_means_no_gate() -> None:
    async def handle() -> str:
        return "answered"

    assert gated(handle, 0) is handle


def test_install_gates_rasas_message_handler_once() -> None:
    original = MessageProcessor.handle_message
    try:
        message_gate.install(2)
        message_gate.install(3)
        handle: Any = MessageProcessor.handle_message
        assert handle.__bts_gated__ is True
        assert not getattr(handle.__wrapped__, "__bts_gated__", False)
        message_gate.install(0)
        assert not getattr(MessageProcessor.handle_message, "__bts_gated__", False)
    finally:
        MessageProcessor.handle_message = original  # type: ignore[method-assign]


def test_loading_our_pipeline_installs_the_gate_and_rejects_a_bad_limit(tmp_path: Path) -> None:
    code = (
        "import components.nlu\n"
        "from rasa.core.processor import MessageProcessor\n"
        "print(getattr(MessageProcessor.handle_message, '__bts_gated__', False))"
    )
    # HOME: Keras writes its settings there on import.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == "True"
    bad = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**env, "BTS_MAX_CONCURRENT_MESSAGES": "lots"})
    assert bad.returncode != 0
    assert "BTS_MAX_CONCURRENT_MESSAGES must be a whole number" in bad.stderr
