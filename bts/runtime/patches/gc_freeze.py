"""Keeps Python's full garbage collections from walking the loaded model while the server serves.

A loaded model is millions of long-lived objects (TensorFlow, spaCy, Rasa's graph), and every
full collection walks all of them while every message in flight waits (see docs/benchmark.md).
Once Rasa has loaded the model, one collection clears the garbage of loading and `gc.freeze()`
moves the survivors out of the collector's sight; they would never be freed before exit anyway.
"""

from __future__ import annotations

import functools
import gc
import logging
import time
from typing import Any

from bts.runtime.patches import require_rasa

logger = logging.getLogger(__name__)


def freeze() -> int:
    """Collects once, then freezes every surviving object; returns how many are frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    count = gc.get_freeze_count()
    logger.info("Model loaded: %d objects frozen out of garbage collection (%.0f ms).",
                count, (time.perf_counter() - started) * 1000)
    return count


def apply() -> None:
    """Makes Rasa's server freeze the heap right after it loads its model (idempotent)."""
    require_rasa(__name__)
    import rasa.core.run

    load = rasa.core.run.load_agent_on_start
    if getattr(load, "__bts_freezes__", False):
        return

    @functools.wraps(load)
    async def load_agent_then_freeze(*args: Any, **kwargs: Any) -> Any:
        agent = await load(*args, **kwargs)
        freeze()
        return agent

    load_agent_then_freeze.__bts_freezes__ = True  # type: ignore[attr-defined]
    # serve_application looks the function up in its module when it registers the listener.
    rasa.core.run.load_agent_on_start = load_agent_then_freeze
