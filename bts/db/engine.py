"""Engines for the project database: parameters hidden from errors, private files on SQLite.

Every engine the project creates comes from here, so that no SQL error message carries patient
data (`hide_parameters`) and deleted rows do not linger in SQLite's free pages (`secure_delete`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 5000
PG_CONNECT_TIMEOUT_S = 3
# Only the account that runs the services may read patient data.
DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's companion files, which hold the same data as the database itself.
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def sqlite_path(url: Union[str, URL]) -> Optional[Path]:
    """The file of a SQLite URL, or None for another database or an in-memory one."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def private_dir(path: Path) -> None:
    """Creates a folder readable by its owner only (an existing one is tightened too)."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    with contextlib.suppress(OSError):
        os.chmod(path, DIR_MODE)


def private_files(database: Path) -> None:
    """Makes a SQLite file and its WAL/shared-memory/journal files readable by their owner only."""
    for suffix in SQLITE_SUFFIXES:
        with contextlib.suppress(OSError):
            os.chmod(f"{database}{suffix}", FILE_MODE)


def _prepare_sqlite_file(database: Path) -> None:
    with contextlib.suppress(OSError):
        private_dir(database.parent)
        # Created empty with mode 0600 before SQLite opens it with the process umask.
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, FILE_MODE))


def make_engine(url: Union[str, URL], **kwargs: Any) -> Engine:
    """Creates an engine for the project database.

    SQLite files get WAL mode (readers and one writer at the same time, across processes), a
    busy timeout, foreign keys, full fsync, `secure_delete`, mode 0600 in a 0700 folder, and
    `BEGIN IMMEDIATE` for connections with the execution option `bts_write`, so that concurrent
    writers queue instead of failing. PostgreSQL connections time out after a few seconds so that
    an unreachable server cannot hold up a chat.

    Args:
        url: SQLAlchemy database URL.
        **kwargs: More `create_engine` arguments (e.g. Rasa's pool sizes).

    Returns:
        The engine; no connection is made yet.

    Raises:
        sqlalchemy.exc.ArgumentError: If the URL is malformed or names an unknown driver.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; both environments have psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    options: Dict[str, Any] = {"future": True, **kwargs, "hide_parameters": True}
    if parsed.get_backend_name() != "sqlite":
        connect_args = dict(options.pop("connect_args", {}))
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", ""):
            connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        options.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, connect_args=connect_args, **options)
    database = sqlite_path(parsed)
    if database is not None:
        _prepare_sqlite_file(database)
    options.setdefault(
        "connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )
    engine = sa.create_engine(parsed, **options)

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            with contextlib.suppress(Exception):  # another process may hold it; WAL persists
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Deleted rows are overwritten with zeros instead of staying in free pages.
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()
        if database is not None:
            private_files(database)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("bts_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def vacuum(engine: Engine) -> None:
    """Gives free pages back and rewrites the file, after a purge (SQLite and PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
