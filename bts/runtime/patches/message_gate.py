"""Lets a Rasa server work on a few messages at a time, first come first served, with a bounded queue.

Rasa starts every arriving message at once on one event loop, so under load a message that calls
a custom action waits behind every other message at each await; admitting a few at a time in
arrival order cuts the tail latency (see docs/benchmark.md). Rasa holds the conversation's lock
while a message waits here, so the queue is bounded in length and in time, well under the lock's
lifetime: a message that cannot be admitted in time gets the "busy, please try again; in an
emergency call 911" reply and is not stored.

Settings: `BTS_MAX_CONCURRENT_MESSAGES` (default 2; 0 turns the gate off), `BTS_GATE_MAX_QUEUE`
(messages waiting, default 32) and `BTS_GATE_MAX_WAIT_S` (default 8 s, and at most a third of
the lock lifetime `TICKET_LOCK_LIFETIME`: 6.7 s with the production profile's 20 s).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
from typing import Any, Awaitable, Callable, Coroutine, Deque, Dict, Mapping, Optional, Tuple, TypeVar

from bts import env
from bts.runtime.patches import require_rasa

logger = logging.getLogger(__name__)

LIMIT_ENV = "BTS_MAX_CONCURRENT_MESSAGES"
QUEUE_ENV = "BTS_GATE_MAX_QUEUE"
WAIT_ENV = "BTS_GATE_MAX_WAIT_S"
DEFAULT_LIMIT = 2
DEFAULT_MAX_QUEUE = 32
DEFAULT_MAX_WAIT_S = 8.0

T = TypeVar("T")


class GateSettings:
    """How many messages run at once, how many may wait and for how long.

    Args:
        limit: Messages at once (0: no gate).
        max_queue: Messages that may wait for a slot.
        max_wait_s: Seconds a message may wait for a slot.
    """

    def __init__(self, limit: int, max_queue: int, max_wait_s: float) -> None:
        self.limit = limit
        self.max_queue = max_queue
        self.max_wait_s = max_wait_s

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> GateSettings:
        """Reads the settings, refusing a wait that could outlive the conversation's lock.

        Raises:
            bts.env.SettingsError: Naming the variable with a bad value.
        """
        environ = os.environ if environ is None else environ
        from rasa.core.constants import DEFAULT_LOCK_LIFETIME

        # As rasa.core.lock_store reads it.
        lock_lifetime = float(env.whole(environ, "TICKET_LOCK_LIFETIME", 0) or DEFAULT_LOCK_LIFETIME)
        max_wait_s = env.number(environ, WAIT_ENV, min(DEFAULT_MAX_WAIT_S, lock_lifetime / 3), minimum=0.1)
        if max_wait_s > lock_lifetime / 3:
            raise env.SettingsError(
                f"{WAIT_ENV}: at most a third of the conversation lock's lifetime "
                f"({lock_lifetime:.0f} s), got {max_wait_s:g}"
            )
        return cls(
            limit=env.whole(environ, LIMIT_ENV, DEFAULT_LIMIT),
            max_queue=env.whole(environ, QUEUE_ENV, DEFAULT_MAX_QUEUE),
            max_wait_s=max_wait_s,
        )


class FifoGate:
    """An async gate that admits `limit` holders at a time, strictly in arrival order.

    `asyncio.Semaphore` in Python 3.10 lets a newcomer take a slot that was just handed to a
    waiter, which starves some messages under steady load: the tail this gate exists to cut.

    Args:
        limit: Holders at a time (at least 1).
        max_queue: Callers that may wait; more are turned away at once (None: no bound).
    """

    def __init__(self, limit: int, max_queue: Optional[int] = None) -> None:
        if limit < 1:
            raise ValueError("a gate admits at least one holder")
        self.limit = limit
        self.max_queue = max_queue
        self.active = 0
        self._waiters: Deque[asyncio.Future[None]] = collections.deque()

    @property
    def waiting(self) -> int:
        """Callers queued for a slot."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def acquire(self, timeout: Optional[float] = None) -> bool:
        """Waits for a slot; slots go to callers in the order they asked.

        Args:
            timeout: Seconds to wait at most (None: no limit).

        Returns:
            True once holding a slot; False if the queue was full or the wait timed out.
        """
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return True
        if self.max_queue is not None and self.waiting >= self.max_queue:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            # wait_for cancelled the waiter before any slot was handed to it.
            self._forget(waiter)
            return False
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just before the cancellation: pass it on.
                self.release()
            else:
                self._forget(waiter)
            raise
        return True

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def release(self) -> None:
        """Gives the slot to the longest waiting caller, or frees it."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                # The slot changes hands without ever being free, so nobody can overtake.
                waiter.set_result(None)
                return
        self.active -= 1


_GATES: Dict[int, Tuple[asyncio.AbstractEventLoop, FifoGate]] = {}


def gate_for(loop: asyncio.AbstractEventLoop, limit: int, max_queue: Optional[int] = None) -> FifoGate:
    """The gate of one event loop (a gate's futures belong to their loop), made on first use."""
    found = _GATES.get(id(loop))
    # A closed loop's id can be reused by a new loop.
    if found is None or found[0] is not loop or found[1].limit != limit or found[1].max_queue != max_queue:
        found = (loop, FifoGate(limit, max_queue))
        _GATES[id(loop)] = found
    return found[1]


def gated(
    handle: Callable[..., Coroutine[Any, Any, T]],
    settings: GateSettings,
    busy: Callable[..., Awaitable[Any]],
) -> Callable[..., Coroutine[Any, Any, Optional[T]]]:
    """Wraps an async message handler so that at most `settings.limit` calls run at once per loop.

    Args:
        handle: The handler, e.g. `MessageProcessor.handle_message`.
        settings: Limit, queue length and wait.
        busy: Called with the handler's arguments instead of it when the gate turns a call away.

    Returns:
        The gated handler (`handle` itself for a limit of 0); a turned-away call returns None.
    """
    if settings.limit == 0:
        return handle

    @functools.wraps(handle)
    async def gated_handle(*args: Any, **kwargs: Any) -> Optional[T]:
        gate = gate_for(asyncio.get_running_loop(), settings.limit, settings.max_queue)
        if not await gate.acquire(settings.max_wait_s):
            logger.warning("Server busy: a message was turned away (%d waiting).", gate.waiting)
            await busy(*args, **kwargs)
            return None
        try:
            return await handle(*args, **kwargs)
        finally:
            gate.release()

    gated_handle.__bts_gated__ = True  # type: ignore[attr-defined]
    return gated_handle


async def reply_busy(_processor: Any, message: Any) -> None:
    """Tells the patient the server is busy, on the channel the message came from."""
    from bts.runtime.messages import busy_text

    if message.output_channel is not None:
        await message.output_channel.send_text_message(message.sender_id, busy_text())


def apply(settings: Optional[GateSettings] = None) -> None:
    """Gates Rasa's `MessageProcessor.handle_message` (idempotent).

    Args:
        settings: Default from the environment.
    """
    require_rasa(__name__)
    from rasa.core.processor import MessageProcessor

    from bts.runtime.messages import busy_text

    busy_text()  # a missing translation stops the server at start-up, not at the first busy moment
    settings = GateSettings.from_env() if settings is None else settings
    handle = MessageProcessor.handle_message
    if getattr(handle, "__bts_gated__", False):
        handle = handle.__wrapped__
    MessageProcessor.handle_message = gated(handle, settings, reply_busy)
