#!/usr/bin/env python3
"""The load part of the benchmark alone, with a breakdown: where does the time of a loaded replica go?

Serves our model as `make run-prod` does (PostgreSQL, Redis, the action server, N replicas behind
nginx, on the benchmark's ports), sends `--users` conversations x `--turns` messages without think
time, as `make bench` does (bts/bench), and prints a markdown report: throughput and latency percentiles,
the conversations each replica got, CPU seconds per process, and the median and maximum latency
per question. Each run uses new conversation ids, so the replica split changes from run to run.

The replicas inherit this process's environment, so the message gate can be compared, e.g.:

    BTS_MAX_CONCURRENT_MESSAGES=0 python scripts/bench_load.py --runs 3   # Rasa's behaviour
    python scripts/bench_load.py --runs 3                                 # the default gate (2)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bts.bench.client import Reply
from bts.bench.load import concurrent, new_sender, nginx_clients, replica_split
from bts.bench.questions import QUESTIONS
from bts.bench.servers import RasaServer, bench_settings, start_profile
from bts.bench.system import proc_stat
from bts.deploy.profile import Profile
from bts.deploy.render import ENDPOINTS
from bts.deploy.settings import REPLICA_TUNING
from scripts.model_files import current_model


def process_cpu() -> Dict[int, Tuple[str, float]]:
    """CPU seconds used so far by every process, with its command line."""
    found: Dict[int, Tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        stat = proc_stat(entry) if entry.isdigit() else None
        if stat is None:
            continue
        try:
            raw = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        found[int(entry)] = (raw.replace(b"\0", b" ").decode(errors="replace").strip(), stat[1])
    return found


def kind(command: str) -> str:
    """A process's role in the profile, from its command line."""
    for needle, name in (("rasa run", "Rasa replica"), ("bts.runtime.server", "Rasa replica"),
                         ("rasa_sdk", "action server"), ("bts.runtime.action_server", "action server"),
                         ("postgres", "PostgreSQL"), ("redis", "Redis"), ("nginx", "nginx"),
                         ("bench_load", "load generator")):
        if needle in command:
            return name
    return "other"


def run(args: argparse.Namespace) -> int:
    """Starts the profile, runs the load `args.runs` times, prints the report."""
    model = Path(args.model) if args.model else current_model()
    if not model.exists():
        print(f"error: no model {model}; run `make train` first", file=sys.stderr)
        return 1
    state = Path(tempfile.mkdtemp(prefix="bts-bench-load-"))
    profile = Profile(bench_settings(state, replicas=args.replicas), log=lambda m: None)
    servers: List[RasaServer] = []
    gate = os.environ.get("BTS_MAX_CONCURRENT_MESSAGES", "default (2)")
    print(f"# Load breakdown: {args.users} users x {args.turns} turns, {args.replicas} replicas, "
          f"BTS_MAX_CONCURRENT_MESSAGES={gate}, model {model.name}\n")
    try:
        start_profile(profile)
        db = "bench_load"
        profile.drop_database(db)
        profile.prepare_database(db)
        for index in range(args.replicas):
            servers.append(RasaServer(profile, index, db, model, ENDPOINTS, False, REPLICA_TUNING))
            servers[-1].wait_http()
        profile.start("nginx")
        factory = nginx_clients(profile)
        warm = factory(99)
        for text in QUESTIONS:
            warm.send(new_sender("warm"), text)
        warm.close()
        access_log = profile.log_dir / "nginx-access.log"
        print("| run | msg/s | p50 ms | p95 ms | p99 ms | max ms | errors | conversations per replica |")
        print("|---:|---:|---:|---:|---:|---:|---:|---|")
        per_question: Dict[str, List[float]] = {}

        def record(text: str, reply: Reply) -> None:
            if reply.ok:
                per_question.setdefault(text, []).append(reply.latency_s * 1000)

        cpu: Dict[str, float] = {}
        wall = 0.0
        for number in range(1, args.runs + 1):
            seen = len(access_log.read_text().splitlines()) if access_log.exists() else 0
            before = process_cpu()
            result = concurrent(factory, args.users, args.turns, on_reply=record)
            after = process_cpu()
            wall += result["wall_s"]
            for pid, (command, seconds) in after.items():
                used = seconds - before.get(pid, (command, 0.0))[1]
                if used > 0:
                    cpu[kind(command)] = cpu.get(kind(command), 0.0) + used
            split = replica_split(access_log.read_text().splitlines()[seen:], args.users)
            shares = " / ".join(str(v["conversations"]) for v in split.values())
            print(f"| {number} | {result['throughput']:.1f} | {result['p50_ms']:.0f} | "
                  f"{result['p95_ms']:.0f} | {result['p99_ms']:.0f} | {result['max_ms']:.0f} | "
                  f"{result['errors']} | {shares} |")
        messages = args.runs * args.users * args.turns
        print(f"\nCPU per message over all runs ({os.cpu_count()} cores, {wall:.1f} s of load):\n")
        print("| process | CPU s | ms per message |")
        print("|---|---:|---:|")
        for name, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
            print(f"| {name} | {seconds:.1f} | {seconds / messages * 1000:.1f} |")
        print("\nLatency per question, all runs (custom actions answer the clinic questions):\n")
        print("| question | median ms | max ms |")
        print("|---|---:|---:|")
        for text, values in sorted(per_question.items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"| {text} | {statistics.median(values):.0f} | {max(values):.0f} |")
    finally:
        for server in servers:
            server.stop()
        profile.stop_all()
        shutil.rmtree(state, ignore_errors=True)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", help="model to serve (default: models/bts-<hash>.tar.gz)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3, help="load runs in a row (default 3)")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
