"""Login: redirects only to this site, throttling without a lockout denial of service, Secure cookies."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
import support

from console.config import Settings
from console.db.schema import sessions
from console.throttle import LoginThrottle
from console.web import create_app

OFFSITE = [
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r\n/evil.example/",
    "\t//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\\/evil.example/",
    "/%09/evil.example/",
    "/%2F/evil.example/",
    "/%5C/evil.example/",
    "%2F%2Fevil.example/",
    "//evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "/x\r\nSet-Cookie: stolen=1",
]


def post_login(client: Any, username: str = "sam", password: str = support.PASSWORD,
               ip: str = "127.0.0.1", **extra: str) -> Any:
    token = support.csrf_from(client.get("/login", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True))
    data = {"username": username, "password": password, "csrf_token": token, **extra}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": ip})


def session_count(app: Any) -> int:
    with app.extensions["console_engine"].connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(sessions)).scalar_one()


@pytest.mark.parametrize("target", OFFSITE)
def test_login_never_redirects_off_site(app: Any, target: str) -> None:
    response = post_login(app.test_client(), next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/conversations"


@pytest.mark.parametrize("target", OFFSITE)
def test_a_logged_in_user_is_not_sent_off_site(staff: Any, target: str) -> None:
    response = staff.get("/login", query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/conversations"


def test_an_on_site_next_is_kept(app: Any) -> None:
    response = post_login(app.test_client(), next="/bookings?status=new")
    assert response.headers["Location"] == "/bookings?status=new"


def test_a_newline_in_next_is_a_clean_redirect_with_one_session(app: Any) -> None:
    before = session_count(app)
    response = post_login(app.test_client(), next="/conversations\nX-Injected: 1")
    assert response.status_code == 302 and response.headers["Location"] == "/conversations"
    assert "X-Injected" not in response.headers
    assert session_count(app) == before + 1


def test_the_nlu_back_link_is_not_an_open_redirect(staff: Any) -> None:
    token = support.session_csrf(staff)
    response = staff.post("/nlu/999999/dismiss", data={"csrf_token": token, "next": "/\t/evil.example/"})
    assert response.status_code == 404
    response = staff.post("/nlu/999999/reset", data={"csrf_token": token, "next": "/\t/evil.example/"})
    assert response.headers["Location"].startswith("/nlu?")


def test_a_stranger_cannot_lock_a_colleague_out(app: Any) -> None:
    attacker = app.test_client()
    for _ in range(8):
        assert post_login(attacker, "ada", "wrong password 123", ip="203.0.113.9").status_code == 401
    # From the attacker's address the account is locked: even the right password fails, generically.
    locked = post_login(attacker, "ada", ip="203.0.113.9")
    assert locked.status_code == 401 and "Login failed" in locked.get_data(as_text=True)
    # From the admin's own desk it is not.
    assert post_login(app.test_client(), "ada", ip="10.0.0.5").status_code == 302


def test_one_address_guessing_over_many_accounts_is_stopped(settings: Any, engine: Any) -> None:
    app = create_app(Settings(**{**settings.__dict__, "login_max_failures_per_ip": 6}), engine)
    client = app.test_client()
    for i in range(6):
        assert post_login(client, f"user{i}", "wrong password 123", ip="198.51.100.7").status_code == 401
    refused = post_login(client, "sam", ip="198.51.100.7")
    assert refused.status_code == 429 and "Too many failed logins" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"]
    assert post_login(app.test_client(), "sam", ip="198.51.100.8").status_code == 302


def test_guesses_spread_over_many_addresses_are_rate_limited(settings: Any, engine: Any) -> None:
    app = create_app(Settings(**{**settings.__dict__, "login_max_attempts_global": 5}), engine)
    for i in range(5):
        response = post_login(app.test_client(), "sam", "wrong password 123", ip=f"192.0.2.{i}")
        assert response.status_code == 401
    refused = post_login(app.test_client(), "sam", ip="192.0.2.200")
    assert refused.status_code == 429 and "Wait a minute" in refused.get_data(as_text=True)


def test_locks_expire_and_an_admin_unlock_works_from_every_address() -> None:
    now = [1000.0]
    throttle = LoginThrottle(3, 900, 100, 1000, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.refusal("sam", "1.1.1.1") is None
        throttle.failed("sam", "1.1.1.1")
    assert throttle.refusal("sam", "1.1.1.1") == "account"
    assert throttle.refusal("sam", "2.2.2.2") is None
    assert throttle.locked_usernames() == {"sam"}
    now[0] += 901
    assert throttle.refusal("sam", "1.1.1.1") is None
    for _ in range(3):
        throttle.failed("sam", "1.1.1.1")
    throttle.unlock("sam")
    assert throttle.refusal("sam", "1.1.1.1") is None and throttle.locked_usernames() == set()


def cookie_flags(app: Any) -> str:
    """The Set-Cookie header of the login form's cookie over plain http (set as the session's is)."""
    response = app.test_client().get("/login")
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("bts_console_login="))


def test_the_session_cookie_follows_the_same_rule(settings: Any, engine: Any) -> None:
    app = create_app(Settings(**{**settings.__dict__, "trust_proxy": True}), engine)
    client = app.test_client()
    token = support.csrf_from(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={"username": "sam", "password": support.PASSWORD, "csrf_token": token},
    )
    session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("bts_console_session="))
    assert "Secure" in session and "HttpOnly" in session


def test_cookies_are_secure_behind_a_tls_proxy_by_default(settings: Any, engine: Any) -> None:
    proxied = create_app(Settings(**{**settings.__dict__, "trust_proxy": True}), engine)
    assert "Secure" in cookie_flags(proxied)  # even when the proxy does not say https
    exposed = create_app(Settings(**{**settings.__dict__, "host": "0.0.0.0"}), engine)
    assert "Secure" in cookie_flags(exposed)
    # `make run`: plain http on the loopback interface, so the browser keeps the cookie.
    assert "Secure" not in cookie_flags(create_app(settings, engine))


@pytest.mark.parametrize(
    "value, secure", [("true", True), ("always", True), ("false", False), ("auto", False)]
)
def test_the_cookie_secure_setting(tmp_path: Any, engine: Any, value: str, secure: bool) -> None:
    env = {
        "BTS_DATABASE_URL": f"sqlite:///{tmp_path / 'bts.db'}",
        "CONSOLE_SECRET_KEY": support.SECRET,
        "CONSOLE_COOKIE_SECURE": value,
    }
    app = create_app(Settings.from_env(env), engine)
    assert ("Secure" in cookie_flags(app)) is secure
