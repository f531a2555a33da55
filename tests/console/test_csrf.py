"""Every state-changing request needs the session's CSRF token."""

from __future__ import annotations

from typing import Any

import support
from test_access import protected

from console.web import LOGIN_COOKIE


def post_routes(app: Any) -> list:
    return [(url, e) for method, url, e in protected(app) if method == "POST"]


def test_every_post_route_rejects_a_missing_or_wrong_token(admin: Any, app: Any) -> None:
    routes = post_routes(app)
    assert len(routes) >= 15
    for url, _ in routes:
        assert admin.post(url, data={}).status_code == 400, url
        assert admin.post(url, data={"csrf_token": "0" * 64}).status_code == 400, url


def test_a_token_of_another_session_is_rejected(app: Any, admin: Any, staff: Any) -> None:
    token_of_staff = support.session_csrf(staff)
    cid = support.conversation_id(app.extensions["console_engine"], "hw-booking")
    response = admin.post(f"/conversations/{cid}/tags", data={"tag": "x", "csrf_token": token_of_staff})
    assert response.status_code == 400


def test_a_cross_site_origin_is_rejected_even_with_the_token(admin: Any, app: Any) -> None:
    token = support.session_csrf(admin)
    cid = support.conversation_id(app.extensions["console_engine"], "hw-booking")
    response = admin.post(
        f"/conversations/{cid}/tags",
        data={"tag": "x", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 400
    ok = admin.post(
        f"/conversations/{cid}/tags",
        data={"tag": "x", "csrf_token": token},
        headers={"Origin": "http://localhost"},
    )
    assert ok.status_code == 302


def test_login_needs_the_login_form_token(anon: Any) -> None:
    anon.get("/login")
    response = anon.post("/login", data={"username": "ada", "password": support.PASSWORD})
    assert response.status_code == 400
    anon.delete_cookie(LOGIN_COOKIE, path="/login")
    response = anon.post(
        "/login", data={"username": "ada", "password": support.PASSWORD, "csrf_token": "x" * 64}
    )
    assert response.status_code == 400


def test_logout_needs_the_token(admin: Any) -> None:
    assert admin.post("/logout").status_code == 400
    assert admin.get("/conversations").status_code == 200  # still logged in
    assert admin.post("/logout", data={"csrf_token": support.session_csrf(admin)}).status_code == 302
    assert admin.get("/conversations").status_code == 302
