"""Fixtures of the database tests: a real PostgreSQL server, as the fault tests use."""

from tests.faults.postgres import postgres  # noqa: F401 - the fixture
