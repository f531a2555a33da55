"""Creating or upgrading the project database to the newest migration (Alembic).

A database made before migrations existed has the first release's tables but no
`alembic_version`: the first revision creates only what is missing, so such a database is taken
over with its data and then upgraded like any other.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Iterator, Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from bts.db.schema import metadata

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant shared by every process that upgrades the same PostgreSQL database.
PG_LOCK_ID = 0x42545344


def ours(name: Optional[str], type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` filter: only the project's tables, never Rasa's."""
    return type_ != "table" or name in metadata.tables


def _config(connection: Optional[Connection] = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> Optional[str]:
    """The revision the database is at; None for a new database or one made before migrations."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A transaction no other upgrading process runs at the same time."""
    with engine.execution_options(bts_write=True).begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_ID})")
        yield conn


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Brings the database to `revision` (default: the newest); safe to run from several processes.

    Args:
        engine: An engine from `bts.db.engine.make_engine`.
        revision: Target revision.

    Returns:
        The revision the database is at afterwards.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: If the database cannot be reached or a migration fails;
            a failed migration is rolled back where the database allows it (PostgreSQL).
    """
    with _exclusive(engine) as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        if before != head() or revision != "head":
            command.upgrade(_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision() or "base"
    if before != after:
        logger.info("database upgraded from %s to %s", before or "an unversioned schema", after)
    return after


def downgrade(engine: Engine, revision: str) -> str:
    """Takes the database back to `revision` (for tests of a migration)."""
    with _exclusive(engine) as conn:
        command.downgrade(_config(conn), revision)
        return MigrationContext.configure(conn).get_current_revision() or "base"

