"""Accounts, login, sessions, idle logout, rate limiting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import support

from console.db.schema import audit, sessions, users
from console.web import SESSION_COOKIE, create_app

GENERIC = "Login failed. Check your username and password, or wait a few minutes and try again."


def cookie_header(response: Any) -> str:
    return next(v for v in response.headers.getlist("Set-Cookie") if v.startswith(SESSION_COOKIE + "="))


def test_a_new_database_has_no_account(tmp_path: Path) -> None:
    from console.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    create_app(support.settings_for(tmp_path / "empty.db"), engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 0


def test_create_user_command_hashes_with_argon2id(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    env = {"BTS_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(support.ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "console", "create-user", "Nora", "--role", "staff", "--password-stdin"],
        input=support.PASSWORD + "\n",
        env=env,
        text=True,
        capture_output=True,
        cwd=support.ROOT,
    )
    assert run.returncode == 0, run.stderr
    short = subprocess.run(
        [sys.executable, "-m", "console", "create-user", "olga", "--role", "admin", "--password-stdin"],
        input="short\n",
        env=env,
        text=True,
        capture_output=True,
        cwd=support.ROOT,
    )
    assert short.returncode == 2 and "at least 12" in short.stderr
    from console.db import make_engine

    with make_engine(f"sqlite:///{db}").connect() as conn:
        rows = conn.execute(sa.select(users.c.username, users.c.role, users.c.password_hash)).all()
    assert [(r.username, r.role) for r in rows] == [("nora", "staff")]
    assert rows[0].password_hash.startswith("$argon2id$")
    assert support.PASSWORD not in rows[0].password_hash


def test_login_sets_a_strict_httponly_cookie_and_a_new_session_id(anon: Any, app: Any) -> None:
    engine = app.extensions["console_engine"]
    anon.set_cookie(SESSION_COOKIE, "attacker-chosen-value")  # session fixation attempt
    first = support.login(anon, "sam")
    header = cookie_header(first)
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Secure" not in header
    old_token = anon.get_cookie(SESSION_COOKIE).value
    assert old_token != "attacker-chosen-value"
    anon.post("/logout", data={"csrf_token": support.session_csrf(anon)})
    assert support.login(anon, "sam").status_code == 302
    new_token = anon.get_cookie(SESSION_COOKIE).value
    assert new_token != old_token
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sessions)).scalar_one() == 1
        stored = conn.execute(sa.select(sessions.c.id)).scalar_one()
    assert new_token not in stored  # only a keyed hash of the cookie is stored
    stale = app.test_client()
    stale.set_cookie(SESSION_COOKIE, old_token)
    assert stale.get("/conversations").status_code == 302


def test_the_cookie_is_secure_over_https(app: Any) -> None:
    client = app.test_client()
    token = support.csrf_from(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={"username": "sam", "password": support.PASSWORD, "csrf_token": token},
    )
    assert "Secure" in cookie_header(response)


def test_wrong_password_and_unknown_user_get_the_same_generic_error(anon: Any) -> None:
    wrong = support.login(anon, "sam", "not the password at all")
    unknown = support.login(anon, "nobody", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert GENERIC in wrong.get_data(as_text=True) and GENERIC in unknown.get_data(as_text=True)


def test_an_account_is_locked_after_repeated_failures_without_saying_so(anon: Any, app: Any) -> None:
    for _ in range(5):
        assert support.login(anon, "sam", "wrong password 123").status_code == 401
    locked = support.login(anon, "sam")  # the right password, but locked
    assert locked.status_code == 401 and GENERIC in locked.get_data(as_text=True)
    # Other accounts are not affected.
    assert support.login(app.test_client(), "ada").status_code == 302
    with app.extensions["console_engine"].connect() as conn:
        failures = conn.execute(
            sa.select(sa.func.count()).select_from(audit).where(audit.c.action == "login_failed")
        ).scalar_one()
    assert failures == 6


def test_admin_can_unlock(anon: Any, admin: Any, app: Any) -> None:
    for _ in range(5):
        support.login(anon, "sam", "wrong password 123")
    with app.extensions["console_engine"].connect() as conn:
        sam_id = conn.execute(sa.select(users.c.id).where(users.c.username == "sam")).scalar_one()
    admin.post(f"/admin/users/{sam_id}/unlock", data={"csrf_token": support.session_csrf(admin)})
    assert support.login(anon, "sam").status_code == 302


def test_idle_sessions_end_after_15_minutes(staff: Any, app: Any) -> None:
    assert staff.get("/conversations").status_code == 200
    with app.extensions["console_engine"].begin() as conn:
        conn.execute(sessions.update().values(last_seen_at=sessions.c.last_seen_at - 15 * 60 - 1))
    response = staff.get("/conversations")
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]
    with app.extensions["console_engine"].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sessions)).scalar_one() == 0


def test_activity_keeps_the_session_alive(staff: Any, app: Any) -> None:
    with app.extensions["console_engine"].begin() as conn:
        conn.execute(sessions.update().values(last_seen_at=sessions.c.last_seen_at - 14 * 60))
    assert staff.get("/conversations").status_code == 200
    with app.extensions["console_engine"].begin() as conn:
        conn.execute(sessions.update().values(last_seen_at=sessions.c.last_seen_at - 2 * 60))
    assert staff.get("/conversations").status_code == 200


def test_deactivated_accounts_lose_their_sessions(staff: Any, admin: Any, app: Any) -> None:
    with app.extensions["console_engine"].connect() as conn:
        sam_id = conn.execute(sa.select(users.c.id).where(users.c.username == "sam")).scalar_one()
    admin.post(
        f"/admin/users/{sam_id}/active", data={"active": "0", "csrf_token": support.session_csrf(admin)}
    )
    assert staff.get("/conversations").status_code == 302
    assert support.login(app.test_client(), "sam").status_code == 401


def test_open_redirects_are_refused(anon: Any) -> None:
    token = support.csrf_from(anon.get("/login").get_data(as_text=True))
    response = anon.post(
        "/login",
        data={
            "username": "sam",
            "password": support.PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["Location"] == "/conversations"
