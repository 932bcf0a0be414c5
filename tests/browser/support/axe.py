"""axe-core in Chromium: `check_accessibility(page)` fails the test with a readable list of WCAG 2.2 A/AA violations.

axe.min.js comes from the npm registry with GOV.UK Frontend (`tellme assets`, run by `make setup`); the app never
serves it. It is evaluated through the DevTools protocol, which the page's strict Content-Security-Policy does not
govern, so the page under test keeps its real policy (no `bypass_csp`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

import notifier

AXE = Path(notifier.__file__).parent / 'static' / 'vendor' / 'axe-core' / 'axe.min.js'
# Every success criterion of WCAG 2.0, 2.1 and 2.2 at levels A and AA that axe can test automatically.
WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']
# One known exception, GOV.UK Frontend's by design: its radios and checkboxes script sets aria-expanded on an input
# that reveals a conditional question. ARIA does not list aria-expanded for radios, so axe reports it, but GOV.UK
# keeps it after research with screen reader users (alphagov/govuk-frontend#979, a documented known issue). Only
# that attribute, on those inputs, is let through; anything else on the same element still fails.
RUN = """async (tags) => {
    const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
    const knownGovukIssue = (violation, node) => {
        if (violation.id !== 'aria-allowed-attr' || node.target.length !== 1) return false;
        const element = document.querySelector(node.target[0]);
        const attributes = (node.failureSummary || '').match(/aria-[a-z]+(?==)/g) || [];
        const revealing = '.govuk-radios__input[aria-controls], .govuk-checkboxes__input[aria-controls]';
        return !!element && element.matches(revealing)
            && attributes.length > 0 && attributes.every(name => name === 'aria-expanded');
    };
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.filter(n => !knownGovukIssue(v, n))
            .map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''})),
    })).filter(v => v.nodes.length > 0);
}"""


@cache
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f'{AXE} is missing: run `make setup` (or `.venv/bin/tellme assets`) to fetch axe-core')
    return AXE.read_text(encoding='utf-8')


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(RUN, WCAG_TAGS)


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f'- {violation["id"]} ({violation["impact"]}): {violation["help"]} <{violation["helpUrl"]}>')
        for node in violation['nodes']:
            summary = ' '.join(node['summary'].split())
            lines.append(f'    at {node["target"]}: {summary}')
    return '\n'.join(lines)


def check_accessibility(page: Page, context: str = '') -> None:
    """Fail unless axe finds no WCAG 2.0/2.1/2.2 A or AA violation on the page as it is now."""
    violations = axe_violations(page)
    if violations:
        where = f'{context or page.url} ({page.title()})'
        pytest.fail(f'{len(violations)} accessibility violation(s) on {where}:\n{describe(violations)}', pytrace=False)
