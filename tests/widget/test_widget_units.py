"""Widget pieces without a browser: the JS units (under Node), the size budget, the demo server's
headers, and the fixed socket.io channel."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from typing import Dict, Iterator, Optional, Tuple

import pytest

from bts import widget_server as serve
from bts.dev.model_files import ROOT

WIDGET = ROOT / "widget"
DIST = WIDGET / "dist"
BUDGET_BYTES = 60_000



def test_javascript_units_pass_under_node() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed (bash widget/setup.sh)"
    result = subprocess.run(
        [node, "--test", str(ROOT / "tests" / "widget" / "units.test.mjs")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"^# pass [1-9]\d*$", result.stdout, re.M)


def test_first_open_is_within_the_gzip_budget() -> None:
    manifest = json.loads((DIST / "manifest.json").read_text())
    total = 0
    for name in (manifest["script"], manifest["stylesheet"]):
        total += len(gzip.compress((DIST / name).read_bytes(), compresslevel=6))
    assert total <= BUDGET_BYTES, f"{total} bytes gzipped, budget {BUDGET_BYTES}"


def test_the_bundle_has_no_html_sinks_or_eval() -> None:
    source = (DIST / "bts-chat.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, sink
    source_map = (DIST / "bts-chat.js.map").read_text()
    assert "socket.io-client" in source_map, "the socket.io client is bundled, not loaded from a CDN"
    # The only host names in the code: the SVG namespace and a link in socket.io's error text.
    hosts = set(re.findall(r"(?:https?|wss?)://([a-z0-9.-]+\.[a-z]{2,})", source))
    assert hosts <= {"www.w3.org", "socket.io"}, hosts


# ------------------------------------------------------------------ bts/widget_server.py


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = serve.make_server(0, "http://localhost:5005", quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(
    url: str, method: str = "GET", headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_demo_page_has_a_strict_csp_and_embeds_the_widget(site: str) -> None:
    status, headers, body = fetch(site + "/")
    assert status == 200
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "default-src 'none'" in csp
    assert "connect-src http://localhost:5005 ws://localhost:5005;" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "require-trusted-types-for 'script'" in csp
    assert headers["cache-control"] == "no-cache"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    page = body.decode()
    assert 'data-server="http://localhost:5005"' in page
    assert page.count("<script") == 1 and "<style" not in page and " style=" not in page


def test_widget_assets_are_compressed_and_cached(site: str) -> None:
    status, headers, body = fetch(site + "/widget/bts-chat.js", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["cache-control"] == "public, max-age=300"
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == (DIST / "bts-chat.js").read_bytes()
    revalidate = {"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]}
    status, _, _ = fetch(site + "/widget/bts-chat.js", headers=revalidate)
    assert status == 304
    stylesheet = json.loads((DIST / "manifest.json").read_text())["stylesheet"]
    status, headers, body = fetch(f"{site}/widget/{stylesheet}")
    assert status == 200 and "content-encoding" not in headers
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert body == (DIST / stylesheet).read_bytes()
    status, headers, body = fetch(site + "/widget/bts-chat.js", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


@pytest.mark.parametrize(
    "path",
    ["/widget/../serve.py", "/widget/%2e%2e/serve.py", "/widget/..%2fserve.py", "/widget/.gitignore",
     "/demo/index.html", "/widget/", "/serve.py", "/widget/manifest.json/x", "/node_modules/axe-core/axe.js"],
)
def test_nothing_outside_the_published_files_is_served(site: str, path: str) -> None:
    status, _, _ = fetch(site + path)
    assert status == 404


def test_only_get_and_head(site: str) -> None:
    status, headers, _ = fetch(site + "/", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_rasa_url_must_be_plain_http_or_https() -> None:
    assert serve.rasa_origin("https://bot.example.org/") == "https://bot.example.org"
    assert "connect-src https://bot.example.org wss://bot.example.org;" in serve.content_security_policy(
        "https://bot.example.org"
    )
    for bad in ("javascript:alert(1)", "ftp://x", "http://x; script-src *", "localhost:5005"):
        with pytest.raises(ValueError):
            serve.rasa_origin(bad)
