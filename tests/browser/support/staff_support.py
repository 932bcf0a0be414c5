"""Staff in Chromium (this module holds no tests): accounts made with the real `tellme staff add`, the password set
from its one-time link and the sign-in form filled in, as a new member of staff would; a second person in a browser
context of their own; a case pushed by a case system; and bounded waits that reload a page until it shows something.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from playwright.sync_api import Browser

from notifier.staff import cli as staff_cli
from tests.browser.support.browse import Browse, new_page, screenshots_for
from tests.browser.support.live import LiveServer
from tests.support.api import new_token
from tests.support.staff import PASSWORD

_CLI = threading.Lock()


def staff_account(live: LiveServer, email: str, *roles: str) -> str:
    """`tellme staff add EMAIL --role …` against the live service's database; the set-password link it prints."""
    args = ['add', email, *[arg for role in roles for arg in ('--role', role)]]
    out, err, answer = io.StringIO(), io.StringIO(), {}

    def run() -> None:  # the command runs its own event loop, so it gets a thread of its own
        answer['code'] = staff_cli.main(args, live.settings)

    with _CLI, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        worker = threading.Thread(target=run, name='tellme-staff-add')
        worker.start()
        worker.join(30)
    assert answer.get('code') == 0, f'tellme staff add failed: {err.getvalue()}'
    link = out.getvalue().strip()
    assert link.startswith(f'{live.base_url}/staff/set-password/'), link
    return link


def set_password(person: Browse, link: str) -> None:
    """Open the set-password link, choose a password (typed twice), and land on the sign-in page."""
    person.follow(link)
    assert person.heading() == 'Set your password'
    person.accessible('set your password')
    person.fill('New password', PASSWORD, exact=True)
    person.fill('Type it again', PASSWORD, exact=True)
    person.press('Set password')
    assert person.path == '/staff/sign-in'


def sign_in_to(person: Browse, path: str, email: str) -> None:
    """Go to a staff page, get sent to the sign-in form, fill it in, and arrive back at the page."""
    person.open(path)
    assert person.path == '/staff/sign-in', 'a staff page asks who you are first'
    assert person.heading() == 'Sign in to Tell Me staff'
    person.accessible('staff sign-in')
    person.fill('Email address', email, exact=True)
    person.fill('Password', PASSWORD, exact=True)
    person.press('Sign in')
    assert person.path == path.split('?')[0], f'signed in, but at {person.page.url}'


def new_member_of_staff(person: Browse, live: LiveServer, email: str, *roles: str, start: str = '/staff') -> None:
    set_password(person, staff_account(live, email, *roles))
    sign_in_to(person, start, email)


def text(person: Browse, selector: str) -> str:
    """The words of an element as a person reads them, spaces collapsed."""
    return ' '.join(person.page.locator(selector).first.inner_text().split())


def reload_until(person: Browse, shows: Callable[[], bool], what: str, *, refresh: Callable[[], None] | None = None,
                 timeout: float = 20) -> None:  # fmt: skip
    """Reload the page (or follow `refresh`) until `shows()`, as a person pressing F5 would; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not shows():
        assert time.monotonic() < deadline, f'after {timeout:g} s the page still does not show {what}'
        time.sleep(0.2)
        if refresh is None:
            person.page.reload()
        else:
            refresh()
    person.snap()


@contextlib.contextmanager
def another_person(chromium: Browser, live: LiveServer, name: str) -> Iterator[Browse]:
    """A second member of staff at their own computer: a fresh browser context (no cookies shared), screenshots
    under tests/artefacts/screenshots/<name>/, failing if a page breaks its Content-Security-Policy or throws."""
    folder = screenshots_for(name)
    problems: list[str] = []
    context, page = new_page(chromium, problems)
    try:
        yield Browse(page, live, folder)
    finally:
        context.close()
    assert not problems, 'the pages broke their Content-Security-Policy or threw:\n' + '\n'.join(problems)


# --- a case system -----------------------------------------------------------------------------------------------


def push_case_update(live: LiveServer, reference: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST /api/cases/{reference}/updates as the case system does, with a token bound to its source that may vouch
    for the reporter's address (so a verified reporter is subscribed at once)."""
    token = live.run(new_token(live.pg, name='FixMyStreet', sources=[body['source']], may_verify=True))
    return live.post_json(f'/api/cases/{reference}/updates', body, token)
