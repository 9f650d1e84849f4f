"""Keep fetches of admin-added URLs off loopback, link-local and private networks (SSRF).

A feed URL typed in Discord is fetched by the bot, from inside whatever network the bot runs
in: without a guard, ``http://169.254.169.254/`` (a cloud's metadata service) or
``http://10.0.0.1/admin`` would be fetched and previewed. The guard is a property of the HTTP
session, so every request made with it is checked, redirects included (the fetcher follows them
by hand, one request per hop):

- a host name is resolved by :class:`GuardedResolver`, which refuses the lookup when ANY of its
  addresses is not a global one; aiohttp then connects only to the addresses it returned (the
  ones checked), so a DNS answer that changes between the check and the connection (rebinding)
  cannot slip through;
- an IP literal never reaches a resolver in aiohttp, so a request-start trace refuses it before
  any connection is made.

Refusals raise :class:`AddressRefused` (an ``OSError``, as a failed lookup is), whose text says
which address was refused and how to allow it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from types import SimpleNamespace

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

__all__ = ["AddressRefused", "GuardedResolver", "address_refusal", "guarded_session"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_HINT = "set feed.allow_private_addresses: true in the config to allow it"


class AddressRefused(OSError):
    """A URL's host is, or resolves to, an address the bot must not reach."""


def address_refusal(address: str) -> str | None:
    """Why ``address`` (an IP in text form) may not be reached, or None when it is global.

    ``is_global`` alone is the rule; the explicit kinds name the reason and catch addresses
    some Python versions counted as global (IPv4-mapped IPv6 is judged by its IPv4 address)."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            return f"{ip} is a {kind} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def _refuse(host: str, reason: str) -> AddressRefused:
    return AddressRefused(f"refused to fetch from {host}: {reason}; {ALLOW_HINT}")


class GuardedResolver(AbstractResolver):
    """Resolve with ``inner`` (aiohttp's default resolver) and refuse non-global answers.

    ``trusted_hosts`` are names whose answers are not checked (tests point a name at loopback
    to stand for a public host)."""

    def __init__(
        self, inner: AbstractResolver | None = None, *, trusted_hosts: Iterable[str] = ()
    ) -> None:
        self._inner = inner if inner is not None else DefaultResolver()
        self._trusted = frozenset(host.lower() for host in trusted_hosts)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if host.lower() in self._trusted:
            return results
        for result in results:
            reason = address_refusal(result["host"])
            if reason is not None:
                raise _refuse(host, reason)
        if not results:
            raise AddressRefused(f"refused to fetch from {host}: it resolves to no address")
        return results

    async def close(self) -> None:
        await self._inner.close()


async def _check_literal(
    _session: aiohttp.ClientSession,
    _context: SimpleNamespace,
    params: aiohttp.TraceRequestStartParams,
) -> None:
    """Refuse a request to an IP literal that is not global (aiohttp resolves no literal)."""
    host = params.url.host or ""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return  # a name: GuardedResolver checks what it resolves to
    reason = address_refusal(host.strip("[]"))
    if reason is not None:
        raise _refuse(host, reason)


def guarded_session(
    *,
    resolver: AbstractResolver | None = None,
    trace_configs: Iterable[aiohttp.TraceConfig] = (),
) -> aiohttp.ClientSession:
    """A session whose every request (and redirect hop) reaches global addresses only.

    ``resolver``: a :class:`GuardedResolver` (the default one when None); ``trace_configs`` are
    added after the guard's own (tests count connections with one)."""
    literal_guard = aiohttp.TraceConfig()
    literal_guard.on_request_start.append(_check_literal)
    connector = aiohttp.TCPConnector(resolver=resolver or GuardedResolver())
    return aiohttp.ClientSession(connector=connector, trace_configs=[literal_guard, *trace_configs])
