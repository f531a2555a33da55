"""Times `Agent.parse_message` alone in this process: `python -m bts.bench.nlu_parse MODEL`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import List, Optional

from bts.bench.questions import QUESTIONS
from bts.bench.stats import percentile


def measure(model: str, rounds: int) -> int:
    """Loads `model`, parses every question `rounds` times and prints the timings as JSON."""
    os.environ.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
    os.environ.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
    import logging

    logging.disable(logging.WARNING)
    from rasa.core.agent import Agent

    agent = Agent.load(model)

    async def timed() -> List[float]:
        for text in QUESTIONS[:5]:  # lazily built parts of the graph
            await agent.parse_message(text)
        times = []
        for _ in range(rounds):
            for text in QUESTIONS:
                began = time.perf_counter()
                await agent.parse_message(text)
                times.append(time.perf_counter() - began)
        return times

    times = asyncio.run(timed())
    print(json.dumps({"p50_ms": percentile(times, 50) * 1000, "p95_ms": percentile(times, 95) * 1000,
                      "mean_ms": statistics.mean(times) * 1000, "parses": len(times)}))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    return measure(args.model, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
