"""Database access: the engine, and queries grouped by resource (one module each)."""

from __future__ import annotations

import time
from typing import Dict, Tuple

import sqlalchemy as sa
from bts.db import engine as bts_engine

_TABLES_TTL_S = 30.0
_tables_cache: Dict[int, Tuple[float, frozenset]] = {}


def make_engine(url: str) -> sa.engine.Engine:
    """Creates the engine the way every project engine is made (`bts.db.engine`)."""
    return bts_engine.make_engine(url)


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
