"""The demo receiver's HTML pages; every value is escaped."""

from __future__ import annotations

import html
import json
from typing import Any, Dict


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return html.escape(str(value))


def render_page(snapshot: Dict[str, Any]) -> str:
    """The HTML page listing received requests, newest first; every value is escaped."""
    rows = []
    for item in sorted(snapshot["requests"], key=lambda i: i["received_at"], reverse=True):
        payload = item.get("payload") or {}
        details = payload.get("details") or {}
        preferred = details.get("preferred_time_text") or details.get("best_time") or ""
        rows.append(
            "<tr>"
            f"<td><strong>{_cell(payload.get('reference'))}</strong></td>"
            f"<td>{_cell(payload.get('kind'))}</td>"
            f"<td>{_cell(item.get('received_at'))}</td>"
            f"<td>{_cell(details.get('name'))}</td>"
            f"<td>{_cell(details.get('phone'))}</td>"
            f"<td>{_cell(details.get('email'))}</td>"
            f"<td>{_cell(preferred)}</td>"
            f"<td>{_cell(details.get('reason'))}</td>"
            f"<td>{_cell(details.get('patient_type'))}</td>"
            f"<td>{_cell(details.get('insurance'))}</td>"
            f"<td>{_cell(details.get('related_reference'))}</td>"
            f"<td>{_cell(item.get('repeats'))}</td>"
            "</tr>"
        )
    stats = snapshot["stats"]
    body = "\n".join(rows) or '<tr><td colspan="12">Nothing received yet.</td></tr>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Border Therapy Services - received requests (demo)</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1b2a38; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9rem; }}
th, td {{ border: 1px solid #c9d3dc; padding: 0.4rem 0.5rem; text-align: left; vertical-align: top; }}
th {{ background: #eef3f7; }}
.note {{ color: #56677a; }}
</style></head>
<body>
<h1>Received booking requests</h1>
<p class="note">Demo receiver of the Border Therapy Services assistant. Signed webhook requests
only; repeats (same Idempotency-Key) are counted, not listed twice. This page refreshes every
5 seconds. JSON: <a href="/received">/received</a>.</p>
<p>{stats['accepted']} received, {stats['duplicates']} repeats dropped, {stats['rejected']} rejected,
{stats['posts']} POSTs in total.</p>
<table>
<thead><tr><th>Reference</th><th>Kind</th><th>Received (UTC)</th><th>Name</th><th>Phone</th>
<th>Email</th><th>Preferred time</th><th>Reason</th><th>Patient</th><th>Insurance</th>
<th>Related</th><th>Repeats</th></tr></thead>
<tbody>
{body}
</tbody></table>
</body></html>
"""


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo receiver - sign in</title></head>
<body style="font-family: system-ui, sans-serif; margin: 2rem">
<h1>Sign in to the demo receiver</h1>
<p>Open the link with the token that <code>make run</code> printed
(<code>/login?token=...</code>), or send the header <code>Authorization: Bearer TOKEN</code>.</p>
</body></html>
"""
