"""Benchmark: server time of the console's pages over 10,000 generated conversations.

Not a timed test: run it by hand and read the numbers (target: list, filters and a transcript
under 300 ms each).

    .venv-console/bin/python -m console.bench [--conversations 10000] [--repeat 7] [--keep DIR]

It writes a temporary SQLite database shaped like the project's (Rasa's `events` with events as
Rasa 3.6 writes them, `booking_requests`, `outbox`), indexes it once (timed separately), then
times each page in-process through the WSGI app (routing, session check, queries, templates):
that is the server time, without network or browser.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from console import security
from console.config import Settings
from console.db import indexer, make_engine
from console.db import users as user_db
from console.db.schema import (
    booking_requests,
    create_console_tables,
    create_external_tables,
    events,
    outbox,
    tags,
)
from console.web import create_app

TARGET_MS = 300.0
INTENTS = [
    "greet",
    "faq",
    "ask_hours",
    "ask_location",
    "ask_insurance",
    "ask_cost",
    "book_appointment",
    "thanks",
    "goodbye",
    "what_can_you_do",
    "ask_diagnosis",
    "out_of_scope",
]
WORDS = (
    "sciatica pain leg back lower numb tingling hours open insurance medicare cost appointment book "
    "therapy exercise walking sitting morning evening week doctor hip knee nerve stretch help"
).split()
PASSWORD = "benchmark password 123"


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))


def _row(
    sender: str,
    kind: str,
    ts: float,
    data: Dict[str, Any],
    intent: Optional[str] = None,
    action: Optional[str] = None,
) -> Dict[str, Any]:
    data = {
        "event": kind,
        "timestamp": ts,
        "metadata": {"model_id": "bench", "assistant_id": "border-therapy-services"},
        **data,
    }
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": ts,
        "intent_name": intent,
        "action_name": action,
        "data": json.dumps(data),
    }


def conversation(rng: random.Random, i: int, start: float) -> Dict[str, Any]:
    sender = f"bench-{i:05d}-{rng.getrandbits(40):010x}"
    ts = start
    rows = [
        _row(
            sender,
            "action",
            ts,
            {"name": "action_session_start", "policy": None, "confidence": 1.0},
            action="action_session_start",
        ),
        _row(
            sender, "bot", ts, {"text": "Hi, I'm the Border Therapy Services virtual assistant.", "data": {}}
        ),
        _row(sender, "session_started", ts, {}),
        _row(
            sender,
            "action",
            ts,
            {"name": "action_listen", "policy": None, "confidence": None},
            action="action_listen",
        ),
    ]
    kind = rng.random()
    red_flag, fallback, booking, handoff = (
        kind < 0.05,
        0.05 <= kind < 0.15,
        0.15 <= kind < 0.23,
        0.23 <= kind < 0.26,
    )
    turns = rng.randint(2, 6)
    reference = None
    for turn in range(turns):
        ts += rng.uniform(5, 90)
        intent = rng.choice(INTENTS)
        confidence = rng.uniform(0.6, 1.0)
        text = _text(rng)
        if red_flag and turn == turns - 1:
            intent, confidence, text = "red_flag", 1.0, "I can't control my bladder and " + text
        elif fallback and turn == 1:
            intent, confidence, text = "nlu_fallback", 0.55, "xqzt " + text
        ranking = [{"name": intent, "confidence": confidence}] + [
            {"name": n, "confidence": (1 - confidence) / 9} for n in rng.sample(INTENTS, 9) if n != intent
        ]
        parse = {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "text": text,
            "message_id": f"{i}-{turn}",
            "metadata": {},
            "intent_ranking": ranking,
        }
        rows.append(
            _row(
                sender,
                "user",
                ts,
                {"text": text, "parse_data": parse, "input_channel": "rest"},
                intent=intent,
            )
        )
        rows.append(_row(sender, "user_featurization", ts, {"use_text_for_featurization": False}))
        if intent == "red_flag":
            rows.append(_row(sender, "slot", ts, {"name": "red_flag", "value": True}, action="red_flag"))
            rows.append(
                _row(
                    sender,
                    "slot",
                    ts,
                    {"name": "red_flag_category", "value": "bladder_bowel"},
                    action="red_flag_category",
                )
            )
        action = "action_clarify_topic" if intent == "nlu_fallback" else f"utter_{intent}"
        if booking and turn == turns - 1:
            reference = f"BTS-{i:05d}"
            rows.append(
                _row(
                    sender,
                    "slot",
                    ts,
                    {"name": "booking_reference", "value": reference},
                    action="booking_reference",
                )
            )
        if handoff and turn == turns - 1:
            rows.append(
                _row(
                    sender,
                    "slot",
                    ts,
                    {"name": "handoff_reference", "value": f"BTS-H{i:05d}"},
                    action="handoff_reference",
                )
            )
        rows.append(
            _row(
                sender,
                "action",
                ts,
                {"name": action, "policy": "RulePolicy", "confidence": 1.0},
                action=action,
            )
        )
        rows.append(
            _row(
                sender,
                "bot",
                ts,
                {
                    "text": "An answer about " + text[:40],
                    "data": {"buttons": [{"title": "Book an appointment", "payload": "/book_appointment"}]},
                },
            )
        )
        rows.append(
            _row(
                sender,
                "action",
                ts,
                {"name": "action_listen", "policy": "RulePolicy", "confidence": 1.0},
                action="action_listen",
            )
        )
    return {"sender": sender, "rows": rows, "reference": reference, "ts": ts}


def build(db: Path, n: int, seed: int = 7) -> Dict[str, Any]:
    rng = random.Random(seed)
    engine = make_engine(f"sqlite:///{db}")
    create_external_tables(engine)
    create_console_tables(engine)
    now = time.time()
    started = time.perf_counter()
    n_events = 0
    longest = ("", 0)
    with engine.begin() as conn:
        batch: List[Dict[str, Any]] = []
        for i in range(n):
            conv = conversation(rng, i, now - rng.uniform(0, 90 * 86400))
            batch += conv["rows"]
            if len(conv["rows"]) > longest[1]:
                longest = (conv["sender"], len(conv["rows"]))
            if conv["reference"]:
                created = dt.datetime.fromtimestamp(conv["ts"], dt.timezone.utc)
                rid = conn.execute(
                    booking_requests.insert().values(
                        reference=conv["reference"],
                        kind="booking",
                        status=rng.choice(["new", "contacted", "scheduled"]),
                        conversation_id=conv["sender"],
                        created_at=created,
                        updated_at=created,
                        details=json.dumps(
                            {"name": "Test Patient", "phone": "+15755550100", "consent": True}
                        ),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                conn.execute(
                    outbox.insert().values(
                        request_id=rid,
                        channel="webhook",
                        idempotency_key=conv["reference"] + ":webhook",
                        state="delivered",
                        attempts=1,
                        next_attempt_at=created,
                        delivered_at=created,
                    )
                )
            if len(batch) >= 20000:
                conn.execute(events.insert(), batch)
                n_events += len(batch)
                batch = []
        if batch:
            conn.execute(events.insert(), batch)
            n_events += len(batch)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    indexer.sync(engine, 0.7)
    indexed = time.perf_counter() - started
    with engine.begin() as conn:
        user_db.create(conn, "bench-admin", security.hash_password(PASSWORD), "admin")
        user_db.create(conn, "bench-staff", security.hash_password(PASSWORD), "staff")
        ids = [r[0] for r in conn.execute(events.select().with_only_columns(events.c.id).limit(1))]
        del ids
        from console.db.schema import conversations

        conv_ids = [r.id for r in conn.execute(conversations.select().with_only_columns(conversations.c.id))]
        conn.execute(
            tags.insert(),
            [
                {"conversation_id": c, "tag": "follow-up", "created_by": "bench-staff", "created_at": now}
                for c in rng.sample(conv_ids, len(conv_ids) // 20)
            ],
        )
        conn.execute(
            conversations.update()
            .where(conversations.c.id.in_(rng.sample(conv_ids, len(conv_ids) // 5)))
            .values(reviewed_at=now, reviewed_by="bench-staff")
        )
        longest_id = conn.execute(
            conversations.select()
            .with_only_columns(conversations.c.id)
            .where(conversations.c.sender_id == longest[0])
        ).scalar_one()
    engine.dispose()
    return {
        "events": n_events,
        "generate_s": generated,
        "index_s": indexed,
        "longest_id": longest_id,
        "longest_events": longest[1],
    }


def login(client: Any, username: str) -> None:
    import re

    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the login page"
    token = match.group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, "benchmark login failed"


def time_get(client: Any, url: str, repeat: int) -> List[float]:
    client.get(url)  # warm-up (template compilation, SQLite page cache)
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Console benchmark (server time per page)")
    parser.add_argument("--conversations", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the database in this folder")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="console-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.db"
    if db.exists():
        db.unlink()
    print(f"Generating {args.conversations} conversations in {db} ...", flush=True)
    info = build(db, args.conversations)
    print(
        f"  {info['events']} events written in {info['generate_s']:.1f} s; "
        f"first indexing {info['index_s']:.1f} s"
    )
    settings = Settings.from_env({"BTS_DATABASE_URL": f"sqlite:///{db}", "CONSOLE_SECRET_KEY": "b" * 40})
    app = create_app(settings)
    staff, admin = app.test_client(), app.test_client()
    login(staff, "bench-staff")
    login(admin, "bench-admin")
    today = dt.date.today()
    week = today - dt.timedelta(days=6)
    cases = [
        ("list", "list, first page (latest activity)", "/conversations"),
        ("list", "list, page 100", "/conversations?page=100"),
        ("list", "list, sorted by lowest confidence", "/conversations?sort=confidence"),
        ("filter", "filter: red flag", "/conversations?red_flag=yes"),
        ("filter", "filter: fallback", "/conversations?fallback=yes"),
        ("filter", "filter: booking made", "/conversations?booking=yes"),
        ("filter", "filter: handoff", "/conversations?handoff=yes"),
        ("filter", "filter: low confidence", "/conversations?low_confidence=yes"),
        ("filter", "filter: not reviewed", "/conversations?reviewed=no"),
        ("filter", "filter: tag", "/conversations?tag=follow-up"),
        ("filter", "filter: last 7 days", f"/conversations?from={week}&to={today}"),
        ("filter", "search: one word", "/conversations?q=bladder"),
        (
            "filter",
            "search: two words + red flag + 7 days",
            f"/conversations?q=sciatica+nerve&red_flag=no&from={week}&to={today}",
        ),
        (
            "transcript",
            f"transcript ({info['longest_events']} events, staff)",
            f"/conversations/{info['longest_id']}",
        ),
        ("transcript", "transcript (admin)", f"/conversations/{info['longest_id']}"),
        ("other", "NLU inbox", "/nlu"),
        ("other", "bookings queue", "/bookings"),
        ("other", "analytics, 30 days", "/analytics"),
        ("other", "analytics, 90 days", f"/analytics?from={today - dt.timedelta(days=89)}"),
    ]
    print(
        f"\nServer time in ms over {args.repeat} requests (after one warm-up), target < {TARGET_MS:.0f} ms "
        f"for list, filters and transcript:\n"
    )
    print(f"{'page':46} {'median':>8} {'max':>8}  ")
    failed = False
    for group, label, url in cases:
        client = admin if label.endswith("(admin)") else staff
        times = time_get(client, url, args.repeat)
        median, worst = statistics.median(times), max(times)
        verdict = ""
        if group in ("list", "filter", "transcript"):
            verdict = "ok" if worst < TARGET_MS else "SLOW"
            failed = failed or worst >= TARGET_MS
        print(f"{label:46} {median:8.1f} {worst:8.1f}  {verdict}")
    verdict = "Some pages over target." if failed else "All list, filter and transcript pages under target."
    print(f"\n{verdict}")
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
