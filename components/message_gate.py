"""Lets a Rasa server work on a few messages at a time, first come first served.

Rasa handles every arriving message at once, on one event loop. Each message runs its NLU graph
and policies in one go, and gives the loop to the others only where it waits (the action server,
the lock store). With 10 conversations on one replica, a message that calls a custom action
waited behind up to 9 other messages at each of those points: under the benchmark's load of 20
users on two replicas (scripts/bench_load.py, three runs), clinic questions (answered by custom
actions) took a median of 489-575 ms and the others 93-189 ms, and the p99 was 752-994 ms.
Admitting at most two messages at a time, in arrival order, lets each message finish once
started; the rest wait their turn in the queue. With it, every question took 228-290 ms and the
p99 was 403-724 ms, depending on how the conversations were split (deploy/README.md).

The limit comes from `BTS_MAX_CONCURRENT_MESSAGES` (default 2; 0 turns the gate off). Two, not
one, so that a replica keeps its core busy while one message waits for the action server.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import os
from typing import Any, Awaitable, Callable, Deque, Dict, Optional, Tuple, TypeVar

ENV_NAME = "BTS_MAX_CONCURRENT_MESSAGES"
DEFAULT_LIMIT = 2

T = TypeVar("T")


def limit_from_env(environ: Optional[Dict[str, str]] = None) -> int:
    """Reads the limit from the environment.

    Args:
        environ: The environment (default `os.environ`).

    Returns:
        How many messages one server handles at once; 0 for no limit.

    Raises:
        ValueError: If the variable is set to anything but a whole number >= 0.
    """
    raw = (os.environ if environ is None else environ).get(ENV_NAME, "").strip()
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit():
        raise ValueError(
            f"{ENV_NAME} must be a whole number of messages (0 for no limit), not {raw!r}"
        )
    return int(raw)


class FifoGate:
    """An async gate that admits `limit` holders at a time, strictly in arrival order.

    `asyncio.Semaphore` in Python 3.10 lets a newcomer take a slot that was just handed to a
    waiter, and the waiter goes to the back of the queue again; under steady load that starves
    some messages, which is the tail this gate exists to cut.

    Args:
        limit: Holders at a time (at least 1).
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a gate admits at least one holder")
        self.limit = limit
        self.active = 0
        self._waiters: Deque[asyncio.Future[None]] = collections.deque()

    @property
    def waiting(self) -> int:
        """Callers queued for a slot."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def acquire(self) -> None:
        """Waits for a slot; slots go to callers in the order they asked."""
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just before the cancellation: pass it on.
                self.release()
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Gives the slot to the longest waiting caller, or frees it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                # The slot changes hands without ever being free, so nobody can overtake.
                waiter.set_result(None)
                return
        self.active -= 1

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Runs `work()` holding a slot.

        Args:
            work: Makes the awaitable to run once admitted.

        Returns:
            What `work()` returned.
        """
        await self.acquire()
        try:
            return await work()
        finally:
            self.release()


_GATES: Dict[int, Tuple[asyncio.AbstractEventLoop, FifoGate]] = {}


def gate_for(loop: asyncio.AbstractEventLoop, limit: int) -> FifoGate:
    """The gate of one event loop (a gate's futures belong to their loop), made on first use."""
    found = _GATES.get(id(loop))
    # A closed loop's id can be reused by a new loop.
    if found is None or found[0] is not loop or found[1].limit != limit:
        found = (loop, FifoGate(limit))
        _GATES[id(loop)] = found
    return found[1]


def gated(handle: Callable[..., Awaitable[T]], limit: int) -> Callable[..., Awaitable[T]]:
    """Wraps an async message handler so that at most `limit` calls run at once per event loop.

    Args:
        handle: The handler, e.g. `MessageProcessor.handle_message`.
        limit: Calls at once; 0 returns `handle` itself.

    Returns:
        The gated handler.
    """
    if limit == 0:
        return handle

    @functools.wraps(handle)
    async def gated_handle(*args: Any, **kwargs: Any) -> T:
        gate = gate_for(asyncio.get_running_loop(), limit)
        return await gate.run(lambda: handle(*args, **kwargs))

    gated_handle.__bts_gated__ = True  # type: ignore[attr-defined]
    return gated_handle


def install(limit: Optional[int] = None) -> None:
    """Gates Rasa's `MessageProcessor.handle_message` (idempotent).

    Args:
        limit: Messages at once per server; default from `BTS_MAX_CONCURRENT_MESSAGES`.
    """
    from rasa.core.processor import MessageProcessor

    limit = limit_from_env() if limit is None else limit
    handle = MessageProcessor.handle_message
    if getattr(handle, "__bts_gated__", False):
        handle = handle.__wrapped__
    MessageProcessor.handle_message = gated(handle, limit)
