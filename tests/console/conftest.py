"""Fixtures of the staff console tests (run with .venv-console; see pytest.ini here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("flask", reason="the console tests run in .venv-console (make console-test)")

import support  # noqa: E402

from console.db import indexer  # noqa: E402
from console.web import create_app  # noqa: E402


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bts.db"


@pytest.fixture
def engine(db_path: Path) -> Any:
    engine = support.make_db(db_path)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(db_path: Path) -> Any:
    return support.settings_for(db_path)


@pytest.fixture
def app(settings: Any, engine: Any) -> Any:
    app = create_app(settings, engine)
    app.testing = True
    indexer.sync(engine, settings.low_confidence)
    return app


@pytest.fixture
def anon(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def admin(app: Any) -> Iterator[Any]:
    client = app.test_client()
    assert support.login(client, "ada").status_code == 302
    yield client


@pytest.fixture
def staff(app: Any) -> Iterator[Any]:
    client = app.test_client()
    assert support.login(client, "sam").status_code == 302
    yield client
