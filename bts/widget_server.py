#!/usr/bin/env python3
"""Serves the widget demo page and the built widget (standard library only).

    python -m bts.widget_server [--port 8080] [--rasa-url http://localhost:5005] [--host 127.0.0.1]

Routes:
    /                 the demo page of Border Therapy Services, with the widget embedded
    /widget/<file>    the built widget from widget/dist/ (what a clinic's page loads)
    /demo/<file>      the demo page's own stylesheet and icon
    /healthz          "ok", for readiness checks

Every response carries a strict Content-Security-Policy: scripts, styles and images only from
this server, network connections only to the Rasa server, no inline script or style, and Trusted
Types enforced so that no HTML string can reach the DOM. Text assets are gzip-compressed when the
browser accepts it. Caching: pages are revalidated on every load (`no-cache` + ETag), the
stably named widget script for 5 minutes, the content-hashed stylesheet for a year (`immutable`).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import os
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

# The widget's own folder of the project (its build output and the demo page).
HERE = Path(__file__).resolve().parents[1] / "widget"
DIST = HERE / "dist"
DEMO = HERE / "demo"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = {".html", ".js", ".css", ".json", ".map", ".svg", ".txt"}

CACHE_PAGE = "no-cache"
CACHE_SCRIPT = "public, max-age=300"
CACHE_HASHED = "public, max-age=31536000, immutable"
CACHE_STATIC = "public, max-age=3600"


def rasa_origin(url: str) -> str:
    """The origin (scheme://host[:port]) of the Rasa server URL; raises ValueError if unusable."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if any(c in url for c in " ;,'\"<>\n\r"):
        raise ValueError(f"unexpected characters in {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(origin: str) -> str:
    """The page's CSP: the only place the page may talk to is the Rasa server (HTTP and WebSocket)."""
    websocket = "wss" + origin[len("https"):] if origin.startswith("https") else "ws" + origin[len("http"):]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src {origin} {websocket}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )


class Site:
    """What the server serves, and the headers it serves it with."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.origin = rasa_origin(self.rasa_url)
        self.csp = content_security_policy(self.origin)
        self._gzip_cache: Dict[Tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def resolve(self, path: str) -> Optional[Tuple[bytes, str, str]]:
        """Body, content type and Cache-Control for a URL path, or None for 404."""
        if path in ("/", "/index.html"):
            page = (DEMO / "index.html").read_text(encoding="utf-8")
            page = page.replace("%RASA_URL%", html.escape(self.rasa_url, quote=True))
            return page.encode("utf-8"), CONTENT_TYPES[".html"], CACHE_PAGE
        if path == "/healthz":
            return b"ok\n", CONTENT_TYPES[".txt"], "no-store"
        for prefix, folder in (("/widget/", DIST), ("/demo/", DEMO)):
            if not path.startswith(prefix):
                continue
            name = path[len(prefix):]
            # Only plain file names that exist in the folder: no traversal, no subfolders.
            if not name or "/" in name or "\\" in name or name.startswith(".") or name == "index.html":
                return None
            try:
                names = set(os.listdir(folder))
            except FileNotFoundError:
                return None
            if name not in names:
                return None
            suffix = Path(name).suffix
            if suffix not in CONTENT_TYPES:
                return None
            body = (folder / name).read_bytes()
            if folder is DEMO:
                cache = CACHE_STATIC
            elif name == "bts-chat.js":
                cache = CACHE_SCRIPT
            elif name.count(".") >= 2 and suffix == ".css":
                cache = CACHE_HASHED
            else:
                cache = CACHE_PAGE
            return body, CONTENT_TYPES[suffix], cache
        return None

    def gzipped(self, path: str, body: bytes) -> bytes:
        key = (path, hashlib.sha256(body).hexdigest())
        with self._lock:
            cached = self._gzip_cache.get(key)
            if cached is None:
                cached = gzip.compress(body, compresslevel=6, mtime=0)
                self._gzip_cache[key] = cached
            return cached


class Handler(BaseHTTPRequestHandler):
    """GET and HEAD only; everything else is 405."""

    site: Site
    quiet = False
    protocol_version = "HTTP/1.1"
    server_version = "bts-widget"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    def _not_allowed(self) -> None:
        self._send_simple(HTTPStatus.METHOD_NOT_ALLOWED, b"method not allowed\n", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815

    def _security_headers(self) -> None:
        self.send_header("Content-Security-Policy", self.site.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")

    def _send_simple(self, status: HTTPStatus, body: bytes, extra: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self._security_headers()
        self.send_header("Content-Type", CONTENT_TYPES[".txt"])
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _respond(self, head: bool) -> None:
        path = urlsplit(self.path).path
        found = self.site.resolve(path)
        if found is None:
            self._send_simple(HTTPStatus.NOT_FOUND, b"not found\n")
            return
        body, content_type, cache = found
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        suffix = Path(path).suffix or ".html"
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "").lower()
        compress = suffix in COMPRESSIBLE and accepts_gzip and len(body) > 256
        if compress:
            etag = etag[:-1] + '-gz"'
        if etag in [t.strip() for t in self.headers.get("If-None-Match", "").split(",")]:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self._security_headers()
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", cache)
            self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            return
        if compress:
            body = self.site.gzipped(path, body)
        self.send_response(HTTPStatus.OK)
        self._security_headers()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("ETag", etag)
        self.send_header("Vary", "Accept-Encoding")
        if path.startswith("/widget/"):
            # Clinics embed the widget from this server on their own origin.
            self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        if not self.quiet:
            super().log_message(format, *args)


def make_server(
    port: int, rasa_url: str, host: str = "127.0.0.1", quiet: bool = False
) -> ThreadingHTTPServer:
    """A ready-to-run server (call serve_forever); port 0 picks a free port."""
    site = Site(rasa_url)
    handler = type("BoundHandler", (Handler,), {"site": site, "quiet": quiet})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: Optional[list] = None) -> int:
    """Command-line entry point."""
    rasa_port = os.environ.get("BTS_RASA_PORT", "5005")
    default_rasa = os.environ.get("BTS_RASA_URL") or f"http://localhost:{rasa_port}"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("BTS_WIDGET_PORT", "8080")))
    parser.add_argument("--host", default=os.environ.get("BTS_WIDGET_HOST", "127.0.0.1"))
    parser.add_argument("--rasa-url", default=default_rasa, help="Rasa server URL as the browser reaches it")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    if not (DIST / "bts-chat.js").exists():
        print("warning: widget/dist/bts-chat.js is missing; run `bash widget/setup.sh`", file=sys.stderr)
    try:
        server = make_server(args.port, args.rasa_url, args.host, args.quiet)
    except ValueError as error:
        print(f"error: --rasa-url: {error}", file=sys.stderr)
        return 2
    port = server.server_address[1]
    print(f"Widget demo on http://localhost:{port}/ (Rasa at {args.rasa_url})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
