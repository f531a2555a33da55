"""PostgreSQL of the production profile: the cluster, two roles, the database and its grants.

The tables belong to an owner role that only the migrations use (with a password made for each
start and never stored). The applications (Rasa, the action server, the worker, the purge, the
console) connect as a second role that may read and write rows but not create, alter or drop
anything, nor TRUNCATE: so it cannot drop the audit log's append-only trigger or empty the table
around it.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bts.deploy import commands
from bts.deploy.layout import Layout, open_log
from bts.deploy.render import owner_env, pg_binary, service_user
from bts.deploy.settings import ROOT, ProfileError, Settings

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
AUDIT_TABLE = "console_audit"


def run_as(user: str, command: List[str], **kwargs: object) -> subprocess.CompletedProcess:
    """Runs `command` as the service account `user` when we are root, else as ourselves."""
    extra: Dict[str, object] = {}
    if service_user(user):
        account = pwd.getpwnam(user)
        extra = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [],
                 "env": {**os.environ, "HOME": account.pw_dir, "USER": user}}
    return subprocess.run(command, cwd="/", **extra, **kwargs)  # type: ignore[call-overload]


def init_cluster(layout: Layout, log: Callable[[str], None]) -> None:
    """Creates the cluster (peer authentication on the socket, SCRAM passwords over TCP) once."""
    pg_root = layout.pg_data.parent
    for folder in (pg_root, layout.pg_socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
        owner = service_user("postgres")
        if owner:
            account = pwd.getpwnam(owner)
            os.chown(folder, account.pw_uid, account.pw_gid)
        folder.chmod(0o700)
    if (layout.pg_data / "PG_VERSION").exists():
        return
    log(f"==> Creating the PostgreSQL cluster in {layout.pg_data}")
    result = run_as(
        "postgres",
        [pg_binary("initdb"), "-D", str(layout.pg_data), "-U", "postgres", "-E", "UTF8", "--locale=C",
         "--auth-local=peer", "--auth-host=scram-sha-256"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    if result.returncode != 0:
        raise ProfileError(f"initdb failed:\n{result.stdout}")


def psql(settings: Settings, layout: Layout, sql: str, db: str = "postgres") -> str:
    """Runs `sql` as the superuser over the Unix socket; returns the output (unaligned, tuples only).

    Raises:
        ProfileError: When psql fails (the first statement that failed stops it).
    """
    result = run_as(
        "postgres",
        [pg_binary("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", str(layout.pg_socket_dir),
         "-p", str(settings.pg_port), "-U", "postgres", "-d", db],
        input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
    )
    if result.returncode != 0:
        raise ProfileError(f"psql failed: {result.stderr.strip()}")
    return result.stdout


def answers(settings: Settings, layout: Layout) -> bool:
    """True when PostgreSQL accepts a query."""
    try:
        psql(settings, layout, "SELECT 1;")
        return True
    except (ProfileError, subprocess.TimeoutExpired):
        return False


def _quote(secret: str) -> str:
    return "'" + secret.replace("'", "''") + "'"


def ensure_roles(settings: Settings, layout: Layout) -> None:
    """Creates the owner and the applications' role; their passwords are set again at every start.

    The passwords go to psql on standard input, never on a command line.
    """
    s = settings
    for name in (s.pg_owner, s.pg_user):
        if not _NAME.match(name):
            raise ProfileError(f"bad role name {name!r}")
    psql(s, layout, "\n".join([
        f"SELECT 'CREATE ROLE {name}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}')\\gexec"
        for name in (s.pg_owner, s.pg_user)
    ] + [
        f"ALTER ROLE {s.pg_owner} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        f"PASSWORD {_quote(s.pg_owner_password)};",
        f"ALTER ROLE {s.pg_user} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
        f"PASSWORD {_quote(s.pg_password)};",
        # Neither role inherits the other's rights.
        f"REVOKE {s.pg_owner} FROM {s.pg_user};",
        "",
    ]))


def ensure_database(settings: Settings, layout: Layout, db: str) -> None:
    """Creates `db` owned by the owner role.

    A database of an older profile (owned by the applications' role) is handed over to the owner,
    tables included.
    """
    s = settings
    if not _NAME.match(db):
        raise ProfileError(f"bad database name {db!r}")
    psql(s, layout, "\n".join([
        f"SELECT 'CREATE DATABASE {db} OWNER {s.pg_owner} ENCODING ''UTF8''' WHERE NOT EXISTS "
        f"(SELECT FROM pg_database WHERE datname = '{db}')\\gexec",
        f"ALTER DATABASE {db} OWNER TO {s.pg_owner};",
        f"REVOKE ALL ON DATABASE {db} FROM PUBLIC;",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {s.pg_user};",
        "",
    ]))
    psql(s, layout, "\n".join([
        f"REASSIGN OWNED BY {s.pg_user} TO {s.pg_owner};",
        f"ALTER SCHEMA public OWNER TO {s.pg_owner};",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
        "",
    ]), db=db)


def grant_data_rights(settings: Settings, layout: Layout, db: str) -> None:
    """Gives the applications' role rows, not structure.

    SELECT/INSERT/UPDATE/DELETE on every table (the audit log: SELECT/INSERT only) and the
    sequences, for future tables too.
    """
    s = settings
    app, owner = s.pg_user, s.pg_owner
    psql(s, layout, "\n".join([
        f"GRANT USAGE ON SCHEMA public TO {app};",
        f"REVOKE CREATE ON SCHEMA public FROM {app};",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app};",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {app};",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app};",
        "DO $$ BEGIN",
        f"  IF to_regclass('public.{AUDIT_TABLE}') IS NOT NULL THEN",
        f"    REVOKE UPDATE, DELETE ON {AUDIT_TABLE} FROM {app};",
        "  END IF;",
        "END $$;",
        "",
    ]), db=db)


def migrate(settings: Settings, layout: Layout, db: str, endpoints: Path, log: Callable[[str], None],
            log_file: Optional[Path] = None) -> None:
    """Creates or upgrades every table of `db` as the owner, then grants the data rights.

    Raises:
        ProfileError: When a migration fails (its output is in `log_file`, default migrate.log).
    """
    log_file = log_file or layout.log_dir / "migrate.log"
    env = owner_env(settings, layout, db=db)
    for command in commands.migrations(endpoints):
        log(f"==> Database {db}: {' '.join(command[1:4])}")
        with open_log(log_file) as handle:
            result = subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            tail = log_file.read_text(errors="replace")[-3000:]
            raise ProfileError(f"migration {' '.join(command[1:4])} failed; {log_file} ends:\n{tail}")
    grant_data_rights(settings, layout, db)


def drop_database(settings: Settings, layout: Layout, db: str) -> None:
    """Drops `db` if it exists (benchmark and test databases only)."""
    if not _NAME.match(db) or db == settings.pg_db:
        raise ProfileError(f"refusing to drop {db!r}")
    psql(settings, layout, f"DROP DATABASE IF EXISTS {db} WITH (FORCE);")
