"""Settings of the production profile: what it refuses to start with, and the secrets it makes."""

from __future__ import annotations

from typing import Dict

import pytest

from bts.deploy.settings import Settings, parse_cidrs, parse_origins
from bts.env import SettingsError

SECRETS = {"BTS_PG_PASSWORD": "pg-secret-123", "BTS_REDIS_PASSWORD": "redis-secret-456"}
WEBHOOK = {"BTS_WEBHOOK_URL": "https://clinic.example/bts-webhook", "BTS_WEBHOOK_SECRET": "s" * 32}


def settings(**env: str) -> Settings:
    values: Dict[str, str] = {**SECRETS, **WEBHOOK, "BTS_PROD_CONSOLE": "off"}
    values.update(env)
    return Settings.from_env({k: v for k, v in values.items() if v is not None})


def test_the_database_and_redis_passwords_are_required() -> None:
    with pytest.raises(SettingsError, match="BTS_PG_PASSWORD and BTS_REDIS_PASSWORD"):
        Settings.from_env({**WEBHOOK})


def test_without_a_webhook_or_e_mail_it_refuses_to_start_instead_of_using_the_demo_receiver() -> None:
    with pytest.raises(SettingsError, match="BTS_WEBHOOK_URL.*BTS_SMTP_HOST.*never uses the demo receiver"):
        Settings.from_env({**SECRETS})


def test_e_mail_delivery_alone_is_enough() -> None:
    found = Settings.from_env({**SECRETS, "BTS_SMTP_HOST": "smtp.clinic.example", "BTS_PROD_CONSOLE": "off"})
    assert found.smtp_host == "smtp.clinic.example" and not found.webhook_url


def test_a_webhook_needs_a_signing_secret_and_an_http_url() -> None:
    with pytest.raises(SettingsError, match="BTS_WEBHOOK_SECRET"):
        settings(BTS_WEBHOOK_SECRET="short")
    with pytest.raises(SettingsError, match="BTS_WEBHOOK_URL"):
        settings(BTS_WEBHOOK_URL="ftp://clinic.example/x")


def test_the_action_token_is_new_at_every_start_unless_set() -> None:
    first, second = settings(), settings()
    assert len(first.action_token) >= 32 and first.action_token != second.action_token
    assert settings(BTS_ACTION_TOKEN="t" * 40).action_token == "t" * 40
    with pytest.raises(SettingsError, match="BTS_ACTION_TOKEN"):
        settings(BTS_ACTION_TOKEN="short")


def test_every_replica_gets_the_same_session_secret() -> None:
    found = settings(BTS_SESSION_SECRET="k" * 40)
    assert found.session_secret == "k" * 40
    assert len(settings().session_secret) >= 32
    with pytest.raises(SettingsError, match="BTS_SESSION_SECRET"):
        settings(BTS_SESSION_SECRET="short")


def test_the_owner_password_is_new_at_every_start_and_not_the_applications() -> None:
    first, second = settings(), settings()
    assert first.pg_owner_password != second.pg_owner_password
    assert first.pg_owner_password != first.pg_password
    assert first.pg_owner != first.pg_user


@pytest.mark.parametrize("raw", ["*", "https://clinic.example/", "https://clinic.example/path",
                                 "clinic.example", 'https://clinic.example"; evil', "https://*.clinic.example"])
def test_origins_are_exact_scheme_host_port(raw: str) -> None:
    with pytest.raises(SettingsError, match="BTS_PROD_ALLOWED_ORIGINS"):
        parse_origins(raw)


def test_origins_are_lower_cased_without_duplicates() -> None:
    assert parse_origins("https://Clinic.example, https://clinic.example  http://localhost:8080") == [
        "https://clinic.example", "http://localhost:8080"]


def test_bad_values_name_their_variable() -> None:
    with pytest.raises(SettingsError, match="BTS_PROD_REPLICAS"):
        settings(BTS_PROD_REPLICAS="0")
    with pytest.raises(SettingsError, match="BTS_PROD_RATE_LIMIT"):
        settings(BTS_PROD_RATE_LIMIT="lots")
    with pytest.raises(SettingsError, match="BTS_PROD_HTTPS_PORT"):
        settings(BTS_PROD_HTTPS_PORT="70000")
    with pytest.raises(SettingsError, match="BTS_PROD_REAL_IP_FROM"):
        parse_cidrs("10.0.0.0/8, not-a-network")
    with pytest.raises(SettingsError, match="BTS_PROD_TLS_CERT"):
        settings(BTS_PROD_TLS_CERT="/etc/ssl/cert.pem")
