"""Tests of bts/runtime/patches/message_gate.py: a few messages at a time, first come first served,
and a bounded queue whose overflow gets the "busy" reply instead of outliving the conversation lock."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor

from bts.env import SettingsError
from bts.runtime.messages import busy_text
from bts.runtime.patches import message_gate
from bts.runtime.patches.message_gate import FifoGate, GateSettings, gated


def settings(limit: int = 2, max_queue: int = 100, max_wait_s: float = 5.0) -> GateSettings:
    return GateSettings(limit, max_queue, max_wait_s)


def test_settings_come_from_the_environment_with_a_clear_error() -> None:
    default = GateSettings.from_env({})
    assert (default.limit, default.max_queue, default.max_wait_s) == (2, 32, 8.0)
    custom = GateSettings.from_env({"BTS_MAX_CONCURRENT_MESSAGES": " 3 ", "BTS_GATE_MAX_QUEUE": "5",
                                    "BTS_GATE_MAX_WAIT_S": "2.5"})
    assert (custom.limit, custom.max_queue, custom.max_wait_s) == (3, 5, 2.5)
    assert GateSettings.from_env({"BTS_MAX_CONCURRENT_MESSAGES": "0"}).limit == 0
    for bad in ("two", "-1", "1.5"):
        with pytest.raises(SettingsError, match="BTS_MAX_CONCURRENT_MESSAGES"):
            GateSettings.from_env({"BTS_MAX_CONCURRENT_MESSAGES": bad})


def test_a_wait_that_could_outlive_the_conversation_lock_is_refused() -> None:
    with pytest.raises(SettingsError, match="BTS_GATE_MAX_WAIT_S: at most a third of the conversation lock"):
        GateSettings.from_env({"BTS_GATE_MAX_WAIT_S": "7", "TICKET_LOCK_LIFETIME": "20"})
    # The default stays under a third of a short lock's lifetime.
    assert GateSettings.from_env({"TICKET_LOCK_LIFETIME": "20"}).max_wait_s == pytest.approx(20 / 3)


class Recorder:
    """Message handlers that wait for the test to let them finish, recording what runs when."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started: List[int] = []
        self.finish: Dict[int, asyncio.Event] = {}
        self.busy: List[int] = []

    def release(self, index: int) -> None:
        self.finish.setdefault(index, asyncio.Event()).set()

    async def handle(self, index: int) -> int:
        self.started.append(index)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.finish.setdefault(index, asyncio.Event()).wait()
            return index * 10
        finally:
            self.running -= 1

    async def on_busy(self, index: int) -> None:
        self.busy.append(index)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_at_most_the_limit_runs_and_the_rest_start_in_arrival_order() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        handle = gated(recorder.handle, settings(limit=2), recorder.on_busy)
        tasks = [asyncio.create_task(handle(i)) for i in range(6)]
        await settle()
        assert recorder.started == [0, 1]
        # Finishing out of order still admits the waiters in the order they arrived.
        for done in (1, 0, 3, 2, 5, 4):
            recorder.release(done)
            await settle()
        assert await asyncio.gather(*tasks) == [0, 10, 20, 30, 40, 50]
        assert recorder.started == [0, 1, 2, 3, 4, 5]
        assert recorder.most == 2
        assert recorder.busy == []

    asyncio.run(scenario())


def test_a_full_queue_answers_busy_at_once_and_never_runs_the_message() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        handle = gated(recorder.handle, settings(limit=1, max_queue=2), recorder.on_busy)
        tasks = [asyncio.create_task(handle(i)) for i in range(5)]
        await settle()
        # One runs, two wait, the last two are turned away without waiting.
        assert recorder.busy == [3, 4]
        assert await tasks[3] is None and await tasks[4] is None
        for index in range(3):
            recorder.release(index)
        assert await asyncio.gather(*tasks[:3]) == [0, 10, 20]
        assert recorder.started == [0, 1, 2]

    asyncio.run(scenario())


def test_a_message_waiting_too_long_answers_busy_and_gives_its_place_up() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        handle = gated(recorder.handle, settings(limit=1, max_wait_s=0.05), recorder.on_busy)
        first = asyncio.create_task(handle(0))
        await settle()
        late = asyncio.create_task(handle(1))
        assert await asyncio.wait_for(late, 5) is None  # turned away after its wait, not stuck
        assert recorder.busy == [1]
        gate = message_gate.gate_for(asyncio.get_running_loop(), 1, 100)
        assert gate.waiting == 0
        recorder.release(0)
        assert await first == 0
        recorder.release(2)
        assert await handle(2) == 20  # the slot is free again
        assert recorder.started == [0, 2]

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

        gate_handle = gated(handle, settings(limit=1), recorder.on_busy)
        first = asyncio.create_task(gate_handle(0))
        failing = asyncio.create_task(gate_handle(1))
        cancelled = asyncio.create_task(gate_handle(2))
        last = asyncio.create_task(gate_handle(3))
        await settle()
        cancelled.cancel()
        await settle()
        recorder.release(0)
        recorder.release(3)
        assert await first == 0
        with pytest.raises(RuntimeError):
            await failing
        assert await last == 30
        assert cancelled.cancelled()
        gate = message_gate.gate_for(asyncio.get_running_loop(), 1, 100)
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
        assert await asyncio.wait_for(behind, 1) is True
        assert gate.active == 1
        gate.release()
        assert gate.active == 0

    asyncio.run(scenario())


def test_zero_means_no_gate() -> None:
    async def handle() -> str:
        return "answered"

    assert gated(handle, settings(limit=0), handle) is handle


def test_applied_to_rasa_the_patient_gets_the_busy_reply_in_both_languages() -> None:
    calls: List[str] = []

    async def handle_message(processor: Any, message: UserMessage) -> List[str]:
        calls.append(message.text or "")
        await asyncio.sleep(0.2)
        return ["answer"]

    MessageProcessor.handle_message = handle_message
    message_gate.apply(settings(limit=1, max_queue=0))
    message_gate.apply(settings(limit=1, max_queue=0))  # idempotent: gated once
    gated_handle: Any = MessageProcessor.handle_message
    assert gated_handle.__bts_gated__ is True and gated_handle.__wrapped__ is handle_message

    async def scenario() -> List[Any]:
        first = UserMessage("first", CollectingOutputChannel(), "ana")
        second = UserMessage("second", CollectingOutputChannel(), "ben")
        results = await asyncio.gather(gated_handle(None, first), gated_handle(None, second))
        sent = second.output_channel.messages
        assert [m["text"] for m in sent] == busy_text().split("\n\n") and len(sent) == 2
        return list(results)

    assert asyncio.run(scenario()) == [["answer"], None]
    assert calls == ["first"]
    assert "911" in busy_text() and "llame al 911" in busy_text()
