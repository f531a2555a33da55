"""Submits bookings from several threads of one process, like a busy action server.

Usage: python tests/faults/_submitter.py PREFIX THREADS START_AT
Each thread waits until the UNIX time START_AT, calls `submit_request`, and prints one JSON line
with the reference, whether it was stored, and how long the call took.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time

from bts.booking.api import submit_request


def main() -> None:
    """Runs the threads and prints their results."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bts.booking.store").setLevel(logging.INFO)
    prefix, threads, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    lock = threading.Lock()

    def one(index: int) -> None:
        details = {
            "name": f"Patient {prefix}-{index}",
            "phone": f"+1575555{int(prefix[1:]) * 100 + index:04d}",
            "preferred_time_text": "weekday mornings",
            "reason": "sciatica",
            "patient_type": "new",
            "consent": True,
        }
        time.sleep(max(0.0, start_at - time.time()))
        started = time.monotonic()
        result = submit_request("booking", f"conv-{prefix}-{index}", details)
        elapsed = time.monotonic() - started
        with lock:
            print(json.dumps({"reference": result.reference, "stored": result.stored, "elapsed_s": elapsed}),
                  flush=True)

    workers = [threading.Thread(target=one, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
