"""Scale test: 20 conversations x 30 turns through nginx; one Rasa replica crashes and comes back.

One conversation books an appointment. When the booking form is half filled and the others are
about a third through, the replica serving the booking is killed (SIGKILL, a crash), and
supervisord starts it again by itself. Conversations pause at two thirds until it answers again,
so that every conversation also continues after the restart.

Pass: no failed reply in conversations that only the surviving replica served; every message of
every conversation answered in the end (a conversation of the crashed replica may see an error
while it crashes, and its patient sends the message again, as the widget does); every
conversation keeps its history (one session in PostgreSQL, every answered message in it, in
order); the booking stored once and delivered once; no lock errors in the Rasa logs.

Sizes: BTS_SCALE_CONVERSATIONS (20) and BTS_SCALE_TURNS (30).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import tarfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List

import psycopg2
import yaml

from bts.bench.client import RestClient
from bts.bench.questions import QUESTIONS
from bts.bench.stats import percentile
from bts.deploy.profile import Profile
from tests.scale.conftest import RECEIVER_PORT
from tests.scale.patients import Patient, book

CONVERSATIONS = int(os.environ.get("BTS_SCALE_CONVERSATIONS", "20"))
TURNS = int(os.environ.get("BTS_SCALE_TURNS", "30"))
LOCK_ERRORS = re.compile(r"LockError|Could not acquire lock|Error while acquiring lock")
ACCESS_LINE = re.compile(r'^\S+ (?P<client>\S+) "POST /webhooks/rest/webhook" .*upstream=(?P<upstream>.+?) '
                         r'upstream_status=')


def model_has_form(model: Path, form: str) -> bool:
    """Whether the trained model's domain has `form` (the booking form is being built)."""
    with tarfile.open(model) as archive:
        handle = archive.extractfile("components/domain_provider/domain.yml")
        if handle is None:
            return False
        domain = yaml.safe_load(handle) or {}
    return form in (domain.get("forms") or {})


def upstreams(log: Path, senders: Dict[str, str]) -> Dict[str, List[List[str]]]:
    """Conversation id -> for each of its requests, the replicas nginx tried, in order.

    The log names no conversation: each patient sends from its own address (`senders` maps
    address to conversation). A request that nginx passed on to the next replica (the first one
    refused it) lists both.
    """
    found: Dict[str, List[List[str]]] = defaultdict(list)
    for line in log.read_text().splitlines():
        match = ACCESS_LINE.search(line)
        if match and match.group("client") in senders:
            tried = [u.strip() for u in match.group("upstream").split(",")]
            found[senders[match.group("client")]].append(tried)
    return found


def events(profile: Profile, sender: str) -> List[Dict[str, Any]]:
    with psycopg2.connect(profile.database_url()) as conn, conn.cursor() as cur:
        cur.execute("SELECT type_name, data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        return [{"type": t, **json.loads(d)} for t, d in cur.fetchall()]


def is_subsequence(needles: List[str], haystack: List[str]) -> bool:
    items = iter(haystack)
    return all(any(n == h for h in items) for n in needles)


def test_conversations_survive_a_replica_crash_and_restart(profile: Profile, receiver_token: str) -> None:
    assert profile.s.model is not None
    booking_enabled = model_has_form(profile.s.model, "booking_form")
    url = f"https://localhost:{profile.s.https_port}"
    context = profile.ssl_context()
    run_id = secrets.token_hex(3)
    patients = [
        Patient(RestClient(url, ssl_context=context, source_ip=f"127.0.0.{20 + i}", timeout_s=90),
                f"scale-{run_id}-{i:02d}")
        for i in range(CONVERSATIONS)
    ]
    booking = patients[0].conversation
    senders = {patient.client.source[0]: patient.conversation.sender for patient in patients
               if patient.client.source}
    killed, restarted, booking_midway = threading.Event(), threading.Event(), threading.Event()
    progress = [0] * CONVERSATIONS
    resume_at = (2 * TURNS) // 3

    def chat(index: int) -> None:
        patient = patients[index]
        first = 0
        if index == 0 and booking_enabled:
            def on_answer(number: int) -> None:
                if number == 2:  # name and phone given: the form crosses the crash...
                    booking_midway.set()
                    killed.wait(300)
                if number == 4:  # ...and the restart
                    restarted.wait(300)

            book(patient, on_answer)
            first = len(patient.conversation.answered)
        for turn in range(first, TURNS):
            if turn == resume_at:
                restarted.wait(300)
            patient.say(QUESTIONS[(index * 3 + turn) % len(QUESTIONS)])
            progress[index] = turn + 1

    threads = [threading.Thread(target=chat, args=(i,), daemon=True) for i in range(CONVERSATIONS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()

    # ---- the crash, in the middle of the traffic ------------------------------------------------
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (booking_midway.is_set() or not booking_enabled) and sum(progress) >= CONVERSATIONS * TURNS / 3:
            break
        time.sleep(0.05)
    access_log = profile.log_dir / "nginx-access.log"
    booking_upstream = next(iter(upstreams(access_log, senders).get(booking.sender, [])), [""])[0]
    ports = [f"127.0.0.1:{port}" for port in profile.s.rasa_ports]
    victim = ports.index(booking_upstream) if booking_upstream in ports else 0
    live = ports[1 - victim]
    name = f"rasa-{victim + 1}"
    old_pid = profile.supervisor.pid(name)
    kill_at = time.monotonic()
    profile.kill(name, signal.SIGKILL)
    killed.set()
    # Nobody starts it again but supervisord.
    deadline = time.monotonic() + 30
    while profile.supervisor.pid(name) in (0, old_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert profile.supervisor.pid(name) not in (0, old_pid), "supervisord did not restart the replica"
    profile.wait_ready(name)
    ready_at = time.monotonic()
    restarted.set()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.monotonic() - began

    # ---- what the patients saw -------------------------------------------------------------------
    routes = upstreams(access_log, senders)
    conversations = [p.conversation for p in patients]
    tried = {sender: {u for request in requests for u in request} for sender, requests in routes.items()}
    only_live = [c for c in conversations if tried.get(c.sender) == {live}]
    latencies = [t.reply.latency_s for c in conversations for t in c.turns if t.reply.ok]
    per_replica = Counter(request[-1] for c in conversations for request in routes.get(c.sender, []))
    failures = [(c.sender, t.text, t.reply.error or "empty reply", round(t.at - kill_at, 1))
                for c in conversations for t in c.failures]
    print(
        f"\nscale: {CONVERSATIONS} conversations x {TURNS} turns in {wall:.0f} s; replica {victim + 1} "
        f"killed at +{kill_at - began:.0f} s, answering again {ready_at - kill_at:.0f} s later; "
        f"{len(latencies)} replies, p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 95) * 1000:.0f} ms, p99 {percentile(latencies, 99) * 1000:.0f} ms; "
        f"requests per replica {dict(per_replica)}; failed attempts {len(failures)} "
        f"(s after the crash: {[f[3] for f in failures]}); "
        f"{len(only_live)} conversations served only by the surviving replica"
    )
    assert all(not thread.is_alive() for thread in threads), "conversations still running after 10 minutes"
    assert only_live, "no conversation was routed to the surviving replica alone"
    # Routing by conversation: one replica per conversation, except around the crash (to the
    # surviving replica while the other was down, and back after the restart).
    for conversation in conversations:
        route = [request[-1] for request in routes.get(conversation.sender, [])]  # the replica that answered
        switches = sum(1 for a, b in zip(route, route[1:], strict=False) if a != b)
        assert switches <= 2, (conversation.sender, route)
    for conversation in only_live:
        assert not conversation.failures, (conversation.sender, conversation.failures)
    for conversation in conversations:
        assert len(conversation.answered) >= TURNS, (conversation.sender, conversation.failures)
        for turn in conversation.failures:
            # Only a conversation of the crashed replica, only around the crash (a conversation
            # whose message died with the replica waits for its lock to expire).
            window_end = ready_at + profile.s.lock_lifetime_s + 10
            assert kill_at - 2 <= turn.at <= window_end, (conversation.sender, turn)

    # ---- history: one session each, every answered message kept in order ----------------------------
    for conversation in conversations:
        stored = events(profile, conversation.sender)
        sessions = [e for e in stored if e["type"] == "session_started"]
        texts = [str(e.get("text")) for e in stored if e["type"] == "user"]
        assert len(sessions) == 1, (conversation.sender, len(sessions))
        assert is_subsequence(conversation.answered, texts), conversation.sender
        assert len(texts) <= len(conversation.turns), conversation.sender

    # ---- the booking: stored once, delivered once ---------------------------------------------------
    if booking_enabled:
        assert booking.reference, "\n".join(booking.booking_transcript)
        with psycopg2.connect(profile.database_url()) as conn, conn.cursor() as cur:
            cur.execute("SELECT reference, kind, details FROM booking_requests WHERE conversation_id = %s",
                        (booking.sender,))
            rows = cur.fetchall()
        assert len(rows) == 1, rows
        reference, kind, details = rows[0]
        details = json.loads(details) if isinstance(details, str) else details
        assert (reference, kind) == (booking.reference, "booking")
        assert details["name"] == "Pat Example" and details["phone"] == "+15755550142"
        received: List[Dict[str, Any]] = []
        outbox_states: List[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            receiver = urllib.request.Request(f"http://127.0.0.1:{RECEIVER_PORT}/received",
                                              headers={"Authorization": f"Bearer {receiver_token}"})
            with urllib.request.urlopen(receiver, timeout=5) as r:
                received = [x for x in json.load(r)["requests"] if x["idempotency_key"] == reference]
            with psycopg2.connect(profile.database_url()) as conn, conn.cursor() as cur:
                cur.execute("SELECT o.state FROM outbox o JOIN booking_requests b ON b.id = o.request_id "
                            "WHERE b.reference = %s", (reference,))
                outbox_states = [state for (state,) in cur.fetchall()]
            if received and outbox_states and set(outbox_states) == {"delivered"}:
                break
            time.sleep(1)
        assert len(received) == 1 and received[0]["repeats"] == 0, received
        assert outbox_states == ["delivered"], outbox_states
        print(f"scale: booking {reference} stored once and delivered once; the form went:")
        print("\n".join("    " + line[:100] for line in booking.booking_transcript))
    else:
        print("scale: the model has no booking_form yet: booking not checked")

    # ---- no lock errors -------------------------------------------------------------------------------
    for log in sorted(profile.log_dir.glob("rasa-*.log*")):
        text = log.read_text(errors="replace")
        assert not LOCK_ERRORS.search(text), f"lock error in {log.name}: {LOCK_ERRORS.search(text)}"
