"""Creates the tracker store's tables as their owner: `python -m bts.deploy.schema --endpoints FILE`.

The replicas connect with a role that may not create tables, so the tables of the tracker store
named in the endpoints file (Rasa's `events`, and those of our checkpointing store) are created
here, by instantiating that store once with the owner's credentials from the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional


def create_tracker_tables(endpoints: str) -> None:
    """Instantiates the tracker store of `endpoints` once, which creates its missing tables."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(endpoints, "tracker_store")
    if config is None:
        raise SystemExit(f"{endpoints} has no tracker_store")
    TrackerStore.create(config)


def create_project_tables(url: str) -> None:
    """Creates the booking and console tables where no migration tool (`bts.db`) installs them."""
    import importlib

    import sqlalchemy

    # Looked up at run time: these modules belong to the applications, not to this package.
    booking_tables = importlib.import_module("actions.store").metadata
    create_console_tables = importlib.import_module("console.db.schema").create_console_tables
    engine = sqlalchemy.create_engine(url, hide_parameters=True)
    booking_tables.create_all(engine)
    create_console_tables(engine)
    engine.dispose()


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", required=True, help="endpoints file naming the tracker store")
    parser.add_argument("--with-project-tables", action="store_true",
                        help="also create the booking and console tables (BTS_DATABASE_URL)")
    args = parser.parse_args(argv)
    if args.with_project_tables:
        create_project_tables(os.environ["BTS_DATABASE_URL"])
    create_tracker_tables(args.endpoints)
    return 0


if __name__ == "__main__":
    sys.exit(main())
