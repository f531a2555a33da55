"""The console's audit log as a hash chain: an edited, inserted or deleted entry shows.

Each entry stores `entry_hash` = sha256(previous entry's hash + the entry's own fields). Triggers
keep the applications from changing the log, but an owner of the database can drop them;
`verify` then still finds where the chain breaks. Entries written before the chain existed
(`entry_hash` NULL at the start of the log) are reported as unchained, not as tampered.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bts.db.schema import audit

GENESIS = "0" * 64
# Serialises appends on PostgreSQL, so two entries never chain to the same predecessor.
PG_LOCK_ID = 0x42545341
FIELDS = ("ts", "username", "role", "action", "target_type", "target_id", "detail", "ip")


def entry_hash(previous: str, entry: Mapping[str, Any]) -> str:
    """The hash of one entry, chained to the previous entry's hash."""
    values = [repr(float(entry["ts"]))] + [entry.get(name) for name in FIELDS[1:]]
    content = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{content}".encode()).hexdigest()


def _last_hash(conn: Connection) -> str:
    last = conn.execute(
        sa.select(audit.c.entry_hash).where(audit.c.entry_hash.is_not(None)).order_by(audit.c.id.desc()).limit(1)
    ).scalar()
    return last or GENESIS


def append(conn: Connection, **entry: Any) -> None:
    """Appends one entry (inside the caller's transaction) with its chained hash.

    Args:
        conn: A connection in a transaction; on SQLite it should be a write transaction already.
        **entry: `ts`, `username`, `role`, `action`, `target_type`, `target_id`, `detail`, `ip`.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_ID})")
    values = {name: entry.get(name) for name in FIELDS}
    conn.execute(audit.insert().values(**values, entry_hash=entry_hash(_last_hash(conn), values)))


@dataclass
class Verification:
    """What `verify` found.

    Attributes:
        checked: Chained entries whose hash matched.
        unchained: Entries at the start of the log written before the chain existed.
        broken_at: Ids of entries whose hash does not match (edited, or after a deleted or
            inserted entry); empty when the log is intact.
    """

    checked: int = 0
    unchained: int = 0
    broken_at: List[int] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when no entry breaks the chain."""
        return not self.broken_at


def verify(conn: Connection, anchor: Optional[str] = None) -> Verification:
    """Walks the log in id order and recomputes every hash.

    Args:
        conn: A connection.
        anchor: A hash noted earlier (e.g. printed by `python -m bts.db verify-audit`); if given,
            it must still be in the chain, which shows the deletion of the newest entries too.

    Returns:
        The result.
    """
    result = Verification()
    previous: Optional[str] = None
    seen_anchor = anchor is None
    for row in conn.execute(sa.select(audit).order_by(audit.c.id)).mappings():
        if row["entry_hash"] is None and previous is None:
            result.unchained += 1
            continue
        expected = entry_hash(previous or GENESIS, row)
        if row["entry_hash"] != expected:
            result.broken_at.append(row["id"])
        else:
            result.checked += 1
        previous = row["entry_hash"] or expected
        seen_anchor = seen_anchor or row["entry_hash"] == anchor
    if not seen_anchor:
        result.broken_at.append(-1)
    return result
