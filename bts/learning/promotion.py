"""Which model is live: a pointer file the model server reads, with the models it replaced.

`var/learning/live.json` holds `{"live": {...}, "history": [...]}`; each entry names a model file
and its fingerprint. Without a pointer the live model is the project's own (`models/`). The
file is replaced atomically, so the model server never reads half a pointer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from bts.learning.workspace import ROOT

POINTER = "live.json"
MODEL_PREFIX = "bts-"


def project_model(root: Path = ROOT) -> Optional[Path]:
    """The newest trained model of the project (`make train`), if any."""
    models = sorted((root / "models").glob(f"{MODEL_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def fingerprint(model: Path) -> str:
    """SHA-256 of the model file: Rasa sends it back as If-None-Match."""
    digest = hashlib.sha256()
    with model.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def _entry(model: Path, run_id: Optional[str], by: str) -> Dict[str, Any]:
    return {
        "model": str(model),
        "fingerprint": fingerprint(model),
        "run": run_id,
        "by": by,
        "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def read(base: Path) -> Dict[str, Any]:
    """The pointer: `live` (None before the first promotion) and `history`."""
    try:
        state = json.loads((base / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"live": None, "history": []}
    return state if isinstance(state, dict) else {"live": None, "history": []}


def _write(base: Path, state: Dict[str, Any]) -> None:
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / (POINTER + ".tmp")
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    os.replace(tmp, base / POINTER)


def live(base: Path, root: Path = ROOT) -> Optional[Dict[str, Any]]:
    """The live model entry: the promoted one, else the project's model (no `run`)."""
    entry = read(base).get("live")
    if entry and Path(entry["model"]).is_file():
        return dict(entry)
    model = project_model(root)
    return (
        None
        if model is None
        else {"model": str(model), "fingerprint": fingerprint(model), "run": None, "by": None, "at": None}
    )


def promote(base: Path, model: Path, run_id: str, by: str, root: Path = ROOT) -> Dict[str, Any]:
    """Makes `model` live; the model it replaces goes on the history, for a rollback."""
    if not model.is_file():
        raise FileNotFoundError(f"no model at {model}")
    state = read(base)
    previous = live(base, root)
    history: List[Dict[str, Any]] = list(state.get("history") or [])
    if previous is not None:
        history.append(previous)
    state = {"live": _entry(model, run_id, by), "history": history[-20:]}
    _write(base, state)
    return state


def rollback(base: Path, by: str) -> Dict[str, Any]:
    """Restores the model that was live before the current one.

    Raises:
        LookupError: If there is nothing to go back to.
    """
    state = read(base)
    history: List[Dict[str, Any]] = list(state.get("history") or [])
    while history:
        previous = history.pop()
        if Path(previous["model"]).is_file():
            restored = dict(
                previous, by=by, at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            )
            state = {"live": restored, "history": history}
            _write(base, state)
            return state
    raise LookupError("no earlier model to roll back to")
