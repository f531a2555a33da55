"""Conversations: list, transcript, review, tags, notes, reveal, test-story export, deletion."""

from __future__ import annotations

from typing import Any, Dict

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from console import exports, security
from console.db import conversations as conv_db
from console.db import has_table
from console.db import transcript as transcript_db
from console.db.privacy import delete_conversation
from console.db.schema import booking_requests
from console.web import (
    admin_only,
    audit,
    audit_list,
    client_ip,
    engine,
    revealed,
    settings,
    wants_page,
    with_audit_reveal,
)
from console.web.common import day_range, message, parse_day, refresh_index

bp = Blueprint("conversations", __name__)
MAX_NOTE_CHARS = 2000


def _query() -> conv_db.Query:
    start_day, end_day = parse_day(request.args.get("from")), parse_day(request.args.get("to"))
    start, end = day_range(start_day, end_day)
    flags: Dict[str, bool] = {}
    for name in conv_db.FLAGS:
        value = request.args.get(name, "")
        if value in ("yes", "no"):
            flags[name] = value == "yes"
    tag = conv_db.normalize_tag(request.args.get("tag", "")) or ""
    sort = request.args.get("sort", "recent")
    return conv_db.Query(
        start=start,
        end=end,
        q=(request.args.get("q") or "")[:200],
        flags=flags,
        tag=tag,
        sort=sort if sort in conv_db.SORTS else "recent",
        page=wants_page(),
        page_size=settings().page_size,
    )


def _conversation_or_404(conn: Any, conversation_id: int) -> Dict[str, Any]:
    conversation = conv_db.get(conn, conversation_id)
    if conversation is None:
        abort(404)
    return conversation


def _back(conversation_id: int, msg: str) -> BaseResponse:
    return redirect(url_for("conversations.transcript", conversation_id=conversation_id, msg=msg))


@bp.get("/conversations")
def list_view() -> Any:
    refresh_index()
    query = _query()
    with engine().begin() as conn:
        items, total = conv_db.list_page(conn, query)
        counts = conv_db.facet_counts(conn, query)
        tags = conv_db.all_tags(conn)
        audit_list(
            conn,
            "view_conversations",
            query.q,
            flags=query.flags,
            tag=query.tag,
            page=query.page,
            results=total,
        )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    pages = max(1, -(-total // query.page_size))
    return render_template(
        "conversations/list.html",
        items=items,
        total=total,
        counts=counts,
        query=query,
        tags=tags,
        flags=conv_db.FLAG_LABELS,
        sorts=list(conv_db.SORTS),
        args=args,
        pages=pages,
        date_from=request.args.get("from", ""),
        date_to=request.args.get("to", ""),
        message=message(),
    )


@bp.get("/conversations/<int:conversation_id>")
def transcript(conversation_id: int) -> Any:
    with engine().begin() as conn:
        conversation = _conversation_or_404(conn, conversation_id)
        built = transcript_db.build(transcript_db.load_events(conn, conversation["sender_id"]))
        bookings = conv_db.bookings_of(
            conn,
            conversation["sender_id"],
            built["booking_references"],
            has_table(engine(), booking_requests.name),
        )
        tags = conv_db.tags_of(conn, conversation_id)
        notes = conv_db.notes_of(conn, conversation_id)
        labels = conv_db.labels_of(conn, conversation_id)
        audit(conn, "view_transcript", "conversation", conversation_id)
    from console.db.nlu import intent_choices

    return render_template(
        "conversations/transcript.html",
        c=conversation,
        t=built,
        bookings=bookings,
        tags=tags,
        notes=notes,
        labels=labels,
        intents=intent_choices(settings().project_root),
        message=message(),
        target=f"conversation:{conversation_id}",
    )


@bp.get("/conversations/<int:conversation_id>/messages/<int:event_id>")
def message_text(conversation_id: int, event_id: int) -> Any:
    """One message in full, as plain text (the transcript cuts long ones)."""
    with engine().begin() as conn:
        conversation = _conversation_or_404(conn, conversation_id)
        text = transcript_db.message_text(conn, conversation["sender_id"], event_id)
        if text is None:
            abort(404)
        audit(conn, "view_message", "conversation", conversation_id, {"event_id": event_id})
    shown = text if revealed(f"conversation:{conversation_id}") else security.mask(text)
    return Response(shown, mimetype="text/plain")


@bp.post("/conversations/<int:conversation_id>/review")
def review(conversation_id: int) -> Any:
    reviewed = request.form.get("reviewed") == "1"
    with engine().begin() as conn:
        _conversation_or_404(conn, conversation_id)
        conv_db.set_reviewed(conn, conversation_id, g.user["username"] if reviewed else None)
        audit(conn, "review" if reviewed else "unreview", "conversation", conversation_id)
    return _back(conversation_id, "reviewed" if reviewed else "unreviewed")


@bp.post("/conversations/<int:conversation_id>/tags")
def add_tag(conversation_id: int) -> Any:
    tag = conv_db.normalize_tag(request.form.get("tag", ""))
    if not tag:
        return _back(conversation_id, "bad_tag")
    with engine().begin() as conn:
        _conversation_or_404(conn, conversation_id)
        if conv_db.add_tag(conn, conversation_id, tag, g.user["username"]):
            audit(conn, "tag_add", "conversation", conversation_id, {"tag": tag})
    return _back(conversation_id, "tagged")


@bp.post("/conversations/<int:conversation_id>/tags/remove")
def remove_tag(conversation_id: int) -> Any:
    tag = conv_db.normalize_tag(request.form.get("tag", "")) or ""
    with engine().begin() as conn:
        _conversation_or_404(conn, conversation_id)
        if tag and conv_db.remove_tag(conn, conversation_id, tag):
            audit(conn, "tag_remove", "conversation", conversation_id, {"tag": tag})
    return _back(conversation_id, "untagged")


@bp.post("/conversations/<int:conversation_id>/notes")
def add_note(conversation_id: int) -> Any:
    body = (request.form.get("body") or "").strip()[:MAX_NOTE_CHARS]
    if not body:
        return _back(conversation_id, "empty_note")
    with engine().begin() as conn:
        _conversation_or_404(conn, conversation_id)
        conv_db.add_note(conn, conversation_id, body, g.user["username"])
        audit(conn, "note_add", "conversation", conversation_id)
    return _back(conversation_id, "noted")


@bp.post("/conversations/<int:conversation_id>/reveal")
def reveal(conversation_id: int) -> Any:
    with engine().begin() as conn:
        _conversation_or_404(conn, conversation_id)
        audit(conn, "reveal", "conversation", conversation_id)
    with_audit_reveal(f"conversation:{conversation_id}")
    return _back(conversation_id, "revealed")


@bp.get("/conversations/<int:conversation_id>/story.yml")
@admin_only
def export_story(conversation_id: int) -> Any:
    with engine().begin() as conn:
        conversation = _conversation_or_404(conn, conversation_id)
        built = transcript_db.build(transcript_db.load_events(conn, conversation["sender_id"]))
        corrected = {
            k: v["intent"] for k, v in conv_db.labels_of(conn, conversation_id).items() if v["intent"]
        }
        audit(conn, "export_story", "conversation", conversation_id)
    body = exports.story_yaml(f"console conversation {conversation_id}", built["items"], corrected)
    return Response(
        body,
        mimetype="application/x-yaml",
        headers={
            "Content-Disposition": f'attachment; filename="conversation-{conversation_id}-test-story.yml"'
        },
    )


@bp.route("/conversations/<int:conversation_id>/delete", methods=["GET", "POST"])
@admin_only
def delete(conversation_id: int) -> Any:
    with engine().begin() as conn:
        conversation = _conversation_or_404(conn, conversation_id)
        if request.method == "GET":
            bookings = conv_db.bookings_of(
                conn, conversation["sender_id"], [], has_table(engine(), booking_requests.name)
            )
            return render_template("conversations/delete.html", c=conversation, bookings=bookings)
        if request.form.get("confirm") != "delete":
            return redirect(url_for("conversations.delete", conversation_id=conversation_id))
        delete_conversation(
            conn,
            conversation,
            {"username": g.user["username"], "role": g.user["role"]},
            request.form.get("with_bookings") == "1",
            client_ip(),
        )
    return redirect(url_for("conversations.list_view", msg="deleted"))
