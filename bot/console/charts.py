"""Server-side SVG charts: no JavaScript, no CDN, readable on an offline office PC.

Every text in a chart (labels, titles, legend) is escaped here; callers pass plain strings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f6fb2", "#d9822b", "#3a9b5c", "#c23b3b", "#7b5ea7", "#6b7785")
FONT = 'font-family="Microsoft YaHei, WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif"'


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def axis_max(value: float, ticks: int = 4) -> float:
    """The top of a count axis: `ticks` equal whole-number steps of a round size."""
    return max(nice_max(value / ticks), 1) * ticks


def _ticks(top: float, count: int = 4) -> list[float]:
    return [top * i / count for i in range(count + 1)]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="100%" role="img" aria-label="{escape(title)}" {FONT} font-size="13">'
            f"<title>{escape(title)}</title>")
    return Markup(head + "".join(body) + "</svg>")


def _axes(body: list[str], left: int, top: int, right: int, bottom: int, y_max: float) -> None:
    for tick in _ticks(y_max):
        y = bottom - (bottom - top) * tick / y_max
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e3e6ea"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{_num(tick)}</text>')
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#888"/>')
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#888"/>')


def bar_chart(items: Sequence[tuple[str, float]], title: str, *, width: int = 600, height: int = 240,
              color: str = PALETTE[0]) -> Markup:
    """Vertical bars with their value on top and the label below."""
    left, top, right, bottom = 48, 16, width - 12, height - 40
    y_max = axis_max(max((v for _, v in items), default=0))
    body: list[str] = []
    _axes(body, left, top, right, bottom, y_max)
    slot = (right - left) / max(len(items), 1)
    bar = min(slot * 0.6, 60)
    for index, (label, value) in enumerate(items):
        x = left + slot * index + (slot - bar) / 2
        h = (bottom - top) * value / y_max
        body.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{color}">'
                    f"<title>{escape(label)}：{_num(value)}</title></rect>")
        body.append(f'<text x="{x + bar / 2:.1f}" y="{bottom - h - 4:.1f}" text-anchor="middle" '
                    f'fill="#222">{_num(value)}</text>')
        body.append(f'<text x="{x + bar / 2:.1f}" y="{bottom + 16}" text-anchor="middle" '
                    f'fill="#333">{escape(label)}</text>')
    if not items:
        body.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">暂无数据</text>')
    return _svg(width, height, title, body)


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str, *,
               width: int = 600, height: int = 260) -> Markup:
    """One line per series over shared x labels (days), with a legend; long x axes show every n-th label."""
    left, top, right, bottom = 48, 30, width - 28, height - 40  # room for the last day's label
    values = [v for _, points in series for v in points]
    y_max = axis_max(max(values, default=0))
    body: list[str] = []
    _axes(body, left, top, right, bottom, y_max)
    count = len(labels)
    step_x = (right - left) / max(count - 1, 1)
    x0 = (left + right) / 2 if count == 1 else left  # a single day sits in the middle, not on the axis
    every = max(1, math.ceil(count / 10))
    for index, label in enumerate(labels):
        if index % every == 0 or index == count - 1:
            x = x0 + step_x * index
            body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#333">{escape(label)}</text>')
    for number, (name, points) in enumerate(series):
        color = PALETTE[number % len(PALETTE)]
        coords = [(x0 + step_x * i, bottom - (bottom - top) * v / y_max) for i, v in enumerate(points)]
        if coords:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), label, value in zip(coords, labels, points, strict=False):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                        f"<title>{escape(name)} {escape(label)}：{_num(value)}</title></circle>")
        legend_x = left + number * 130
        body.append(f'<rect x="{legend_x}" y="6" width="12" height="12" fill="{color}"/>')
        body.append(f'<text x="{legend_x + 16}" y="16" fill="#222">{escape(name)}</text>')
    return _svg(width, height, title, body)
