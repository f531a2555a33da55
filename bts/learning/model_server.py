"""Serves the live model to Rasa's model pulling (`models:` in the endpoints file).

Rasa 3.6 asks `GET <url>?token=...` with `If-None-Match: <fingerprint of its model>` every
`wait_time_between_pulls` seconds, and loads a new model in the background when the answer is
200 with an ETag; conversations are kept in the tracker store, so none is dropped. This server
answers 304 while the live model is unchanged, refuses requests without the token
(`BTS_MODEL_SERVER_TOKEN`) and listens on the loopback interface only.

Usage:
    python -m bts.learning.model_server [--host 127.0.0.1] [--port 5006]
"""

from __future__ import annotations

import argparse
import hmac
import ipaddress
import logging
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import parse_qs, urlsplit

from bts.learning import promotion
from bts.learning.workspace import learning_dir

log = logging.getLogger("bts.learning.model_server")
MIN_TOKEN = 16


def handler(base: Path, token: str) -> type:
    """A request handler class serving the live model of `base` to holders of `token`."""
    class ModelHandler(BaseHTTPRequestHandler):
        def _token_ok(self) -> bool:
            sent = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                sent = auth[len("Bearer ") :]
            return hmac.compare_digest(sent.encode(), token.encode())

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if urlsplit(self.path).path != "/model":
                self.send_error(404)
                return
            if not self._token_ok():
                self.send_error(401, "token required")
                return
            entry = promotion.live(base)
            if entry is None:
                self.send_error(404, "no trained model")
                return
            etag = entry["fingerprint"]
            if self.headers.get("If-None-Match", "").strip('"') == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            data = Path(entry["model"]).read_bytes()
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("filename", "model.tar.gz")
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            log.info("served model %s (%s)", Path(entry["model"]).name, etag)

        def log_message(self, fmt: str, *args: object) -> None:
            log.debug(fmt, *args)

    return ModelHandler


def serve(host: str, port: int, base: Path, token: str) -> ThreadingHTTPServer:
    """A started-not-yet-serving server (call `serve_forever`)."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the model server listens on the loopback interface only, not {host}")
    if len(token) < MIN_TOKEN:
        raise ValueError(f"BTS_MODEL_SERVER_TOKEN must be at least {MIN_TOKEN} characters")
    return ThreadingHTTPServer((host, port), handler(base, token))


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5006)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = serve(args.host, args.port, learning_dir(), os.environ.get("BTS_MODEL_SERVER_TOKEN", ""))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log.info("model server on http://%s:%d/model", args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())


def endpoints_with_models(source: Path, target: Path, port: int, wait_seconds: int = 10) -> Path:
    """Writes `source` plus a `models:` section that pulls from this server; returns `target`.

    The token stays in the environment: Rasa expands `${BTS_MODEL_SERVER_TOKEN}` when it reads
    the file, so no secret is written to disk.
    """
    text = source.read_text(encoding="utf-8").rstrip("\n")
    text += (
        "\n\n# Added by bts.learning.model_server: the live model comes from the model server.\n"
        "models:\n"
        f'  url: "http://127.0.0.1:{port}/model"\n'
        "  token: ${BTS_MODEL_SERVER_TOKEN}\n"
        f"  wait_time_between_pulls: {wait_seconds}\n"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target
