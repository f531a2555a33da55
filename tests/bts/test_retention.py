"""Retention and erasure: seed every store that holds patient data, purge, and find nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Tuple

import pytest
import sqlalchemy as sa

from bts import retention
from bts.booking.settings import PROJECT_ROOT, Settings
from bts.booking.store import Store
from bts.db import audit
from bts.db.schema import (
    booking_requests,
    conversations,
    messages,
    nlu_labels,
    notes,
    outbox,
    tags,
    tracker_checkpoints,
)

OLD_NAME, NEW_NAME = "Zebulon Oldpatient", "Yolanda Newpatient"
DAY = 86400.0
NOW = time.time()


def setup(tmp_path: Path) -> Tuple[Store, retention.Retention, Dict[str, Path]]:
    var = tmp_path / "var"
    config = Settings(database_url=f"sqlite:///{var / 'bts.db'}", spool_file=var / "spool" / "bookings.jsonl",
                      webhook_url="http://127.0.0.1:9/hook", webhook_secret="s",
                      submit_delivery_budget_s=0)
    periods = retention.Retention(conversation_days=30, booking_days=60, log_days=14,
                                  receiver_file=var / "demo_receiver" / "received.json", log_dir=var / "log")
    return Store(config), periods, {"var": var}


def seed_conversation(store: Store, sender: str, name: str, age_days: float) -> None:
    ts = NOW - age_days * DAY
    engine = store.engine
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)"
        )
        conn.exec_driver_sql(
            "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
            (sender, ts, json.dumps({"text": f"my name is {name}"})),
        )
        conn.execute(tracker_checkpoints.insert().values(
            sender_id=sender, event_id=1, slots=json.dumps([["booking_name", name]])))
        cid = conn.execute(conversations.insert().values(
            sender_id=sender, first_ts=ts, last_ts=ts, n_user=1, n_bot=0, n_sessions=1, has_fallback=False,
            has_low_confidence=False, has_red_flag=False, preview=f"my name is {name}",
        )).inserted_primary_key[0]
        event_id = 1000 + cid
        conn.execute(messages.insert().values(
            event_id=event_id, conversation_id=cid, ts=ts, text=f"my name is {name}", is_fallback=False,
            is_low_confidence=False,
        ))
        conn.execute(tags.insert().values(conversation_id=cid, tag="x", created_by="alice", created_at=ts))
        conn.execute(notes.insert().values(conversation_id=cid, author="alice", body=f"called {name}",
                                           created_at=ts))
        conn.execute(nlu_labels.insert().values(event_id=event_id, conversation_id=cid, text=f"I am {name}",
                                                status="labelled", labelled_by="alice", labelled_at=ts))


def seed_booking(store: Store, name: str, age_days: float) -> str:
    result, _ = store.submit("booking", f"conv-{name}", {"name": name, "phone": "+15755550142"},
                             deliver_now=False)
    when = datetime.now(timezone.utc) - timedelta(days=age_days)
    with store.engine.begin() as conn:
        conn.execute(booking_requests.update().where(booking_requests.c.reference == result.reference)
                     .values(created_at=when, updated_at=when))
    return result.reference


def seed_files(store: Store, periods: retention.Retention, age_days: float, name: str, tag: str) -> None:
    when = datetime.now(timezone.utc) - timedelta(days=age_days)
    store.spool.append({"reference": f"BTS-{tag}", "kind": "booking", "conversation_id": "c",
                        "details": {"name": name}, "created_at": when.isoformat()})
    entries = retention._receiver_entries(periods.receiver_file)
    entries.append({"idempotency_key": f"BTS-{tag}", "received_at": when.isoformat(), "repeats": 0,
                    "payload": {"reference": f"BTS-{tag}", "details": {"name": name}}})
    periods.receiver_file.parent.mkdir(parents=True, exist_ok=True)
    retention._rewrite_receiver(periods.receiver_file, entries)
    periods.log_dir.mkdir(parents=True, exist_ok=True)
    log = periods.log_dir / f"rasa-{tag}.log"
    log.write_text(f"user said: my name is {name}\n")
    os.utime(log, (NOW - age_days * DAY, NOW - age_days * DAY))


def everything_on_disk(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_every_store_is_empty_of_expired_patient_data_after_the_purge(tmp_path: Path) -> None:
    store, periods, paths = setup(tmp_path)
    store.ensure_schema()
    seed_conversation(store, "old-conv", OLD_NAME, age_days=45)
    seed_conversation(store, "new-conv", NEW_NAME, age_days=2)
    old_reference = seed_booking(store, OLD_NAME, age_days=90)
    new_reference = seed_booking(store, NEW_NAME, age_days=10)
    seed_files(store, periods, 90, OLD_NAME, "2222OLD2")
    seed_files(store, periods, 1, NEW_NAME, "3333NEW3")
    store.spool.reject(f'{{"broken": "{OLD_NAME}"')
    os.utime(store.spool.rejected_path, (NOW - 90 * DAY, NOW - 90 * DAY))
    assert OLD_NAME.encode() in everything_on_disk(paths["var"])

    report = retention.purge_all(store.engine, store.config, periods)

    assert report["conversations"]["conversations"] == 1 and report["booking_requests"] == 1
    assert report["spooled"] == 1 and report["receiver"] == 1 and report["log_files"] == 1
    store.dispose()
    # Nothing of the expired patient anywhere under var/: not in live rows, not in free pages.
    assert OLD_NAME.encode() not in everything_on_disk(paths["var"])
    assert NEW_NAME.encode() in everything_on_disk(paths["var"])
    assert store.find(old_reference) is None and store.find(new_reference) is not None
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 1
        assert audit.verify(conn).intact


def test_a_conversation_still_in_use_is_kept(tmp_path: Path) -> None:
    store, periods, _ = setup(tmp_path)
    store.ensure_schema()
    seed_conversation(store, "conv", OLD_NAME, age_days=45)
    with store.engine.begin() as conn:  # a new message today in the same conversation
        conn.exec_driver_sql(
            "INSERT INTO events (sender_id, type_name, timestamp) VALUES ('conv', 'user', ?)", (NOW,)
        )
    report = retention.purge_all(store.engine, store.config, periods)
    assert report["conversations"]["conversations"] == 0
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM events").scalar() == 2


def test_zero_days_keeps_everything(tmp_path: Path) -> None:
    store, periods, paths = setup(tmp_path)
    store.ensure_schema()
    seed_conversation(store, "old-conv", OLD_NAME, age_days=4000)
    seed_booking(store, OLD_NAME, age_days=4000)
    keep = retention.Retention(0, 0, 0, receiver_file=periods.receiver_file, log_dir=periods.log_dir)
    assert retention.purge_all(store.engine, store.config, keep) == {}
    assert OLD_NAME.encode() in everything_on_disk(paths["var"])


def test_a_booking_is_deleted_by_reference_everywhere(tmp_path: Path) -> None:
    store, periods, paths = setup(tmp_path)
    reference = seed_booking(store, OLD_NAME, age_days=1)
    seed_booking(store, NEW_NAME, age_days=1)
    seed_files(store, periods, 1, OLD_NAME, reference[4:])
    removed = retention.delete_booking(store.engine, store.config, reference.lower().replace("-", " "),
                                       receiver_file=periods.receiver_file)
    assert removed == {"booking_requests": 1, "spooled": 1, "receiver": 1}
    store.dispose()
    log_dir = periods.log_dir
    for path in log_dir.iterdir():
        path.unlink()  # logs are purged by age, not by reference
    assert OLD_NAME.encode() not in everything_on_disk(paths["var"])
    assert store.find(reference) is None and NEW_NAME.encode() in everything_on_disk(paths["var"])
    with pytest.raises(ValueError):
        retention.delete_booking(store.engine, store.config, "not a reference")


def test_the_command_line_purges_and_deletes_by_reference(tmp_path: Path) -> None:
    store, periods, _ = setup(tmp_path)
    reference = seed_booking(store, OLD_NAME, age_days=1)
    store.dispose()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "BTS_DATABASE_URL": store.config.database_url,
           "BTS_SPOOL_FILE": str(store.config.spool_file), "BTS_LOG_DIR": str(periods.log_dir),
           "BTS_RECEIVER_DATA_FILE": str(periods.receiver_file), "BTS_BOOKING_RETENTION_DAYS": "30"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bts.retention", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    assert run("--once").returncode == 0 and store.find(reference) is not None
    deleted = run("delete-booking", reference)
    assert deleted.returncode == 0 and json.loads(deleted.stdout)["booking_requests"] == 1
    assert run("delete-booking", reference).returncode == 1  # nothing left to delete
    assert run("delete-booking", "hello").returncode == 2
    assert store.find(reference) is None
