"""Durable storage of booking, callback and change requests.

Tables `booking_requests` and `outbox` (`bts/db/schema.py`, described in `docs/data-model.md`),
in the project database (a SQLite file in WAL mode by default, PostgreSQL when
`BTS_DATABASE_URL` says so), written with SQLAlchemy Core.

A request is never lost: `submit_request` writes the request and one outbox row per delivery
channel in a single transaction; when the database cannot be reached it appends the request to
the spool file (`spool.py`) instead, and the outbox worker (`python -m bts.booking.worker`)
replays that file into the database once it is back. Delivery itself lives in `delivery.py`.

The `details` of a request contain health information: they are stored and delivered, but never
logged. Log lines name references, kinds and channels only, and the engine hides SQL parameters
from its error messages.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bts.booking.delivery import deliver_now as deliver_now_
from bts.booking.lookup import RequestLookup
from bts.booking.queue import OutboxRows
from bts.booking.records import (
    KINDS,
    PENDING,
    OutboxJob,
    ReplayResult,
    StorageError,
    SubmitResult,
    dump_details,
    iso,
    language_of,
    parse_iso,
    utcnow,
)
from bts.booking.references import (
    MAX_REFERENCE_LENGTH,
    REFERENCE_LENGTH,
    TRIES_PER_LENGTH,
    new_reference,
)
from bts.booking.settings import Settings
from bts.booking.spool import Spool
from bts.db import migrate
from bts.db.engine import make_engine
from bts.db.schema import booking_requests, outbox

logger = logging.getLogger(__name__)


class Store(RequestLookup, OutboxRows):
    """The booking tables of one database, plus the spool used while it is unreachable.

    The engine is created on first use, and the database is upgraded to the newest migration
    (created if new) before the first query.

    Args:
        config: Settings with the database URL, spool file, channels and outbox timings.
        engine: An engine to use instead of one made from `config.database_url`.
        reference_factory: Draws reference codes (for tests); takes the code length.
    """

    def __init__(
        self,
        config: Settings,
        engine: Optional[Engine] = None,
        reference_factory: Callable[[int], str] = new_reference,
    ) -> None:
        self.config = config
        self.spool = Spool(config.spool_file)
        self._engine = engine
        self._schema_ready = False
        self._lock = threading.Lock()
        self._schema_lock = threading.Lock()
        self._new_reference = reference_factory

    # -- connection -------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine, created on first use.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: If the URL is unusable.
        """
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = make_engine(self.config.database_url)
        return self._engine

    def ensure_schema(self) -> None:
        """Brings the database to the newest migration, once per process.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: If the database cannot be reached.
        """
        if self._schema_ready:
            return
        engine = self.engine
        with self._schema_lock:
            if self._schema_ready:
                return
            migrate.upgrade(engine)
            self._schema_ready = True

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        self.ensure_schema()
        with self.engine.execution_options(bts_write=True).begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        self.ensure_schema()
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        """Closes pooled connections (before a fork, or at shutdown)."""
        if self._engine is not None:
            self._engine.dispose()

    # -- writing requests -------------------------------------------------------------------

    def _insert(
        self,
        conn: Connection,
        reference: str,
        kind: str,
        conversation_id: str,
        details_json: str,
        created_at: datetime,
        language: str,
        claim: bool = False,
    ) -> List[int]:
        """Inserts a request and its outbox rows; with `claim`, the rows start claimed (see `claim`)."""
        lease_s = self.config.outbox_lease_s if claim else 0.0
        request_id = conn.execute(
            booking_requests.insert().values(
                reference=reference,
                kind=kind,
                status="new",
                conversation_id=conversation_id,
                created_at=created_at,
                updated_at=created_at,
                details=details_json,
                language=language,
            )
        ).inserted_primary_key[0]
        outbox_ids: List[int] = []
        for channel in self.config.delivery_channels:
            outbox_ids.append(
                conn.execute(
                    outbox.insert().values(
                        request_id=request_id,
                        channel=channel,
                        idempotency_key=f"{reference}:{channel}",
                        state=PENDING,
                        attempts=1 if claim else 0,
                        next_attempt_at=created_at + timedelta(seconds=lease_s),
                    )
                ).inserted_primary_key[0]
            )
        return outbox_ids

    def _reference_exists(self, reference: str) -> bool:
        with self._read() as conn:
            return (
                conn.execute(
                    select(booking_requests.c.id).where(booking_requests.c.reference == reference)
                ).first()
                is not None
            )

    def submit(
        self,
        kind: str,
        conversation_id: str,
        details: Mapping[str, Any],
        deliver_now: bool = True,
        language: Optional[str] = None,
    ) -> Tuple[SubmitResult, List[int]]:
        """Stores a request durably; see `submit_request`.

        Args:
            kind: `booking`, `callback` or `change`.
            conversation_id: Rasa sender id.
            details: The request's fields (JSON-serialisable).
            deliver_now: Whether to make one immediate, time-boxed delivery attempt.
            language: `en` or `es`; defaults to `details["language"]`, else English.

        Returns:
            The result, and the ids of the outbox rows created (empty when spooled).

        Raises:
            ValueError: If `kind` is unknown or `details` is not a JSON-serialisable mapping.
            StorageError: If neither the database nor the spool file could take the request.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not isinstance(details, Mapping):
            raise ValueError("details must be a mapping")
        language = language_of({"language": language or details.get("language")})
        try:
            details_json = dump_details(details)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"details must be JSON-serialisable ({type(exc).__name__})") from None
        started = time.monotonic()
        created_at = utcnow()
        length = REFERENCE_LENGTH
        tries = 0
        reference = self._new_reference(length)
        # Rows to be attempted right away are inserted already claimed: one write less.
        claim = deliver_now and self.config.submit_delivery_budget_s > 0
        try:
            while True:
                try:
                    with self._write() as conn:
                        outbox_ids = self._insert(
                            conn, reference, kind, str(conversation_id), details_json, created_at,
                            language, claim,
                        )
                    break
                except IntegrityError:
                    if not self._reference_exists(reference):
                        raise
                    tries += 1
                    logger.info("reference %s already taken; drawing another", reference)
                    if tries % TRIES_PER_LENGTH == 0:
                        if length >= MAX_REFERENCE_LENGTH:
                            raise
                        length += 1
                        logger.warning("references keep colliding; widening codes to %d characters", length)
                    reference = self._new_reference(length)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the request must not be lost
            logger.error(
                "database unavailable (%s); spooling %s request %s to %s",
                type(exc).__name__, kind, reference, self.spool.path,
            )
            self._spool(reference, kind, str(conversation_id), details, created_at, language)
            return SubmitResult(reference=reference, stored=False), []
        logger.info(
            "stored %s request %s in %.3f s (%d deliveries queued)",
            kind, reference, time.monotonic() - started, len(outbox_ids),
        )
        if claim and outbox_ids:
            request = {
                "reference": reference,
                "kind": kind,
                "status": "new",
                "conversation_id": str(conversation_id),
                "created_at": iso(created_at),
                "updated_at": iso(created_at),
                "language": language,
                "details": json.loads(details_json),
                "stored": True,
                "deliveries": [],
            }
            jobs = [
                OutboxJob(outbox_id, channel, f"{reference}:{channel}", 1, request)
                for outbox_id, channel in zip(outbox_ids, self.config.delivery_channels, strict=True)
            ]
            # The budget covers the whole call, the database write included.
            budget_s = self.config.submit_delivery_budget_s - (time.monotonic() - started)
            deliver_now_(self, jobs, budget_s)
        return SubmitResult(reference=reference, stored=True), outbox_ids

    def _spool(
        self,
        reference: str,
        kind: str,
        conversation_id: str,
        details: Mapping[str, Any],
        created_at: datetime,
        language: str,
    ) -> None:
        record = {
            "reference": reference,
            "kind": kind,
            "conversation_id": conversation_id,
            "details": dict(details),
            "created_at": iso(created_at),
            "language": language,
        }
        try:
            self.spool.append(record)
        except OSError as exc:
            logger.critical(
                "cannot spool %s request %s to %s (%s): the request is lost unless the patient "
                "calls the clinic", kind, reference, self.spool.path, type(exc).__name__,
            )
            raise StorageError(
                "the request could not be stored: database and spool file are both unavailable"
            ) from None

    def replay_spool(self) -> ReplayResult:
        """Moves spooled requests into the database and queues their deliveries.

        Safe to run from several processes and to repeat after a crash: a request already in
        the database (same reference and conversation) is not inserted twice. If a spooled
        reference was meanwhile given to a different request, the spooled one gets a new
        reference and keeps the old one in `details["spooled_reference"]`, where
        `find_request` also looks.

        Returns:
            Counts of what happened.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: If the database is still unreachable; the spooled
                requests stay for the next replay.
        """
        if not self.spool.pending():
            return ReplayResult()
        inserted = already = rejected = 0
        with self.spool.replay() as lines:
            if lines is None:
                return ReplayResult()
            for line in lines:
                try:
                    record = json.loads(line)
                    reference = str(record["reference"])
                    kind = str(record["kind"])
                    conversation_id = str(record["conversation_id"])
                    details = dict(record["details"])
                    created_at = parse_iso(str(record["created_at"]))
                    language = language_of(record)
                    if kind not in KINDS:
                        raise ValueError("unknown kind")
                except (ValueError, KeyError, TypeError):
                    logger.error("unreadable spool line moved to %s", self.spool.rejected_path)
                    self.spool.reject(line)
                    rejected += 1
                    continue
                if self._replay_one(reference, kind, conversation_id, details, created_at, language):
                    inserted += 1
                else:
                    already += 1
        if inserted or already or rejected:
            logger.info(
                "spool replayed: %d inserted, %d already stored, %d rejected", inserted, already, rejected
            )
        return ReplayResult(inserted=inserted, already_stored=already, rejected=rejected)

    def _replay_one(
        self,
        reference: str,
        kind: str,
        conversation_id: str,
        details: Dict[str, Any],
        created_at: datetime,
        language: str,
    ) -> bool:
        with self._read() as conn:
            existing = conn.execute(
                select(booking_requests.c.conversation_id, booking_requests.c.kind).where(
                    booking_requests.c.reference == reference
                )
            ).first()
        if existing is not None:
            if existing.conversation_id == conversation_id and existing.kind == kind:
                return False
            original = reference
            details = {**details, "spooled_reference": original}
            while self._reference_exists(reference):
                reference = self._new_reference(REFERENCE_LENGTH + 1)
            logger.warning("spooled reference %s was taken meanwhile; stored as %s", original, reference)
        with self._write() as conn:
            self._insert(
                conn, reference, kind, conversation_id, dump_details(details), created_at,
                language,
            )
        return True
