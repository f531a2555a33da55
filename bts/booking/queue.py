"""The outbox rows of the store: finding due deliveries, claiming, and recording outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ContextManager, Dict, List, Optional

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from bts.booking.records import DELIVERED, PENDING, OutboxJob, request_dict, utcnow
from bts.db.schema import booking_requests, outbox


class OutboxRows:
    """Outbox operations of `Store` (which provides `_read`, `_write` and `config`)."""

    config: Any

    def _read(self) -> ContextManager[Connection]:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def _write(self) -> ContextManager[Connection]:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def due_outbox_ids(self, limit: int, now: Optional[datetime] = None) -> List[int]:
        """Ids of pending deliveries whose next attempt is due, oldest first.

        Args:
            limit: At most this many.
            now: The current time (naive UTC); defaults to now.

        Returns:
            The ids; claim each with `claim` before delivering it.
        """
        now = now or utcnow()
        with self._read() as conn:
            return list(
                conn.execute(
                    select(outbox.c.id)
                    .where(outbox.c.state == PENDING, outbox.c.next_attempt_at <= now)
                    .order_by(outbox.c.next_attempt_at, outbox.c.id)
                    .limit(limit)
                ).scalars()
            )

    def claim(self, outbox_id: int, now: Optional[datetime] = None) -> Optional[OutboxJob]:
        """Takes a due delivery for one attempt, so that no other process tries it meanwhile.

        The claim counts the attempt and pushes `next_attempt_at` one lease into the future;
        if the process dies during the attempt, the row becomes due again after the lease.

        Args:
            outbox_id: The outbox row.
            now: The current time (naive UTC); defaults to now.

        Returns:
            The job, or None when the row is not due, already delivered, or claimed by another
            process.
        """
        now = now or utcnow()
        lease_until = now + timedelta(seconds=self.config.outbox_lease_s)
        with self._write() as conn:
            claimed = conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id, outbox.c.state == PENDING, outbox.c.next_attempt_at <= now)
                .values(attempts=outbox.c.attempts + 1, next_attempt_at=lease_until)
            ).rowcount
            if claimed != 1:
                return None
            row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).mappings().one()
            request = conn.execute(
                select(booking_requests).where(booking_requests.c.id == row["request_id"])
            ).mappings().one()
        return OutboxJob(
            outbox_id=outbox_id,
            channel=row["channel"],
            idempotency_key=row["idempotency_key"],
            attempts=row["attempts"],
            request=request_dict(request),
        )

    def release(self, outbox_id: int) -> None:
        """Gives a claimed delivery back untried, so that the worker attempts it right away.

        Args:
            outbox_id: The outbox row.
        """
        with self._write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id, outbox.c.state == PENDING, outbox.c.attempts > 0)
                .values(attempts=outbox.c.attempts - 1, next_attempt_at=utcnow())
            )

    def mark_delivered(self, outbox_id: int) -> None:
        """Records a successful delivery.

        Args:
            outbox_id: The outbox row.
        """
        with self._write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id)
                .values(state=DELIVERED, delivered_at=utcnow(), last_error=None)
            )

    def mark_failed(self, outbox_id: int, error: str, retry_in_s: float) -> None:
        """Records a failed attempt and when to try again.

        Args:
            outbox_id: The outbox row.
            error: Short description without personal data.
            retry_in_s: Seconds until the next attempt.
        """
        with self._write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id, outbox.c.state == PENDING)
                .values(
                    last_error=error[:500],
                    next_attempt_at=utcnow() + timedelta(seconds=retry_in_s),
                )
            )

    def outbox_counts(self) -> Dict[str, int]:
        """Number of outbox rows per state, e.g. `{"pending": 2, "delivered": 40}`."""
        with self._read() as conn:
            rows = conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)).all()
        return {state: count for state, count in rows}


