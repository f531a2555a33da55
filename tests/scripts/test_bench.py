"""Tests of scripts/bench.py's summary of repeated load runs."""

from __future__ import annotations

from scripts.bench import QUICK, Sizes, median_run


def test_the_table_shows_the_load_run_with_the_median_p99() -> None:
    runs = [{"p99_ms": 724.0, "name": "7/13"}, {"p99_ms": 403.0, "name": "10/10"},
            {"p99_ms": 448.0, "name": "11/9"}]
    assert median_run(runs)["name"] == "11/9"
    assert median_run(runs[:1])["name"] == "7/13"
    assert median_run(runs[:2])["name"] == "7/13"  # of two, the slower: never the lucky one


def test_the_full_benchmark_repeats_the_load_and_the_quick_one_does_not() -> None:
    assert Sizes().load_runs == 3
    assert QUICK.load_runs == 1
