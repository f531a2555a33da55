"""Durable storage of booking, callback and change requests.

Tables `booking_requests` and `outbox` as described in `docs/data-model.md`, in the project
database (a SQLite file in WAL mode by default, PostgreSQL when `BTS_DATABASE_URL` says so),
written with SQLAlchemy 1.4 Core.

A request is never lost: `submit_request` writes the request and one outbox row per delivery
channel in a single transaction; when the database cannot be reached it appends the request to
a local spool file instead, and the outbox worker (`scripts/outbox_worker.py`) replays that file
into the database once it is back. Delivery itself lives in `actions/outbox.py`.

The `details` of a request contain health information: they are stored and delivered, but never
logged. Log lines name references, kinds and channels only, and the engine hides SQL parameters
from its error messages.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from actions import outbox as delivery
from actions.config import Settings, settings

logger = logging.getLogger(__name__)

REFERENCE_PREFIX = "BTS-"
# Digits and capitals without the look-alikes 0/O and 1/I: 32 symbols, 5 bits each.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 4
# Tries per code length before the code gets one character longer.
TRIES_PER_LENGTH = 5
MAX_REFERENCE_LENGTH = 8

KINDS: Tuple[str, ...] = ("booking", "callback", "change")
CHANNELS: Tuple[str, ...] = ("webhook", "email")
STATUSES: Tuple[str, ...] = ("new", "contacted", "scheduled", "closed")
PENDING = "pending"
DELIVERED = "delivered"

SQLITE_BUSY_TIMEOUT_MS = 5000
PG_CONNECT_TIMEOUT_S = 3

metadata = MetaData()

booking_requests = Table(
    "booking_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False, default="new"),
    Column("conversation_id", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("details", Text, nullable=False),
    Index("ix_booking_requests_conversation_id", "conversation_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "request_id",
        Integer,
        ForeignKey("booking_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("state", Text, nullable=False, default=PENDING),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("last_error", Text),
    Column("delivered_at", DateTime),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_outbox_request_id", "request_id"),
)


class StorageError(RuntimeError):
    """Raised when a request can be neither stored in the database nor spooled to disk."""


@dataclass(frozen=True)
class SubmitResult:
    """Outcome of `submit_request`.

    Attributes:
        reference: The reference code to give the patient, e.g. `BTS-7K2Q`.
        stored: True when the request is in the database; False when the database was
            unreachable and the request waits in the spool file (the reference stays valid).
    """

    reference: str
    stored: bool


@dataclass(frozen=True)
class OutboxJob:
    """One claimed delivery: an outbox row together with the request it delivers.

    Attributes:
        outbox_id: Primary key of the outbox row.
        channel: `webhook` or `email`.
        idempotency_key: Reference plus channel, unique per delivery.
        attempts: Number of this attempt (1 for the first).
        request: The request as `find_request` returns it.
    """

    outbox_id: int
    channel: str
    idempotency_key: str
    attempts: int
    request: Dict[str, Any]


@dataclass(frozen=True)
class ReplayResult:
    """What a spool replay did.

    Attributes:
        inserted: Requests written to the database.
        already_stored: Requests that were in the database already (an earlier replay or an
            insert whose commit looked failed but was not).
        rejected: Unreadable lines moved to the `.rejected` file next to the spool.
    """

    inserted: int = 0
    already_stored: int = 0
    rejected: int = 0


def utcnow() -> datetime:
    """The current time in UTC as a naive datetime, the way the tables store timestamps."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_reference(length: int = REFERENCE_LENGTH) -> str:
    """Draws a random reference code from a cryptographic source.

    Args:
        length: Number of code characters after the `BTS-` prefix.

    Returns:
        A reference such as `BTS-7K2Q`.
    """
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


def _valid_code(code: str) -> bool:
    return (
        REFERENCE_LENGTH <= len(code) <= MAX_REFERENCE_LENGTH
        and all(char in REFERENCE_ALPHABET for char in code)
    )


def normalize_reference(text: str) -> Optional[str]:
    """Turns what a patient typed into the canonical reference, if it can be one.

    Case, spaces, a missing or extra dash and a leading `#` are tolerated: `bts 7k2q`,
    `BTS7K2Q` and `7K2Q` all become `BTS-7K2Q`.

    Args:
        text: The reference as typed.

    Returns:
        The canonical reference, or None when the text cannot be a reference.
    """
    if not isinstance(text, str):
        return None
    compact = re.sub(r"[^A-Za-z0-9]", "", text).upper()
    prefix = REFERENCE_PREFIX.rstrip("-")
    if compact.startswith(prefix) and _valid_code(compact[len(prefix):]):
        return REFERENCE_PREFIX + compact[len(prefix):]
    if _valid_code(compact):
        return REFERENCE_PREFIX + compact
    return None


def _iso(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _dump_details(details: Mapping[str, Any]) -> str:
    return json.dumps(dict(details), ensure_ascii=False, sort_keys=True)


def _make_sqlite_dir(engine_url: str) -> None:
    """Creates the directory of a SQLite file (e.g. `var/`); a path that cannot exist fails later."""
    parsed = make_url(engine_url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        if not database.startswith("file:"):
            with contextlib.suppress(OSError):
                Path(database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """Creates the SQLAlchemy engine for the project database.

    SQLite files get WAL mode (readers and one writer at the same time, across processes), a
    busy timeout, foreign keys, full fsync, and `BEGIN IMMEDIATE` for write transactions so that
    concurrent writers queue instead of failing. PostgreSQL connections time out after a few
    seconds so that an unreachable server cannot hold up a chat.

    Args:
        url: SQLAlchemy database URL.

    Returns:
        The engine; no connection is made yet.

    Raises:
        sqlalchemy.exc.ArgumentError: If the URL is malformed or names an unknown driver.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _make_sqlite_dir(engine_url=url)
        engine = create_engine(
            parsed,
            future=True,
            hide_parameters=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin").
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = FULL")
                cursor.execute("PRAGMA foreign_keys = ON")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            immediate = connection.get_execution_options().get("bts_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    connect_args: Dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", ""):
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    return create_engine(
        parsed, future=True, hide_parameters=True, pool_pre_ping=True, connect_args=connect_args
    )


class Spool:
    """Append-only JSON-lines file that keeps requests while the database is unreachable.

    Appends and the hand-over to a replay take a lock on a separate `.lock` file, so several
    processes can spool at once. A replay first renames the file to `.replaying`; lines are
    removed only after all of them are in the database.

    Args:
        path: The spool file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.replaying_path = path.with_name(path.name + ".replaying")
        self.rejected_path = path.with_name(path.name + ".rejected")

    @contextlib.contextmanager
    def _locked(self, lock_path: Optional[Path] = None, blocking: bool = True) -> Iterator[bool]:
        lock_path = lock_path or self.lock_path
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _fsync_dir(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def append(self, record: Mapping[str, Any]) -> None:
        """Appends one request and forces it to disk before returning.

        Args:
            record: The request, JSON-serialisable.

        Raises:
            OSError: If the file cannot be written.
        """
        line = (json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        self._fsync_dir()

    def pending(self) -> bool:
        """Whether requests wait in the spool (or in an interrupted replay)."""
        return any(p.exists() and p.stat().st_size > 0 for p in (self.path, self.replaying_path))

    def _read_lines(self, path: Path) -> List[str]:
        if not path.exists():
            return []
        return path.read_text(encoding="utf-8", errors="replace").splitlines()

    def records(self) -> List[Dict[str, Any]]:
        """All readable spooled requests, oldest first (for look-ups while the database is down)."""
        found: List[Dict[str, Any]] = []
        for path in (self.replaying_path, self.path):
            for line in self._read_lines(path):
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if isinstance(record, dict):
                        found.append(record)
        return found

    @contextlib.contextmanager
    def replay(self) -> Iterator[Optional[List[str]]]:
        """Hands the spooled lines to one replaying process.

        Yields:
            The lines to replay, or None when another process is replaying right now. If the
            body finishes without an exception, the lines are removed; otherwise they stay
            for the next replay.
        """
        with self._locked(self.path.with_name(self.path.name + ".replay-lock"), blocking=False) as got:
            if not got:
                yield None
                return
            with self._locked():
                if not self.replaying_path.exists() and self.path.exists():
                    os.replace(self.path, self.replaying_path)
                    self._fsync_dir()
            lines = [line for line in self._read_lines(self.replaying_path) if line.strip()]
            yield lines
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.replaying_path)
            self._fsync_dir()

    def reject(self, line: str) -> None:
        """Keeps an unreadable line aside in the `.rejected` file instead of dropping it."""
        fd = os.open(self.rejected_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line.rstrip("\n") + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def _request_dict(row: Mapping[str, Any], deliveries: Sequence[Mapping[str, Any]] = ()) -> Dict[str, Any]:
    try:
        details = json.loads(row["details"]) if row["details"] else {}
    except ValueError:
        details = {}
    return {
        "reference": row["reference"],
        "kind": row["kind"],
        "status": row["status"],
        "conversation_id": row["conversation_id"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "details": details,
        "stored": True,
        "deliveries": [
            {
                "channel": d["channel"],
                "state": d["state"],
                "attempts": d["attempts"],
                "delivered_at": _iso(d["delivered_at"]),
            }
            for d in deliveries
        ],
    }


def _spooled_dict(record: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "reference": record.get("reference"),
        "kind": record.get("kind"),
        "status": "new",
        "conversation_id": record.get("conversation_id"),
        "created_at": record.get("created_at"),
        "updated_at": record.get("created_at"),
        "details": record.get("details") or {},
        "stored": False,
        "deliveries": [],
    }


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Store:
    """The booking tables of one database, plus the spool used while it is unreachable.

    The engine is created on first use, and the tables are created if they do not exist yet.

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
        """Creates `booking_requests` and `outbox` (and their indexes) if they are missing.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: If the database cannot be reached.
        """
        if self._schema_ready:
            return
        engine = self.engine
        with self._schema_lock:
            if self._schema_ready:
                return
            _make_sqlite_dir(str(engine.url))
            try:
                metadata.create_all(engine.execution_options(bts_write=True))
            except SQLAlchemyError:
                # Another process may have created the tables between the check and the CREATE.
                metadata.create_all(engine.execution_options(bts_write=True))
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
        self, kind: str, conversation_id: str, details: Mapping[str, Any], deliver_now: bool = True
    ) -> Tuple[SubmitResult, List[int]]:
        """Stores a request durably; see `submit_request`.

        Args:
            kind: `booking`, `callback` or `change`.
            conversation_id: Rasa sender id.
            details: The request's fields (JSON-serialisable).
            deliver_now: Whether to make one immediate, time-boxed delivery attempt.

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
        try:
            details_json = _dump_details(details)
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
                            conn, reference, kind, str(conversation_id), details_json, created_at, claim
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
            self._spool(reference, kind, str(conversation_id), details, created_at)
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
                "created_at": _iso(created_at),
                "updated_at": _iso(created_at),
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
            delivery.deliver_now(self, jobs, budget_s)
        return SubmitResult(reference=reference, stored=True), outbox_ids

    def _spool(
        self,
        reference: str,
        kind: str,
        conversation_id: str,
        details: Mapping[str, Any],
        created_at: datetime,
    ) -> None:
        record = {
            "reference": reference,
            "kind": kind,
            "conversation_id": conversation_id,
            "details": dict(details),
            "created_at": _iso(created_at),
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
                    created_at = _parse_iso(str(record["created_at"]))
                    if kind not in KINDS:
                        raise ValueError("unknown kind")
                except (ValueError, KeyError, TypeError):
                    logger.error("unreadable spool line moved to %s", self.spool.rejected_path)
                    self.spool.reject(line)
                    rejected += 1
                    continue
                if self._replay_one(reference, kind, conversation_id, details, created_at):
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
            self._insert(conn, reference, kind, conversation_id, _dump_details(details), created_at)
        return True

    # -- reading requests -------------------------------------------------------------------

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
                    pattern = f'%"spooled_reference": "{_like_escape(canonical)}"%'
                    row = conn.execute(
                        select(booking_requests).where(booking_requests.c.details.like(pattern, escape="\\"))
                    ).mappings().first()
                if row is not None:
                    return _request_dict(row, self._deliveries(conn, [row["id"]])[row["id"]])
        except SQLAlchemyError as exc:
            logger.warning("database unavailable (%s); looking in the spool only", type(exc).__name__)
        for record in self._spool_records():
            if record.get("reference") == canonical:
                return _spooled_dict(record)
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
                    .where(booking_requests.c.details.like(f"%{_like_escape(phone)}%", escape="\\"))
                    .order_by(booking_requests.c.created_at.desc(), booking_requests.c.id.desc())
                ).mappings().all()
                rows = [row for row in rows if _details_phone(row["details"]) == phone]
                deliveries = self._deliveries(conn, [row["id"] for row in rows])
                for row in rows:
                    found.append(_request_dict(row, deliveries[row["id"]]))
                    seen.add(row["reference"])
        except SQLAlchemyError as exc:
            logger.warning("database unavailable (%s); looking in the spool only", type(exc).__name__)
        spooled = [
            _spooled_dict(record)
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

    # -- outbox -------------------------------------------------------------------------------

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
            request=_request_dict(request),
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


def _details_phone(details_json: str) -> Optional[str]:
    try:
        details = json.loads(details_json)
    except ValueError:
        return None
    return details.get("phone") if isinstance(details, dict) else None


_default_store: Optional[Store] = None
_default_lock = threading.Lock()


def default_store() -> Store:
    """The process-wide store, configured from the environment on first use."""
    global _default_store
    if _default_store is None:
        with _default_lock:
            if _default_store is None:
                _default_store = Store(settings())
    return _default_store


def submit_request(kind: str, conversation_id: str, details: dict) -> SubmitResult:
    """Stores a booking, callback or change request durably and starts its delivery.

    Writes the `booking_requests` row (status `new`, a fresh `BTS-XXXX` reference) and one
    `outbox` row per configured channel in one transaction, then makes one immediate delivery
    attempt. The whole call, database write included, waits at most about
    `BTS_SUBMIT_DELIVERY_BUDGET_S` (2.5 s by default); whatever is not delivered by then, the
    outbox worker retries. If the database is unreachable, the request is appended to the spool
    file and the worker replays it later.

    The call blocks for up to about 3 s: from an `async` action, run it with
    `await asyncio.to_thread(submit_request, ...)` so other conversations are not held up.

    Args:
        kind: `booking`, `callback` or `change`.
        conversation_id: The Rasa sender id (`tracker.sender_id`).
        details: The request's fields (see `docs/data-model.md`): name, phone (E.164), email,
            preferred_time_text, preferred_time, reason, patient_type, insurance, consent,
            related_reference. JSON-serialisable. Never logged.

    Returns:
        The reference to give the patient, and whether the request is already in the database
        (`stored=False` means spooled: the reference is valid all the same).

    Raises:
        ValueError: If `kind` is unknown or `details` is not a JSON-serialisable mapping.
        StorageError: If neither the database nor the spool file could take the request; the
            patient should then be asked to call the clinic.
    """
    result, _ = default_store().submit(kind, conversation_id, details)
    return result


def find_request(reference: str) -> Optional[dict]:
    """Looks a request up by its reference.

    Case, spaces and a missing dash do not matter (`bts7k2q` finds `BTS-7K2Q`). While the
    database is unreachable, only spooled requests can be found.

    Args:
        reference: The reference as the patient typed it.

    Returns:
        The request as a dict with `reference`, `kind`, `status`, `conversation_id`,
        `created_at` and `updated_at` (ISO 8601, UTC), `details`, `stored` (False while
        spooled) and `deliveries` (channel, state, attempts, delivered_at); None when there is
        no such request or the text cannot be a reference. Never raises for storage outages.
    """
    return default_store().find(reference)


def find_requests_by_phone(phone_e164: str) -> list:
    """Looks requests up by the patient's phone number.

    Args:
        phone_e164: The number in E.164 form, e.g. `+15755550142`; it must match exactly.

    Returns:
        The matching requests (same dicts as `find_request`), newest first; empty when there
        are none or the database is unreachable and none are spooled.
    """
    return default_store().find_by_phone(phone_e164)
