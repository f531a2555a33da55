"""Delivery of stored requests: one attempt, a pass over the due ones, and the immediate try.

Every request has one `outbox` row per channel. A delivery attempt first *claims* its row (so
no other process tries it at the same time), then sends (`webhook.py`, `mail.py`), then marks
the row `delivered` or schedules the next attempt with exponential backoff and jitter, capped
at `BTS_OUTBOX_BACKOFF_MAX_S`. Rows stay `pending` until delivered; nothing is given up.
Because an attempt can succeed at the receiver while its answer is lost, the receiver must
deduplicate by `Idempotency-Key`: that makes delivery exactly-once from its point of view.

Request details are health information and are never logged; errors are recorded in
`outbox.last_error` as short texts without personal data.
"""

from __future__ import annotations

import concurrent.futures
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, List, Optional

from bts.booking.mail import send_email
from bts.booking.queue import OutboxRows
from bts.booking.records import OutboxJob
from bts.booking.webhook import DeliveryError, send_webhook

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPass:
    """What one pass over the due deliveries did.

    Attributes:
        due: Rows that were due.
        delivered: Rows delivered in this pass.
        failed: Rows whose attempt failed (retried later).
        skipped: Due rows another process had claimed first.
    """

    due: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0


def backoff_delay(
    attempts: int, base_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before the next attempt: exponential, capped, with jitter.

    The nominal delay is `base_s * 2 ** (attempts - 1)`, capped at `max_s`; the result is
    drawn uniformly between half of it and all of it, so that many failed rows do not retry in
    lock-step.

    Args:
        attempts: Attempts made so far (1 after the first failure).
        base_s: Delay after the first failure.
        max_s: Cap.
        rand: Source of uniform numbers in [0, 1) (for tests).

    Returns:
        Seconds to wait.
    """
    nominal = min(max_s, base_s * 2 ** min(max(attempts - 1, 0), 60))
    return nominal / 2 + rand() * nominal / 2


def _shorter(own_s: float, limit_s: Optional[float]) -> float:
    return own_s if limit_s is None else min(own_s, limit_s)


def attempt(store: OutboxRows, job: OutboxJob, timeout_s: Optional[float] = None) -> bool:
    """Makes one delivery attempt of a claimed job and records the outcome.

    Args:
        store: Where the outcome is recorded.
        job: A job returned by `Store.claim`.
        timeout_s: Timeout to use instead of the channel's own (shorter, for the attempt made
            while the patient waits).

    Returns:
        True if delivered.
    """
    config = store.config
    reference = job.request["reference"]
    started = time.monotonic()
    try:
        if job.channel == "webhook":
            send_webhook(config, job.request, _shorter(config.webhook_timeout_s, timeout_s))
        elif job.channel == "email":
            send_email(config, job.request, job.idempotency_key, _shorter(config.smtp_timeout_s, timeout_s))
        else:
            raise DeliveryError(f"unknown channel {job.channel!r}")
    except Exception as exc:  # noqa: BLE001 - every failure is retried, none may escape the worker
        error = str(exc) if isinstance(exc, DeliveryError) else f"unexpected {type(exc).__name__}"
        delay = backoff_delay(job.attempts, config.outbox_backoff_base_s, config.outbox_backoff_max_s)
        logger.warning(
            "delivery of %s via %s failed (attempt %d): %s; next attempt in %.1f s",
            reference, job.channel, job.attempts, error, delay,
        )
        try:
            store.mark_failed(job.outbox_id, error, delay)
        except Exception as db_exc:  # noqa: BLE001 - the lease expires and the row is retried
            logger.error("could not record the failed attempt of %s (%s)", reference, type(db_exc).__name__)
        return False
    logger.info(
        "delivered %s via %s (attempt %d, %.2f s)", reference, job.channel, job.attempts,
        time.monotonic() - started,
    )
    try:
        store.mark_delivered(job.outbox_id)
    except Exception as db_exc:  # noqa: BLE001
        # The receiver has it; the retry after the lease is dropped there as a repeat.
        logger.error("delivered %s but could not record it (%s)", reference, type(db_exc).__name__)
    return True


def _claim_and_attempt(
    store: OutboxRows, outbox_id: int, timeout_s: Optional[float] = None
) -> Optional[bool]:
    job = store.claim(outbox_id)
    if job is None:
        return None
    return attempt(store, job, timeout_s)


def deliver_due(
    store: OutboxRows, limit: int = 50, executor: Optional[concurrent.futures.Executor] = None
) -> DeliveryPass:
    """Claims and attempts every due delivery (up to `limit`).

    Args:
        store: The store.
        limit: Most rows to handle in this pass.
        executor: Runs attempts in parallel when given; otherwise one after the other.

    Returns:
        Counts of what happened.
    """
    ids = store.due_outbox_ids(limit)
    outcomes: List[Optional[bool]] = []
    if executor is None:
        outcomes = [_claim_and_attempt(store, outbox_id) for outbox_id in ids]
    else:
        futures = [executor.submit(_claim_and_attempt, store, outbox_id) for outbox_id in ids]
        for future in futures:
            try:
                outcomes.append(future.result())
            except concurrent.futures.CancelledError:
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. the database went away mid-pass
                logger.error("delivery pass error (%s)", type(exc).__name__)
                outcomes.append(False)
    return DeliveryPass(
        due=len(ids),
        delivered=sum(1 for o in outcomes if o is True),
        failed=sum(1 for o in outcomes if o is False),
        skipped=sum(1 for o in outcomes if o is None),
    )


def deliver_now(store: OutboxRows, jobs: Iterable[OutboxJob], budget_s: float) -> None:
    """One immediate attempt per new delivery, holding the caller for at most about `budget_s`.

    The jobs come already claimed (see `Store.submit`). Attempts run in a background thread;
    the caller stops waiting after the budget. An attempt still running then finishes on its own
    and records its outcome; a job not yet attempted is given back to the worker.

    Args:
        store: The store.
        jobs: The claimed deliveries of a new request.
        budget_s: Seconds the caller may still wait.
    """
    pending = list(jobs)
    if not pending:
        return
    deadline = time.monotonic() + max(0.0, budget_s)

    def run() -> None:
        for index, job in enumerate(pending):
            remaining = deadline - time.monotonic()
            if remaining < 0.1:
                for untried in pending[index:]:
                    try:
                        store.release(untried.outbox_id)
                    except Exception as exc:  # noqa: BLE001 - the lease expires instead
                        logger.warning("could not give back %s (%s)", untried.idempotency_key,
                                       type(exc).__name__)
                return
            try:
                attempt(store, job, timeout_s=remaining)
            except Exception as exc:  # noqa: BLE001 - the worker retries after the lease
                logger.warning("immediate delivery skipped (%s); the worker will retry", type(exc).__name__)

    thread = threading.Thread(target=run, name="bts-deliver-now", daemon=False)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()) + 0.1)
