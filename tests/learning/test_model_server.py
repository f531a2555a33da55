"""The model server hands Rasa the live model: token required, 304 while unchanged, promotion and
rollback seen at the next pull."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

from bts.learning import model_server, promotion

TOKEN = "t" * 24


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Tuple[str, Path]]:
    base = tmp_path / "learning"
    srv = model_server.serve("127.0.0.1", 0, base, TOKEN)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/model", base
    srv.shutdown()
    srv.server_close()


def get(url: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, Any], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), b""


def test_refuses_without_the_token(server: Tuple[str, Path], tmp_path: Path) -> None:
    url, base = server
    model = tmp_path / "a.tar.gz"
    model.write_bytes(b"model a")
    promotion.promote(base, model, "run-a", "ada")
    assert get(url)[0] == 401
    assert get(url + "?token=wrong")[0] == 401
    assert get(url + "?token=" + TOKEN)[0] == 200


def test_promotion_and_rollback_reach_the_next_pull(server: Tuple[str, Path], tmp_path: Path) -> None:
    url, base = server
    url += "?token=" + TOKEN
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    a.write_bytes(b"model a")
    b.write_bytes(b"model b")
    promotion.promote(base, a, "run-a", "ada")
    status, headers, body = get(url)
    assert (status, body) == (200, b"model a")
    etag_a = headers["ETag"]
    assert get(url, {"If-None-Match": etag_a})[0] == 304
    promotion.promote(base, b, "run-b", "ada")
    status, headers, body = get(url, {"If-None-Match": etag_a})
    assert (status, body) == (200, b"model b") and headers["ETag"] != etag_a
    promotion.rollback(base, "ada")
    status, headers, body = get(url, {"If-None-Match": headers["ETag"]})
    assert (status, body, headers["ETag"]) == (200, b"model a", etag_a)


def test_listens_on_loopback_only_with_a_real_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        model_server.serve("0.0.0.0", 0, tmp_path, TOKEN)
    with pytest.raises(ValueError, match="at least"):
        model_server.serve("127.0.0.1", 0, tmp_path, "short")


def test_rollback_without_history_says_so(tmp_path: Path) -> None:
    with pytest.raises(LookupError):
        promotion.rollback(tmp_path, "ada")
