"""The address policy for untrusted links (article links found in feeds and pages).

A link in a feed or on a page is written by someone else: fetching it blindly would let a
feed make the bot call ``http://127.0.0.1:9090/admin``, a router at ``192.168.0.1`` or a cloud
metadata service at ``169.254.169.254``. Before every connection (the first URL and each
redirect target) the fetcher resolves the host and hands the addresses to ``AddressPolicy``,
which refuses any that is not a public unicast address. Only ``http`` and ``https`` are fetched.

    policy = AddressPolicy()
    async with Fetcher(settings, guard=policy) as fetcher:
        await fetcher.fetch(link, allow_private=source.allow_private)

``allow_private: true`` on a source (an intranet or a test server) turns the check off for that
source's links. The pure decision is ``refusal_reason(ip)``; ``check_scheme(url)`` is the rest.

DNS rebinding is caught too: the fetcher connects to the very address the policy approved (the
name is not resolved a second time; ``Host`` and TLS still use the name), so a DNS server that
answers a public address for the check and a private one a moment later gains nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from watcher.errors import FetchError, FetchErrorKind

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Carrier-grade NAT (RFC 6598): not "private" to Python, not reachable from the internet either.
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped ``::ffff:a.b.c.d``, 6to4, or the
    deprecated IPv4-compatible ``::a.b.c.d``), else None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    packed = ip.packed
    if packed[:12] == bytes(12) and packed[12:] not in (bytes(4), b"\x00\x00\x00\x01"):
        return ipaddress.IPv4Address(packed[12:])
    return None


def refusal_reason(address: str | IPAddress) -> str | None:
    """Why ``address`` must not be fetched from an untrusted link, or None when it may.

    Refused: unspecified, loopback, private, link-local, multicast, reserved, carrier-grade
    NAT and any other non-global range; for IPv6 also an IPv4 address carried inside one
    (``::ffff:127.0.0.1``, 6to4 ``2002:7f00:1::``) that would be refused on its own.
    """
    if isinstance(address, str):
        try:
            ip: IPAddress = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
        except ValueError:
            return f"{address!r} is not an IP address"
    else:
        ip = address
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = refusal_reason(inner)
            return None if why is None else f"{why} (inside IPv6 {ip})"
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "carrier-grade NAT"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        (not ip.is_global, "not public"),
    )
    for hit, what in checks:
        if hit:
            article = "an" if what[0] in "aeiou" else "a"
            return f"{ip} is {article} {what} address"
    return None


def check_scheme(url: str) -> None:
    """Refuse anything but an absolute ``http(s)`` URL with a host (``BLOCKED_ADDRESS``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise FetchError(FetchErrorKind.BLOCKED_ADDRESS, f"bad URL: {exc}", url=url) from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        what = parts.scheme or "no scheme"
        raise FetchError(
            FetchErrorKind.BLOCKED_ADDRESS, f"only http and https are fetched, not {what}", url=url
        )
    if not host:
        raise FetchError(FetchErrorKind.BLOCKED_ADDRESS, "URL without a host", url=url)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """The fetcher's address guard (``Fetcher(guard=AddressPolicy())``).

    ``trusted`` lists networks that are allowed although not public (for an operator's proxy,
    or a test server on 127.0.0.1/32); empty by default.
    """

    trusted: tuple[IPNetwork, ...] = ()

    @classmethod
    def trusting(cls, *networks: str) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def reason(self, address: str) -> str | None:
        """Why ``address`` is refused under this policy, or None."""
        why = refusal_reason(address)
        if why is None or not self.trusted:
            return why
        try:
            ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
        except ValueError:
            return why
        if any(ip.version == n.version and ip in n for n in self.trusted):
            return None
        return why

    def __call__(self, host: str, addresses: list[str]) -> None:
        """Raise ``FetchError(BLOCKED_ADDRESS)`` when any address of ``host`` is refused.

        Every address must pass, not one: the client may connect to any of them.
        """
        if not addresses:
            raise FetchError(FetchErrorKind.BLOCKED_ADDRESS, f"{host} resolves to no address")
        for address in addresses:
            why = self.reason(address)
            if why is not None:
                text = why if host.strip("[]") == address else f"{host} resolves to {why}"
                raise FetchError(FetchErrorKind.BLOCKED_ADDRESS, text)
