"""Doing a form with the keyboard only: Tab to move, typing to fill, arrows and Space to choose, Enter to act.

No clicks and no `focus()`: if a field cannot be reached with Tab, or the focused element shows no focus
indicator (WCAG 2.4.7), the test fails and says which.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page

MAX_TABS = 80
FOCUS_STATE = """(selector) => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
        || style.boxShadow !== 'none' || style.backgroundColor === 'rgb(255, 221, 0)';
    return {matches: el.matches(selector), name: el.name || '', type: el.type || '', checked: !!el.checked,
            visible, describe: el.outerHTML.slice(0, 120)};
}"""


@dataclass(frozen=True)
class Type:
    """Tab to the field matching `selector` and type `text` into it (replacing what was there)."""

    selector: str
    text: str


@dataclass(frozen=True)
class Choose:
    """Tab to the radio group or checkbox and select `selector` (arrows within a radio group, Space to tick)."""

    selector: str


@dataclass(frozen=True)
class Activate:
    """Tab to the button or link matching `selector` and press Enter."""

    selector: str


Step = Type | Choose | Activate


def focus_state(page: Page, selector: str) -> dict | None:
    return page.evaluate(FOCUS_STATE, selector)


def tab_to(page: Page, selector: str, *, group: str = '') -> dict:
    """Press Tab until the focused element matches `selector` (or, for radios, is in the group `group`)."""
    for _ in range(MAX_TABS):
        page.keyboard.press('Tab')
        state = focus_state(page, selector)
        if state and (state['matches'] or (group and state['name'] == group)):
            if not state['visible']:
                pytest.fail(f'no visible focus indicator on {state["describe"]}', pytrace=False)
            return state
    pytest.fail(f'could not reach {selector} with the Tab key on {page.url}', pytrace=False)


def _choose(page: Page, selector: str) -> None:
    target = page.locator(selector)
    kind = target.get_attribute('type')
    state = tab_to(page, selector, group=target.get_attribute('name') or '' if kind == 'radio' else '')
    for _ in range(20):
        if state['matches']:
            break
        page.keyboard.press('ArrowDown')  # moves along the radio group and selects
        state = focus_state(page, selector) or state
    if not state['matches']:
        pytest.fail(f'could not reach {selector} with the arrow keys', pytrace=False)
    if not target.is_checked():
        page.keyboard.press('Space')
    assert target.is_checked(), f'{selector} was not selected by the keyboard'


def complete(page: Page, steps: Iterable[Step]) -> None:
    """Do `steps` in order with the keyboard alone. An `Activate` waits for the page it leads to."""
    for step in steps:
        if isinstance(step, Type):
            tab_to(page, step.selector)
            page.keyboard.press('ControlOrMeta+A')
            page.keyboard.type(step.text)
        elif isinstance(step, Choose):
            _choose(page, step.selector)
        else:
            tab_to(page, step.selector)
            with page.expect_navigation():
                page.keyboard.press('Enter')
