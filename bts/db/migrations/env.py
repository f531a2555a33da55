"""Alembic environment: runs on the connection `bts.db.migrate.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from bts.db.migrate import ours
from bts.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, include_name=ours)
with context.begin_transaction():
    context.run_migrations()
