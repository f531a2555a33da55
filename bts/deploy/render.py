"""Renders the profile's configuration files from the templates in deploy/ and the settings.

Nothing here starts a process. Secrets never go into a rendered file except Redis's own
configuration (0600, its only way to get a password): the processes get them from the
environment that supervisord passes on (`service_env`).
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from bts.deploy import commands
from bts.deploy.layout import Layout, cert_path, database_url, key_path
from bts.deploy.settings import DEPLOY, REPLICA_TUNING, ROOT, ProfileError, Settings, console_python

NGINX_TEMPLATE = DEPLOY / "nginx.conf.template"
SUPERVISORD_TEMPLATE = DEPLOY / "supervisord.conf.template"
PROGRAM_TEMPLATE = DEPLOY / "supervisord.program.template"
CONSOLE_SERVER_TEMPLATE = DEPLOY / "nginx.console.template"
ENDPOINTS = DEPLOY / "endpoints.prod.yml"


def render_template(template: str, values: Mapping[str, str], name: str = "template") -> str:
    """Replaces every `{{NAME}}` in `template`.

    Raises:
        ProfileError: A placeholder has no value, or a value was never used.
    """
    used = set()

    def replace(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            raise ProfileError(f"{name}: no value for {{{{{key}}}}}")
        used.add(key)
        return values[key]

    text = re.sub(r"\{\{([A-Z_]+)\}\}", replace, template)
    unused = set(values) - used
    if unused:
        raise ProfileError(f"{name}: unused values {sorted(unused)}")
    return text


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def service_user(name: str) -> Optional[str]:
    """The account a service runs as when the profile runs as root (None: as ourselves)."""
    return name if os.geteuid() == 0 else None


# ---- the processes ----------------------------------------------------------------------------


@dataclass
class Program:
    """One process under supervisord.

    Attributes:
        name: supervisord's name for it (also its log file's name).
        command: Its command line.
        user: The account it runs as (None: supervisord's).
        autostart: Started with supervisord; the others are started in order by `profile`.
        stopsignal: How supervisord asks it to stop.
        environment: Settings that are not secrets (secrets come from supervisord's environment).
        stdout_log: Its log file name, when not `<name>.log`.
        stderr_log: A separate file for standard error (None: together with standard output).
    """

    name: str
    command: List[str]
    user: Optional[str] = None
    autostart: bool = False
    stopsignal: str = "TERM"
    environment: Dict[str, str] = field(default_factory=dict)
    stdout_log: str = ""
    stderr_log: Optional[str] = None


def pg_binary(name: str) -> str:
    """Path of a PostgreSQL server program (postgres, initdb, psql) of the newest installed version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[4]))
    folder = found[-1].parent if found else Path("/usr/lib/postgresql/(not installed)/bin")
    return str(folder / name)


def binary(name: str) -> str:
    """Path of a Debian program the profile runs (`missing_programs` says whether it is there)."""
    for folder in ("/usr/sbin", "/usr/bin"):
        if os.path.exists(f"{folder}/{name}"):
            return f"{folder}/{name}"
    return f"/usr/sbin/{name}"


def missing_programs(found: List[Program]) -> List[str]:
    """The programs (and service accounts) that are not installed; deploy/install.sh installs them."""
    missing = [program.command[0] for program in found if not os.access(program.command[0], os.X_OK)]
    return missing + [f"user {p.user}" for p in found if p.user and not _has_user(p.user)]


def programs(settings: Settings, layout: Layout) -> List[Program]:
    """Every process of the profile, in start order."""
    s = settings
    found = [
        Program("postgres", [
            pg_binary("postgres"), "-D", str(layout.pg_data), "-p", str(s.pg_port),
            "-k", str(layout.pg_socket_dir), "-c", "listen_addresses=127.0.0.1",
            "-c", "max_connections=200", "-c", "password_encryption=scram-sha-256",
            "-c", "shared_buffers=128MB", "-c", "log_min_messages=warning",
            "-c", "log_line_prefix=%m [%p] %q%u@%d "],
            user=service_user("postgres"), autostart=True, stopsignal="INT"),
        Program("redis", [binary("redis-server"), str(layout.redis_dir / "redis.conf")],
                user=service_user("redis"), autostart=True),
        Program("actions", commands.actions(s.actions_port)),
        Program("worker", commands.worker(s.worker_port)),
    ]
    purge = commands.retention()
    if purge:
        found.append(Program("retention", purge))
    if s.console:
        found.append(Program("console", commands.console(console_python()), environment={
            "CONSOLE_HOST": "127.0.0.1",
            "CONSOLE_PORT": str(s.console_port),
            # Staff reach the console only through nginx's TLS, so its cookies are always Secure.
            "CONSOLE_COOKIE_SECURE": "always",
            "CONSOLE_TRUST_PROXY": "true",
        }))
    if s.model is not None:
        for index, port in enumerate(s.rasa_ports):
            found.append(Program(f"rasa-{index + 1}", commands.rasa(port, s.model, ENDPOINTS, s.credentials),
                                 environment=dict(REPLICA_TUNING)))
    found.append(Program("nginx", [binary("nginx"), "-p", str(layout.nginx_dir), "-c", str(layout.nginx_conf),
                                   "-g", "daemon off;"],
                         stopsignal="QUIT", stdout_log="nginx-access.log", stderr_log="nginx-error.log"))
    return found


def _command_line(command: List[str]) -> str:
    # supervisord expands %(name)s in its values: a literal % is written %%.
    return " ".join(shlex.quote(part) for part in command).replace("%", "%%")


def _environment(values: Mapping[str, str]) -> str:
    for key, value in values.items():
        if not re.match(r"^[A-Z_][A-Z0-9_]*$", key) or re.search(r"[\"%\n]", value):
            raise ProfileError(f"cannot pass {key}={value!r} in supervisord's configuration")
    return ",".join(f'{key}="{value}"' for key, value in values.items())


def supervisord_conf(settings: Settings, layout: Layout, found: List[Program]) -> str:
    """The text of supervisord.conf: global settings and one section per program."""
    program_template = PROGRAM_TEMPLATE.read_text()
    sections = []
    for priority, program in enumerate(found, start=1):
        values = {
            "NAME": program.name,
            "COMMAND": _command_line(program.command),
            "DIRECTORY": str(ROOT),
            "USER": f"user={program.user}" if program.user else "; (runs as supervisord's user)",
            "AUTOSTART": "true" if program.autostart else "false",
            "PRIORITY": str(priority * 10),
            "STOPSIGNAL": program.stopsignal,
            "ENVIRONMENT": (f"environment={_environment(program.environment)}" if program.environment
                            else "; (no settings of its own)"),
            "STDOUT_LOG": str(layout.log_dir / (program.stdout_log or f"{program.name}.log")),
            "REDIRECT_STDERR": "false" if program.stderr_log else "true",
            "STDERR_LOG": str(layout.log_dir / program.stderr_log) if program.stderr_log else "NONE",
            "LOG_MAX_BYTES": settings.log_max_bytes,
            "LOG_BACKUPS": str(settings.log_backups),
        }
        sections.append(render_template(program_template, values, PROGRAM_TEMPLATE.name))
    return render_template(SUPERVISORD_TEMPLATE.read_text(), {
        "SUPERVISOR_DIR": str(layout.supervisor_dir),
        "LOG_DIR": str(layout.log_dir),
        "LOG_MAX_BYTES": settings.log_max_bytes,
        "LOG_BACKUPS": str(settings.log_backups),
        "DIRECTORY": str(ROOT),
        "PROGRAMS": "\n".join(sections),
    }, SUPERVISORD_TEMPLATE.name)


# ---- nginx and Redis ---------------------------------------------------------------------------


def nginx_conf(settings: Settings, layout: Layout) -> str:
    """The text of nginx.conf, from deploy/nginx.conf.template."""
    s = settings
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
                        for port in s.rasa_ports)
    origin_map = "\n".join(f'        "{origin}" 1;' for origin in s.allowed_origins)
    real_ip_lines = [f"    set_real_ip_from {cidr};" for cidr in s.real_ip_from]
    if real_ip_lines:
        real_ip_lines += ["    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]
    redirect = ""
    if s.http_port:
        redirect = (
            "    server {\n"
            f"        listen {s.public_addr}:{s.http_port};\n"
            f"        server_name {s.server_name};\n"
            f"        return 301 https://$host:{s.https_port}$request_uri;\n"
            "    }"
        )
    tls = {"TLS_CERT": str(cert_path(s, layout)), "TLS_KEY": str(key_path(s, layout))}
    console = ""
    if s.console:
        console = render_template(CONSOLE_SERVER_TEMPLATE.read_text(), {
            "PUBLIC_ADDR": s.public_addr, "CONSOLE_HTTPS_PORT": str(s.console_https_port),
            "SERVER_NAME": s.server_name, "CONSOLE_PORT": str(s.console_port), "BURST": str(s.burst), **tls,
        }, CONSOLE_SERVER_TEMPLATE.name)
    user = "# (not root: no user directive)"
    if os.geteuid() == 0 and _has_user("www-data"):
        user = "user www-data;"
    return render_template(NGINX_TEMPLATE.read_text(), {
        "USER_DIRECTIVE": user,
        "NGINX_DIR": str(layout.nginx_dir),
        "REAL_IP": "\n".join(real_ip_lines) or "    # (none)",
        "MAX_BODY": s.max_body,
        "RATE": s.rate,
        "BURST": str(s.burst),
        "MAX_CONN": str(s.max_conn),
        "MAX_SOCKETS": str(s.max_sockets),
        "ORIGIN_MAP": origin_map or "        # (no origin allowed: set BTS_PROD_ALLOWED_ORIGINS)",
        "UPSTREAM_SERVERS": servers,
        "PUBLIC_ADDR": s.public_addr,
        "HTTPS_PORT": str(s.https_port),
        "SERVER_NAME": s.server_name,
        "HTTP_REDIRECT_SERVER": redirect,
        "CONSOLE_SERVER": console,
        **tls,
    }, NGINX_TEMPLATE.name)


def redis_conf(settings: Settings, layout: Layout) -> str:
    """The text of redis.conf; it holds the password (a file, not a command line `ps` shows)."""
    return "\n".join([
        "# Rendered by bts/deploy at every start.",
        "bind 127.0.0.1",
        f"port {settings.redis_port}",
        "protected-mode yes",
        f"requirepass {settings.redis_password}",
        f"dir {layout.redis_dir}",
        # Locks live seconds: nothing worth persisting.
        'save ""',
        "appendonly no",
        "daemonize no",
        'logfile ""',
        "maxmemory 128mb",
        "maxmemory-policy noeviction",
        "",
    ])


def service_env(settings: Settings, layout: Layout, base: Optional[Mapping[str, str]] = None,
                db: Optional[str] = None) -> Dict[str, str]:
    """Supervisord's environment, which every process inherits.

    It holds endpoints.prod.yml's variables, the delivery settings and the secrets.
    """
    s = settings
    env = dict(os.environ if base is None else base)
    env.update({
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        "BTS_ACTION_ENDPOINT_URL": f"http://127.0.0.1:{s.actions_port}/webhook",
        "BTS_ACTION_TOKEN": s.action_token,
        "BTS_PG_HOST": "127.0.0.1",
        "BTS_PG_PORT": str(s.pg_port),
        "BTS_PG_DB": db or s.pg_db,
        "BTS_PG_USER": s.pg_user,
        "BTS_PG_PASSWORD": s.pg_password,
        "BTS_REDIS_HOST": "127.0.0.1",
        "BTS_REDIS_PORT": str(s.redis_port),
        "BTS_REDIS_PASSWORD": s.redis_password,
        "BTS_DATABASE_URL": database_url(s, db, driver="psycopg2"),
        "BTS_SPOOL_FILE": str(layout.spool_file),
        "BTS_ALLOWED_ORIGINS": ",".join(s.allowed_origins),
        "TICKET_LOCK_LIFETIME": str(s.lock_lifetime_s),
        # The production profile: no demo receiver, no development shortcuts.
        "BTS_PROFILE": "production",
        "BTS_SESSION_SECRET": s.session_secret,
        # rasa_sdk's action server reads its interface from SANIC_HOST.
        "SANIC_HOST": "127.0.0.1",
    })
    if s.webhook_url:
        env["BTS_WEBHOOK_URL"] = s.webhook_url
        env["BTS_WEBHOOK_SECRET"] = s.webhook_secret
    if s.console_secret:
        env["CONSOLE_SECRET_KEY"] = s.console_secret
    return env


def owner_env(settings: Settings, layout: Layout, db: Optional[str] = None) -> Dict[str, str]:
    """The environment of the migrations: the same as the services', as the tables' owner."""
    env = service_env(settings, layout, db=db)
    env.update({"BTS_PG_USER": settings.pg_owner, "BTS_PG_PASSWORD": settings.pg_owner_password,
                "BTS_DATABASE_URL": database_url(settings, db, owner=True, driver="psycopg2")})
    return env


def write_private(path: Path, text: str, owner: Optional[str] = None) -> None:
    """Writes `text` to `path` with mode 0600 (owned by `owner` when given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)
    if owner:
        account = pwd.getpwnam(owner)
        os.chown(path, account.pw_uid, account.pw_gid)
