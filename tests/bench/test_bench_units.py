"""Tests of the benchmark's pieces that need no server: the client, the log reading, the report."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from bts.bench.client import RestClient
from bts.bench.load import client_address, replica_split
from bts.bench.report import NOTES_MARKER, table, write_doc
from bts.bench.serve import QUICK, Sizes
from bts.bench.stats import median_run, percentile


def test_the_table_shows_the_load_run_with_the_median_p99() -> None:
    runs = [{"p99_ms": 724.0, "name": "7/13"}, {"p99_ms": 403.0, "name": "10/10"},
            {"p99_ms": 448.0, "name": "11/9"}]
    assert median_run(runs)["name"] == "11/9"
    assert median_run(runs[:1])["name"] == "7/13"
    assert median_run(runs[:2])["name"] == "7/13"  # of two, the slower: never the lucky one


def test_the_full_benchmark_repeats_the_load_and_the_quick_one_does_not() -> None:
    assert Sizes().load_runs == 3
    assert QUICK.load_runs == 1


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert percentile([], 50) != percentile([], 50)  # NaN


@pytest.fixture
def server() -> Iterator[List[Dict[str, Any]]]:
    seen: List[Dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "sender_header": self.headers.get("X-BTS-Sender"), "body": body})
            reply = json.dumps([{"recipient_id": body["sender"], "text": "hi"}]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    seen.append({"port": httpd.server_address[1]})
    yield seen
    httpd.shutdown()


def test_the_client_names_the_conversation_in_a_header_not_the_url(server: List[Dict[str, Any]]) -> None:
    port = server.pop(0)["port"]
    client = RestClient(f"http://127.0.0.1:{port}")
    reply = client.send("conversation-7", "what is sciatica")
    client.close()
    assert reply.ok and reply.texts == ["hi"]
    assert server[0]["path"] == "/webhooks/rest/webhook"
    assert server[0]["sender_header"] == "conversation-7"
    assert server[0]["body"] == {"sender": "conversation-7", "message": "what is sciatica"}


def test_replica_split_counts_conversations_by_client_address() -> None:
    line = ('2026-12-08T02:00:00+00:00 {client} "POST /webhooks/rest/webhook" status=200 time=0.031 '
            'upstream={upstream} upstream_status=200')
    lines = [
        line.format(client=client_address(0), upstream="127.0.0.1:6205"),
        line.format(client=client_address(0), upstream="127.0.0.1:6205"),
        line.format(client=client_address(1), upstream="127.0.0.1:6206"),
        # Passed on after a refused connection: the last replica answered.
        line.format(client=client_address(2), upstream="127.0.0.1:6205, 127.0.0.1:6206"),
        # The warm-up client is not one of the load's users.
        line.format(client=client_address(99), upstream="127.0.0.1:6205"),
    ]
    assert replica_split(lines, users=3) == {
        "127.0.0.1:6205": {"requests": 2, "conversations": 1},
        "127.0.0.1:6206": {"requests": 2, "conversations": 2},
    }


def results(p99: float, training: float) -> Dict[str, Any]:
    served: Dict[str, Any] = {
        "single": {"p50_ms": 30.0, "p95_ms": 40.0},
        "long": {"first10_ms": 30.0, "last10_ms": 31.0, "growth": 1.03, "turns": 100},
        "ready_s": 20.0, "http_ready_s": 15.0, "rss_mb": [900.0], "rss_peak_mb": [950.0],
    }
    load = {"users": 20, "turns": 30, "throughput": 40.0, "p50_ms": 100.0, "p95_ms": 300.0, "p99_ms": p99,
            "errors": 0, "empty": 0}
    stock = {**served, "single": {"p50_ms": 65.0, "p95_ms": 90.0}, "load": {**load, "throughput": 10.0},
             "long": {**served["long"], "growth": 3.0}}
    return {"stock": stock, "ours": {**served, "load": load}, "training": {"stock": 900.0, "ours": training},
            "nlu": {"stock": {"p50_ms": 10.0, "p95_ms": 12.0}, "ours": {"p50_ms": 9.0, "p95_ms": 11.0}}}


def test_the_table_says_which_targets_are_missed() -> None:
    text, missed = table(results(p99=450.0, training=170.0))
    assert missed == []
    assert "| Single user: latency p50 (ms) | 65 | 30 | 0.46 | ours <= 0.6x stock | yes |" in text
    _, missed = table(results(p99=620.0, training=240.0))
    assert missed == ["20 users x 30 turns: latency p99 (ms)", "Training time (s)"]


def test_rewriting_the_report_keeps_the_hand_written_notes(tmp_path: Path) -> None:
    doc = tmp_path / "benchmark.md"
    doc.write_text(f"# old table\n\n{NOTES_MARKER}\n\n## Notes\n\nWhy p99 moved.\n")
    write_doc(doc, "# new table")
    text = doc.read_text()
    assert text.startswith("# new table") and "old table" not in text and "Why p99 moved." in text
