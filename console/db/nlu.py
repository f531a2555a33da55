"""The NLU inbox: misunderstood patient messages, and the intents staff say they meant."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
import yaml

from console.db.indexer import parse_data, storable
from console.db.schema import events, messages, nlu_labels

EXCLUDED_INTENTS = {"nlu_fallback"}


def _sources(project_root: Path) -> List[Path]:
    data = project_root / "data"
    return [project_root / "domain.yml"] + (sorted(data.rglob("*.yml")) if data.is_dir() else [])


def intent_choices(project_root: Path) -> List[str]:
    """Intents staff can pick: the domain's, plus each FAQ sub-intent (`faq/what_is_sciatica`).

    Read from domain.yml and data/ (cached until one of the files changes).
    """
    files = _sources(project_root)
    key = tuple((str(p), p.stat().st_mtime_ns) for p in files if p.exists())
    return list(_intent_choices(project_root, key))


@functools.lru_cache(maxsize=4)
def _intent_choices(project_root: Path, _key: tuple) -> Tuple[str, ...]:
    names: List[str] = []
    try:
        domain = yaml.safe_load((project_root / "domain.yml").read_text(encoding="utf-8")) or {}
        for item in domain.get("intents") or []:
            name = item if isinstance(item, str) else next(iter(item), None)
            if name and name not in EXCLUDED_INTENTS:
                names.append(str(name))
    except (OSError, yaml.YAMLError):
        pass
    for path in _sources(project_root)[1:]:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(doc, dict):
            continue
        for key in doc.get("responses") or {}:
            if str(key).startswith("utter_") and "/" in str(key):
                names.append(str(key)[len("utter_") :])
        for block in doc.get("nlu") or []:
            if isinstance(block, dict) and block.get("intent"):
                names.append(str(block["intent"]))
    return tuple(sorted(set(names)))


def inbox(
    conn: sa.Connection, status: str = "open", page: int = 1, page_size: int = 50
) -> Tuple[List[Dict[str, Any]], int]:
    """Misunderstood messages (fallback or low confidence) by status: open, labelled, dismissed."""
    j = messages.outerjoin(nlu_labels, nlu_labels.c.event_id == messages.c.event_id)
    if status == "open":
        where = [messages.c.is_low_confidence, nlu_labels.c.event_id.is_(None)]
    else:
        where = [nlu_labels.c.status == status]
    total = conn.execute(sa.select(sa.func.count()).select_from(j).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(
            messages,
            nlu_labels.c.intent.label("label_intent"),
            nlu_labels.c.status.label("label_status"),
            nlu_labels.c.labelled_by,
            nlu_labels.c.labelled_at,
        )
        .select_from(j)
        .where(*where)
        .order_by(messages.c.ts.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return [dict(r._mapping) for r in rows], total


def message(conn: sa.Connection, event_id: int) -> Optional[Dict[str, Any]]:
    row = conn.execute(sa.select(messages).where(messages.c.event_id == event_id)).first()
    return dict(row._mapping) if row else None


def _patient_text(conn: sa.Connection, msg: Dict[str, Any]) -> str:
    """What the patient typed (the index holds it masked); the exports de-identify it."""
    raw = conn.execute(sa.select(events.c.data).where(events.c.id == msg["event_id"])).scalar()
    return storable(str(parse_data(raw).get("text") or msg["text"])) if raw else msg["text"]


def label(conn: sa.Connection, msg: Dict[str, Any], intent: Optional[str], username: str) -> None:
    """Records the correct intent (or a dismissal when `intent` is None), replacing any earlier one."""
    conn.execute(nlu_labels.delete().where(nlu_labels.c.event_id == msg["event_id"]))
    conn.execute(
        nlu_labels.insert().values(
            event_id=msg["event_id"],
            conversation_id=msg["conversation_id"],
            text=_patient_text(conn, msg),
            predicted_intent=msg["intent"],
            intent=intent,
            status="labelled" if intent else "dismissed",
            labelled_by=username,
            labelled_at=time.time(),
        )
    )


def reset(conn: sa.Connection, event_id: int) -> None:
    conn.execute(nlu_labels.delete().where(nlu_labels.c.event_id == event_id))


def labelled_examples(conn: sa.Connection) -> Dict[str, List[str]]:
    """Intent -> distinct example texts, for the export."""
    out: Dict[str, List[str]] = {}
    for r in conn.execute(
        sa.select(nlu_labels.c.intent, nlu_labels.c.text)
        .where(nlu_labels.c.status == "labelled")
        .order_by(nlu_labels.c.intent, nlu_labels.c.event_id)
    ):
        text = " ".join(r.text.split())
        if text and text not in out.setdefault(r.intent, []):
            out[r.intent].append(text)
    return out


def conversation_ids(conn: sa.Connection, event_ids: List[int]) -> Dict[int, int]:
    return {
        r.event_id: r.conversation_id
        for r in conn.execute(
            sa.select(messages.c.event_id, messages.c.conversation_id).where(
                messages.c.event_id.in_(event_ids)
            )
        )
    }
