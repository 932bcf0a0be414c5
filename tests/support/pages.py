"""Reading our pages as a person does, and posting their forms as a browser does (this module holds no tests).

Every form Tell Me serves carries a CSRF token (notifier/web/csrf.py); `post_form` reads it from the page the form
is on, as a browser would, so a test posts exactly what a person could. `form_answer` also follows a form error's
redirect to the page that shows it, as a browser does.
"""

from __future__ import annotations

import html
import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
Fields = dict[str, Any] | list[tuple[str, Any]]


def csrf_of(page: str) -> str:
    """The CSRF token of the (first) form on the page."""
    found = CSRF.search(page)
    assert found, 'no csrf field on the page'
    return found.group(1)


def text_of(page: str) -> str:
    """The page's words, tags stripped, entities decoded and spaces collapsed (what a person reads)."""
    return ' '.join(html.unescape(re.sub(r'<[^>]+>', ' ', page)).split())


def section(page: str, element_id: str) -> str:
    """The words inside the element with this id (a table or a paragraph)."""
    found = re.search(rf'<(\w+)[^>]* id="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f'no element #{element_id} on the page'
    return text_of(found.group(2))


def without_nonce(page: str) -> str:
    """The page with its script nonce blanked (it differs on every answer by design)."""
    return re.sub(r'nonce="[^"]+"', 'nonce=""', page)


async def post_form(
    client: TestClient, path: str, data: Fields | None = None, *, page: str | None = None, **options: Any
) -> ClientResponse:
    """GET the page the form is on (`page`, else `path`), read its CSRF token, and POST `data` with it to `path`,
    without following the redirect (`options` go to both requests: headers, say)."""
    shown = await (await client.get(page or path, **options)).text()
    fields = list(data.items()) if isinstance(data, dict) else list(data or [])
    fields.append(('csrf_token', csrf_of(shown)))
    return await client.post(path, data=fields, allow_redirects=False, **options)


async def form_answer(
    client: TestClient, path: str, data: Fields | None = None, *, page: str | None = None, **options: Any
) -> ClientResponse:
    """`post_form`, then the page a browser shows for it: a form answered with its errors redirects to a GET of the
    same address, which shows them (notifier/web/form_errors.py); any other answer is returned as it is."""
    answer = await post_form(client, path, data, page=page, **options)
    if answer.status == 303 and answer.headers.get('Location') == path:
        return await client.get(path, allow_redirects=False, **options)
    return answer
