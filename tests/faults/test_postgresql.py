"""The same storage and delivery guarantees on a real PostgreSQL server, including a restart.

A throw-away PostgreSQL cluster is created in a temporary directory (skipped when the
PostgreSQL server binaries are not installed). As root, the server runs as the `postgres` user.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from typing import Any, Callable, Dict, List

import pytest

from bts.booking.records import SubmitResult
from tests.faults.harness import Faults, wait_until
from tests.faults.postgres import Postgres


def details(index: int) -> Dict[str, Any]:
    return {
        "name": f"Patient {index}", "phone": f"+1575555{index:04d}", "reason": "sciatica", "consent": True
    }


def test_the_store_works_on_postgresql_with_concurrent_writers_and_delivers_once(
    postgres: Postgres, faults: Faults, measure: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bts.booking.delivery")
    faults.db_url = postgres.new_database("bts_concurrency")
    faults.start_receiver()
    worker = faults.start_worker()
    store = faults.store()
    results: List[SubmitResult] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        result, _ = store.submit("booking", f"conv-{index}", details(index))
        with lock:
            results.append(result)

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    submitted_s = time.monotonic() - started
    assert len(results) == 30 and all(r.stored for r in results)
    references = {r.reference for r in results}
    assert len(references) == 30

    def delivered() -> bool:
        rows = faults.outbox_rows()
        return len(rows) == 30 and all(r["state"] == "delivered" for r in rows)

    assert wait_until(delivered, 30), faults.log("worker")
    time.sleep(0.5)
    received = faults.received()
    assert received is not None
    assert {r["idempotency_key"] for r in received["requests"]} == references
    assert received["stats"]["accepted"] == 30
    found = store.find(sorted(references)[0].lower().replace("-", ""))
    assert found is not None and found["stored"] is True
    ref7 = next(r["reference"] for r in faults.requests_rows() if r["conversation_id"] == "conv-7")
    assert [r["reference"] for r in store.find_by_phone("+15755550007")] == [ref7]
    assert faults.stop(worker) == 0
    measure(
        database="postgresql",
        submissions=30,
        distinct_references=len(references),
        receiver_deliveries=len(received["requests"]),
        receiver_duplicates=received["stats"]["duplicates"],
        attempts_per_delivery=sorted({r["attempts"] for r in faults.outbox_rows()}),
        immediate_attempt_errors=dict(Counter(
            r.args[3] for r in caplog.records if "failed" in r.msg and isinstance(r.args, tuple)
        )),
        submit_all_s=round(submitted_s, 2),
    )


def test_postgresql_restart_spools_then_replays_and_delivers(
    postgres: Postgres, faults: Faults, measure: Callable[..., None]
) -> None:
    faults.db_url = postgres.new_database("bts_restart")
    faults.start_receiver()
    worker = faults.start_worker()
    store = faults.store()
    before, _ = store.submit("booking", "conv-before", details(1))
    assert before.stored

    postgres.stop()
    try:
        down_started = time.monotonic()
        during = [store.submit("callback", f"conv-during-{i}", details(10 + i))[0] for i in range(3)]
        submit_while_down_s = (time.monotonic() - down_started) / 3
        assert [r.stored for r in during] == [False] * 3
        assert [r["reference"] for r in store.spool.records()] == [r.reference for r in during]
        time.sleep(0.5)
    finally:
        postgres.start()
    back = time.monotonic()

    def delivered() -> bool:
        try:
            rows = faults.outbox_rows()
        except Exception:  # noqa: BLE001 - the server is still starting
            return False
        return len(rows) == 4 and all(r["state"] == "delivered" for r in rows)

    assert wait_until(delivered, 30, 0.2), faults.log("worker")
    back_to_delivered_s = time.monotonic() - back
    rows = faults.requests_rows()
    assert sorted(r["reference"] for r in rows) == sorted([before.reference] + [r.reference for r in during])
    assert [json.loads(r["details"])["name"] for r in rows if r["kind"] == "callback"] == [
        "Patient 10", "Patient 11", "Patient 12"
    ]
    received = faults.received()
    assert received is not None and received["stats"]["accepted"] == 4
    assert faults.stop(worker) == 0
    measure(
        database="postgresql",
        spooled_during_restart=3,
        submit_while_down_avg_s=round(submit_while_down_s, 3),
        db_back_to_all_delivered_s=round(back_to_delivered_s, 2),
        receiver_deliveries=received["stats"]["accepted"],
        receiver_duplicates=received["stats"]["duplicates"],
        lost=4 - len(rows),
    )
