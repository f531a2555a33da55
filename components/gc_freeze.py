"""Keeps Python's full garbage collections from stalling a loaded Rasa server.

A loaded model is millions of long-lived Python objects (TensorFlow, Keras, spaCy, Rasa's graph).
Each full (generation 2) collection walks all of them: 230-450 ms per collection on this machine
(measured with `gc.callbacks` in a replica under scripts/bench_load.py), 5-6 per replica from
start through two load runs, and every message in flight waits for it.

Once the server's agent is ready, one collection clears the garbage of loading the model, and
`gc.freeze()` moves the survivors out of the collector's sight. Later collections only walk
objects created while serving; the model's objects are never freed before the process ends,
which they would not be anyway. After the freeze, the full collections measured took 2-3 ms.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Callable, Optional

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 0.5
GIVE_UP_AFTER_S = 600.0


def agent_ready() -> bool:
    """Whether a Sanic app of this process holds a Rasa agent with a loaded model."""
    from sanic import Sanic

    for app in list(Sanic._app_registry.values()):
        agent = getattr(app.ctx, "agent", None)
        if agent is not None and agent.is_ready():
            return True
    return False


def freeze_after_load(
    loop: Optional[asyncio.AbstractEventLoop] = None,
    ready: Callable[[], bool] = agent_ready,
    every_s: float = CHECK_EVERY_S,
    give_up_after_s: float = GIVE_UP_AFTER_S,
) -> bool:
    """Schedules one collection and `gc.freeze()` for when `ready()` first holds.

    Args:
        loop: The server's event loop (default: the running one).
        ready: Tells whether the model has loaded.
        every_s: Seconds between checks.
        give_up_after_s: Stop checking after this long (e.g. the model never loads).

    Returns:
        True if scheduled; False without a running loop (training, a script): nothing serves.
    """
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
    deadline = time.monotonic() + give_up_after_s
    target = loop

    def check() -> None:
        if ready():
            started = time.perf_counter()
            gc.collect()
            gc.freeze()
            logger.info(
                "Model loaded: %d objects frozen out of garbage collection (%.0f ms).",
                gc.get_freeze_count(), (time.perf_counter() - started) * 1000,
            )
        elif time.monotonic() < deadline:
            target.call_later(every_s, check)

    loop.call_soon(check)
    return True

