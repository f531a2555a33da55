"""Patient text (and anything else stored) renders as text, never as markup."""

from __future__ import annotations

from typing import Any

import support

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<b>leg</b>",
]


def assert_inert(html: str) -> None:
    for payload in PAYLOADS:
        assert payload not in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")


def test_transcript_renders_the_payloads_as_text(staff: Any, app: Any) -> None:
    cid = support.conversation_id(app.extensions["console_engine"], "hw-xss")
    html = staff.get(f"/conversations/{cid}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert_inert(html)


def test_list_nlu_inbox_and_analytics_escape_the_payloads(admin: Any) -> None:
    for url in ("/conversations", "/conversations?q=alert", "/nlu", "/analytics?from=2000-01-01"):
        html = admin.get(url).get_data(as_text=True)
        assert "&lt;script&gt;" in html or "&lt;img" in html, url
        assert_inert(html)


def test_tags_notes_and_booking_details_are_escaped(admin: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    cid = support.conversation_id(engine, "hw-xss")
    token = support.session_csrf(admin)
    admin.post(f"/conversations/{cid}/notes", data={"body": "<script>alert(1)</script>", "csrf_token": token})
    admin.post(
        f"/conversations/{cid}/tags", data={"tag": "<img src=x onerror=alert(1)>", "csrf_token": token}
    )
    html = admin.get(f"/conversations/{cid}").get_data(as_text=True)
    assert_inert(html)
    bookings = admin.get("/bookings").get_data(as_text=True)
    assert "&lt;script&gt;" in bookings
    assert_inert(bookings)


def test_the_csv_export_defuses_formulas(admin: Any) -> None:
    csv_text = admin.get("/bookings/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text
    assert ",=HYPERLINK" not in csv_text and '"=HYPERLINK' not in csv_text


def test_pages_forbid_inline_scripts(staff: Any) -> None:
    response = staff.get("/conversations")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
