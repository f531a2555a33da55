"""Creates the tracker store's tables as their owner: `python -m bts.deploy.schema --endpoints FILE`.

The replicas connect with a role that may not create tables, so the tables of the tracker store
named in the endpoints file (Rasa's `events`, and those of our checkpointing store) are created
here, by instantiating that store once with the owner's credentials from the environment.
"""

from __future__ import annotations

import argparse
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


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", required=True, help="endpoints file naming the tracker store")
    args = parser.parse_args(argv)
    create_tracker_tables(args.endpoints)
    return 0


if __name__ == "__main__":
    sys.exit(main())
