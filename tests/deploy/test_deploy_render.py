"""The rendered configuration of the production profile: supervisord, nginx, the endpoints."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Dict

import pytest

from bts.deploy import render
from bts.deploy.layout import Layout
from bts.deploy.render import ENDPOINTS, nginx_conf, programs, service_env, supervisord_conf
from bts.deploy.settings import Settings

ORIGIN = "https://clinic.example"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", model=tmp_path / "model.tar.gz", allowed_origins=[ORIGIN],
                    pg_password="pg-password-1234", redis_password="redis-password-5678",
                    webhook_url="https://clinic.example/hook", webhook_secret="w" * 32)


def supervisord(settings: Settings) -> configparser.RawConfigParser:
    layout = Layout(settings.state_dir)
    parser = configparser.RawConfigParser()
    parser.read_string(supervisord_conf(settings, layout, programs(settings, layout)))
    return parser


def environment(section: configparser.SectionProxy) -> Dict[str, str]:
    raw = section.get("environment", "")
    return dict(re.findall(r'([A-Z_][A-Z0-9_]*)="([^"]*)"', raw))


def location(conf: str, name: str) -> str:
    start = conf.index(f"location {name} {{")
    return conf[start:conf.index("\n        }", start)]


def test_every_process_restarts_and_its_log_is_rotated(settings: Settings) -> None:
    conf = supervisord(settings)
    names = [s.split(":", 1)[1] for s in conf.sections() if s.startswith("program:")]
    assert {"postgres", "redis", "actions", "worker", "rasa-1", "rasa-2", "nginx"} <= set(names)
    for name in names:
        section = conf[f"program:{name}"]
        assert section["autorestart"] == "true", name
        assert section["stdout_logfile"].startswith(str(settings.log_dir)), name
        assert section["stdout_logfile_maxbytes"] == "10MB" and section["stdout_logfile_backups"] == "5", name
    assert conf["supervisord"]["logfile_maxbytes"] == "10MB"
    # Files written by the processes (logs, spool) are for their owner only.
    assert conf["supervisord"]["umask"] == "077"
    assert conf["unix_http_server"]["chmod"] == "0700"


def test_the_retention_purge_runs_under_supervisord(settings: Settings) -> None:
    conf = supervisord(settings)
    assert "program:retention" in conf.sections()
    assert conf["program:retention"]["command"].endswith("-m bts.retention --loop")
    assert conf["program:retention"]["autorestart"] == "true"


def test_the_action_server_listens_on_loopback_only(settings: Settings) -> None:
    command = supervisord(settings)["program:actions"]["command"]
    assert "--host 127.0.0.1" in command, command


def test_rasa_sends_the_action_token_that_the_action_server_gets(settings: Settings,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.utils.endpoints import read_endpoint_config

    env = service_env(settings, Layout(settings.state_dir), base={})
    assert env["BTS_ACTION_TOKEN"] == settings.action_token
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    endpoint = read_endpoint_config(str(ENDPOINTS), "action_endpoint")
    assert endpoint is not None
    assert endpoint.headers == {"X-BTS-Action-Token": settings.action_token}
    assert endpoint.url == f"http://127.0.0.1:{settings.actions_port}/webhook"


def test_the_replicas_run_without_rasa_s_http_api(settings: Settings) -> None:
    command = supervisord(settings)["program:rasa-1"]["command"]
    assert "--interface 127.0.0.1" in command
    assert "--enable-api" not in command


def test_no_secret_is_written_into_a_configuration_file(settings: Settings) -> None:
    layout = Layout(settings.state_dir)
    texts = [supervisord_conf(settings, layout, programs(settings, layout)), nginx_conf(settings, layout),
             ENDPOINTS.read_text()]
    for secret in (settings.pg_password, settings.redis_password, settings.action_token,
                   settings.webhook_secret, settings.pg_owner_password, settings.session_secret):
        assert not any(secret in text for text in texts)


def test_the_console_sets_secure_cookies_behind_tls(settings: Settings) -> None:
    with_console = replace(settings, console=True)
    section = supervisord(with_console)["program:console"]
    assert environment(section)["CONSOLE_COOKIE_SECURE"] == "always"
    assert environment(section)["CONSOLE_HOST"] == "127.0.0.1"
    conf = nginx_conf(with_console, Layout(settings.state_dir))
    assert f"listen {settings.public_addr}:{settings.console_https_port} ssl;" in conf
    assert f"proxy_pass http://127.0.0.1:{settings.console_port};" in conf


def test_nginx_logs_no_query_strings_or_conversation_ids(settings: Settings) -> None:
    conf = nginx_conf(settings, Layout(settings.state_dir))
    log_format = conf[conf.index("log_format bts"):conf.index(";", conf.index("log_format bts"))]
    for variable in ("$arg_", "$args", "$query_string", "$request_uri", "$request ", "$http_x_bts_sender",
                     "$request_body"):
        assert variable not in log_format, variable
    # REST routing reads a header, not the URL.
    assert "$arg_sender" not in conf
    # Both logs go to supervisord, which rotates them.
    assert "access_log /dev/stdout bts;" in conf and "error_log stderr" in conf


def test_socketio_limits_in_nginx(settings: Settings) -> None:
    block = location(nginx_conf(settings, Layout(settings.state_dir)), "/socket.io/")
    assert f"limit_conn bts_sockets_per_client {settings.max_sockets};" in block
    assert f"client_max_body_size {settings.max_body};" in block
    assert "proxy_buffer_size 4k;" in block
    assert "if ($bts_origin_allowed = 0)" in block


def test_error_pages_name_no_software(settings: Settings) -> None:
    conf = nginx_conf(settings, Layout(settings.state_dir))
    assert "server_tokens off;" in conf
    assert re.search(r"error_page 400 403 404 405 413 429 500 502 503 504 @bts_error;", conf)


@pytest.mark.skipif(not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is installed by deploy/install.sh")
def test_nginx_accepts_the_rendered_configuration(settings: Settings, tmp_path: Path) -> None:
    layout = Layout(settings.state_dir)
    (layout.nginx_dir / "tmp").mkdir(parents=True)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    checked = replace(settings, tls_cert=cert, tls_key=key, console=True)
    render.write_private(layout.nginx_conf, nginx_conf(checked, layout))
    result = subprocess.run([render.binary("nginx"), "-t", "-p", str(layout.nginx_dir),
                             "-c", str(layout.nginx_conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_template_placeholder_without_a_value_is_an_error() -> None:
    from bts.deploy.settings import ProfileError

    with pytest.raises(ProfileError, match="no value for"):
        render.render_template("listen {{PORT}};", {})
    with pytest.raises(ProfileError, match="unused values"):
        render.render_template("listen 1;", {"PORT": "1"})
