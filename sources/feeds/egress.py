"""Where a feed fetch may go (server-side request forgery): only to public web addresses, unless an administrator
allowed the source more.

- Schemes: `http` and `https`. `file://` only for a source allowed it (`tellme sources add|set --allow-file`), and
  never by a redirect or a feed's "next page" link.
- Addresses: a source may not reach loopback, private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10),
  shared (carrier-grade NAT, 100.64/10), multicast, unspecified, reserved or any other non-public address, nor the
  same inside an IPv4-mapped, 6to4 or NAT64 IPv6 address, nor a cloud metadata service (by address or by name),
  unless it is allowed internal addresses (`--allow-internal`).
- Checked where the connection is made, so what is checked is what is connected to: the connector's resolver
  (`GuardedResolver`) looks each host up once and returns only the addresses the source may reach, and its socket
  factory (`guarded_socket`) refuses to open a socket to any other address, whatever asked for it. There is no
  second lookup between the check and the connection for DNS rebinding to slip into. A literal IP address in a URL
  is never looked up, so `Guard.url_refusal` checks it before each request (each redirect hop included).

Every refusal says what kind of address it was, never what a feed sent.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = ('http', 'https')
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text)
    for text in (
        '169.254.169.254',  # AWS, GCP, Azure, OpenStack, DigitalOcean …
        'fd00:ec2::254',  # AWS over IPv6
        '169.254.170.2',  # AWS ECS task metadata
        '100.100.100.200',  # Alibaba Cloud
    )
)
METADATA_NAMES = frozenset({'metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data',
                            'instance-data.ec2.internal'})  # fmt: skip
SHARED = ipaddress.ip_network('100.64.0.0/10')  # RFC 6598, carrier-grade NAT
NAT64 = ipaddress.ip_network('64:ff9b::/96')  # RFC 6052: the IPv4 address is the last 32 bits
ALLOW_INTERNAL_HINT = 'only an administrator can let a source reach one (tellme sources add|set NAME --allow-internal)'
ALLOW_FILE_HINT = 'only an administrator can let a source read a local file (tellme sources add|set NAME --allow-file)'


@dataclass(frozen=True)
class Reach:
    """What one source may reach beyond public web addresses (stored on the source; set only by an administrator)."""

    internal: bool = False  # --allow-internal: this network's own addresses (an intranet feed, a test server)
    files: bool = False  # --allow-file: file:// URLs on the worker's machine


PUBLIC_ONLY = Reach()


class Refused(OSError):
    """A connection a source may not make; `reason` names the kind of address ('a loopback address')."""

    def __init__(self, reason: str) -> None:
        super().__init__(f'{reason}, and {ALLOW_INTERNAL_HINT}')
        self.reason = reason


def refusal(address: Address) -> str | None:
    """What kind of non-public address `address` is ('a loopback address'), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d reaches a.b.c.d
            return refusal(address.ipv4_mapped)
        embedded = address.sixtofour or (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None)
        if embedded is not None:
            inner = refusal(embedded)
            if inner is not None:
                return f'{inner} inside an IPv6 address'
            if address in NAT64:  # a NAT64 gateway's form of a public IPv4 address (IPv6-only networks)
                return None
    checks: tuple[tuple[bool, str], ...] = (
        (address in METADATA_ADDRESSES, 'a cloud metadata address'),
        (address.is_loopback, 'a loopback address'),
        (address.is_unspecified, 'the unspecified address'),
        (address.is_link_local, 'a link-local address'),
        (address.is_multicast, 'a multicast address'),
        (address in SHARED, 'a shared (carrier-grade NAT) address'),
        (address.is_private, 'a private address'),
        (address.is_reserved, 'a reserved address'),
        (not address.is_global, 'an address that is not public'),
    )
    return next((reason for found, reason in checks if found), None)


@dataclass(frozen=True)
class Network:
    """How fetches reach the world: the system's DNS lookup and the real rules, unless a test says otherwise.

    `lookup` replaces the DNS lookup (a test's resolver answers without the network); `stand_ins` are loopback
    addresses a test treats as public (see Guard). Never set outside tests."""

    lookup: AbstractResolver | None = None
    stand_ins: frozenset[str] = frozenset()


REAL_NETWORK = Network()


def parse_address(host: str) -> Address | None:
    """`host` as an IP address ('[::1]', 'fe80::1%eth0' and '127.0.0.1' included), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip('[]').split('%', 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class Guard:
    """The checks for one source's fetches: what it may reach (`reach`), and, in tests only, `stand_ins`: loopback
    addresses treated as public, so a test server on 127.0.0.1 can play a council's public feed while another on
    127.0.0.2 plays an internal service (tests never reach a real non-loopback address)."""

    reach: Reach = PUBLIC_ONLY
    stand_ins: frozenset[str] = frozenset()

    def address_refusal(self, host: str) -> str | None:
        """Why the address `host` (as resolved, or about to be connected to) may not be reached, or None."""
        if self.reach.internal:
            return None
        address = parse_address(host)
        if address is None:
            return 'not an IP address'
        return None if str(address) in self.stand_ins else refusal(address)

    def host_refusal(self, host: str) -> str | None:
        """Why `host` (a literal address or a well-known name) may not be reached without looking it up, or None."""
        if self.reach.internal:
            return None
        if parse_address(host) is not None:
            return self.address_refusal(host)
        name = host.rstrip('.').lower()
        if name in METADATA_NAMES:
            return 'a cloud metadata service'
        if name == 'localhost' or name.endswith('.localhost'):
            return 'a loopback address'
        return None

    def url_refusal(self, url: str, *, first: bool = True) -> str | None:
        """Why a request to `url` may not be made at all (its scheme, a literal address), or None: then the
        connector checks every address the host resolves to. `first` is False for a redirect or a feed's
        next-page link, which may never lead to a file."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == 'file':
            if not first:
                return 'it is a file:// URL, which only the source itself may name'
            if not self.reach.files:
                return f'it is a file:// URL, and {ALLOW_FILE_HINT}'
            if parts.netloc not in ('', 'localhost'):
                return 'it is a file:// URL naming another machine'
            return None
        if scheme not in SCHEMES:
            return 'only http:// and https:// URLs are fetched'
        try:
            host = parts.hostname
        except ValueError:
            return 'it is not a valid URL'
        if not host:
            return 'it has no host'
        reason = self.host_refusal(host)
        return f'its host is {reason}, and {ALLOW_INTERNAL_HINT}' if reason else None


def refusal_for_url(url: str, reach: Reach, *, first: bool = True) -> str | None:
    """Guard(reach).url_refusal: why a source with `reach` may not fetch `url`, or None."""
    return Guard(reach).url_refusal(url, first=first)


class GuardedResolver(AbstractResolver):
    """Looks a host up once (with `lookup`, the system's resolver by default) and returns only the addresses the
    guard lets the source reach; Refused when there are none. The connector connects to what this returns, and
    to nothing else."""

    def __init__(self, guard: Guard, lookup: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._owns_lookup = lookup is None
        self._lookup = lookup or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        named = self._guard.host_refusal(host)
        if named is not None:
            raise Refused(named)
        found = await self._lookup.resolve(host, port, family)
        kept = [result for result in found if self._guard.address_refusal(result['host']) is None]
        if not kept:
            reasons = sorted({self._guard.address_refusal(result['host']) or '' for result in found} - {''})
            raise Refused(' and '.join(reasons) or 'an address that could not be found')
        return kept

    async def close(self) -> None:
        if self._owns_lookup:
            await self._lookup.close()


def guarded_socket(guard: Guard) -> SocketFactoryType:
    """A socket factory for the connector: the last word, checked against the very address about to be connected
    to (after the resolver, and for literal addresses, which aiohttp never resolves), so no path reaches a refused
    address."""

    def make(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        reason = guard.address_refusal(str(address[0]))
        if reason is not None:
            raise Refused(reason)
        return socket.socket(family=family, type=type_, proto=proto)

    return make
