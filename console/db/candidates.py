"""Candidate training examples: staff corrections, de-identified, confirmed by a person.

A correction keeps the patient's own words only until someone confirms the de-identified text;
confirming clears them, and only confirmed de-identified text leaves for training
(`bts.learning.workspace`).
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from bts.deid import deidentify

from console.db.schema import candidates, conversations, events, nlu_labels

STATUSES = ("pending", "confirmed")
LANGUAGES = ("en", "es")
MAX_TEXT = 1000
# The domain's slots that hold who the patient is (domain.yml).
PERSONAL_SLOTS = (
    "booking_name",
    "booking_phone",
    "booking_email",
    "callback_name",
    "callback_phone",
    "change_name",
    "change_phone",
    "booking_reference",
    "change_reference",
    "handoff_reference",
)


def conversation_language(conn: sa.Connection, conversation_id: Optional[int], event_id: int) -> str:
    """The conversation's `language` slot when the message was sent (`en` if never set)."""
    if conversation_id is None:
        return "en"
    sender = conn.execute(
        sa.select(conversations.c.sender_id).where(conversations.c.id == conversation_id)
    ).scalar()
    row = conn.execute(
        sa.select(events.c.data)
        .where(
            events.c.sender_id == sender,
            events.c.type_name == "slot",
            events.c.action_name == "language",
            events.c.id < event_id,
        )
        .order_by(events.c.id.desc())
        .limit(1)
    ).scalar()
    try:
        value = json.loads(row).get("value") if row else None
    except ValueError:
        value = None
    return value if value in LANGUAGES else "en"


def _known_values(conn: sa.Connection, conversation_id: Optional[int]) -> List[str]:
    """Slot values the conversation holds about the patient (name, phone, e-mail), to replace."""
    if conversation_id is None:
        return []
    sender = conn.execute(
        sa.select(conversations.c.sender_id).where(conversations.c.id == conversation_id)
    ).scalar()
    rows = conn.execute(
        sa.select(events.c.data).where(
            events.c.sender_id == sender,
            events.c.type_name == "slot",
            events.c.action_name.in_(PERSONAL_SLOTS),
        )
    ).scalars()
    values = []
    for raw in rows:
        try:
            value = json.loads(raw).get("value")
        except (TypeError, ValueError):
            continue
        if isinstance(value, str):
            values.append(value)
    return values


def from_label(
    conn: sa.Connection,
    msg: Dict[str, Any],
    label: Optional[str],
    username: str,
    source: str = "nlu_inbox",
) -> None:
    """Makes (or replaces) the candidate of a message labelled in `console_nlu_labels`.

    A dismissal (`label` None) removes it.
    """
    conn.execute(candidates.delete().where(candidates.c.event_id == msg["event_id"]))
    original = conn.execute(
        sa.select(nlu_labels.c.text).where(nlu_labels.c.event_id == msg["event_id"])
    ).scalar()
    if not label or not original:
        return
    conv = msg.get("conversation_id")
    conn.execute(
        candidates.insert().values(
            event_id=msg["event_id"],
            conversation_id=conv,
            source=source,
            label=label,
            language=conversation_language(conn, conv, msg["event_id"]),
            original_text=original,
            deid_text=deidentify(original, _known_values(conn, conv))[:MAX_TEXT],
            status="pending",
            labelled_by=username,
            labelled_at=time.time(),
        )
    )


def remove_for_message(conn: sa.Connection, event_id: int) -> None:
    conn.execute(candidates.delete().where(candidates.c.event_id == event_id))


def listing(conn: sa.Connection, status: str) -> List[Dict[str, Any]]:
    rows = conn.execute(
        sa.select(candidates).where(candidates.c.status == status).order_by(candidates.c.labelled_at.desc())
    ).all()
    return [dict(r._mapping) for r in rows]


def counts(conn: sa.Connection) -> Dict[str, int]:
    rows = conn.execute(sa.select(candidates.c.status, sa.func.count()).group_by(candidates.c.status))
    out = {s: 0 for s in STATUSES}
    out.update({r[0]: r[1] for r in rows})
    return out


def get(conn: sa.Connection, candidate_id: int) -> Optional[Dict[str, Any]]:
    row = conn.execute(sa.select(candidates).where(candidates.c.id == candidate_id)).first()
    return dict(row._mapping) if row else None


def check_text(text: str) -> Tuple[str, Optional[str]]:
    """Normalised text and an error message (None when it is fine)."""
    text = " ".join(text.split())
    if not text:
        return text, "empty"
    if len(text) > MAX_TEXT:
        return text, "too_long"
    return text, None


def confirm(
    conn: sa.Connection, candidate_id: int, text: str, label: str, language: str, username: str
) -> None:
    """Stores the text a person checked as de-identified and forgets the patient's own words."""
    conn.execute(
        candidates.update()
        .where(candidates.c.id == candidate_id)
        .values(
            deid_text=text,
            label=label,
            language=language,
            status="confirmed",
            original_text=None,
            confirmed_by=username,
            confirmed_at=time.time(),
        )
    )


def save_draft(conn: sa.Connection, candidate_id: int, text: str, label: str, language: str) -> None:
    conn.execute(
        candidates.update()
        .where(candidates.c.id == candidate_id, candidates.c.status == "pending")
        .values(deid_text=text, label=label, language=language)
    )


def delete(conn: sa.Connection, candidate_id: int) -> None:
    conn.execute(candidates.delete().where(candidates.c.id == candidate_id))


def training_examples(conn: sa.Connection) -> List[Dict[str, Any]]:
    """Confirmed candidates only, as the training file and the gates take them."""
    rows = conn.execute(
        sa.select(candidates.c.id, candidates.c.label, candidates.c.deid_text, candidates.c.language)
        .where(candidates.c.status == "confirmed")
        .order_by(candidates.c.id)
    )
    return [{"id": r.id, "label": r.label, "text": r.deid_text, "language": r.language} for r in rows]
