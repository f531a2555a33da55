"""`python -m bts.db upgrade|current|verify-audit`: the project database (BTS_DATABASE_URL).

`upgrade` creates or upgrades it to the newest migration; `current` prints its revision;
`verify-audit` checks the audit log's hash chain (exit code 1 when an entry was changed or removed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bts.booking.settings import Settings
from bts.db import audit, migrate, schema
from bts.db.engine import make_engine
from bts.env import SettingsError


def _verify_audit(engine: Engine, anchor: Optional[str]) -> int:
    with engine.connect() as conn:
        result = audit.verify(conn, anchor)
        newest = conn.execute(
            sa.select(schema.audit.c.entry_hash).order_by(schema.audit.c.id.desc()).limit(1)
        ).scalar()
    if result.intact:
        print(f"audit log intact: {result.checked} chained entries, {result.unchained} from before the "
              f"chain; newest hash {newest} (keep it to check later with --anchor)")
        return 0
    print(f"audit log TAMPERED: the chain breaks at entries {result.broken_at} (-1: the anchor is gone)")
    return 1


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m bts.db", description=__doc__)
    parser.add_argument("command", choices=("upgrade", "current", "verify-audit"))
    parser.add_argument("--anchor", help="verify-audit: a hash from an earlier run that must still be there")
    parser.add_argument("--url", help="database URL (default: BTS_DATABASE_URL or var/bts.db)")
    args = parser.parse_args(argv)
    try:
        url = args.url or Settings.from_env().database_url
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(url)
    try:
        if args.command == "current":
            print(migrate.current(engine) or "none (new database or made before migrations)")
        elif args.command == "verify-audit":
            return _verify_audit(engine, args.anchor)
        else:
            print(f"database at revision {migrate.upgrade(engine)} (newest: {migrate.head()})")
    except SQLAlchemyError as exc:
        print(f"error: the database could not be upgraded ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
