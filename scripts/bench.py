"""Benchmarks our assistant against stock Rasa's default recipe on the same data, in one run.

Both are served the same way: `rasa run` with the REST channel, the same action server,
PostgreSQL and a Redis lock store (deploy/endpoints.prod.yml), one after the other; stock with
Rasa's own SQL tracker store, ours with its checkpointing one (components/tracker_store.py)
(never at the same time: this machine has two cores). The stock model is trained here, from a
config.yml with only `recipe: default.v1`, `language: en`, our importer and empty pipeline and
policies (so Rasa fills in its defaults), on our data and domain. Ours is the model of
`make train` (models/bts-<hash>.tar.gz); it is trained once more into a temporary folder only
to time the training.

Measured: single-user latency (p50/p95); turns 1-10 versus turns 91-100 of one long
conversation; 20 concurrent conversations x 30 turns (throughput, p50/p95/p99, errors, empty
replies) - ours with two replicas behind the production nginx (TLS, hash routing), stock on its
single default server; NLU parse time alone (in-process `Agent.parse_message`); training time;
time from start to ready; server memory (RSS). With py-spy installed, separate passes sample
where a turn's time goes (first versus last turns of a long conversation; each server under
load). Prints a markdown table with ratios ours/stock and writes it, with the profiles, to
docs/benchmark.md (quick runs: results/benchmark-quick.md).

Usage:
    python scripts/bench.py                    # the full benchmark (about 30 minutes)
    python scripts/bench.py --quick            # small sizes, to try the script
    python scripts/bench.py --stock-model M    # reuse a trained stock model (no training times)
    python scripts/bench.py nlu-parse MODEL    # (internal) NLU parse timing of one model
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.prod import REPLICA_TUNING  # noqa: E402
from scripts.measure_latency import QUESTIONS as LATENCY_QUESTIONS  # noqa: E402
from scripts.model_files import ROOT, current_model  # noqa: E402

DOC = ROOT / "docs" / "benchmark.md"
PROD_ENDPOINTS = ROOT / "deploy" / "endpoints.prod.yml"
RESULTS = ROOT / "results"

# Questions a patient asks; every conversation cycles through them from its own offset. The
# first ten are those of scripts/measure_latency.py, so both scripts ask the same things.
QUESTIONS = LATENCY_QUESTIONS + [
    "what causes sciatica",
    "how much does a visit cost",
    "can exercise help my back pain",
    "what happens at the first visit",
    "is there parking",
    "do you speak spanish",
    "hello",
    "how many sessions will i need",
    "should i use ice or heat",
    "what are the symptoms of sciatica",
]

# Rasa's defaults for stock: 0 lets TensorFlow pick its thread pools; OpenMP uses every core;
# TensorFlow's oneDNN kernels on (TensorFlow's default on Linux; the production profile turns
# them off for ours).
STOCK_THREADS = {"TF_INTRA_OP_PARALLELISM_THREADS": "0", "TF_INTER_OP_PARALLELISM_THREADS": "0",
                 "OMP_NUM_THREADS": str(os.cpu_count() or 1), "TF_ENABLE_ONEDNN_OPTS": "1"}

STOCK_CONFIG = """\
# Stock Rasa: the default recipe with empty pipeline and policies, so Rasa uses its defaults.
# The importer only reads our data files (it lets stories use the `faq` retrieval intent without
# a domain warning); it changes no training data and no model component.
recipe: default.v1
language: en
assistant_id: bts-stock-benchmark
importers:
  - name: components.importer.RetrievalAwareImporter
pipeline:
policies:
"""


def stock_endpoints(work: Path) -> Path:
    """The production endpoints with Rasa's own SQL tracker store, for stock.

    Our tracker store (components/tracker_store.py) is part of our configuration, so stock is
    served with the store Rasa ships; everything else (PostgreSQL, Redis, action server) is the
    same.
    """
    text = PROD_ENDPOINTS.read_text()
    ours = "type: components.tracker_store.RecentEventsSQLTrackerStore"
    if ours not in text:
        raise RuntimeError(f"{PROD_ENDPOINTS} no longer names our tracker store; update bench.py")
    path = work / "endpoints.stock.yml"
    path.write_text(text.replace(ours, "type: SQL"))
    return path


# ---- statistics --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values."""
    return statistics.median(values) if values else float("nan")


# ---- REST client ---------------------------------------------------------------------------------


@dataclass
class Reply:
    """One answered (or failed) message.

    Attributes:
        latency_s: Seconds from sending until the whole reply was read.
        status: HTTP status, or 0 when the connection failed.
        messages: The bot messages (dicts with `text`, `buttons`, ...).
        error: Why it failed, empty when it did not.
    """

    latency_s: float
    status: int
    messages: List[Dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """True for HTTP 200 with a JSON list."""
        return self.status == 200 and not self.error

    @property
    def texts(self) -> List[str]:
        """The texts of the bot messages."""
        return [str(m.get("text") or "") for m in self.messages]


class RestClient:
    """A keep-alive client of Rasa's REST channel, directly or through nginx.

    The conversation id also goes into the URL (`?sender=`), which nginx hashes to pick the
    replica; Rasa reads it from the JSON body.

    Args:
        base_url: `http://127.0.0.1:6005` or `https://localhost:6443`.
        ssl_context: Trust for HTTPS (the profile's self-signed certificate).
        source_ip: Local address to send from (127.0.0.x: one "client" per conversation, as the
            rate limit and the socket.io routing see clients).
        timeout_s: Per-request timeout.
    """

    IDLE_S = 4.0
    STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ssl.SSLEOFError,
             ssl.SSLZeroReturnError)

    def __init__(self, base_url: str, ssl_context: Optional[ssl.SSLContext] = None,
                 source_ip: Optional[str] = None, timeout_s: float = 60.0) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.https = parsed.scheme == "https"
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or (443 if self.https else 80)
        self.ssl_context = ssl_context
        self.source = (source_ip, 0) if source_ip else None
        self.timeout_s = timeout_s
        self._conn: Optional[http.client.HTTPConnection] = None
        self._last_used = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.https:
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout_s, context=self.ssl_context,
                    source_address=self.source)
            else:
                self._conn = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout_s, source_address=self.source)
        return self._conn

    def close(self) -> None:
        """Closes the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def send(self, sender: str, text: str) -> Reply:
        """Sends one message and waits for the whole reply."""
        body = json.dumps({"sender": sender, "message": text}).encode()
        path = "/webhooks/rest/webhook?" + urllib.parse.urlencode({"sender": sender})
        # Servers close idle keep-alive connections (Sanic after 5 s, nginx after 30 s): do not
        # send into one that may be closing.
        if self._conn is not None and time.monotonic() - self._last_used > self.IDLE_S:
            self.close()
        for attempt in (1, 2):
            reused = self._conn is not None
            started = time.perf_counter()
            try:
                conn = self._connection()
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                raw = response.read()
            except self.STALE as exc:
                # A kept-alive connection the server had closed before reading anything: send
                # again on a new one. On a new connection, the error is the answer.
                self.close()
                if reused and attempt == 1:
                    continue
                return Reply(time.perf_counter() - started, 0, error=f"{type(exc).__name__}: {exc}")
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Reply(time.perf_counter() - started, 0, error=f"{type(exc).__name__}: {exc}")
            elapsed = time.perf_counter() - started
            self._last_used = time.monotonic()
            if response.status != 200:
                return Reply(elapsed, response.status, error=f"HTTP {response.status}")
            try:
                messages = json.loads(raw)
            except ValueError:
                return Reply(elapsed, response.status, error="reply is not JSON")
            if not isinstance(messages, list):
                return Reply(elapsed, response.status, error="reply is not a list")
            return Reply(elapsed, 200, messages)
        return Reply(0.0, 0, error="unreachable")


# ---- workloads ---------------------------------------------------------------------------------------


def new_sender(prefix: str) -> str:
    """A fresh conversation id."""
    return f"{prefix}-{secrets.token_hex(5)}"


def single_user(client_factory: Callable[[], RestClient], conversations: int, turns: int) -> Dict[str, Any]:
    """Conversations one after the other, one message at a time: latency without load."""
    latencies: List[float] = []
    errors = empty = 0
    for c in range(conversations):
        client = client_factory()
        sender = new_sender("single")
        for t in range(turns):
            reply = client.send(sender, QUESTIONS[(c * 7 + t) % len(QUESTIONS)])
            if not reply.ok:
                errors += 1
                continue
            latencies.append(reply.latency_s)
            empty += not reply.messages
        client.close()
    return {"p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
            "messages": len(latencies), "errors": errors, "empty": empty}


# The long conversation cycles through this many questions: 90 is a multiple of it, so turns
# 91-100 ask the same questions as turns 1-10, in the same order, and the comparison measures the
# length of the conversation, not a different mix of questions.
LONG_CYCLE = 18


def long_conversation(client_factory: Callable[[], RestClient], turns: int,
                      before_turn: Callable[[int], None] = lambda t: None) -> Dict[str, Any]:
    """One conversation of `turns` messages: does the reply time grow with its length?"""
    client = client_factory()
    sender = new_sender("long")
    latencies: List[float] = []
    errors = 0
    for t in range(turns):
        before_turn(t)
        reply = client.send(sender, QUESTIONS[t % LONG_CYCLE])
        if not reply.ok:
            errors += 1
        latencies.append(reply.latency_s)
    client.close()
    first, last = median(latencies[:10]) * 1000, median(latencies[-10:]) * 1000
    return {"turns": turns, "first10_ms": first, "last10_ms": last, "growth": last / first,
            "errors": errors, "all_ms": [round(x * 1000, 1) for x in latencies]}


def concurrent(client_factory: Callable[[int], RestClient], users: int, turns: int,
               on_reply: Optional[Callable[[str, Reply], None]] = None) -> Dict[str, Any]:
    """`users` conversations at once, each sending its next message as soon as it has a reply.

    `on_reply(text, reply)`, if given, sees every message sent and its reply (under a lock).
    """
    latencies: List[float] = []
    errors: List[str] = []
    empty = 0
    lock = threading.Lock()
    start = threading.Barrier(users)

    def user(index: int) -> None:
        nonlocal empty
        client = client_factory(index)
        sender = new_sender(f"load{index:02d}")
        start.wait()
        for t in range(turns):
            text = QUESTIONS[(index * 3 + t) % len(QUESTIONS)]
            reply = client.send(sender, text)
            with lock:
                if on_reply is not None:
                    on_reply(text, reply)
                if not reply.ok:
                    errors.append(reply.error)
                else:
                    latencies.append(reply.latency_s)
                    empty += not reply.messages
        client.close()

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {
        "users": users, "turns": turns, "wall_s": wall, "throughput": len(latencies) / wall,
        "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000, "max_ms": max(latencies, default=0) * 1000,
        "errors": len(errors), "error_kinds": sorted(set(errors))[:5], "empty": empty,
    }


# ---- processes -----------------------------------------------------------------------------------------


def rss_mb(pid: int) -> Tuple[float, float]:
    """Current and peak resident memory of a process and its children, in MB."""
    current = peak = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                current += int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak += int(line.split()[1]) / 1024
    return current, peak


def _proc_stat(pid: str) -> Optional[Tuple[int, float]]:
    """Parent pid and CPU seconds (user + system) of a process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot() -> Tuple[float, float]:
    """CPU seconds used so far by the whole machine, and by this benchmark's process tree."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    busy = (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")
    stats = {pid: _proc_stat(pid) for pid in os.listdir("/proc") if pid.isdigit()}
    parents = {int(pid): st[0] for pid, st in stats.items() if st}
    mine = 0.0
    for pid, st in stats.items():
        node = int(pid)
        while node > 1 and node != os.getpid():
            node = parents.get(node, 0)
        if node == os.getpid() and st:
            mine += st[1]
    # Children that have finished (a training run) are no longer in /proc: their CPU is in ours.
    times = os.times()
    return busy, mine + times.children_user + times.children_system


class ForeignCpu:
    """Measures the CPU that other processes of the machine used during a block of measurements."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.start = cpu_snapshot()

    def done(self) -> Dict[str, float]:
        """CPU seconds used by processes outside the benchmark, and the share of the machine."""
        busy, mine = cpu_snapshot()
        wall = time.monotonic() - self.began
        foreign = max(0.0, (busy - self.start[0]) - (mine - self.start[1]))
        return {"wall_s": wall, "foreign_cpu_s": foreign,
                "foreign_share": foreign / (wall * (os.cpu_count() or 1)) if wall else 0.0}


def replica_split(lines: Sequence[str]) -> Dict[str, Dict[str, int]]:
    """Replica -> requests and conversations it answered, from nginx access log lines."""
    split: Dict[str, Dict[str, int]] = {}
    senders: Dict[str, set] = {}
    for line in lines:
        match = re.search(r'sender="(load[^"]*)" .*upstream=(?:[^ ,]+, )*([^ ,]+) ', line)
        if match:
            split.setdefault(match.group(2), {"requests": 0, "conversations": 0})["requests"] += 1
            senders.setdefault(match.group(2), set()).add(match.group(1))
    for upstream, names in senders.items():
        split[upstream]["conversations"] = len(names)
    return split


def load_average() -> float:
    """The one-minute load average."""
    return os.getloadavg()[0]


def train(config: Path, out_dir: Path, name: str, log: Path) -> float:
    """Trains a model with a cold cache; returns the seconds it took.

    Raises:
        RuntimeError: When training fails.
    """
    cache = out_dir / f"cache-{name}"
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache), "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    with open(log, "ab") as handle:
        result = subprocess.run(
            [sys.executable, "-m", "rasa", "train", "--config", str(config), "--domain", "domain.yml",
             "--data", "data", "--out", str(out_dir), "--fixed-model-name", name],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )
    took = time.monotonic() - started
    shutil.rmtree(cache, ignore_errors=True)
    if result.returncode != 0 or not (out_dir / f"{name}.tar.gz").exists():
        raise RuntimeError(f"training {name} failed; see {log}")
    return took


def first_reply_s(client: RestClient, deadline_s: float) -> float:
    """Seconds until the server's first real answer (after it accepted connections)."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        reply = client.send(new_sender("ready"), "hello")
        if reply.ok and reply.messages:
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError("no reply")


def nlu_parse_timing(model: Path, texts: Sequence[str], rounds: int,
                     tuning: Dict[str, str]) -> Dict[str, float]:
    """Loads `model` with rasa's Agent in a fresh process and times `parse_message` alone.

    `tuning` is the TensorFlow environment the model is served with.
    """
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "nlu-parse", str(model), "--rounds", str(rounds)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **tuning},
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"nlu-parse failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _nlu_parse_main(model: str, rounds: int) -> int:
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


def _frame_name(frame: str) -> str:
    name = re.sub(r" \(([^)]*/)?(site-packages/|python3\.10/)?", " (", frame)
    return re.sub(r":\d+\)$", ")", name)


class Spy:
    """Samples one process with py-spy between `start()` and `stop()` (nothing without py-spy).

    Args:
        pid: The process.
        out: Where py-spy writes its raw samples.
        rate: Samples per second.
    """

    def __init__(self, pid: int, out: Path, rate: int = 200) -> None:
        self.pid = pid
        self.out = out
        self.rate = rate
        self.proc: Optional[subprocess.Popen] = None
        found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.binary = found if os.path.exists(found) else None

    def start(self) -> None:
        """Starts sampling."""
        if self.binary:
            self.proc = subprocess.Popen(
                [self.binary, "record", "--pid", str(self.pid), "--rate", str(self.rate), "--format", "raw",
                 "--output", str(self.out), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)  # attached

    def stop(self) -> Dict[str, Any]:
        """Stops sampling; returns seconds sampled per frame, inclusive and as the innermost frame."""
        if self.proc is None:
            return {}
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None
        inclusive: Dict[str, int] = {}
        leaf: Dict[str, int] = {}
        total = 0
        if self.out.exists():
            for line in self.out.read_text().splitlines():
                stack, _, count_text = line.rpartition(" ")
                if not count_text.isdigit():
                    continue
                count = int(count_text)
                total += count
                frames = [_frame_name(f) for f in stack.split(";") if f]
                for name in set(frames):
                    inclusive[name] = inclusive.get(name, 0) + count
                if frames:
                    leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
        return {"rate": self.rate, "samples": total,
                "inclusive_s": {k: v / self.rate for k, v in inclusive.items()},
                "leaf_s": {k: v / self.rate for k, v in leaf.items()}}


# ---- the run ---------------------------------------------------------------------------------------


@dataclass
class Sizes:
    """How much traffic each measurement sends."""

    single_conversations: int = 5
    single_turns: int = 10
    long_turns: int = 100
    users: int = 20
    user_turns: int = 30
    # New conversation ids each time: nginx's hash splits 20 conversations over the replicas
    # differently in each run (6/14 to 10/10 seen), and the split moves ours's p99 by 1.5x.
    load_runs: int = 3
    nlu_rounds: int = 10


QUICK = Sizes(single_conversations=2, single_turns=5, long_turns=20, users=3, user_turns=5, load_runs=1,
              nlu_rounds=2)


def median_run(runs: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The load run whose p99 is the median of the runs (the upper one of an even number)."""
    return sorted(runs, key=lambda run: run["p99_ms"])[len(runs) // 2]


def _profile_settings(state: Path, stock: bool, replicas: int = 2) -> Any:
    from deploy.prod import Settings

    base = 6200
    return Settings(
        state_dir=state,
        model=current_model(),
        replicas=1 if stock else replicas,
        public_addr="127.0.0.1",
        https_port=base + 43,
        http_port=0,
        rasa_base_port=base + 5,
        actions_port=base + 55,
        pg_port=base + 32,
        redis_port=base + 79,
        worker_port=base + 98,
        receiver_port=base + 99,
        # The benchmark measures Rasa, not the rate limiter.
        rate="100000r/s",
        burst=10000,
        max_conn=10000,
        pg_password=secrets.token_hex(16),
        redis_password=secrets.token_hex(16),
        webhook_secret=secrets.token_hex(16),
    )


def nginx_clients(profile: Any) -> Callable[[int], RestClient]:
    """Clients of the profile's nginx over TLS, client i from loopback address 127.0.0.(10 + i).

    Each simulated user has its own address, so nginx's per-client limits see separate clients.
    """
    context = profile.ssl_context()
    url = f"https://localhost:{profile.s.https_port}"

    def factory(i: int) -> RestClient:
        return RestClient(url, ssl_context=context, source_ip=f"127.0.0.{10 + i}")

    return factory


def serve_and_measure(profile: Any, name: str, model: Path, sizes: Sizes, replicas: int,
                      work: Path, log: Callable[[str], None], spy: bool) -> Dict[str, Any]:
    """Starts `model` on 1 or 2 replicas and runs every served measurement against it."""
    db = f"bench_{name}"
    profile.drop_database(db)
    profile.ensure_database(db)
    result: Dict[str, Any] = {"replicas": replicas}
    port = profile.s.rasa_ports[0]
    direct = f"http://127.0.0.1:{port}"
    # Stock runs as Rasa starts by default; ours as the production profile runs it (one
    # TensorFlow/OpenMP thread per replica, see deploy/README.md).
    env = STOCK_THREADS if name == "stock" else None
    endpoints = stock_endpoints(work) if name == "stock" else None
    started = time.monotonic()
    profile.start_rasa(0, wait=False, model=model, db=db, extra_env=env, endpoints=endpoints)
    result["http_ready_s"] = profile.wait_rasa(0)
    first_reply_s(RestClient(direct), 120)
    result["ready_s"] = time.monotonic() - started
    pid = profile.procs["rasa-1"].pid
    result["rss_idle_mb"] = rss_mb(pid)[0]
    log(f"    {name}: ready after {result['ready_s']:.1f} s, RSS {result['rss_idle_mb']:.0f} MB")
    # Warm-up: lazily built parts of the graph, connection pools.
    warm = RestClient(direct)
    for text in QUESTIONS[:5]:
        warm.send(new_sender("warm"), text)
    warm.close()

    quiet = ForeignCpu()
    result["single"] = single_user(lambda: RestClient(direct), sizes.single_conversations, sizes.single_turns)
    single = result["single"]
    log(f"    {name}: single-user p50 {single['p50_ms']:.0f} ms, p95 {single['p95_ms']:.0f} ms")
    result["long"] = long_conversation(lambda: RestClient(direct), sizes.long_turns)
    result["foreign_single_long"] = quiet.done()
    if spy:
        # A second long conversation, sampled by py-spy in its first and last turns (separately,
        # so the sampling does not slow down the measured one).
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
        result["long_profile"] = spied
    log(f"    {name}: long conversation {result['long']['first10_ms']:.0f} -> "
        f"{result['long']['last10_ms']:.0f} ms (x{result['long']['growth']:.2f})")

    pids = [pid]
    if replicas > 1:
        for index in range(1, replicas):
            profile.start_rasa(index, model=model, db=db)
            pids.append(profile.procs[f"rasa-{index + 1}"].pid)
        profile.start_nginx()
        factory = nginx_clients(profile)
        warm = factory(99)
        for text in QUESTIONS[:6]:
            warm.send(new_sender("warm"), text)
        warm.close()
    else:
        def factory(i: int) -> RestClient:
            return RestClient(direct)

    access_log = profile.log_dir / "nginx-access.log"
    runs = []
    for _ in range(sizes.load_runs):
        seen = len(access_log.read_text().splitlines()) if access_log.exists() else 0
        quiet = ForeignCpu()
        load_run = concurrent(factory, sizes.users, sizes.user_turns)
        load_run["foreign"] = quiet.done()
        if replicas > 1:
            load_run["split"] = replica_split(access_log.read_text().splitlines()[seen:])
        runs.append(load_run)
    result["load_runs"] = runs
    result["load"] = median_run(runs)
    result["foreign_load"] = result["load"]["foreign"]
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
    if replicas > 1:
        profile.stop("nginx")
        for index in range(1, replicas):
            profile.stop(f"rasa-{index + 1}")
    profile.stop("rasa-1")
    profile.drop_database(db)
    return result


def _fmt(value: Optional[float], digits: int = 0) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:,.{digits}f}"


def table(results: Dict[str, Any]) -> Tuple[str, List[str]]:
    """The markdown table (rows with ratios ours/stock and the issue's targets) and the missed targets."""
    stock, ours = results["stock"], results["ours"]
    rows: List[Tuple[str, Optional[float], Optional[float], str, Optional[bool], int]] = []
    missed: List[str] = []

    def row(label: str, s: Optional[float], o: Optional[float], target: str = "",
            met: Optional[bool] = None, digits: int = 0) -> None:
        rows.append((label, s, o, target, met, digits))
        if met is False:
            missed.append(label)

    ss, os_ = stock["single"], ours["single"]
    row("Single user: latency p50 (ms)", ss["p50_ms"], os_["p50_ms"], "ours <= 0.6x stock",
        os_["p50_ms"] <= 0.6 * ss["p50_ms"])
    row("Single user: latency p95 (ms)", ss["p95_ms"], os_["p95_ms"])
    sl, ol = stock["long"], ours["long"]
    row("Long conversation: median of turns 1-10 (ms)", sl["first10_ms"], ol["first10_ms"])
    row(f"Long conversation: median of turns {sl['turns'] - 9}-{sl['turns']} (ms)",
        sl["last10_ms"], ol["last10_ms"])
    row("Long conversation: growth, last 10 / first 10 (x)", sl["growth"], ol["growth"], "ours <= 1.2",
        ol["growth"] <= 1.2, 2)
    sd, od = stock["load"], ours["load"]
    label = f"{od['users']} users x {od['turns']} turns"
    row(f"{label}: throughput (messages/s)", sd["throughput"], od["throughput"], "ours >= 2x stock",
        od["throughput"] >= 2 * sd["throughput"], 1)
    row(f"{label}: latency p50 (ms)", sd["p50_ms"], od["p50_ms"])
    row(f"{label}: latency p95 (ms)", sd["p95_ms"], od["p95_ms"])
    row(f"{label}: latency p99 (ms)", sd["p99_ms"], od["p99_ms"], "ours <= 500 ms", od["p99_ms"] <= 500)
    row(f"{label}: errors", sd["errors"], od["errors"], "0", od["errors"] == 0)
    row(f"{label}: empty replies", sd["empty"], od["empty"], "0", od["empty"] == 0)
    sn, on = results["nlu"]["stock"], results["nlu"]["ours"]
    row("NLU parse alone: p50 (ms)", sn["p50_ms"], on["p50_ms"], digits=1)
    row("NLU parse alone: p95 (ms)", sn["p95_ms"], on["p95_ms"], digits=1)
    st, ot = results["training"].get("stock"), results["training"].get("ours")
    row("Training time (s)", st, ot, "ours <= 180 s", None if ot is None else ot <= 180)
    row("Start to first reply (s)", stock["ready_s"], ours["ready_s"], "ours <= 30 s",
        ours["ready_s"] <= 30, 1)
    row("Start until the HTTP port answers (s)", stock["http_ready_s"], ours["http_ready_s"], digits=1)
    s_rss, o_rss = max(stock["rss_mb"]), max(ours["rss_mb"])
    row("Server memory after the load, RSS per server (MB)", s_rss, o_rss, "ours <= 1024 MB", o_rss <= 1024)
    row("Server memory, peak RSS per server (MB)", max(stock["rss_peak_mb"]), max(ours["rss_peak_mb"]),
        "ours <= 1024 MB", max(ours["rss_peak_mb"]) <= 1024)

    lines = ["| Measure | Stock Rasa | Ours | Ours / stock | Target | Met |",
             "|---|---:|---:|---:|---|---|"]
    for label, s, o, target, met, digits in rows:
        ratio = "n/a"
        if s not in (None, 0) and o is not None and s == s and o == o:
            ratio = f"{o / s:.2f}"
        verdict = "" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {label} | {_fmt(s, digits)} | {_fmt(o, digits)} | {ratio} | {target} | {verdict} |")
    return "\n".join(lines), missed


def foreign_md(measured: Dict[str, float], label: str) -> str:
    """`label X CPU-s in Y s (Z % of the machine)`."""
    return (f"{label} {measured['foreign_cpu_s']:.1f} CPU-s in {measured['wall_s']:.0f} s "
            f"({100 * measured['foreign_share']:.0f} % of the machine)")


def report(results: Dict[str, Any], table_md: str, missed: List[str]) -> str:
    """The whole markdown results file."""
    meta = results["meta"]
    ours, stock = results["ours"], results["stock"]
    parts = [
        "# Benchmark: our assistant against stock Rasa",
        "",
        f"Measured by `make bench` (scripts/bench.py) on {meta['date']}: {meta['machine']}; load average "
        f"{meta['load_before']:.2f} before the run. Rasa {meta['rasa']}, model {meta['model']}.",
        "",
        "Both assistants use the same data and domain and are served the same way: `rasa run` with the REST",
        "channel, the same action server, PostgreSQL and a Redis lock store (deploy/endpoints.prod.yml),",
        "one after the other; stock with Rasa's own SQL tracker store, ours with the checkpointing one of",
        "components/tracker_store.py. Stock Rasa is `recipe: default.v1` with empty",
        "pipeline and policies (Rasa's defaults), trained in the same run. Single-user and long-conversation",
        "latencies go straight to one server over HTTP for both. The concurrent load goes to ours through",
        f"the production nginx (TLS, routing by conversation) in front of {ours['replicas']} replicas, and",
        "straight to stock's single default server (no TLS: a small advantage for stock). Each simulated",
        "user sends its next message as soon as it has the reply (no think time). The py-spy profiles",
        "below come from separate passes (a second long conversation, a shorter second load), so the",
        "sampling does not slow down the measured numbers.",
        "",
        table_md,
        "",
    ]
    runs = {name: results[name].get("load_runs") or [results[name]["load"]] for name in ("stock", "ours")}
    if len(runs["ours"]) > 1:
        parts += [f"The concurrent load ran {len(runs['ours'])} times for each, with new conversation ids "
                  "each time; the table shows the run with the median p99. All runs:", "",
                  "| | run | messages/s | p50 (ms) | p99 (ms) | errors | conversations per replica |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for name in ("stock", "ours"):
            for number, run in enumerate(runs[name], start=1):
                split_of_run = sorted((run.get("split") or {}).items())
                shares = " / ".join(str(n["conversations"]) for _, n in split_of_run)
                parts.append(f"| {name} | {number} | {run['throughput']:.1f} | {run['p50_ms']:.0f} | "
                             f"{run['p99_ms']:.0f} | {run['errors']} | {shares or 'one server'} |")
        parts.append("")
    split = ours["load"].get("split")
    if split:
        parts += ["Ours under the concurrent load (the run in the table), per replica (nginx routes by "
                  "conversation): " + "; ".join(
                      f"{upstream}: {n['conversations']} conversations, {n['requests']} requests"
                      for upstream, n in sorted(split.items())) + ".", ""]
    if results["training"].get("reused_from"):
        training = results["training"]
        which = "Both training times were" if training.get("ours_reused") else "Stock's training time was"
        parts += [f"{which} measured by the run of {results['training']['reused_from']} "
                  "(the stock model served here is the one it trained); everything else by this run.", ""]
    parts += [
        "Other processes on the machine during the measurements (CPU they took from the benchmark): "
        + "; ".join([foreign_md(results["training"][f"foreign_{name}"], f"training {name}")
                     for name in ("stock", "ours") if f"foreign_{name}" in results["training"]]
                    + [foreign_md(results[name][key], f"{name} {label}") for name in ("stock", "ours")
                       for key, label in (("foreign_single_long", "single/long"), ("foreign_load", "load"))])
        + ".",
        "",
    ]
    if missed:
        parts += ["Targets missed: " + "; ".join(missed) + ". See the notes below.", ""]
    else:
        parts += ["Every target is met.", ""]
    for name in ("stock", "ours"):
        parts += growth_profile_md(name, results[name].get("long_profile") or {})
    for name in ("stock", "ours"):
        for number, prof in enumerate(results[name].get("load_profiles") or [], start=1):
            parts += load_profile_md(f"{name}, server {number}", prof, results[name]["load"])
    parts += [
        "## Raw numbers",
        "",
        "Long conversation, every turn (ms):",
        "",
        f"- stock: {stock['long']['all_ms']}",
        f"- ours: {ours['long']['all_ms']}",
        "",
        "Full results: `results/benchmark.json`. Notes on limits: see the section below, kept by hand.",
        "",
    ]
    return "\n".join(parts)


def _interesting(frame: str) -> bool:
    """Frames worth naming: Rasa, our code, the libraries doing the work (not the event loop)."""
    boring = ("asyncio/", "sanic/", "run_until_complete", "_run_once", "<module>", "(threading.py)",
              "(runpy.py)", "uvloop", "_bootstrap", "(runners.py)", "(run.py)", "(app.py)", "(api.py)",
              "(__main__.py)", "(http.py)", "handle_request (", "connection_task (")
    return not any(b in frame for b in boring)


def growth_profile_md(name: str, prof: Dict[str, Any]) -> List[str]:
    """Markdown: the frames whose time per turn grew most from the first to the last turns."""
    if not prof.get("early") or not prof.get("late"):
        return []
    turns = prof["turns"]
    early, late = prof["early"]["inclusive_s"], prof["late"]["inclusive_s"]
    total_early = sum(prof["early"]["leaf_s"].values()) / turns * 1000
    total_late = sum(prof["late"]["leaf_s"].values()) / turns * 1000
    rows = []
    for frame in set(early) | set(late):
        e, la = early.get(frame, 0.0) / turns * 1000, late.get(frame, 0.0) / turns * 1000
        if _interesting(frame) and la < 0.97 * total_late:
            rows.append((la - e, e, la, frame))
    rows.sort(reverse=True)
    lines = [f"### {name}: what grows with the length of a conversation (py-spy)", "",
             f"Server time per turn in the first {turns} turns {total_early:.0f} ms, "
             f"in the last {turns} turns {total_late:.0f} ms. Functions (with what they call) whose time "
             "per turn grew most:", "",
             "| ms per turn, first turns | last turns | growth | function |", "|---:|---:|---:|---|"]
    for growth, e, la, frame in rows[:12]:
        lines.append(f"| {e:.1f} | {la:.1f} | {growth:+.1f} | `{frame}` |")
    return lines + [""]


def load_profile_md(name: str, prof: Dict[str, Any], load: Dict[str, Any]) -> List[str]:
    """Markdown: where a server spends its busy time under the concurrent load."""
    if not prof.get("samples"):
        return []
    leaf, inclusive = prof["leaf_s"], prof["inclusive_s"]
    sampled = prof["samples"] / prof["rate"]
    # Sanic's event loop waiting for sockets shows up as the own time of `serve`: idle, not work.
    idle = sum(v for k, v in leaf.items() if k.startswith("serve (runners.py)"))
    busy = max(sampled - idle, 1e-9)
    lines = [f"### {name}: where the time goes under {load['users']} concurrent users (py-spy)", "",
             f"{sampled:.1f} s of samples, busy {100 * busy / sampled:.0f} % of them. "
             "Shares of the busy time, largest inclusive (a function with what it calls):", ""]
    ranked = sorted(((v, k) for k, v in inclusive.items() if _interesting(k) and v < 0.97 * busy),
                    reverse=True)
    for seconds, frame in ranked[:15]:
        lines.append(f"- {100 * seconds / busy:5.1f} % `{frame}`")
    lines += ["", "Largest own time (the innermost function):", ""]
    own = sorted(((v, k) for k, v in leaf.items() if not k.startswith("serve (runners.py)")), reverse=True)
    for seconds, frame in own[:10]:
        lines.append(f"- {100 * seconds / busy:5.1f} % `{frame}`")
    return lines + [""]


NOTES_MARKER = "<!-- notes: kept when make bench rewrites this file -->"


def write_doc(path: Path, text: str) -> None:
    """Writes the results file, keeping hand-written notes below NOTES_MARKER."""
    notes = ""
    if path.exists():
        old = path.read_text()
        if NOTES_MARKER in old:
            notes = old[old.index(NOTES_MARKER):]
    if not notes:
        notes = NOTES_MARKER + "\n\n## Notes\n\n(none yet)\n"
    path.write_text(text.rstrip() + "\n\n" + notes)


def run(args: argparse.Namespace) -> int:
    """The whole benchmark."""
    from deploy.prod import Profile

    sizes = QUICK if args.quick else Sizes()
    load_before = load_average()
    print(f"==> Benchmark ({'quick' if args.quick else 'full'}); load average {load_before:.2f}")
    if load_before > 1.5 and not args.quick:
        print("    warning: the machine is busy; numbers will be slower than they should be")
    ours_model = Path(args.ours_model) if args.ours_model else current_model()
    if not ours_model.exists():
        print(f"error: no model {ours_model}; run `make train` first", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bts-bench-"))
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results: Dict[str, Any] = {"training": {"measured_at": now}, "nlu": {}}
    log_file = work / "train.log"
    try:
        # ---- training -----------------------------------------------------------------------------
        if args.stock_model:
            stock_model = Path(args.stock_model)
        else:
            config = work / "stock-config.yml"
            config.write_text(STOCK_CONFIG)
            print("==> Training stock Rasa (default recipe) on our data, cold cache")
            quiet = ForeignCpu()
            results["training"]["stock"] = train(config, work, "stock", log_file)
            results["training"]["foreign_stock"] = quiet.done()
            stock_model = work / "stock.tar.gz"
            print(f"    stock trained in {results['training']['stock']:.0f} s")
            if args.keep_stock_model:
                Path(args.keep_stock_model).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(stock_model, args.keep_stock_model)
        if args.reuse_training:
            # Only stock's: its training takes 15-20 minutes and does not change with our work.
            earlier = json.loads(Path(args.reuse_training).read_text())["training"]
            results["training"]["stock"] = earlier["stock"]
            if "foreign_stock" in earlier:
                results["training"]["foreign_stock"] = earlier["foreign_stock"]
            results["training"]["reused_from"] = earlier.get("measured_at", args.reuse_training)
            if args.skip_train_ours and "ours" in earlier:
                # The same config.yml as that run: its time for ours still holds.
                results["training"]["ours"] = earlier["ours"]
                results["training"]["ours_reused"] = True
        if not args.skip_train_ours:
            print("==> Training ours (config.yml) once more, cold cache, to time it")
            quiet = ForeignCpu()
            results["training"]["ours"] = train(ROOT / "config.yml", work, "ours", log_file)
            results["training"]["foreign_ours"] = quiet.done()
            print(f"    ours trained in {results['training']['ours']:.0f} s")
            (work / "ours.tar.gz").unlink(missing_ok=True)

        # ---- serving ------------------------------------------------------------------------------
        # Its own folder: PostgreSQL and Redis run as their users and must reach it.
        state = Path(tempfile.mkdtemp(prefix="bts-bench-state-"))
        settings = _profile_settings(state, stock=False, replicas=args.replicas)
        profile = Profile(settings, log=lambda m: None if not args.verbose else print(m))
        profile.prepare()
        profile.start_postgres()
        profile.start_redis()
        profile.start_actions()
        try:
            for name, model, replicas in (("stock", stock_model, 1), ("ours", ours_model, args.replicas)):
                print(f"==> Serving {name} ({replicas} replica{'s' if replicas > 1 else ''})")
                results[name] = serve_and_measure(profile, name, model, sizes, replicas, work, print,
                                                  args.profile)
        finally:
            profile.stop_all()
            shutil.rmtree(state, ignore_errors=True)

        for name, model in (("stock", stock_model), ("ours", ours_model)):
            print(f"==> NLU parse timing: {name}")
            tuning = STOCK_THREADS if name == "stock" else REPLICA_TUNING
            results["nlu"][name] = nlu_parse_timing(model, QUESTIONS, sizes.nlu_rounds, tuning)
            print(f"    {name}: p50 {results['nlu'][name]['p50_ms']:.1f} ms")
    except Exception:
        print(f"error: the benchmark failed; logs are in {work}", file=sys.stderr)
        raise
    results["meta"] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.platform()}",
        "load_before": load_before,
        "rasa": _rasa_version(),
        "model": ours_model.name,
        "quick": args.quick,
        "sizes": sizes.__dict__,
    }
    table_md, missed = table(results)
    print()
    print(table_md)
    print()
    RESULTS.mkdir(exist_ok=True)
    suffix = "-quick" if args.quick else ""
    (RESULTS / f"benchmark{suffix}.json").write_text(json.dumps(results, indent=2, default=str))
    doc = DOC if not args.quick else RESULTS / "benchmark-quick.md"
    write_doc(doc, report(results, table_md, missed))
    print(f"Written to {doc.relative_to(ROOT)} and results/benchmark{suffix}.json")
    if missed:
        print("Targets missed: " + "; ".join(missed))
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _rasa_version() -> str:
    try:
        import rasa

        return str(rasa.__version__)
    except ImportError:
        return "?"


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "nlu-parse":
        parser = argparse.ArgumentParser(prog="bench.py nlu-parse")
        parser.add_argument("model")
        parser.add_argument("--rounds", type=int, default=10)
        sub = parser.parse_args(argv[1:])
        return _nlu_parse_main(sub.model, sub.rounds)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    parser.add_argument("--stock-model", help="use this trained stock model instead of training one")
    parser.add_argument("--keep-stock-model", help="copy the trained stock model here")
    parser.add_argument("--ours-model", help="serve this model instead of models/bts-<hash>.tar.gz")
    parser.add_argument("--skip-train-ours", action="store_true", help="do not time the training of ours")
    parser.add_argument("--reuse-training", help="take stock's training time from an earlier "
                        "results/benchmark.json (with --stock-model: the stock model that run trained)")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="do not sample the servers with py-spy under load")
    parser.add_argument("--replicas", type=int, default=2,
                        help="Rasa replicas behind nginx for ours (default 2, as `make run-prod`)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    random.seed(0)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
