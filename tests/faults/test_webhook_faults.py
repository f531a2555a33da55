"""Fault tests of webhook delivery against a real receiver process and a real worker process."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict

from tests.faults.harness import Faults, wait_until

DETAILS: Dict[str, Any] = {
    "name": "Rosa Example",
    "phone": "+15755550142",
    "preferred_time_text": "weekday mornings",
    "reason": "sciatica",
    "patient_type": "new",
    "insurance": "Medicare",
    "consent": True,
}


def delivered(faults: Faults) -> bool:
    rows = faults.outbox_rows()
    return bool(rows) and all(row["state"] == "delivered" for row in rows)


def test_500_then_timeouts_then_recovery_delivers_exactly_once(
    faults: Faults, measure: Callable[..., None]
) -> None:
    # 1st POST: 500. 2nd: no answer (timeout). 3rd: the receiver stores it but the answer never
    # comes (timeout: the sender cannot tell it arrived). 4th: answered normally (a repeat).
    faults.start_receiver(faults="500,hang,hang-after-store", hang_s=2.0)
    worker = faults.start_worker()
    store = faults.store()
    started = time.monotonic()
    result, _ = store.submit("booking", "conv-faults", DETAILS)
    submit_s = time.monotonic() - started
    assert result.stored and submit_s < 3.0

    assert wait_until(lambda: delivered(faults), 30), faults.log("worker")
    to_delivery_s = time.monotonic() - started
    time.sleep(1.0)  # ten more worker polls: nothing may be sent again

    [row] = faults.outbox_rows()
    received = faults.received()
    assert received is not None
    stats = received["stats"]
    [item] = received["requests"]
    assert item["idempotency_key"] == result.reference and item["payload"]["details"] == DETAILS
    assert row["attempts"] == 4 and row["last_error"] is None and row["delivered_at"] is not None
    assert stats == {"posts": 4, "accepted": 1, "duplicates": 1, "rejected": 0, "faults_injected": 3}
    assert [p["outcome"] for p in received["posts"]] == ["fault 500", "fault hang", "accepted", "duplicate"]
    assert faults.stop(worker) == 0
    measure(
        attempts=row["attempts"],
        submit_s=round(submit_s, 3),
        time_to_delivery_s=round(to_delivery_s, 2),
        receiver_posts=stats["posts"],
        receiver_stored=len(received["requests"]),
        repeats_dropped_by_receiver=stats["duplicates"],
    )


def test_a_receiver_that_is_down_and_comes_back_gets_the_request_once(
    faults: Faults, measure: Callable[..., None]
) -> None:
    faults.start_worker()
    store = faults.store()
    started = time.monotonic()
    result, _ = store.submit("callback", "conv-down", DETAILS)
    assert result.stored and time.monotonic() - started < 3.0
    assert wait_until(lambda: (faults.outbox_rows()[0]["attempts"] or 0) >= 3, 20), faults.log("worker")
    assert "connection failed" in faults.outbox_rows()[0]["last_error"]

    back = time.monotonic()
    faults.start_receiver()
    assert wait_until(lambda: delivered(faults), 20), faults.log("worker")
    after_back_s = time.monotonic() - back
    time.sleep(0.5)
    received = faults.received()
    assert received is not None
    assert [r["idempotency_key"] for r in received["requests"]] == [result.reference]
    assert received["stats"]["posts"] == 1 and received["stats"]["duplicates"] == 0
    measure(
        attempts=faults.outbox_rows()[0]["attempts"],
        delivered_after_receiver_back_s=round(after_back_s, 2),
        time_to_delivery_s=round(time.monotonic() - started - 0.5, 2),
        receiver_posts=received["stats"]["posts"],
    )
