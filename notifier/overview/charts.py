"""Charts drawn on the server as SVG: horizontal bars, stacked columns per day, and lines per day.

No script, no style attribute, no external file: only presentation attributes (`fill=`, `stroke=`), so an inline
chart passes the strict CSP. Each chart is `role="img"` with a <title> and a <desc> (named by aria-labelledby and
aria-describedby); the page shows the same numbers in a table below it, which is what a screen reader user reads.
Series are told apart by a text legend as well as colour (GOV.UK palette colours, dark enough on white).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

# GOV.UK Design System colours: blue, green, red, orange, purple, dark grey
PALETTE = ('#1d70b8', '#00703c', '#d4351c', '#f47738', '#4c2c92', '#505a5f')
TEXT = '#0b0c0c'
GRID = '#b1b4b6'
FONT = 'font-family="Arial, sans-serif"'
TICKS = 4  # steps up the value axis


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    colour: str = ''  # a palette colour by position unless given


def _colour(series: Series, number: int) -> str:
    return series.colour or PALETTE[number % len(PALETTE)]


def _nice_max(value: float, ticks: int = 1) -> int:
    """The top of an axis: `ticks` equal steps of a round size (1, 2, 5 × 10^n) reaching at least `value`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor * ticks >= value:
                return step * factor * ticks
        step *= 10


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" id={quoteattr(chart_id)} '
        f'viewBox="0 0 {width} {height}" width="100%" class="tellme-chart" '
        f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _text(x: float, y: float, words: str, *, anchor: str = 'start', size: int = 14) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" {FONT} font-size="{size}" fill="{TEXT}" text-anchor="{anchor}">'
        f'{escape(words)}</text>'
    )


def bar_chart(chart_id: str, title: str, desc: str, items: Sequence[tuple[str, int]]) -> Markup:
    """One horizontal bar per (label, value), its value written at the end of the bar."""
    label_width, bar_width, row = 260, 420, 28
    width, height = label_width + bar_width + 80, max(1, len(items)) * row + 10
    top = _nice_max(max((value for _, value in items), default=0))
    parts = _open(chart_id, title, desc, width, height)
    if not items:
        parts.append(_text(0, 20, 'Nothing to show yet'))
    for index, (label, value) in enumerate(items):
        y = index * row + 5
        length = bar_width * value / top
        shown = label if len(label) <= 36 else label[:35] + '…'
        parts.append(_text(label_width - 8, y + 18, shown, anchor='end'))
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" fill="{PALETTE[0]}"/>'
        )
        parts.append(_text(label_width + length + 6, y + 18, f'{value:,}'))
    parts.append('</svg>')
    return Markup('\n'.join(parts))


def _frame(parts: list[str], top: int, left: int, plot_w: int, plot_h: int, days: Sequence[str]) -> None:
    """Grid lines with their values, and a label on the last day and every seventh day before it."""
    for step in range(TICKS + 1):
        value = top * step // TICKS
        y = 10 + plot_h - plot_h * step / TICKS
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 5, f'{value:,}', anchor='end', size=12))
    slot = plot_w / max(1, len(days))
    for index, day in enumerate(days):
        if (len(days) - 1 - index) % 7 == 0:
            parts.append(_text(left + slot * (index + 0.5), 10 + plot_h + 18, day, anchor='middle', size=12))


def _legend(parts: list[str], series: Sequence[Series], y: float, left: int) -> None:
    x = float(left)
    for index, one in enumerate(series):
        colour = _colour(one, index)
        parts.append(f'<rect x="{x:.1f}" y="{y - 11:.1f}" width="14" height="14" fill="{colour}"/>')
        parts.append(_text(x + 20, y, one.name, size=13))
        x += 30 + 8 * len(one.name)


def stacked_columns(chart_id: str, title: str, desc: str, days: Sequence[str], series: Sequence[Series]) -> Markup:
    """One column per day, each series stacked on the one before, with a legend below."""
    left, plot_w, plot_h = 60, 680, 220
    width, height = left + plot_w + 20, plot_h + 70
    totals = [sum(one.values[index] for one in series) for index in range(len(days))]
    top = _nice_max(max(totals, default=0), TICKS)
    parts = _open(chart_id, title, desc, width, height)
    _frame(parts, top, left, plot_w, plot_h, days)
    slot = plot_w / max(1, len(days))
    for index in range(len(days)):
        base = 10 + plot_h
        for number, one in enumerate(series):
            size = plot_h * one.values[index] / top
            if size > 0:
                base -= size
                parts.append(
                    f'<rect x="{left + slot * index + 1:.1f}" y="{base:.1f}" width="{max(1.0, slot - 2):.1f}" '
                    f'height="{size:.1f}" fill="{_colour(one, number)}"/>'
                )
    _legend(parts, series, height - 12, left)
    parts.append('</svg>')
    return Markup('\n'.join(parts))


def line_chart(chart_id: str, title: str, desc: str, days: Sequence[str], series: Sequence[Series]) -> Markup:
    """One line per series across the days, a dot on each day, with a legend below."""
    left, plot_w, plot_h = 60, 680, 220
    width, height = left + plot_w + 20, plot_h + 70
    top = _nice_max(max((value for one in series for value in one.values), default=0), TICKS)
    parts = _open(chart_id, title, desc, width, height)
    _frame(parts, top, left, plot_w, plot_h, days)
    slot = plot_w / max(1, len(days))
    for number, one in enumerate(series):
        colour = _colour(one, number)
        points = [
            (left + slot * (index + 0.5), 10 + plot_h - plot_h * value / top) for index, value in enumerate(one.values)
        ]
        if points:
            path = ' '.join(f'{x:.1f},{y:.1f}' for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="3"/>')
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)
    _legend(parts, series, height - 12, left)
    parts.append('</svg>')
    return Markup('\n'.join(parts))
