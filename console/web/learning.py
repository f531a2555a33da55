"""The learning loop in the console: confirm de-identified corrections, train, gate, promote.

Staff review and confirm candidates; only admins train, promote and roll back. Training runs as a
separate low-priority process in the Rasa environment (`bts.learning.job`), so the console and
the assistant keep answering while it works.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from bts.learning import gates, promotion, workspace
from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from console.db import candidates as cand_db
from console.db import nlu as nlu_db
from console.web import admin_only, audit, engine, settings

bp = Blueprint("learning", __name__)
QUEUED_S = 300

MESSAGES = {
    "confirmed": "Confirmed: this text can now be used for training.",
    "saved": "Draft saved.",
    "deleted": "Candidate deleted.",
    "empty": "The text is empty: nothing was changed.",
    "too_long": "The text is longer than 1,000 characters: nothing was changed.",
    "bad_label": "Pick an intent from the list: nothing was changed.",
    "bad_language": "Pick English or Spanish: nothing was changed.",
    "started": "Training started. This page shows its progress.",
    "busy": "A training is already running: wait for it to finish.",
    "nothing": "No confirmed corrections yet: confirm some before training.",
    "promoted": "Promoted: the assistant loads this model within a minute, without dropping conversations.",
    "refused": "Promotion refused: the candidate did not pass every gate.",
    "rolled_back": "Rolled back: the assistant loads the previous model within a minute.",
    "no_rollback": "There is no earlier model to roll back to.",
}


def base_dir() -> Path:
    """The learning folder (`LEARNING_DIR` in the app config, else `BTS_LEARNING_DIR`/var/learning)."""
    configured = current_app.config.get("LEARNING_DIR")
    return Path(configured) if configured else workspace.learning_dir(settings().project_root)


def launch(run: Path, root: Path) -> None:
    """Starts the training job in the Rasa environment, at the lowest CPU priority, detached."""
    python = os.environ.get("BTS_RASA_PYTHON") or str(root / ".venv" / "bin" / "python")
    env = dict(os.environ, PYTHONPATH=str(root))
    subprocess.Popen(
        ["nice", "-n", "19", python, "-m", "bts.learning.job", str(run)],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, OSError):
        return False
    return True


def _busy(base: Path) -> bool:
    for run in workspace.runs(base)[:5]:
        st = workspace.status(run)
        if st.get("state") == "running" and _alive(st.get("pid")):
            return True
        # A job that never started (no Rasa environment, say) must not block training for good.
        if st.get("state") == "queued" and time.time() - (run / "status.json").stat().st_mtime < QUEUED_S:
            return True
    return False


def _run_dir(run_id: str) -> Path:
    if not workspace.valid_run_id(run_id):
        abort(404)
    run = base_dir() / run_id
    if not (run / "status.json").is_file():
        abort(404)
    return run


def _summary(run: Path) -> Dict[str, Any]:
    st = workspace.status(run)
    rep = workspace.report(run)
    return {"id": run.name, "status": st, "failed": gates.failed_gates(rep) if rep else None}


def _back(msg: str, run_id: Optional[str] = None) -> Any:
    if run_id:
        return redirect(url_for("learning.run_view", run_id=run_id, msg=msg))
    return redirect(url_for("learning.page", msg=msg))


@bp.get("/learning")
def page() -> Any:
    base = base_dir()
    with engine().begin() as conn:
        pending = cand_db.listing(conn, "pending")
        confirmed = cand_db.listing(conn, "confirmed")
        audit(conn, "view_learning", None, None, {"pending": len(pending), "confirmed": len(confirmed)})
    runs: List[Dict[str, Any]] = [_summary(r) for r in workspace.runs(base)[:20]]
    state = promotion.read(base)
    return render_template(
        "learning/index.html",
        pending=pending,
        confirmed=confirmed,
        intents=nlu_db.intent_choices(settings().project_root),
        languages=cand_db.LANGUAGES,
        runs=runs,
        live=promotion.live(base, settings().project_root),
        can_roll_back=bool(state.get("history")),
        busy=_busy(base),
        message=MESSAGES.get(request.args.get("msg", "")),
    )


@bp.post("/learning/candidates/<int:candidate_id>")
def edit(candidate_id: int) -> Any:
    """Saves the edited de-identified text as a draft, or confirms it (`action=confirm`)."""
    text, error = cand_db.check_text(request.form.get("text", ""))
    label = request.form.get("label", "")
    language = request.form.get("language", "")
    if error:
        return _back(error)
    if label not in nlu_db.intent_choices(settings().project_root):
        return _back("bad_label")
    if language not in cand_db.LANGUAGES:
        return _back("bad_language")
    confirming = request.form.get("action") == "confirm"
    with engine().begin() as conn:
        cand = cand_db.get(conn, candidate_id)
        if cand is None:
            abort(404)
        if confirming:
            cand_db.confirm(conn, candidate_id, text, label, language, g.user["username"])
        else:
            cand_db.save_draft(conn, candidate_id, text, label, language)
        edited = text != cand["deid_text"]
        audit(
            conn,
            "candidate_confirm" if confirming else "candidate_edit",
            "candidate",
            candidate_id,
            {"label": label, "language": language, "text_edited": edited},
        )
    return _back("confirmed" if confirming else "saved")


@bp.post("/learning/candidates/<int:candidate_id>/delete")
def delete(candidate_id: int) -> Any:
    with engine().begin() as conn:
        if cand_db.get(conn, candidate_id) is None:
            abort(404)
        cand_db.delete(conn, candidate_id)
        audit(conn, "candidate_delete", "candidate", candidate_id)
    return _back("deleted")


@bp.post("/learning/train")
@admin_only
def train() -> Any:
    base = base_dir()
    if _busy(base):
        return _back("busy")
    with engine().begin() as conn:
        examples = cand_db.training_examples(conn)
        if not examples:
            return _back("nothing")
        base.mkdir(parents=True, exist_ok=True)
        run = workspace.write_candidate(base, examples, g.user["username"])
        audit(conn, "learning_train", "candidate_model", run.name, {"examples": len(examples)})
    current_app.extensions.get("learning_launcher", launch)(run, settings().project_root)
    return _back("started", run.name)


@bp.get("/learning/runs/<run_id>")
def run_view(run_id: str) -> Any:
    run = _run_dir(run_id)
    st = workspace.status(run)
    rep = workspace.report(run)
    if rep and not st.get("gates_audited"):
        with engine().begin() as conn:
            audit(
                conn,
                "learning_gates",
                "candidate_model",
                run_id,
                {
                    "passed": bool(rep.get("passed")),
                    "gates": {k: bool(v.get("passed")) for k, v in (rep.get("gates") or {}).items()},
                },
            )
        st = workspace.write_status(run, gates_audited=True)
    return render_template(
        "learning/run.html",
        run_id=run_id,
        status=st,
        report=rep,
        failed=gates.failed_gates(rep) if rep else None,
        log=workspace.log_tail(run),
        live=promotion.live(base_dir(), settings().project_root),
        model_exists=workspace.model_path(run).is_file(),
        message=MESSAGES.get(request.args.get("msg", "")),
    )


@bp.post("/learning/runs/<run_id>/promote")
@admin_only
def promote(run_id: str) -> Any:
    run = _run_dir(run_id)
    rep = workspace.report(run)
    failed = gates.failed_gates(rep)
    done = workspace.status(run).get("state") == "done"
    with engine().begin() as conn:
        if failed or not done or not workspace.model_path(run).is_file():
            audit(
                conn,
                "learning_promote_refused",
                "candidate_model",
                run_id,
                {"failed_gates": failed, "finished": done},
            )
            return _back("refused", run_id)
        state = promotion.promote(
            base_dir(), workspace.model_path(run), run_id, g.user["username"], settings().project_root
        )
        audit(
            conn,
            "learning_promote",
            "candidate_model",
            run_id,
            {
                "fingerprint": state["live"]["fingerprint"],
                "gates": {k: bool(v.get("passed")) for k, v in rep["gates"].items()},
            },
        )
    return _back("promoted", run_id)


@bp.post("/learning/rollback")
@admin_only
def rollback() -> Any:
    with engine().begin() as conn:
        try:
            state = promotion.rollback(base_dir(), g.user["username"])
        except LookupError:
            return _back("no_rollback")
        live = state["live"]
        audit(
            conn,
            "learning_rollback",
            "candidate_model",
            live.get("run") or "project",
            {"fingerprint": live["fingerprint"], "model": Path(live["model"]).name},
        )
    return _back("rolled_back")
