"""Server-rendered SVG charts (no JavaScript, no CDN). Every label is escaped."""

from __future__ import annotations

import datetime as dt
from typing import List, Sequence, Tuple

from markupsafe import Markup, escape

BAR = "#2f6f8f"


def _nice_max(value: float) -> float:
    """A round axis maximum divisible into 4 whole-number ticks."""
    if value <= 4:
        return 4
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if value <= step * 4:
            return step * 4 if value > step * 2 else step * 2 if value > step else step
    return value


def daily_bars(
    series: Sequence[Tuple[dt.date, int]], title: str, width: int = 720, height: int = 220
) -> Markup:
    """Vertical bars, one per day, with a y axis and a few date labels."""
    left, bottom, top, right = 40, 28, 12, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for _, v in series), default=0))
    n = max(len(series), 1)
    slot = plot_w / n
    parts: List[str] = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
            f"{escape(_fmt(peak * i / 4))}</text>"
        )
    label_every = max(1, round(n / 8))
    for i, (day, value) in enumerate(series):
        h = plot_h * value / peak
        x = left + i * slot + slot * 0.1
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{max(slot * 0.8, 1):.1f}" height="{h:.1f}" '
            f'fill="{BAR}"><title>{escape(day.isoformat())}: {value}</title></rect>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + slot * 0.4:.1f}" y="{height - 10}" text-anchor="middle" font-size="11" '
                f'fill="#555">{escape(day.strftime("%b %d"))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(rows: Sequence[Tuple[str, int]], title: str, width: int = 720) -> Markup:
    """Horizontal bars with a label and value each (top intents)."""
    row_h, label_w = 24, 220
    height = max(len(rows), 1) * row_h + 10
    peak = max((v for _, v in rows), default=0) or 1
    plot_w = width - label_w - 60
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        w = plot_w * value / peak
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="12" fill="#222">'
            f"{escape(label[:40])}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{BAR}"/>'
        )
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" fill="#222">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
