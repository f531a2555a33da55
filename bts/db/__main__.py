"""`python -m bts.db upgrade|current`: create or upgrade the project database (BTS_DATABASE_URL)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

from sqlalchemy.exc import SQLAlchemyError

from bts.booking.settings import Settings
from bts.db import migrate
from bts.db.engine import make_engine
from bts.env import SettingsError


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m bts.db", description=__doc__)
    parser.add_argument("command", choices=("upgrade", "current"))
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
