"""Conversation list, transcript, masking, NLU inbox and exports, bookings, analytics, logs."""

from __future__ import annotations

import csv
import io
import logging
import re
from typing import Any

import sqlalchemy as sa
import support
import yaml

from console.db.schema import audit, booking_requests


def rows_of(html: str) -> int:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.count("<tr>") - body.count('colspan="7"')


def test_filters_and_counts(staff: Any) -> None:
    page = staff.get("/conversations").get_data(as_text=True)
    assert "6 of 6 match" in page
    cases = {
        "red_flag=yes": 1,
        "fallback=yes": 1,
        "booking=yes": 1,
        "handoff=yes": 1,
        "low_confidence=yes": 2,
        "reviewed=yes": 0,
        "reviewed=no": 6,
        "fallback=no": 5,
        "q=bladder": 1,
        "q=DRY+needling": 1,
        "q=nothing-here": 0,
        "red_flag=yes&booking=yes": 0,
    }
    for query, expected in cases.items():
        html = staff.get(f"/conversations?{query}").get_data(as_text=True)
        assert f"{expected} of " in html, query
        assert rows_of(html) == expected, query


def test_date_range_sort_and_pagination(app: Any, staff: Any) -> None:
    import datetime as dt

    today = dt.date.today()
    html = staff.get(f"/conversations?from={today - dt.timedelta(days=10)}&to={today}").get_data(as_text=True)
    assert "4 of 4 match" in html
    html = staff.get("/conversations?sort=oldest").get_data(as_text=True)
    first = re.search(r'<td class="preview"><a href="[^"]+">([^<]+)<', html).group(1)
    assert "bladder" in first  # the 400-day-old conversation comes first
    app.extensions["console_settings"].__dict__["page_size"] = 2
    html = staff.get("/conversations?page=2").get_data(as_text=True)
    assert "Page 2 of 3" in html and rows_of(html) == 2


def test_review_and_tag_filters(staff: Any, app: Any) -> None:
    cid = support.conversation_id(app.extensions["console_engine"], "hw-handoff")
    token = support.session_csrf(staff)
    staff.post(f"/conversations/{cid}/review", data={"reviewed": "1", "csrf_token": token})
    staff.post(f"/conversations/{cid}/tags", data={"tag": "Follow-up", "csrf_token": token})
    assert "1 of 6" in staff.get("/conversations?reviewed=yes").get_data(as_text=True)
    html = staff.get("/conversations?tag=follow-up").get_data(as_text=True)
    assert "1 of 6" in html and "follow-up" in html
    transcript = staff.get(f"/conversations/{cid}").get_data(as_text=True)
    assert "Reviewed by sam" in transcript
    with app.extensions["console_engine"].connect() as conn:
        actions = [
            r.action for r in conn.execute(sa.select(audit.c.action).where(audit.c.target_id == str(cid)))
        ]
    assert {"review", "tag_add", "view_transcript"} <= set(actions)


def test_transcript_shows_nlu_details_actions_markers_and_booking_link(admin: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    cid = support.conversation_id(engine, "hw-booking")
    html = admin.get(f"/conversations/{cid}").get_data(as_text=True)
    assert "intent <b>book_appointment</b> 0.97" in html
    assert "runner-ups:" in html and "ask_cost 0.02" in html
    assert "<code>DAY=Tuesday</code>" in html
    assert "booking_reference=&#34;BTS-7K2Q&#34;" in html or 'booking_reference="BTS-7K2Q"' in html
    assert "<code>action_submit_booking</code> · RulePolicy · 1.00" in html
    with engine.connect() as conn:
        rid = conn.execute(
            sa.select(booking_requests.c.id).where(booking_requests.c.reference == "BTS-7K2Q")
        ).scalar()
    assert f'href="/bookings/{rid}">BTS-7K2Q</a>' in html
    old = admin.get(f"/conversations/{support.conversation_id(engine, 'hw-old-red-flag')}").get_data(
        as_text=True
    )
    assert 'badge-red">red flag: bladder_bowel' in old and 'class="msg user is-red"' in old
    xss = admin.get(f"/conversations/{support.conversation_id(engine, 'hw-xss')}").get_data(as_text=True)
    assert "is-fallback" in xss and "action_clarify_topic" in xss


def test_staff_see_masked_contact_details_until_an_audited_reveal(staff: Any, admin: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    cid = support.conversation_id(engine, "hw-booking")
    html = staff.get(f"/conversations/{cid}").get_data(as_text=True)
    assert "555-0187" not in html and "pat.sample@example.org" not in html
    assert "[phone …87]" in html and "[e-mail p…]" in html
    assert "555-0187" not in staff.get("/conversations").get_data(as_text=True)
    staff.post(f"/conversations/{cid}/reveal", data={"csrf_token": support.session_csrf(staff)})
    html = staff.get(f"/conversations/{cid}").get_data(as_text=True)
    assert "(575) 555-0187" in html and "pat.sample@example.org" in html
    with engine.connect() as conn:
        reveal = conn.execute(sa.select(audit).where(audit.c.action == "reveal")).one()
    assert reveal.username == "sam" and reveal.target_id == str(cid)
    # Admins see them masked too until they reveal (test_masking.py).
    assert "(575) 555-0187" not in admin.get(f"/conversations/{cid}").get_data(as_text=True)


def test_nlu_inbox_label_and_export(staff: Any, admin: Any, app: Any) -> None:
    inbox = staff.get("/nlu").get_data(as_text=True)
    assert "do you do dry needling" in inbox and "3 open" in inbox
    event_id = int(re.search(r'action="/nlu/(\d+)/label"', inbox).group(1))
    token = support.session_csrf(staff)
    assert (
        staff.post(
            f"/nlu/{event_id}/label", data={"intent": "not-an-intent", "csrf_token": token}
        ).status_code
        == 302
    )
    staff.post(f"/nlu/{event_id}/label", data={"intent": "faq/what_is_sciatica", "csrf_token": token})
    assert "2 open" in staff.get("/nlu").get_data(as_text=True)
    assert staff.get("/nlu/export.yml").status_code == 403
    export = admin.get("/nlu/export.yml")
    assert export.headers["Content-Disposition"].startswith("attachment")
    doc = yaml.safe_load(export.get_data(as_text=True))
    assert doc["version"] == "3.1"
    assert len(doc["nlu"]) == 1 and doc["nlu"][0]["intent"] == "faq/what_is_sciatica"
    examples = [line[2:] for line in doc["nlu"][0]["examples"].splitlines()]
    assert examples == ["<img src=x onerror=alert(1)>"]  # the newest open message, exported verbatim


def test_story_export_is_a_rasa_test_story(admin: Any, app: Any) -> None:
    cid = support.conversation_id(app.extensions["console_engine"], "hw-booking")
    doc = yaml.safe_load(admin.get(f"/conversations/{cid}/story.yml").get_data(as_text=True))
    steps = doc["stories"][0]["steps"]
    assert steps[0] == {"user": "I'd like to book an appointment", "intent": "book_appointment"}
    assert {"action": "booking_form"} in steps and {"action": "action_submit_booking"} in steps
    assert {"slot_was_set": [{"booking_reference": "BTS-EXAMPLE"}]} in steps  # de-identified
    assert any(s.get("user", "").startswith("[it's](DAY)") for s in steps)
    faq = support.conversation_id(app.extensions["console_engine"], "hw-old-faq")
    doc = yaml.safe_load(admin.get(f"/conversations/{faq}/story.yml").get_data(as_text=True))
    assert doc["stories"][0]["steps"][0]["intent"] == "faq/what_is_sciatica"


def test_bookings_queue_status_workflow_delivery_and_csv(staff: Any, admin: Any, app: Any) -> None:
    html = staff.get("/bookings").get_data(as_text=True)
    assert "BTS-7K2Q" in html and "BTS-9MZX" in html
    assert 'badge-red">failing' in html and 'badge-green">delivered' in html  # a retry with an error
    assert "+15755550187" not in html and "[phone …87]" in html
    with app.extensions["console_engine"].connect() as conn:
        rid = conn.execute(
            sa.select(booking_requests.c.id).where(booking_requests.c.reference == "BTS-7K2Q")
        ).scalar()
    detail = staff.get(f"/bookings/{rid}").get_data(as_text=True)
    assert "SMTP 451 try later" in detail and "Conversation" in detail
    token = support.session_csrf(staff)
    bad = staff.post(f"/bookings/{rid}/status", data={"status": "scheduled", "csrf_token": token})
    assert "msg=bad_status" in bad.headers["Location"]
    staff.post(f"/bookings/{rid}/status", data={"status": "contacted", "csrf_token": token})
    staff.post(f"/bookings/{rid}/status", data={"status": "scheduled", "csrf_token": token})
    with app.extensions["console_engine"].connect() as conn:
        row = conn.execute(sa.select(booking_requests).where(booking_requests.c.id == rid)).one()
    assert row.status == "scheduled" and row.updated_at > row.created_at
    assert "1 match" in staff.get("/bookings?status=scheduled").get_data(as_text=True)
    assert staff.get("/bookings/export.csv").status_code == 403
    rows = list(csv.DictReader(io.StringIO(admin.get("/bookings/export.csv").get_data(as_text=True))))
    assert {r["reference"] for r in rows} == {"BTS-7K2Q", "BTS-9MZX"}
    first = next(r for r in rows if r["reference"] == "BTS-7K2Q")
    assert (
        first["phone"] == "'+15755550187"
        and first["status"] == "scheduled"
        and first["delivery"] == "failing"
    )


def test_analytics_renders_svg_charts_and_rates(staff: Any) -> None:
    html = staff.get("/analytics?from=2000-01-01").get_data(as_text=True)
    assert html.count("<svg") == 3 and "<title>Top intents</title>" in html
    assert "16.7%" in html  # booking conversion and handoff rate: 1 of 6
    assert "do you do dry needling" in html  # a top misunderstood message


def test_no_patient_text_in_application_logs(staff: Any, app: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    cid = support.conversation_id(app.extensions["console_engine"], "hw-booking")
    staff.get("/conversations?q=bladder")
    staff.get(f"/conversations/{cid}")
    staff.post(
        f"/conversations/{cid}/notes",
        data={"body": "patient Pat Sample", "csrf_token": support.session_csrf(staff)},
    )
    text = caplog.text
    assert "GET /conversations/<int:conversation_id> 200" in text
    for secret in ("bladder", "Pat Sample", "555-0187", "pat.sample", "book an appointment"):
        assert secret not in text
