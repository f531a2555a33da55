"""Looking requests up, by reference or phone number, in the database and the spool."""

from __future__ import annotations

import logging
from typing import Any, ContextManager, Dict, List, Mapping, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bts.booking.records import details_phone, like_escape, request_dict, spooled_dict
from bts.booking.references import normalize_reference
from bts.booking.spool import Spool
from bts.db.schema import booking_requests, outbox

logger = logging.getLogger(__name__)


class RequestLookup:
    """Look-ups of `Store` (which provides `_read` and `spool`)."""

    spool: Spool

    def _read(self) -> ContextManager[Connection]:  # pragma: no cover - provided by Store
        raise NotImplementedError

    def _deliveries(self, conn: Connection, request_ids: Sequence[int]) -> Dict[int, List[Mapping[str, Any]]]:
        found: Dict[int, List[Mapping[str, Any]]] = {request_id: [] for request_id in request_ids}
        if not request_ids:
            return found
        rows = conn.execute(
            select(outbox).where(outbox.c.request_id.in_(list(request_ids))).order_by(outbox.c.id)
        ).mappings()
        for row in rows:
            found[row["request_id"]].append(row)
        return found

    def find(self, reference: str) -> Optional[Dict[str, Any]]:
        """Looks a request up by reference; see `find_request`."""
        canonical = normalize_reference(reference)
        if canonical is None:
            return None
        try:
            with self._read() as conn:
                row = conn.execute(
                    select(booking_requests).where(booking_requests.c.reference == canonical)
                ).mappings().first()
                if row is None:
                    pattern = f'%"spooled_reference": "{like_escape(canonical)}"%'
                    row = conn.execute(
                        select(booking_requests).where(booking_requests.c.details.like(pattern, escape="\\"))
                    ).mappings().first()
                if row is not None:
                    return request_dict(row, self._deliveries(conn, [row["id"]])[row["id"]])
        except SQLAlchemyError as exc:
            logger.warning("database unavailable (%s); looking in the spool only", type(exc).__name__)
        for record in self._spool_records():
            if record.get("reference") == canonical:
                return spooled_dict(record)
        return None

    def find_by_phone(self, phone_e164: str) -> List[Dict[str, Any]]:
        """Looks requests up by phone number; see `find_requests_by_phone`."""
        phone = (phone_e164 or "").strip()
        if not phone:
            return []
        found: List[Dict[str, Any]] = []
        seen: set = set()
        try:
            with self._read() as conn:
                rows = conn.execute(
                    select(booking_requests)
                    .where(booking_requests.c.details.like(f"%{like_escape(phone)}%", escape="\\"))
                    .order_by(booking_requests.c.created_at.desc(), booking_requests.c.id.desc())
                ).mappings().all()
                rows = [row for row in rows if details_phone(row["details"]) == phone]
                deliveries = self._deliveries(conn, [row["id"] for row in rows])
                for row in rows:
                    found.append(request_dict(row, deliveries[row["id"]]))
                    seen.add(row["reference"])
        except SQLAlchemyError as exc:
            logger.warning("database unavailable (%s); looking in the spool only", type(exc).__name__)
        spooled = [
            spooled_dict(record)
            for record in self._spool_records()
            if isinstance(record.get("details"), dict)
            and record["details"].get("phone") == phone
            and record.get("reference") not in seen
        ]
        return sorted(spooled, key=lambda r: str(r["created_at"]), reverse=True) + found

    def _spool_records(self) -> List[Dict[str, Any]]:
        try:
            return self.spool.records()
        except OSError:
            return []
