"""Database access: the engine, and queries grouped by resource (one module each)."""

from __future__ import annotations

import time
from typing import Any, Dict, Tuple

import sqlalchemy as sa
from sqlalchemy import event

_TABLES_TTL_S = 30.0
_tables_cache: Dict[int, Tuple[float, frozenset]] = {}


def make_engine(url: str) -> sa.engine.Engine:
    """Creates the engine. SQL parameters are hidden from error messages (they hold PHI)."""
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; this environment has psycopg2,
    # as Rasa's has, so one URL works for both.
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    kwargs: dict = {"hide_parameters": True, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 10, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            # Rasa, the action server and the console share the file (docs/data-model.md).
            cursor.execute("PRAGMA busy_timeout = 10000")
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except Exception:  # noqa: BLE001 - another process holds it; WAL is persistent anyway
                pass
            cursor.close()

    return engine


def existing_tables(engine: sa.engine.Engine, refresh: bool = False) -> frozenset:
    """Names of the tables in the database (cached briefly: Rasa creates `events` on first use)."""
    now = time.monotonic()
    cached = _tables_cache.get(id(engine))
    if cached and not refresh and now - cached[0] < _TABLES_TTL_S:
        return cached[1]
    names = frozenset(sa.inspect(engine).get_table_names())
    _tables_cache[id(engine)] = (now, names)
    return names


def has_table(engine: sa.engine.Engine, name: str) -> bool:
    """True if `name` exists (re-checked when it was missing last time)."""
    if name in existing_tables(engine):
        return True
    return name in existing_tables(engine, refresh=True)
