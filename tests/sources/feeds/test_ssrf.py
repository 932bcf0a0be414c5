"""Feed fetching reaches only what it should (issue 10 part 2, server-side request forgery).

A source reaches public web addresses only, unless an administrator allowed it internal addresses or its local
file. Each attack a pen-tester used is here: a redirect to a server on this machine, a host name that resolves to
loopback, a private address or the cloud metadata service, a file:// URL, and a next-page link to a file.

Every server here listens on loopback. A test that needs a "public" feed injects the network
(sources.feeds.egress.Network):
a DNS lookup that answers from a table, and 127.0.0.1 standing in for a public address, while 127.0.0.2 plays an
internal service. Addresses that are not loopback (10.x, 169.254.169.254 …) are only ever looked up by the table
and checked, never connected to: those tests call the resolver and socket factory directly.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from sources.feeds import registry
from sources.feeds.egress import Guard, GuardedResolver, Network, Reach, Refused, guarded_socket, refusal
from sources.feeds.fetch import Fetcher, FetchError
from sources.feeds.polling import poll_source
from tests.support.feeds import FeedServer

NOW = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
SECRET = 'Zx9-sEcReT-7fQ2-never-echo-this'
PUBLIC_STAND_IN = '127.0.0.1'  # plays a council's public web server in these tests
INTERNAL = '127.0.0.2'  # plays a service on the server's own network
REGISTER = b'CaseReference,PremisesName,Postcode\nLIC/1,The Bull,M32 0AH\n'


class Answers(AbstractResolver):
    """A DNS lookup that answers from a table (never the network) and counts the questions."""

    def __init__(self, table: dict[str, Callable[[int], list[str]] | list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        answer = self.table[host]
        addresses = answer(self.asked.count(host)) if callable(answer) else answer
        return [
            {'hostname': host, 'host': address, 'port': port, 'proto': 0, 'flags': socket.AI_NUMERICHOST,
             'family': socket.AF_INET6 if ':' in address else socket.AF_INET}
            for address in addresses
        ]  # fmt: skip

    async def close(self) -> None:
        return None


def network(table: dict[str, Any]) -> tuple[Network, Answers]:
    answers = Answers(table)
    return Network(lookup=answers, stand_ins=frozenset({PUBLIC_STAND_IN})), answers


@dataclass
class Site(FeedServer):
    """A feed server that answers from `routes` (a response, or a function that makes one) and shows what it was
    asked for as `seen`: (path, Host header)."""

    routes: dict[str, web.StreamResponse | Callable[[], web.StreamResponse]] = field(default_factory=dict)

    @property
    def seen(self) -> list[tuple[str, str]]:
        return [(path, headers.get('Host', '')) for path, headers in self.requests]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = '/' + request.match_info['path']
        answer = self.routes.get(path)
        if answer is None:
            return await super().handle(request)  # recorded, and not found
        self.requests.append((path, dict(request.headers)))
        return answer() if callable(answer) else answer


async def start(aiohttp_server: Any, host: str) -> tuple[Site, int]:
    site = Site()
    server = await aiohttp_server(site.app(), host=host)
    return site, server.port


def moved(to: str) -> Callable[[], web.StreamResponse]:
    return lambda: web.Response(status=302, headers={'Location': to})


# --- what counts as internal ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('address', 'kind'),
    [
        ('127.0.0.1', 'a loopback address'),
        ('::1', 'a loopback address'),
        ('10.1.2.3', 'a private address'),
        ('172.16.0.9', 'a private address'),
        ('192.168.1.1', 'a private address'),
        ('fd12:3456::1', 'a private address'),  # fc00::/7
        ('169.254.10.20', 'a link-local address'),
        ('fe80::1', 'a link-local address'),
        ('100.64.0.1', 'a shared (carrier-grade NAT) address'),
        ('224.0.0.251', 'a multicast address'),
        ('ff02::1', 'a multicast address'),
        ('0.0.0.0', 'the unspecified address'),
        ('::', 'the unspecified address'),
        ('240.0.0.1', 'a private address'),  # reserved (Python counts 240/4 as private too)
        ('169.254.169.254', 'a cloud metadata address'),
        ('fd00:ec2::254', 'a cloud metadata address'),
        ('::ffff:127.0.0.1', 'a loopback address'),  # IPv4-mapped
        ('::ffff:169.254.169.254', 'a cloud metadata address'),
        ('::ffff:10.0.0.1', 'a private address'),
        ('2002:7f00:1::', 'a loopback address inside an IPv6 address'),  # 6to4 of 127.0.0.1
        ('64:ff9b::a00:1', 'a private address inside an IPv6 address'),  # NAT64 of 10.0.0.1
        ('203.0.113.7', 'a private address'),  # documentation range: never a real feed
        ('8.8.8.8', None),
        ('2606:4700::1111', None),
        ('::ffff:8.8.8.8', None),
        ('64:ff9b::808:808', None),  # NAT64 of a public address (IPv6-only networks)
    ],
)
def test_every_kind_of_internal_address_is_refused_and_public_ones_are_not(address: str, kind: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == kind


# --- names that resolve inside: refused at the lookup, never connected to -------------------------------------------


@pytest.mark.parametrize(
    'inside', ['127.0.0.1', '10.20.30.40', '169.254.169.254', '::1', '::ffff:10.0.0.1', 'fd00:ec2::254']
)
async def test_a_name_that_resolves_inside_gives_the_connector_no_address(inside: str) -> None:
    answers = Answers({'feed.council.test': [inside]})
    resolver = GuardedResolver(Guard(Reach()), answers)
    with pytest.raises(Refused) as refused:
        await resolver.resolve('feed.council.test', 443)
    assert refused.value.reason == refusal(ipaddress.ip_address(inside))
    assert 'only an administrator can let a source reach one' in str(refused.value)
    # allowed internal addresses, the same answer is used as it is
    allowed = await GuardedResolver(Guard(Reach(internal=True)), answers).resolve('feed.council.test', 443)
    assert [result['host'] for result in allowed] == [inside]


async def test_of_several_addresses_only_the_public_ones_are_connected_to() -> None:
    answers = Answers({'feed.council.test': ['10.0.0.7', '93.184.216.34', '169.254.169.254', '2606:4700::1111']})
    kept = await GuardedResolver(Guard(), answers).resolve('feed.council.test', 443)
    assert [result['host'] for result in kept] == ['93.184.216.34', '2606:4700::1111']


async def test_metadata_names_are_refused_without_being_looked_up() -> None:
    answers = Answers({})
    for name in ('metadata.google.internal', 'METADATA.GOOGLE.INTERNAL.', 'localhost', 'feeds.localhost'):
        with pytest.raises(Refused):
            await GuardedResolver(Guard(), answers).resolve(name, 80)
    assert answers.asked == []


def test_the_socket_factory_refuses_an_internal_address_whatever_asked_for_it() -> None:
    make = guarded_socket(Guard())
    for address in (
        ('10.0.0.1', 80),
        ('169.254.169.254', 80),
        ('::ffff:127.0.0.1', 80, 0, 0),
        ('fe80::1%lo', 80, 0, 1),
    ):
        family = socket.AF_INET6 if ':' in address[0] else socket.AF_INET
        with pytest.raises(Refused):
            make((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, '', address))
    allowed = guarded_socket(Guard(Reach(internal=True)))((socket.AF_INET, socket.SOCK_STREAM, 6, '', ('10.0.0.1', 80)))
    allowed.close()  # made, never connected


# --- over loopback, through the real connector ----------------------------------------------------------------------


async def test_a_source_on_a_loopback_address_is_refused_unless_allowed(aiohttp_server: Any) -> None:
    site, port = await start(aiohttp_server, PUBLIC_STAND_IN)
    site.routes['/feed.csv'] = web.Response(body=REGISTER)
    for url in (f'http://127.0.0.1:{port}/feed.csv', f'http://[::ffff:127.0.0.1]:{port}/feed.csv',
                f'http://localhost:{port}/feed.csv', f'http://127.1:{port}/feed.csv',
                f'http://2130706433:{port}/feed.csv'):  # fmt: skip
        async with Fetcher(Reach()) as fetcher:
            with pytest.raises(FetchError, match='not fetched|not a valid URL'):  # 127.1: aiohttp refuses the form
                await fetcher.get(url)
    assert site.seen == []
    async with Fetcher(Reach(internal=True)) as fetcher:  # an administrator allowed it
        fetched = await fetcher.get(f'http://127.0.0.1:{port}/feed.csv')
    assert fetched.page is not None and fetched.page.body == REGISTER


async def test_a_name_resolving_to_loopback_is_refused_and_nothing_is_sent(aiohttp_server: Any) -> None:
    site, port = await start(aiohttp_server, INTERNAL)
    site.routes['/secret'] = web.Response(text=SECRET)
    net, answers = network({'feed.council.test': [INTERNAL]})
    async with Fetcher(Reach(), network=net) as fetcher:
        with pytest.raises(FetchError) as failed:
            await fetcher.get(f'http://feed.council.test:{port}/secret')
    assert 'its host resolves to a loopback address' in str(failed.value) and '--allow-internal' in str(failed.value)
    assert SECRET not in str(failed.value) and site.seen == [] and answers.asked == ['feed.council.test']


async def test_the_connection_goes_to_the_address_checked_with_the_name_kept_for_host(aiohttp_server: Any) -> None:
    """DNS rebinding: the first answer is public, every later one internal. The host is looked up once, and the
    connection goes to the address that was checked; the Host header (and TLS SNI) still carry the name."""
    public, port = await start(aiohttp_server, PUBLIC_STAND_IN)
    internal = Site()
    await aiohttp_server(internal.app(), host=INTERNAL, port=port)
    public.routes['/feed.csv'] = web.Response(body=REGISTER)
    internal.routes['/feed.csv'] = web.Response(text=SECRET)
    net, answers = network({'feeds.council.test': lambda n: [PUBLIC_STAND_IN] if n == 1 else [INTERNAL]})
    async with Fetcher(Reach(), network=net) as fetcher:
        fetched = await fetcher.get(f'http://feeds.council.test:{port}/feed.csv')
    assert fetched.page is not None and fetched.page.body == REGISTER
    assert answers.asked == ['feeds.council.test']  # one lookup: nothing to rebind between check and connect
    assert public.seen == [('/feed.csv', f'feeds.council.test:{port}')] and internal.seen == []


@pytest.mark.parametrize(
    'target',
    [
        'http://{internal}:{port}/secret',
        'http://internal.council.test:{port}/secret',  # a name that resolves to the internal address
        'http://[::ffff:{internal}]:{port}/secret',
        'http://localhost:{port}/secret',
        'file:///{secret_file}',
        'gopher://{internal}:{port}/_secret',
    ],
)
async def test_a_redirect_to_an_internal_address_or_a_file_is_not_followed(
    aiohttp_server: Any, pg: asyncpg.Pool, tmp_path: Path, target: str
) -> None:
    internal, port = await start(aiohttp_server, INTERNAL)
    internal.routes['/secret'] = web.Response(text=SECRET)
    public = Site()
    await aiohttp_server(public.app(), host=PUBLIC_STAND_IN, port=port)
    secret_file = tmp_path / 'secret_key'
    secret_file.write_text(SECRET)
    where = target.format(internal=INTERNAL, port=port, secret_file=str(secret_file).lstrip('/'))
    public.routes['/feed.csv'] = moved(where)
    net, _ = network({'feeds.council.test': [PUBLIC_STAND_IN], 'internal.council.test': [INTERNAL]})
    await registry.add_source(pg, name='moved', kind='licensing-csv', url=f'http://feeds.council.test:{port}/feed.csv',
                              allow_file=True)  # fmt: skip  # even a source allowed its own file

    result = await poll_source(pg, 'moved', now=NOW, network=net)

    assert (
        result.outcome == 'failed' and 'redirected' in (result.error or '') and 'not followed' in (result.error or '')
    )
    assert internal.seen == [] and public.seen == [('/feed.csv', f'feeds.council.test:{port}')]
    source = await registry.get_source(pg, 'moved')
    assert source is not None and SECRET not in (source.last_error or '') and where not in (source.last_error or '')


async def test_a_redirect_within_public_addresses_is_followed_hop_by_hop(aiohttp_server: Any) -> None:
    site, port = await start(aiohttp_server, PUBLIC_STAND_IN)
    site.routes['/old.csv'] = moved(f'http://www.council.test:{port}/new.csv')
    site.routes['/new.csv'] = web.Response(body=REGISTER)
    net, answers = network({'feeds.council.test': [PUBLIC_STAND_IN], 'www.council.test': [PUBLIC_STAND_IN]})
    async with Fetcher(Reach(), network=net) as fetcher:
        fetched = await fetcher.get(f'http://feeds.council.test:{port}/old.csv')
    assert fetched.page is not None and fetched.page.body == REGISTER
    assert answers.asked == ['feeds.council.test', 'www.council.test']  # each hop looked up and checked


async def test_a_next_page_link_cannot_lead_a_file_source_to_another_file(pg: asyncpg.Pool, tmp_path: Path) -> None:
    secret_file = tmp_path / 'secret_key'
    secret_file.write_text(SECRET)
    feed = tmp_path / 'entities.json'
    entity = {'entity': 1, 'reference': '25/1/FUL', 'entry-date': '2025-05-21', 'point': 'POINT (-2.3 53.4)'}
    feed.write_text(json.dumps({'entities': [entity], 'links': {'next': f'file://{secret_file}'}}))
    await registry.add_source(pg, name='local', kind='planning-data', url=f'file://{feed}', allow_file=True)

    result = await poll_source(pg, 'local', now=NOW)

    assert result.outcome == 'failed'
    assert 'page 2 of' in (result.error or '') and 'a file:// URL, which only the source itself may name' in (
        result.error or ''
    )
    assert SECRET not in (result.error or '') and str(secret_file) not in (result.error or '')


async def test_file_and_other_schemes_need_the_administrators_flag(tmp_path: Path) -> None:
    secret_file = tmp_path / 'secret_key'
    secret_file.write_text(SECRET)
    async with Fetcher(Reach(internal=True)) as fetcher:  # internal addresses do not mean files
        with pytest.raises(FetchError, match='--allow-file') as failed:
            await fetcher.get(f'file://{secret_file}')
        assert SECRET not in str(failed.value)
        for url in ('ftp://127.0.0.1/feed.csv', 'gopher://127.0.0.1:70/_x', 'dict://127.0.0.1:11211/stats'):
            with pytest.raises(FetchError, match='only http:// and https:// URLs are fetched'):
                await fetcher.get(url)
    async with Fetcher(Reach(files=True)) as fetcher:
        fetched = await fetcher.get(f'file://{secret_file}')
    assert fetched.page is not None  # allowed by an administrator: read (and never echoed: test_sources_no_echo)
