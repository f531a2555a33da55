"""Percentiles and medians of latencies, and which of several load runs the report shows."""

from __future__ import annotations

import statistics
from typing import Any, Dict, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values."""
    return statistics.median(values) if values else float("nan")



def median_run(runs: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The load run whose p99 is the median of the runs (the upper one of an even number)."""
    return sorted(runs, key=lambda run: run["p99_ms"])[len(runs) // 2]
