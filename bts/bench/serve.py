"""Serves one model (stock or ours) and runs every served measurement against it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List

from bts.bench.client import RestClient
from bts.bench.load import (
    concurrent,
    first_reply_s,
    long_conversation,
    new_sender,
    nginx_clients,
    replica_split,
    single_user,
)
from bts.bench.questions import QUESTIONS
from bts.bench.servers import RasaServer
from bts.bench.stats import median_run
from bts.bench.system import ForeignCpu, Spy, rss_mb
from bts.bench.training import STOCK_THREADS, stock_endpoints
from bts.deploy.profile import Profile
from bts.deploy.render import ENDPOINTS
from bts.deploy.settings import REPLICA_TUNING


@dataclass
class Sizes:
    """How much traffic each measurement sends."""

    single_conversations: int = 5
    single_turns: int = 10
    long_turns: int = 100
    users: int = 20
    user_turns: int = 30
    # New conversation ids each time: nginx's hash splits 20 conversations over the replicas
    # differently in each run, and the split moves ours's p99 (docs/benchmark.md).
    load_runs: int = 3
    nlu_rounds: int = 10


QUICK = Sizes(single_conversations=2, single_turns=5, long_turns=20, users=3, user_turns=5, load_runs=1,
              nlu_rounds=2)


def _warm(client: RestClient, count: int) -> None:
    # Lazily built parts of the graph, connection pools.
    for text in QUESTIONS[:count]:
        client.send(new_sender("warm"), text)
    client.close()


def _spied_long_conversation(direct: str, pid: int, sizes: Sizes, name: str, work: Path) -> Dict[str, Any]:
    """A second long conversation, sampled by py-spy in its first and last turns.

    Separately from the measured one, so that the sampling does not slow it down.
    """
    window = min(20, sizes.long_turns // 2)
    early, late = Spy(pid, work / f"py-spy-{name}-early.txt"), Spy(pid, work / f"py-spy-{name}-late.txt")
    spied: Dict[str, Any] = {"turns": window}

    def before_turn(t: int) -> None:
        if t == 0:
            early.start()
        elif t == window:
            spied["early"] = early.stop()
        if t == sizes.long_turns - window:
            late.start()

    long_conversation(lambda: RestClient(direct), sizes.long_turns, before_turn)
    spied["late"] = late.stop()
    return spied


def serve_and_measure(profile: Profile, name: str, model: Path, sizes: Sizes, replicas: int,
                      work: Path, log: Callable[[str], None], spy: bool) -> Dict[str, Any]:
    """Starts `model` on 1 or more replicas and runs every served measurement against it."""
    stock = name == "stock"
    db = f"bench_{name}"
    # Stock runs as Rasa starts by default, with Rasa's own tracker store; ours as the production
    # profile runs it (one TensorFlow/OpenMP thread per replica, see deploy/README.md).
    endpoints = stock_endpoints(work) if stock else ENDPOINTS
    tuning = STOCK_THREADS if stock else REPLICA_TUNING
    profile.drop_database(db)
    profile.prepare_database(db, endpoints)
    result: Dict[str, Any] = {"replicas": replicas}
    direct = f"http://127.0.0.1:{profile.s.rasa_ports[0]}"
    started = time.monotonic()
    servers = [RasaServer(profile, 0, db, model, endpoints, stock, tuning)]
    try:
        result["http_ready_s"] = servers[0].wait_http()
        first_reply_s(RestClient(direct), 120)
        result["ready_s"] = time.monotonic() - started
        pid = servers[0].pid
        result["rss_idle_mb"] = rss_mb(pid)[0]
        log(f"    {name}: ready after {result['ready_s']:.1f} s, RSS {result['rss_idle_mb']:.0f} MB")
        _warm(RestClient(direct), 5)
        result.update(_single_and_long(direct, sizes, name, log))
        if spy:
            result["long_profile"] = _spied_long_conversation(direct, pid, sizes, name, work)

        if replicas > 1:
            for index in range(1, replicas):
                servers.append(RasaServer(profile, index, db, model, endpoints, stock, tuning))
                servers[-1].wait_http()
            profile.start("nginx")
            factory = nginx_clients(profile)
            _warm(factory(99), 6)
        else:
            def factory(i: int) -> RestClient:
                return RestClient(direct)

        result.update(_load(profile, factory, sizes, replicas))
        pids = [server.pid for server in servers]
        if spy:
            # The same load once more, shorter and sampled by py-spy (not counted in the numbers).
            spies = [Spy(p, work / f"py-spy-{name}-load-{p}.txt") for p in pids]
            for one in spies:
                one.start()
            concurrent(factory, sizes.users, max(3, sizes.user_turns // 3))
            result["load_profiles"] = [one.stop() for one in spies]
        load = result["load"]
        log(f"    {name}: {load['users']}x{load['turns']}: {load['throughput']:.1f} msg/s, "
            f"p50 {load['p50_ms']:.0f} p95 {load['p95_ms']:.0f} p99 {load['p99_ms']:.0f} ms, "
            f"errors {load['errors']}, empty {load['empty']}")
        result["rss_mb"] = [rss_mb(p)[0] for p in pids]
        result["rss_peak_mb"] = [rss_mb(p)[1] for p in pids]
    finally:
        if replicas > 1:
            profile.supervisor.stop_process("nginx")
        for server in servers:
            server.stop()
    profile.drop_database(db)
    return result


def _single_and_long(direct: str, sizes: Sizes, name: str, log: Callable[[str], None]) -> Dict[str, Any]:
    quiet = ForeignCpu()
    single = single_user(lambda: RestClient(direct), sizes.single_conversations, sizes.single_turns)
    log(f"    {name}: single-user p50 {single['p50_ms']:.0f} ms, p95 {single['p95_ms']:.0f} ms")
    long = long_conversation(lambda: RestClient(direct), sizes.long_turns)
    log(f"    {name}: long conversation {long['first10_ms']:.0f} -> {long['last10_ms']:.0f} ms "
        f"(x{long['growth']:.2f})")
    return {"single": single, "long": long, "foreign_single_long": quiet.done()}


def _load(profile: Profile, factory: Callable[[int], RestClient], sizes: Sizes,
          replicas: int) -> Dict[str, Any]:
    """`sizes.load_runs` concurrent loads; the report shows the one with the median p99."""
    access_log = profile.log_dir / "nginx-access.log"
    runs: List[Dict[str, Any]] = []
    for _ in range(sizes.load_runs):
        seen = len(access_log.read_text().splitlines()) if access_log.exists() else 0
        quiet = ForeignCpu()
        load_run = concurrent(factory, sizes.users, sizes.user_turns)
        load_run["foreign"] = quiet.done()
        if replicas > 1:
            load_run["split"] = replica_split(access_log.read_text().splitlines()[seen:], sizes.users)
        runs.append(load_run)
    chosen = median_run(runs)
    return {"load_runs": runs, "load": chosen, "foreign_load": chosen["foreign"]}
