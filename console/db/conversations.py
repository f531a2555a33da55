"""Conversation list (filters, search, sorting, counts), review state, tags and notes."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa

from console.db.schema import booking_requests, conversations, messages, nlu_labels, notes, tags

FLAGS = {
    "fallback": conversations.c.has_fallback,
    "red_flag": conversations.c.has_red_flag,
    "booking": conversations.c.booking_reference.is_not(None),
    "handoff": conversations.c.handoff_reference.is_not(None),
    "low_confidence": conversations.c.has_low_confidence,
    "reviewed": conversations.c.reviewed_at.is_not(None),
}
FLAG_LABELS = {
    "fallback": "Fallback",
    "red_flag": "Red flag",
    "booking": "Booking made",
    "handoff": "Handoff",
    "low_confidence": "Low confidence",
    "reviewed": "Reviewed",
}
SORTS = {
    "recent": (conversations.c.last_ts.desc(),),
    "oldest": (conversations.c.last_ts.asc(),),
    "started": (conversations.c.first_ts.desc(),),
    "messages": (conversations.c.n_user.desc(), conversations.c.last_ts.desc()),
    "confidence": (conversations.c.min_confidence.asc(), conversations.c.last_ts.desc()),
}
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,39}$")
MAX_TERMS = 8


@dataclass
class Query:
    """What the list shows: every field comes from the query string and is validated."""

    start: Optional[float] = None  # UNIX seconds, inclusive
    end: Optional[float] = None  # exclusive
    q: str = ""
    flags: Dict[str, bool] = field(default_factory=dict)  # flag -> wanted value (yes / no)
    tag: str = ""
    sort: str = "recent"
    page: int = 1
    page_size: int = 50


def normalize_tag(raw: str) -> Optional[str]:
    """A tag as stored (lower case, trimmed), or None if it is not a valid tag."""
    tag = " ".join((raw or "").strip().lower().split())
    return tag if TAG_RE.match(tag) else None


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_terms(q: str) -> List[str]:
    return [t for t in (q or "").lower().split() if t][:MAX_TERMS]


def _base_conditions(query: Query) -> List[Any]:
    where: List[Any] = []
    if query.start is not None:
        where.append(conversations.c.last_ts >= query.start)
    if query.end is not None:
        where.append(conversations.c.first_ts < query.end)
    for term in search_terms(query.q):
        where.append(
            sa.exists().where(
                messages.c.conversation_id == conversations.c.id,
                sa.func.lower(messages.c.text).like(f"%{_like_escape(term)}%", escape="\\"),
            )
        )
    return where


def _filter_conditions(query: Query) -> List[Any]:
    where = []
    for name, wanted in query.flags.items():
        column = FLAGS[name]
        where.append(column if wanted else sa.not_(column))
    if query.tag:
        where.append(sa.exists().where(tags.c.conversation_id == conversations.c.id, tags.c.tag == query.tag))
    return where


def list_page(conn: sa.Connection, query: Query) -> Tuple[List[Dict[str, Any]], int]:
    """One page of conversations and the number that match."""
    where = _base_conditions(query) + _filter_conditions(query)
    total = conn.execute(sa.select(sa.func.count()).select_from(conversations).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(conversations)
        .where(*where)
        .order_by(*SORTS.get(query.sort, SORTS["recent"]))
        .limit(query.page_size)
        .offset((query.page - 1) * query.page_size)
    ).all()
    items = [dict(r._mapping) for r in rows]
    ids = [i["id"] for i in items]
    by_id: Dict[int, List[str]] = {i: [] for i in ids}
    if ids:
        for r in conn.execute(
            sa.select(tags.c.conversation_id, tags.c.tag)
            .where(tags.c.conversation_id.in_(ids))
            .order_by(tags.c.tag)
        ):
            by_id[r.conversation_id].append(r.tag)
    for item in items:
        item["tags"] = by_id.get(item["id"], [])
    return items, total


def facet_counts(conn: sa.Connection, query: Query) -> Dict[str, int]:
    """For the date range and search only: how many conversations carry each flag, and in all."""
    columns = [sa.func.count().label("all")]
    columns += [sa.func.coalesce(sa.func.sum(sa.case((c, 1), else_=0)), 0).label(n) for n, c in FLAGS.items()]
    row = conn.execute(sa.select(*columns).select_from(conversations).where(*_base_conditions(query))).one()
    return {k: int(v or 0) for k, v in row._mapping.items()}


def all_tags(conn: sa.Connection) -> List[Tuple[str, int]]:
    return [
        (r.tag, r.n)
        for r in conn.execute(
            sa.select(tags.c.tag, sa.func.count().label("n")).group_by(tags.c.tag).order_by(tags.c.tag)
        )
    ]


def get(conn: sa.Connection, conversation_id: int) -> Optional[Dict[str, Any]]:
    row = conn.execute(sa.select(conversations).where(conversations.c.id == conversation_id)).first()
    return dict(row._mapping) if row else None


def by_sender(conn: sa.Connection, sender_ids: List[str]) -> Dict[str, int]:
    """Console ids of the given Rasa sender ids (those indexed)."""
    out: Dict[str, int] = {}
    ids = [s for s in set(sender_ids) if s]
    for i in range(0, len(ids), 500):
        for r in conn.execute(
            sa.select(conversations.c.id, conversations.c.sender_id).where(
                conversations.c.sender_id.in_(ids[i : i + 500])
            )
        ):
            out[r.sender_id] = r.id
    return out


def tags_of(conn: sa.Connection, conversation_id: int) -> List[str]:
    return [
        r.tag
        for r in conn.execute(
            sa.select(tags.c.tag).where(tags.c.conversation_id == conversation_id).order_by(tags.c.tag)
        )
    ]


def notes_of(conn: sa.Connection, conversation_id: int) -> List[Dict[str, Any]]:
    return [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(notes).where(notes.c.conversation_id == conversation_id).order_by(notes.c.id)
        )
    ]


def set_reviewed(conn: sa.Connection, conversation_id: int, username: Optional[str]) -> None:
    conn.execute(
        conversations.update()
        .where(conversations.c.id == conversation_id)
        .values(
            reviewed_at=time.time() if username else None,
            reviewed_by=username,
        )
    )


def add_tag(conn: sa.Connection, conversation_id: int, tag: str, username: str) -> bool:
    exists = conn.execute(
        sa.select(tags.c.id).where(tags.c.conversation_id == conversation_id, tags.c.tag == tag)
    ).first()
    if exists:
        return False
    conn.execute(
        tags.insert().values(
            conversation_id=conversation_id, tag=tag, created_by=username, created_at=time.time()
        )
    )
    return True


def remove_tag(conn: sa.Connection, conversation_id: int, tag: str) -> bool:
    result = conn.execute(tags.delete().where(tags.c.conversation_id == conversation_id, tags.c.tag == tag))
    return result.rowcount > 0


def add_note(conn: sa.Connection, conversation_id: int, body: str, username: str) -> None:
    conn.execute(
        notes.insert().values(
            conversation_id=conversation_id, body=body, author=username, created_at=time.time()
        )
    )


def labels_of(conn: sa.Connection, conversation_id: int) -> Dict[int, Dict[str, Any]]:
    return {
        r.event_id: dict(r._mapping)
        for r in conn.execute(sa.select(nlu_labels).where(nlu_labels.c.conversation_id == conversation_id))
    }


def bookings_of(
    conn: sa.Connection, sender_id: str, references: List[str], has_bookings: bool
) -> List[Dict[str, Any]]:
    """Booking requests made in a conversation (by conversation id or a reference slot)."""
    if not has_bookings:
        return []
    cond = booking_requests.c.conversation_id == sender_id
    refs = [r for r in references if r]
    if refs:
        cond = sa.or_(cond, booking_requests.c.reference.in_(refs))
    return [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(
                booking_requests.c.id,
                booking_requests.c.reference,
                booking_requests.c.kind,
                booking_requests.c.status,
            )
            .where(cond)
            .order_by(booking_requests.c.id)
        )
    ]
