"""Measures reply latency over one long conversation against a running Rasa server.

It sends `--turns` questions in one conversation over the REST channel and reports the latency
of turns 1-10 and of the last 10 turns, so that growth with conversation length shows as a ratio
measured in the same run.

Usage:
    python -m bts.dev.latency [--url http://localhost:5005] [--turns 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
import uuid
from typing import List, Optional, Sequence

from bts.bench.questions import QUESTIONS as BENCH_QUESTIONS

# The benchmark asks the same questions, so both measure the same thing.
QUESTIONS = BENCH_QUESTIONS[:10]


def send(url: str, sender: str, text: str) -> float:
    """Sends one message and returns the seconds until the full reply arrived."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        replies = json.loads(response.read())
    elapsed = time.perf_counter() - started
    if not replies:
        raise RuntimeError(f"empty reply to {text!r}")
    return elapsed


def conversation(url: str, turns: int) -> List[float]:
    """Runs one conversation and returns each turn's latency in seconds."""
    sender = f"latency-{uuid.uuid4().hex[:8]}"
    return [send(url, sender, QUESTIONS[i % len(QUESTIONS)]) for i in range(turns)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:5005")
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args(argv)
    send(args.url, "warm-up", "hello")  # the first message loads lazily built graph parts
    latencies = conversation(args.url, args.turns)
    first = statistics.median(latencies[:10]) * 1000
    last = statistics.median(latencies[-10:]) * 1000
    print(f"turns: {len(latencies)}")
    print(f"turn 10 latency:  {latencies[9] * 1000:.0f} ms")
    print(f"turn {len(latencies)} latency: {latencies[-1] * 1000:.0f} ms")
    print(f"median turns 1-10: {first:.0f} ms; median last 10 turns: {last:.0f} ms; ratio {last / first:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
