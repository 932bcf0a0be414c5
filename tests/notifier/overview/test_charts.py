"""The overview's charts are well-formed SVG whatever they are given: words are escaped, an empty chart says so,
and the value axis is marked in round steps that match the figures."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from notifier.overview.charts import Series, bar_chart, line_chart, stacked_columns

SVG = '{http://www.w3.org/2000/svg}'


def words(chart: str) -> list[str]:
    return [text.text or '' for text in ET.fromstring(chart).iter(f'{SVG}text')]


def test_labels_are_escaped_and_long_ones_shortened() -> None:
    chart = bar_chart('c', 'Title <b> & co', 'Desc "quoted"', [('<script>alert(1)</script> & ' * 3, 12_345)])
    root = ET.fromstring(chart)
    assert root.find(f'{SVG}title').text == 'Title <b> & co' and '<script>' not in chart
    label, value = words(chart)
    assert label.startswith('<script>') and label.endswith('…') and len(label) == 36 and value == '12,345'


def test_an_empty_chart_says_there_is_nothing_yet() -> None:
    assert words(bar_chart('c', 'T', 'D', [])) == ['Nothing to show yet']
    ET.fromstring(line_chart('l', 'T', 'D', [], []))
    ET.fromstring(stacked_columns('s', 'T', 'D', ['01 Nov'], [Series('Delivered', [0])]))


def test_the_value_axis_goes_up_in_round_steps_above_the_largest_figure() -> None:
    days = [f'{n:02d} Nov' for n in range(1, 31)]
    chart = line_chart('l', 'T', 'D', days, [Series('Email', [0] * 29 + [5]), Series('Text', [1] * 30)])
    assert words(chart)[:5] == ['0', '2', '4', '6', '8']
    stacked = stacked_columns('s', 'T', 'D', days, [Series('A', [700] * 30), Series('B', [600] * 30, '#00703c')])
    assert words(stacked)[:5] == ['0', '500', '1,000', '1,500', '2,000']
    assert 'fill="#00703c"' in stacked
    # the last day is labelled, and every seventh before it
    assert [w for w in words(chart) if w.endswith('Nov')] == ['02 Nov', '09 Nov', '16 Nov', '23 Nov', '30 Nov']
