"""The NLU inbox: pick the intent a misunderstood message meant; export as Rasa NLU YAML."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from console import exports, security
from console.db import candidates as learning_db
from console.db import nlu as nlu_db
from console.web import admin_only, audit, audit_list, engine, settings, wants_page
from console.web.common import message, refresh_index

bp = Blueprint("nlu", __name__)
STATUSES = ("open", "labelled", "dismissed")


def _redirect_back(msg: str) -> BaseResponse:
    target = security.safe_next(request.form.get("next"), "")
    if target:
        sep = "&" if "?" in target else "?"
        return redirect(f"{target}{sep}msg={msg}")
    return redirect(url_for("nlu.inbox", msg=msg))


@bp.get("/nlu")
def inbox() -> Any:
    refresh_index()
    status = request.args.get("status", "open")
    status = status if status in STATUSES else "open"
    page = wants_page()
    with engine().begin() as conn:
        items, total = nlu_db.inbox(conn, status, page, settings().page_size)
        labelled = sum(len(v) for v in nlu_db.labelled_examples(conn).values())
        audit_list(conn, "view_nlu_inbox", status=status, page=page, results=total)
    return render_template(
        "nlu/inbox.html",
        items=items,
        total=total,
        status=status,
        statuses=STATUSES,
        page=page,
        pages=max(1, -(-total // settings().page_size)),
        intents=nlu_db.intent_choices(settings().project_root),
        labelled=labelled,
        message=message(),
    )


@bp.post("/nlu/<int:event_id>/label")
def label(event_id: int) -> Any:
    intent = request.form.get("intent", "")
    if intent not in nlu_db.intent_choices(settings().project_root):
        return _redirect_back("bad_intent")
    with engine().begin() as conn:
        msg = nlu_db.message(conn, event_id)
        if msg is None:
            abort(404)
        nlu_db.label(conn, msg, intent, g.user["username"])
        learning_db.from_label(conn, msg, intent, g.user["username"])
        audit(conn, "nlu_label", "message", event_id, {"intent": intent, "predicted": msg["intent"]})
    return _redirect_back("labelled")


@bp.post("/nlu/<int:event_id>/dismiss")
def dismiss(event_id: int) -> Any:
    with engine().begin() as conn:
        msg = nlu_db.message(conn, event_id)
        if msg is None:
            abort(404)
        nlu_db.label(conn, msg, None, g.user["username"])
        learning_db.from_label(conn, msg, None, g.user["username"])
        audit(conn, "nlu_dismiss", "message", event_id)
    return _redirect_back("dismissed")


@bp.post("/nlu/<int:event_id>/reset")
def reset(event_id: int) -> Any:
    with engine().begin() as conn:
        nlu_db.reset(conn, event_id)
        learning_db.remove_for_message(conn, event_id)
        audit(conn, "nlu_reset", "message", event_id)
    return _redirect_back("reset")


@bp.get("/nlu/export.yml")
@admin_only
def export() -> Any:
    with engine().begin() as conn:
        examples = nlu_db.labelled_examples(conn)
        audit(conn, "export_nlu", "nlu", None, {"examples": sum(len(v) for v in examples.values())})
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Response(
        exports.nlu_yaml(examples, stamp),
        mimetype="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="nlu-from-console.yml"'},
    )
