"""How much of the internet an IP allowlist admits, counted over all its ranges together. Pure.

One range of prefix 0 is not the only way to admit everyone: ``0.0.0.0/1`` and ``128.0.0.0/1`` together
do, and so does ``::ffff:0:0/96``, every IPv4 address written as IPv4-mapped IPv6 (OpenBao admits an IPv4
client through it). Every address but a handful is as open in practice. So an allowlist is judged by the
union of its ranges, per address family, and by how many public addresses that union holds: more than a
``/8`` of public IPv4 (16,777,216 addresses) or a ``/32`` of public IPv6 is no runner fleet's or office's
egress. IPv6 ranges that carry IPv4 hosts count as those hosts: IPv4-mapped (``::ffff:0:0/96``), NAT64
(``64:ff9b::/96``) and 6to4 (``2002::/16``) ranges as the IPv4 ranges they embed; any part of Teredo
(``2001::/32``) or of local-use NAT64 (``64:ff9b:1::/48``), whose clients may be any IPv4 host, as every
IPv4 address. Private, shared, loopback, link-local and documentation ranges never count as public.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence

IPv4 = ipaddress.IPv4Network
IPv6 = ipaddress.IPv6Network

IPV4_MAPPED = IPv6("::ffff:0:0/96")
"""IPv4-mapped IPv6 addresses: ``::ffff:a.b.c.d`` is the IPv4 client ``a.b.c.d``."""

_EMBEDDING_IPV4: tuple[tuple[IPv6, int], ...] = (
    (IPV4_MAPPED, 96),             # ::ffff:a.b.c.d
    (IPv6("64:ff9b::/96"), 96),    # NAT64 / SIIT: 64:ff9b::a.b.c.d
    (IPv6("2002::/16"), 16),       # 6to4: 2002:aabb:ccdd::/48 is a.b.c.d's site
)
"""IPv6 ranges that embed an IPv4 address, with the bit at which it starts."""
_ANY_IPV4_BEHIND = (IPv6("2001::/32"), IPv6("64:ff9b:1::/48"))
"""IPv6 ranges whose addresses may stand for any IPv4 host (Teredo clients, local-use NAT64)."""

PUBLIC_IPV4_LIMIT = IPv4("0.0.0.0/8").num_addresses
"""The most public IPv4 addresses an allowlist may admit: a ``/8``."""
PUBLIC_IPV6_LIMIT = IPv6("::/32").num_addresses
"""The most public IPv6 addresses an allowlist may admit: a ``/32``, a whole provider's allocation."""

_NOT_PUBLIC_IPV4 = tuple(IPv4(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/3",  # multicast and reserved (224/4, 240/4): never a client's address
))
"""IANA's special-purpose IPv4 ranges no client on the internet comes from (private, shared, loopback,
link-local, benchmarking, documentation, multicast, reserved); disjoint."""
_NOT_PUBLIC_IPV6 = tuple(IPv6(n) for n in (
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64", "2001:db8::/32", "2002::/16", "fc00::/7",
    "fe80::/10", "ff00::/8",
))
"""IPv6 ranges no client on the internet comes from as itself (unspecified, loopback, discard, documentation,
unique local, link-local, multicast), and those counted as the IPv4 hosts they embed; disjoint."""
LOOPBACK_IPV4 = IPv4("127.0.0.0/8")
LOOPBACK_IPV6 = IPv6("::1/128")


def _overlap(a: IPv4 | IPv6, b: IPv4 | IPv6) -> int:
    """Addresses two networks of one family share (CIDR ranges either nest or are disjoint)."""
    if a.subnet_of(b):  # type: ignore[arg-type]  # same family by construction
        return a.num_addresses
    if b.subnet_of(a):  # type: ignore[arg-type]
        return b.num_addresses
    return 0


def by_family(cidrs: Iterable[str]) -> tuple[list[IPv4], list[IPv6]]:
    """The allowlist's IPv4 and IPv6 ranges, each family collapsed to disjoint ranges; an IPv6 range that
    carries IPv4 hosts also counts as those IPv4 ranges (the module docstring says which)."""
    ipv4: list[IPv4] = []
    ipv6: list[IPv6] = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if isinstance(network, IPv4):
            ipv4.append(network)
        else:
            ipv6.append(network)
            ipv4.extend(_ipv4_behind(network))
    return list(ipaddress.collapse_addresses(ipv4)), list(ipaddress.collapse_addresses(ipv6))


def _ipv4_behind(network: IPv6) -> Iterator[IPv4]:
    for prefix, start in _EMBEDDING_IPV4:
        if prefix.subnet_of(network):
            yield IPv4("0.0.0.0/0")
        elif network.subnet_of(prefix):
            embedded = (int(network.network_address) >> (128 - start - 32)) & 0xFFFFFFFF
            length = max(0, min(32, network.prefixlen - start))
            yield IPv4((embedded, length), strict=False)
    if any(network.overlaps(anyone) for anyone in _ANY_IPV4_BEHIND):
        yield IPv4("0.0.0.0/0")


def public_addresses(cidrs: Iterable[str]) -> tuple[int, int]:
    """How many public IPv4 and IPv6 addresses the allowlist admits, all its ranges together."""
    return _public(*by_family(cidrs))


def _public(ipv4: list[IPv4], ipv6: list[IPv6]) -> tuple[int, int]:
    public4 = sum(n.num_addresses - sum(_overlap(n, s) for s in _NOT_PUBLIC_IPV4) for n in ipv4)
    public6 = sum(n.num_addresses - sum(_overlap(n, s) for s in _NOT_PUBLIC_IPV6) for n in ipv6)
    return public4, public6


def loopback(cidrs: Iterable[str]) -> list[str]:
    """The allowlist's ranges that admit a loopback address (as IPv4 or IPv6, or embedded in IPv6)."""
    found = []
    for cidr in cidrs:
        ipv4, ipv6 = by_family([cidr])
        if any(n.overlaps(LOOPBACK_IPV4) for n in ipv4) or any(n.overlaps(LOOPBACK_IPV6) for n in ipv6):
            found.append(cidr)
    return found


def breadth(cidrs: Sequence[str]) -> str | None:
    """Why the allowlist, all its ranges together, admits (nearly) anyone; ``None`` when it does not."""
    ipv4, ipv6 = by_family(cidrs)
    every = [family for family, ranges, whole in (("IPv4", ipv4, IPv4("0.0.0.0/0")), ("IPv6", ipv6, IPv6("::/0")))
             if ranges == [whole]]
    admit = "admits" if len(cidrs) == 1 else "together admit"
    if every:
        return f"{admit} every {' and every '.join(every)} address"
    public4, public6 = _public(ipv4, ipv6)
    if public4 > PUBLIC_IPV4_LIMIT:
        return f"{admit} {public4:,} public IPv4 addresses, more than a /8 (16,777,216)"
    if public6 > PUBLIC_IPV6_LIMIT:
        return f"{admit} {public6:,} public IPv6 addresses, more than a /32"
    return None
