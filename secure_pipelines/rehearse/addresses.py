"""Client addresses inside and outside a declared allowlist (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Documentation and reserved ranges: never anyone's runner, so "outside" stays outside.
_OUTSIDE_CANDIDATES = {
    4: ("192.0.2.77", "198.18.0.77", "100.64.0.77", "10.255.0.77", "172.31.255.77"),
    6: ("2001:db8:ffff::77", "fd00:5ec:0:1::77", "2001:db8:1::77"),
}


def networks(cidrs: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(c) for c in cidrs]


# For a range wider than any one network (0.0.0.0/0): an address from the documentation ranges.
_SAMPLE_IN_WIDE_RANGE = {4: ipaddress.ip_address("198.51.100.200"), 6: ipaddress.ip_address("2001:db8:abcd::200")}


def inside_address(cidr: str) -> str:
    """A host address inside ``cidr`` (not its network address where the range has hosts)."""
    network = ipaddress.ip_network(cidr)
    sample = _SAMPLE_IN_WIDE_RANGE[network.version]
    if network.prefixlen < 8 and sample in network:
        return str(sample)
    offset = min(network.num_addresses - 1, 5)
    return str(network.network_address + offset)


def is_inside(address: str, cidrs: Sequence[str]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in n for n in networks(cidrs) if n.version == ip.version)


def outside_addresses(cidrs: Sequence[str]) -> list[str]:
    """One address per IP family that no CIDR of ``cidrs`` admits (none if the family is wide open)."""
    found: list[str] = []
    for candidates in _OUTSIDE_CANDIDATES.values():
        for candidate in candidates:
            if not is_inside(candidate, cidrs):
                found.append(candidate)
                break
    return found
