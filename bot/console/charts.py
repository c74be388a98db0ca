"""Server-side SVG charts: no CDN, readable on an offline office PC (issue 20).

Every text in a chart (labels, titles, legend) is escaped here; callers pass plain strings.
Category bars are horizontal, their labels on the left in a column as wide as the longest one (long
labels wrap onto a second line), so labels never run into each other. Day series have their own
marker and dash as well as colour, so lines on the same values stay visible, and a legend whose
entries show or hide their series (static/console.js). A single day is drawn as bars with values.
Text widths are estimated (a CJK character is one em, other characters about 0.6 em).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f6fb2", "#d9822b", "#3a9b5c", "#c23b3b", "#7b5ea7", "#6b7785")
DASHES = ("", "7 4", "2 3", "10 3 2 3")  # first series solid and widest, so the others show on top of it
MARKERS = ("circle", "square", "triangle", "diamond")
FONT_SIZE = 13
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


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated rendered width: a CJK (or full-width) character is one em, others about 0.6 em."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def wrap(text: str, width: float, size: float = FONT_SIZE) -> list[str]:
    """`text` in lines no wider than `width` (at most two; a longer label ends with …)."""
    lines, line = [], ""
    for ch in text:
        if line and text_width(line + ch, size) > width:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], lines[1][:-1] + "…"]
    return lines


LABEL_MAX = 150  # the widest label column (px); longer labels wrap


def bar_chart(items: Sequence[tuple[str, float]], title: str, *, width: int = 600, height: int | None = None,
              color: str = PALETTE[0]) -> Markup:
    """Horizontal bars: the label on the left (wrapped when long), the value at the bar's end."""
    row = 30
    label_width = min(max((text_width(label) for label, _ in items), default=40), LABEL_MAX)
    left, right, top = int(label_width) + 16, width - 48, 8  # room for the value after the longest bar
    height = height or top + row * max(len(items), 1) + 24
    bottom = height - 24
    x_max = axis_max(max((v for _, v in items), default=0))
    body: list[str] = []
    for tick in _ticks(x_max):
        x = left + (right - left) * tick / x_max
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#e3e6ea"/>')
        body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#555" '
                    f'data-role="tick">{_num(tick)}</text>')
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#888"/>')
    bar = row * 0.6
    for index, (label, value) in enumerate(items):
        y = top + row * index + (row - bar) / 2
        w = (right - left) * value / x_max
        body.append(f'<rect x="{left}" y="{y:.1f}" width="{w:.1f}" height="{bar:.1f}" fill="{color}">'
                    f"<title>{escape(label)}：{_num(value)}</title></rect>")
        body.append(f'<text x="{left + w + 4:.1f}" y="{y + bar / 2 + 4:.1f}" fill="#222" '
                    f'data-role="value">{_num(value)}</text>')
        lines = wrap(label, label_width)
        first = y + bar / 2 + 4 - (len(lines) - 1) * 7
        spans = "".join(f'<tspan x="{left - 6}" y="{first + 14 * n:.1f}">{escape(line)}</tspan>'
                        for n, line in enumerate(lines))
        body.append(f'<text text-anchor="end" fill="#333" data-role="label">{spans}</text>')
    if not items:
        body.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">暂无数据</text>')
    return _svg(width, height, title, body)


def _marker(kind: str, x: float, y: float, color: str, tip: str) -> str:
    inside = f"<title>{tip}</title>"
    outline = 'stroke="#fff" stroke-width="1"'
    if kind == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{color}" {outline}>{inside}</rect>'
    if kind == "triangle":
        points = f"{x:.1f},{y - 4.5:.1f} {x + 4.5:.1f},{y + 3.5:.1f} {x - 4.5:.1f},{y + 3.5:.1f}"
        return f'<polygon points="{points}" fill="{color}" {outline}>{inside}</polygon>'
    if kind == "diamond":
        points = f"{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}"
        return f'<polygon points="{points}" fill="{color}" {outline}>{inside}</polygon>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{color}" {outline}>{inside}</circle>'


def _legend(series: Sequence[tuple[str, Sequence[float]]], left: int) -> list[str]:
    """One entry per series (its line, marker and name), spaced by the names' widths; each entry is a
    button that shows or hides its series."""
    body, x = [], float(left)
    for number, (name, _) in enumerate(series):
        color, dash = PALETTE[number % len(PALETTE)], DASHES[number % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<g class="legend-item" data-series-toggle="{number}" role="button" tabindex="0" '
                    f'aria-pressed="true" aria-label="显示或隐藏“{escape(name)}”">'
                    f'<rect x="{x - 2:.1f}" y="2" width="{28 + text_width(name):.1f}" height="18" fill="transparent"/>'
                    f'<line x1="{x:.1f}" y1="11" x2="{x + 22:.1f}" y2="11" stroke="{color}" stroke-width="2"{dash_attr}/>'
                    + _marker(MARKERS[number % len(MARKERS)], x + 11, 11, color, escape(name))
                    + f'<text x="{x + 26:.1f}" y="15" fill="#222" data-role="legend">{escape(name)}</text></g>')
        x += 26 + text_width(name) + 18
    return body


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str, *,
               width: int = 600, height: int = 260) -> Markup:
    """One line per series over shared x labels (days), each with its own colour, dash and marker; a
    legend that toggles series; as many x labels as fit without touching; one day drawn as bars."""
    left, top, right, bottom = 48, 34, width - 28, height - 40  # room for the last day's label
    values = [v for _, points in series for v in points]
    y_max = axis_max(max(values, default=0))
    body: list[str] = []
    _axes(body, left, top, right, bottom, y_max)
    count = len(labels)
    if count == 1:
        _one_day(body, labels[0], series, left, top, right, bottom, y_max)
    else:
        step_x = (right - left) / max(count - 1, 1)
        widest = max((text_width(label) for label in labels), default=0) + 8
        every = max(1, math.ceil(widest / step_x)) if step_x else 1
        shown = [i for i in range(count) if i % every == 0]
        if count - 1 not in shown:  # the last day always shows; it replaces a neighbour too close to it
            if shown and (count - 1 - shown[-1]) * step_x < widest:
                shown.pop()
            shown.append(count - 1)
        for index in shown:
            body.append(f'<text x="{left + step_x * index:.1f}" y="{bottom + 20}" text-anchor="middle" fill="#333" '
                        f'data-role="label">{escape(labels[index])}</text>')
        for number, (name, points) in reversed(list(enumerate(series))):
            color, dash = PALETTE[number % len(PALETTE)], DASHES[number % len(DASHES)]
            coords = [(left + step_x * i, bottom - (bottom - top) * v / y_max) for i, v in enumerate(points)]
            parts = [f'<g class="series" data-series="{number}">']
            if coords:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                             f'stroke-width="{3 if number == 0 else 2}"{dash_attr}/>')
            for (x, y), label, value in zip(coords, labels, points, strict=False):
                parts.append(_marker(MARKERS[number % len(MARKERS)], x, y, color,
                                     f"{escape(name)} {escape(label)}：{_num(value)}"))
            body.append("".join(parts) + "</g>")
    body.extend(_legend(series, left))
    return _svg(width, height, title, body)


def _one_day(body: list[str], label: str, series: Sequence[tuple[str, Sequence[float]]], left: int, top: int,
             right: int, bottom: int, y_max: float) -> None:
    """A single day: one bar per series side by side, each with its value above it (a line needs two days)."""
    slot = min((right - left) / max(len(series), 1), 90)
    start = (left + right) / 2 - slot * len(series) / 2
    for number, (name, points) in enumerate(series):
        value = points[0] if points else 0
        color = PALETTE[number % len(PALETTE)]
        h = (bottom - top) * value / y_max
        x = start + slot * number + slot * 0.2
        body.append(f'<g class="series" data-series="{number}"><rect x="{x:.1f}" y="{bottom - h:.1f}" '
                    f'width="{slot * 0.6:.1f}" height="{h:.1f}" fill="{color}"><title>{escape(name)} {escape(label)}：'
                    f'{_num(value)}</title></rect><text x="{x + slot * 0.3:.1f}" y="{bottom - h - 4:.1f}" '
                    f'text-anchor="middle" fill="#222" data-role="value">{_num(value)}</text></g>')
    body.append(f'<text x="{(left + right) / 2:.1f}" y="{bottom + 20}" text-anchor="middle" fill="#333" '
                f'data-role="label">{escape(label)}</text>')
