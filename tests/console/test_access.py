"""Access control on every route, enumerated from the application itself."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import support

from console.web import PUBLIC_ENDPOINTS, required_role

# What the admin role alone may do: users, deletion, exports, audit log (and purge).
EXPECTED_ADMIN = {
    "admin.users",
    "admin.set_role",
    "admin.set_active",
    "admin.unlock",
    "admin.audit_view",
    "admin.privacy",
    "admin.purge_now",
    "conversations.delete",
    "conversations.export_story",
    "nlu.export",
    "bookings.export",
    "learning.train",
    "learning.promote",
    "learning.rollback",
}


def routes(app: Any) -> List[Tuple[str, str, str]]:
    """(method, url, endpoint) for every rule and method except HEAD/OPTIONS."""
    out = []
    for rule in app.url_map.iter_rules():
        values: Dict[str, Any] = {}
        for arg in rule.arguments:
            is_int = type(rule._converters[arg]).__name__ == "IntegerConverter"
            values[arg] = 1 if is_int else "x"
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, url, rule.endpoint))
    return sorted(out)


def protected(app: Any) -> List[Tuple[str, str, str]]:
    return [r for r in routes(app) if r[2] not in PUBLIC_ENDPOINTS]


def test_the_app_has_the_routes_the_issue_asks_for(app: Any) -> None:
    endpoints = {e for _, _, e in routes(app)}
    assert {
        "auth.login",
        "auth.logout",
        "conversations.list_view",
        "conversations.transcript",
        "nlu.inbox",
        "bookings.list_view",
        "analytics.page",
    } <= endpoints
    admin_endpoints = {e for e in endpoints if required_role(app, e) == "admin"}
    assert admin_endpoints == EXPECTED_ADMIN
    assert PUBLIC_ENDPOINTS == {"auth.login", "static", "health"}


def test_without_a_session_every_route_redirects_to_login_or_401(anon: Any, app: Any) -> None:
    checked = 0
    for method, url, _endpoint in protected(app):
        response = anon.open(url, method=method)
        if method == "GET" and not url.endswith((".csv", ".yml")):
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/login"), (method, url)
        else:
            assert response.status_code == 401, (method, url, response.status_code)
        checked += 1
    assert checked >= 25


def test_staff_get_403_on_every_admin_route(staff: Any, app: Any) -> None:
    token = support.session_csrf(staff)
    admin_routes = [r for r in protected(app) if required_role(app, r[2]) == "admin"]
    assert len(admin_routes) >= len(EXPECTED_ADMIN)
    for method, url, _ in admin_routes:
        data = {"csrf_token": token} if method == "POST" else None
        response = staff.open(url, method=method, data=data)
        assert response.status_code == 403, (method, url, response.status_code)


def test_staff_reach_every_staff_route(staff: Any, app: Any) -> None:
    for method, url, endpoint in protected(app):
        if required_role(app, endpoint) != "staff" or method != "GET":
            continue
        response = staff.get(url)
        assert response.status_code not in (401, 403), (url, response.status_code)


def test_admins_reach_the_admin_pages(admin: Any) -> None:
    for url in ("/admin/users", "/admin/audit", "/admin/privacy", "/nlu/export.yml", "/bookings/export.csv"):
        assert admin.get(url).status_code == 200, url


def test_public_routes_need_no_session(anon: Any) -> None:
    assert anon.get("/login").status_code == 200
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/static/console.css").status_code == 200
