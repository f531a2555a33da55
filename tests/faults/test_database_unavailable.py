"""Fault tests: the database is unreachable when patients submit; nothing may be lost."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, List

from tests.faults.harness import Faults, free_port, wait_until


def details(index: int) -> Dict[str, Any]:
    return {
        "name": f"Patient {index}",
        "phone": f"+1575555{index:04d}",
        "preferred_time_text": "tomorrow afternoon",
        "reason": "sciatica",
        "patient_type": "returning",
        "consent": True,
    }


def all_delivered(faults: Faults, count: int) -> bool:
    rows = faults.outbox_rows()
    return len(rows) == count and all(row["state"] == "delivered" for row in rows)


def test_sqlite_unavailable_spools_then_replays_and_delivers_everything(
    faults: Faults, measure: Callable[..., None]
) -> None:
    # The database directory is replaced by a regular file: SQLite cannot open the database
    # (works even as root, unlike a read-only directory).
    db_dir = faults.tmp / "db"
    db_dir.write_text("the volume is not mounted")
    faults.start_receiver()
    worker = faults.start_worker()
    store = faults.store()
    submit_times: List[float] = []
    results = []
    for index in range(5):
        started = time.monotonic()
        results.append(store.submit("booking", f"conv-{index}", details(index))[0])
        submit_times.append(time.monotonic() - started)
    assert [r.stored for r in results] == [False] * 5
    # The worker may have moved the lines to `.replaying` already; records() reads both files.
    assert [s["reference"] for s in store.spool.records()] == [r.reference for r in results]
    assert store.find(results[0].reference)["stored"] is False
    time.sleep(0.5)  # the worker keeps trying while the database is down
    received = faults.received()
    assert received is not None and received["requests"] == []
    assert worker.poll() is None and store.spool.pending()

    back = time.monotonic()
    db_dir.unlink()  # the database is back
    assert wait_until(lambda: all_delivered(faults, 5), 30), faults.log("worker")
    back_to_delivered_s = time.monotonic() - back

    rows = faults.requests_rows()
    assert [r["reference"] for r in rows] == [r.reference for r in results]
    assert [json.loads(r["details"]) for r in rows] == [details(i) for i in range(5)]
    assert {r["status"] for r in rows} == {"new"}
    assert not store.spool.pending()
    time.sleep(0.5)
    received = faults.received()
    assert received is not None
    assert sorted(r["idempotency_key"] for r in received["requests"]) == sorted(r.reference for r in results)
    assert received["stats"]["posts"] == 5 and received["stats"]["duplicates"] == 0
    assert store.find(results[0].reference)["stored"] is True
    assert faults.stop(worker) == 0
    assert "spool replayed: 5 inserted" in faults.log("worker")
    measure(
        spooled=len(results),
        max_submit_while_down_s=round(max(submit_times), 3),
        rows_after_replay=len(rows),
        delivered=len(received["requests"]),
        db_back_to_all_delivered_s=round(back_to_delivered_s, 2),
        lost=len(results) - len(received["requests"]),
    )


def test_a_bad_postgresql_url_spools_and_the_worker_replays_into_the_working_database(
    faults: Faults, measure: Callable[..., None]
) -> None:
    faults.start_receiver()
    bad_url = f"postgresql://bts:secret@127.0.0.1:{free_port()}/bts"
    submitter = faults.store(BTS_DATABASE_URL=bad_url)
    started = time.monotonic()
    result, _ = submitter.submit("callback", "conv-pg", details(7))
    submit_s = time.monotonic() - started
    assert not result.stored and submit_s < 3.0
    assert submitter.find(result.reference)["stored"] is False

    worker = faults.start_worker()  # configured with the working database
    assert wait_until(lambda: all_delivered(faults, 1), 30), faults.log("worker")
    [row] = faults.requests_rows()
    assert row["reference"] == result.reference and row["kind"] == "callback"
    received = faults.received()
    assert received is not None and [r["idempotency_key"] for r in received["requests"]] == [result.reference]
    assert faults.stop(worker) == 0
    measure(submit_with_bad_pg_url_s=round(submit_s, 3), replayed_rows=1, delivered=1)
