"""Retention and erasure: every store that holds patient data is emptied on its own schedule.

`python -m bts.retention --once` (or `--loop`, every `BTS_RETENTION_INTERVAL_S`, an hour by
default) deletes:

- conversations with no event for `CONSOLE_RETENTION_DAYS` days (365; 0 keeps them): Rasa's
  `events`, the tracker checkpoint and every `console_*` row about them;
- booking requests not updated for `BTS_BOOKING_RETENTION_DAYS` days (365; 0 keeps them), with
  their `outbox` rows; spooled requests and the spool's `.rejected` file of the same age; the
  demo receiver's entries of the same age;
- files in the log folder (`BTS_LOG_DIR`, `var/log`) not written for `BTS_LOG_RETENTION_DAYS`
  days (30; 0 keeps them).

SQLite deletes with `secure_delete` (every project engine) and is vacuumed after a purge that
removed anything, so deleted rows do not linger in free pages. `python -m bts.retention
delete-booking BTS-...` erases one request on a patient's demand, wherever it is.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bts import env as envvars
from bts.booking.references import normalize_reference
from bts.booking.settings import PROJECT_ROOT, Settings
from bts.booking.spool import Spool
from bts.db import audit, migrate
from bts.db.engine import make_engine, vacuum
from bts.db.schema import (
    booking_requests,
    candidates,
    conversations,
    messages,
    nlu_labels,
    notes,
    outbox,
    state,
    tags,
    to_utc,
    tracker_checkpoints,
)

logger = logging.getLogger(__name__)

# Days a log file is kept after its last write, by this purge and by the dev runner's rotation.
DEFAULT_LOG_RETENTION_DAYS = 14

CHUNK = 500
DAY_S = 86400
LAST_PURGE_KEY = "last_purge_at"
DEFAULT_RECEIVER_FILE = PROJECT_ROOT / "var" / "demo_receiver" / "received.json"
DEFAULT_LOG_DIR = PROJECT_ROOT / "var" / "log"

# Rasa's table, read and purged here (Rasa creates it).
events = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("timestamp"))


@dataclass(frozen=True)
class Retention:
    """Retention periods and the places they apply to (0 days: kept forever)."""

    conversation_days: int = 365
    booking_days: int = 365
    log_days: int = 30
    interval_s: float = 3600.0
    receiver_file: Path = DEFAULT_RECEIVER_FILE
    log_dir: Path = DEFAULT_LOG_DIR

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Retention:
        """Reads the retention settings from the environment.

        `CONSOLE_RETENTION_DAYS`, `BTS_BOOKING_RETENTION_DAYS`, `BTS_LOG_RETENTION_DAYS`,
        `BTS_RETENTION_INTERVAL_S`, `BTS_RECEIVER_DATA_FILE` and `BTS_LOG_DIR`.

        Raises:
            SettingsError: If a value cannot be used; the message names the variable.
        """
        env = os.environ if env is None else env
        return cls(
            conversation_days=envvars.whole(env, "CONSOLE_RETENTION_DAYS", 365),
            booking_days=envvars.whole(env, "BTS_BOOKING_RETENTION_DAYS", 365),
            log_days=envvars.whole(env, "BTS_LOG_RETENTION_DAYS", DEFAULT_LOG_RETENTION_DAYS),
            interval_s=envvars.number(env, "BTS_RETENTION_INTERVAL_S", 3600.0, minimum=1.0),
            receiver_file=envvars.path(env, "BTS_RECEIVER_DATA_FILE", DEFAULT_RECEIVER_FILE, PROJECT_ROOT),
            log_dir=envvars.path(env, "BTS_LOG_DIR", DEFAULT_LOG_DIR, PROJECT_ROOT),
        )


def _has_table(conn: Connection, name: str) -> bool:
    return sa.inspect(conn).has_table(name)


def _record(conn: Connection, actor: str, action: str, target_type: str, target_id: Any,
            detail: Dict[str, Any], role: str = "system") -> None:
    audit.append(conn, ts=time.time(), username=actor[:64], role=role[:16], action=action,
                 target_type=target_type, target_id=str(target_id)[:255],
                 detail=json.dumps(detail, sort_keys=True), ip=None)


def delete_console_rows(conn: Connection, conversation_ids: List[int]) -> None:
    """Deletes the console's rows about conversations (summary, messages, tags, notes, labels)."""
    for i in range(0, len(conversation_ids), CHUNK):
        ids = conversation_ids[i : i + CHUNK]
        for table in (messages, tags, notes, nlu_labels):
            conn.execute(table.delete().where(table.c.conversation_id.in_(ids)))
        # Unconfirmed corrections still hold the patient's words; confirmed ones are de-identified.
        conn.execute(candidates.delete().where(candidates.c.conversation_id.in_(ids),
                                               candidates.c.status == "pending"))
        conn.execute(conversations.delete().where(conversations.c.id.in_(ids)))


def purge_conversations(
    conn: Connection, retention_days: int, actor: str = "retention", now: Optional[float] = None,
    dry_run: bool = False, role: str = "system",
) -> Dict[str, Any]:
    """Deletes every conversation with no event in the last `retention_days` days.

    A conversation that receives a new event while the purge runs is kept: each delete re-checks
    that the sender has no event at or after the cutoff.

    Returns:
        {"cutoff": float, "conversations": n, "events": n, "console_rows": n, "dry_run": bool}.
    """
    if retention_days <= 0:
        raise ValueError("retention is off (0 days): nothing to purge")
    now = time.time() if now is None else now
    cutoff = now - retention_days * DAY_S
    result: Dict[str, Any] = {"cutoff": cutoff, "conversations": 0, "events": 0, "console_rows": 0,
                              "dry_run": dry_run}
    purged: List[str] = []
    recent = sa.select(events.c.sender_id).where(events.c.timestamp >= cutoff)
    if _has_table(conn, "events"):
        senders = [r.sender_id for r in conn.execute(
            sa.select(events.c.sender_id).group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < cutoff)
        )]
        result["conversations"] = len(senders)
        if dry_run:
            return result
        for i in range(0, len(senders), CHUNK):
            chunk = senders[i : i + CHUNK]
            still = [r.sender_id for r in conn.execute(
                sa.select(events.c.sender_id).distinct()
                .where(events.c.sender_id.in_(chunk), events.c.sender_id.not_in(recent))
            )]
            if still:
                result["events"] += conn.execute(
                    events.delete().where(events.c.sender_id.in_(still), events.c.sender_id.not_in(recent))
                ).rowcount
                conn.execute(tracker_checkpoints.delete().where(tracker_checkpoints.c.sender_id.in_(still)))
                purged += still
    elif dry_run:
        return result
    # Console rows of purged conversations, and of conversations already gone from `events`.
    ids: set = set()
    for i in range(0, len(purged), CHUNK):
        ids.update(r.id for r in conn.execute(
            sa.select(conversations.c.id).where(conversations.c.sender_id.in_(purged[i : i + CHUNK]))
        ))
    old = sa.select(conversations.c.id).where(conversations.c.last_ts < cutoff)
    if _has_table(conn, "events"):
        old = old.where(conversations.c.sender_id.not_in(recent))
    ids.update(r.id for r in conn.execute(old))
    delete_console_rows(conn, sorted(ids))
    result["conversations"] = len(purged)
    result["console_rows"] = len(ids)
    _record(conn, actor, "purge", "retention", retention_days,
            {"cutoff": round(cutoff, 3), "conversations": len(purged), "events": result["events"]}, role)
    if conn.execute(sa.select(state.c.key).where(state.c.key == LAST_PURGE_KEY)).first():
        conn.execute(state.update().where(state.c.key == LAST_PURGE_KEY).values(value=str(now)))
    else:
        conn.execute(state.insert().values(key=LAST_PURGE_KEY, value=str(now)))
    return result


def _delete_requests(conn: Connection, where: Any) -> int:
    ids = [r.id for r in conn.execute(sa.select(booking_requests.c.id).where(where))]
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        conn.execute(outbox.delete().where(outbox.c.request_id.in_(chunk)))
        conn.execute(booking_requests.delete().where(booking_requests.c.id.in_(chunk)))
    return len(ids)


def purge_bookings(conn: Connection, retention_days: int, now: Optional[float] = None) -> int:
    """Deletes booking requests (and their outbox rows) not updated for `retention_days` days."""
    now = time.time() if now is None else now
    cutoff = datetime.fromtimestamp(now - retention_days * DAY_S, timezone.utc)
    return _delete_requests(conn, booking_requests.c.updated_at < cutoff)


def _receiver_entries(path: Path) -> List[Dict[str, Any]]:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = saved.get("requests", []) if isinstance(saved, dict) else []
    return [e for e in entries if isinstance(e, dict)]


def _rewrite_receiver(path: Path, entries: List[Dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"requests": entries}, handle, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def purge_receiver_file(path: Path, cutoff: datetime) -> int:
    """Drops the demo receiver's entries received before `cutoff`; returns how many."""
    entries = _receiver_entries(path)
    kept = [e for e in entries if to_utc(e.get("received_at") or 0) >= cutoff]
    if len(kept) != len(entries):
        _rewrite_receiver(path, kept)
    return len(entries) - len(kept)


def purge_files(folder: Path, older_than: float) -> int:
    """Deletes files under `folder` last written before the UNIX time `older_than`."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
        except OSError as exc:
            logger.warning("could not delete %s (%s)", path.name, type(exc).__name__)
    return removed


def purge_all(engine: Engine, config: Settings, retention: Retention, now: Optional[float] = None
              ) -> Dict[str, Any]:
    """One purge of every store; see the module docstring.

    Returns:
        What was deleted, per store (counts only).
    """
    now = time.time() if now is None else now
    report: Dict[str, Any] = {}
    migrate.upgrade(engine)
    with engine.execution_options(bts_write=True).begin() as conn:
        if retention.conversation_days > 0:
            report["conversations"] = purge_conversations(conn, retention.conversation_days, now=now)
        if retention.booking_days > 0:
            report["booking_requests"] = purge_bookings(conn, retention.booking_days, now)
    if retention.booking_days > 0:
        cutoff = datetime.fromtimestamp(now - retention.booking_days * DAY_S, timezone.utc)
        spool = Spool(config.spool_file)
        report["spooled"] = spool.drop_older_than(cutoff)
        # Unreadable lines carry no date: the file goes once nothing was added for the period.
        report["spool_rejected"] = 0
        if spool.rejected_path.exists() and spool.rejected_path.stat().st_mtime < cutoff.timestamp():
            spool.rejected_path.unlink()
            report["spool_rejected"] = 1
        report["receiver"] = purge_receiver_file(retention.receiver_file, cutoff)
    if retention.log_days > 0:
        report["log_files"] = purge_files(retention.log_dir, now - retention.log_days * DAY_S)
    removed_rows = report.get("booking_requests", 0) + report.get("conversations", {}).get("events", 0)
    if removed_rows or report.get("conversations", {}).get("console_rows", 0):
        vacuum(engine)
    logger.info("retention purge: %s", json.dumps(report, sort_keys=True, default=str))
    return report


def delete_booking(engine: Engine, config: Settings, reference: str, actor: str = "cli",
                   receiver_file: Path = DEFAULT_RECEIVER_FILE) -> Dict[str, int]:
    """Erases one request on a patient's demand: database, spool and demo receiver.

    Args:
        engine: The project database.
        config: Where the spool is.
        reference: The reference as typed (`bts 7k2q` works).
        actor: Who asked, for the audit log.
        receiver_file: The demo receiver's file.

    Returns:
        Counts per store; all zero when nothing matched.

    Raises:
        ValueError: If the text cannot be a reference.
    """
    canonical = normalize_reference(reference)
    if canonical is None:
        raise ValueError(f"{reference!r} is not a booking reference such as BTS-7K2QM9XD")
    migrate.upgrade(engine)
    with engine.execution_options(bts_write=True).begin() as conn:
        removed = {"booking_requests": _delete_requests(conn, booking_requests.c.reference == canonical)}
        _record(conn, actor, "delete_booking", "booking", canonical, removed)
    spool = Spool(config.spool_file)
    removed["spooled"] = spool.drop_where(lambda record: record.get("reference") == canonical)
    entries = _receiver_entries(receiver_file)
    kept = [e for e in entries if (e.get("payload") or {}).get("reference") != canonical]
    if len(kept) != len(entries):
        _rewrite_receiver(receiver_file, kept)
    removed["receiver"] = len(entries) - len(kept)
    if removed["booking_requests"]:
        vacuum(engine)
    return removed


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m bts.retention", description=__doc__.split("\n", 1)[0]
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="purge once and exit")
    mode.add_argument("--loop", action="store_true", help="purge now and every BTS_RETENTION_INTERVAL_S")
    mode.add_argument("--delete-booking", metavar="REFERENCE", help="erase one booking request")
    argv = sys.argv[1:] if argv is None else argv
    # `delete-booking REF` reads better than the option it stands for.
    args = parser.parse_args(["--delete-booking", *argv[1:]] if argv[:1] == ["delete-booking"] else argv)
    try:
        config = Settings.from_env()
        retention = Retention.from_env()
    except envvars.SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(config.database_url)
    try:
        if args.delete_booking:
            try:
                removed = delete_booking(
                    engine, config, args.delete_booking, receiver_file=retention.receiver_file
                )
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(json.dumps(removed, sort_keys=True))
            return 0 if any(removed.values()) else 1
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while True:
            try:
                purge_all(engine, config, retention)
            except sa.exc.SQLAlchemyError as exc:
                logger.error("retention purge failed (%s); next try in %.0f s", type(exc).__name__,
                             retention.interval_s)
                if args.once:
                    return 1
            if args.once or stop.wait(retention.interval_s):
                return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
