"""Per-IP limits count the resident's address, not the load balancer's, and cannot be dodged with a forged header."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from notifier.app_keys import SETTINGS
from notifier.settings import Settings
from notifier.web.client_ip import client_ip


def request_from(peer: str, forwarded: list[str], hops: int) -> web.Request:
    app = web.Application()
    app[SETTINGS] = Settings(proxy_hops=hops)
    headers: Any = [('X-Forwarded-For', value) for value in forwarded]
    transport_info = {'peername': (peer, 12345)}

    class Transport:
        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return transport_info.get(name, default)

    return make_mocked_request('GET', '/', headers=headers, app=app, transport=Transport())


def test_without_proxies_the_peer_is_the_client_whatever_the_header_says() -> None:
    assert client_ip(request_from('203.0.113.9', ['198.51.100.1'], hops=0)) == '203.0.113.9'


def test_behind_one_proxy_the_address_it_saw_is_the_client() -> None:
    assert client_ip(request_from('10.0.0.2', ['203.0.113.9'], hops=1)) == '203.0.113.9'


def test_a_client_cannot_choose_its_address_by_sending_the_header_itself() -> None:
    forged = request_from('10.0.0.2', ['1.2.3.4, 203.0.113.9'], hops=1)
    assert client_ip(forged) == '203.0.113.9', 'only the entry our proxy appended counts'
    two_headers = request_from('10.0.0.2', ['1.2.3.4', '203.0.113.9'], hops=1)
    assert client_ip(two_headers) == '203.0.113.9'


def test_behind_two_proxies_and_with_a_short_header() -> None:
    assert client_ip(request_from('10.0.0.3', ['203.0.113.9, 10.0.0.2'], hops=2)) == '203.0.113.9'
    assert client_ip(request_from('10.0.0.3', [], hops=2)) == '10.0.0.3'
