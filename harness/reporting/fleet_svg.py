"""A fleet's pictures for the report: lines against model time (concurrent clients and downloads; the CMG's
egress against its threshold) and a histogram of when clients finished.

Plain SVG, as the run timeline is: no plotting library, and it opens in the Allure report and any browser.
Every picture names its axes with their units and says its largest value, so a reader needs nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from harness.model.fleet import Series

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 50
PALETTE = ("#2e6da4", "#e67e22", "#4c9a2a", "#8e44ad")
LIMIT_COLOUR = "#c0392b"


@dataclass(frozen=True)
class Line:
    label: str
    series: Series


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.3g} h" if seconds >= 3600 else f"{seconds / 60:.3g} min"


_TIME_STEPS_MIN = (1, 2, 5, 10, 15, 30, 60, 90, 120, 180, 240, 360, 720, 1440, 2880, 4320, 10080)


def _nice_time(seconds: float) -> float:
    """An axis end at or after `seconds` that splits into four round spans of time (15 min, 1 h, 6 h, …)."""
    step = next((m for m in _TIME_STEPS_MIN if 4 * m * 60 >= seconds), math.ceil(seconds / 4 / 60))
    return 4 * step * 60.0


def _nice(top: float) -> float:
    """A round axis maximum at or above `top` (1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(top))
    return next(float(step * power) for step in (1, 2, 5, 10) if step * power >= top)


def _frame(title: str, x_max: float, y_max: float, y_unit: str) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
             f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
             f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>']
    for i in range(5):
        y = TOP + plot_h - i * plot_h / 4
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{y_max * i / 4:,g}</text>')
        x = LEFT + i * plot_w / 4
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{_hours(x_max * i / 4)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 10}" text-anchor="middle">model time</text>')
    parts.append(f'<text x="14" y="{TOP + plot_h / 2}" transform="rotate(-90 14 {TOP + plot_h / 2})" '
                 f'text-anchor="middle">{escape(y_unit)}</text>')
    return parts


def _xy(t: float, v: float, x_max: float, y_max: float) -> tuple[float, float]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    return LEFT + t / x_max * plot_w, TOP + plot_h - v / y_max * plot_h


def lines_chart(title: str, lines: Sequence[Line], y_unit: str, *, limit: tuple[str, float] | None = None,
                x_max: float | None = None) -> str:
    """Step lines of model time; `limit` (label, value) is drawn as a dashed horizontal line."""
    x_top = x_max or _nice_time(max((t for line in lines for t, _ in line.series.points), default=1.0) or 1.0)
    y_top = _nice(max([line.series.peak for line in lines] + [limit[1] if limit else 0.0]))
    parts = _frame(title, x_top, y_top, y_unit)
    for colour, line in zip(PALETTE, lines, strict=False):
        path, previous = [], 0.0
        for t, v in line.series.points:
            for point in ((t, previous), (t, v)):
                x, y = _xy(*point, x_top, y_top)
                path.append(f"{x:.1f},{y:.1f}")
            previous = v
        x, y = _xy(x_top, previous, x_top, y_top)
        path.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{" ".join(path)}">'
                     f'<title>{escape(line.label)}: peak {line.series.peak:g}</title></polyline>')
    if limit is not None:
        _, y = _xy(0, limit[1], x_top, y_top)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LIMIT_COLOUR}" '
                     f'stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{WIDTH - RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end" fill="{LIMIT_COLOUR}">'
                     f'{escape(limit[0])} ({limit[1]:,g})</text>')
    legend = [(line.label, f"peak {line.series.peak:,g}") for line in lines]
    for i, (label, peak) in enumerate(legend):
        parts.append(f'<text x="{LEFT + 8 + i * 240}" y="{TOP + 14}" fill="{PALETTE[i % len(PALETTE)]}">'
                     f'{escape(label)} — {peak}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def histogram(title: str, values: Sequence[float], *, bins: int = 24, unit: str = "clients") -> str:
    """How many `values` (model seconds) fall in each of `bins` equal slices of 0 … the largest."""
    last = max(values, default=0.0)
    top = _nice_time(last or 1.0)
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int(value / top * bins))] += 1
    y_top = _nice(max(counts, default=0))
    parts = _frame(title, top, y_top, unit)
    width = (WIDTH - LEFT - RIGHT) / bins
    for i, count in enumerate(counts):
        x, y = _xy(i * top / bins, count, top, y_top)
        _, base = _xy(0, 0, top, y_top)
        parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{width - 2:.1f}" height="{base - y:.1f}" '
                     f'fill="{PALETTE[0]}"><title>{_hours(i * top / bins)}–{_hours((i + 1) * top / bins)}: '
                     f'{count} {escape(unit)}</title></rect>')
    parts.append(f'<text x="{WIDTH - RIGHT - 4}" y="{TOP + 14}" text-anchor="end">{len(values)} {escape(unit)}, '
                 f'the last after {_hours(last)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
