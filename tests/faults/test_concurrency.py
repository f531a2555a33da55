"""Fault test: 50 bookings submitted at the same moment from 5 processes x 10 threads."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from typing import Callable

from bts.booking.settings import PROJECT_ROOT
from tests.faults.harness import Faults, wait_until

PROCESSES = 5
THREADS = 10
TOTAL = PROCESSES * THREADS


def test_fifty_concurrent_submissions_give_fifty_rows_references_and_deliveries(
    faults: Faults, measure: Callable[..., None]
) -> None:
    faults.start_receiver()
    worker = faults.start_worker()
    faults.store().ensure_schema()
    start_at = time.time() + 3.0  # time for the submitter processes to import
    submitters = [
        subprocess.Popen(
            [sys.executable, str(PROJECT_ROOT / "tests" / "faults" / "_submitter.py"),
             f"p{p}", str(THREADS), str(start_at)],
            cwd=PROJECT_ROOT, env=faults.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for p in range(PROCESSES)
    ]
    lines = []
    errors = []
    retried = []
    db_write_s = []
    for proc in submitters:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-3000:]
        lines += [json.loads(line) for line in out.splitlines() if line.strip()]
        errors += [line for line in err.splitlines() if "ERROR" in line or "CRITICAL" in line]
        retried += [line for line in err.splitlines() if "delivery of" in line and "failed" in line]
        db_write_s += [float(m) for m in re.findall(r"stored booking request \S+ in ([0-9.]+) s", err)]
    all_submitted = time.time() - start_at
    assert len(lines) == TOTAL and all(line["stored"] for line in lines)

    def all_delivered() -> bool:
        rows = faults.outbox_rows()
        return len(rows) == TOTAL and all(row["state"] == "delivered" for row in rows)

    # Normally everything is delivered in a couple of seconds; a delivery whose answer got lost
    # would be retried once its lease (10 s here) runs out, and dropped by the receiver as a repeat.
    assert wait_until(all_delivered, 30, 0.2), faults.log("worker")
    all_delivered_s = time.time() - start_at
    time.sleep(1.0)  # let any stray repeat arrive before counting

    references = {line["reference"] for line in lines}
    rows = faults.requests_rows()
    outbox_rows = faults.outbox_rows()
    received = faults.received()
    assert received is not None
    keys = [r["idempotency_key"] for r in received["requests"]]
    assert len(rows) == TOTAL and {r["reference"] for r in rows} == references and len(references) == TOTAL
    assert len({r["conversation_id"] for r in rows}) == TOTAL
    assert len(outbox_rows) == TOTAL
    # Exactly once from the receiver's point of view: 50 requests, one per reference.
    assert len(keys) == TOTAL and set(keys) == references
    assert received["stats"]["accepted"] == TOTAL and received["stats"]["rejected"] == 0
    assert received["stats"]["posts"] == TOTAL + received["stats"]["duplicates"]
    assert faults.stop(worker) == 0
    latencies = sorted(line["elapsed_s"] for line in lines)
    measure(
        submissions=TOTAL,
        rows=len(rows),
        distinct_references=len(references),
        receiver_deliveries=len(keys),
        receiver_posts=received["stats"]["posts"],
        receiver_duplicates=received["stats"]["duplicates"],
        max_attempts=max(r["attempts"] for r in outbox_rows),
        submit_median_s=round(statistics.median(latencies), 3),
        submit_max_s=round(latencies[-1], 3),
        db_write_median_s=round(statistics.median(db_write_s), 3),
        db_write_max_s=round(max(db_write_s), 3),
        all_submitted_s=round(all_submitted, 2),
        all_delivered_s=round(all_delivered_s, 2),
        errors_logged=len(errors),
        immediate_attempts_failed=len(retried),
    )
