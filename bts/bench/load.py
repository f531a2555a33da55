"""The workloads: one user at a time, one long conversation, many users at once."""

from __future__ import annotations

import re
import secrets
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from bts.bench.client import Reply, RestClient
from bts.bench.questions import LONG_CYCLE, QUESTIONS
from bts.bench.stats import median, percentile


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


ACCESS_LINE = re.compile(
    r'^\S+ (?P<client>\S+) "POST /webhooks/rest/webhook" .*upstream=(?:[^ ,]+, )*(?P<upstream>[^ ,]+) ')


def client_address(index: int) -> str:
    """The loopback address simulated user `index` sends from (its own client, as nginx sees it)."""
    return f"127.0.0.{10 + index}"


def nginx_clients(profile: Any) -> Callable[[int], RestClient]:
    """Clients of the profile's nginx over TLS, client i from `client_address(i)`.

    Each simulated user has its own address, so nginx's per-client limits see separate clients.
    """
    context = profile.ssl_context()
    url = f"https://localhost:{profile.s.https_port}"

    def factory(i: int) -> RestClient:
        return RestClient(url, ssl_context=context, source_ip=client_address(i))

    return factory


def replica_split(lines: Sequence[str], users: int) -> Dict[str, Dict[str, int]]:
    """Replica -> requests and conversations it answered, from nginx's access log lines.

    The log names no conversation; each of the `users` conversations has its own client address.
    """
    clients = {client_address(i) for i in range(users)}
    split: Dict[str, Dict[str, int]] = {}
    seen: Dict[str, set] = {}
    for line in lines:
        match = ACCESS_LINE.search(line)
        if match and match.group("client") in clients:
            upstream = match.group("upstream")
            split.setdefault(upstream, {"requests": 0, "conversations": 0})["requests"] += 1
            seen.setdefault(upstream, set()).add(match.group("client"))
    for upstream, names in seen.items():
        split[upstream]["conversations"] = len(names)
    return split


def first_reply_s(client: RestClient, deadline_s: float) -> float:
    """Seconds until the server's first real answer (after it accepted connections)."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        reply = client.send(new_sender("ready"), "hello")
        if reply.ok and reply.messages:
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError("no reply")

