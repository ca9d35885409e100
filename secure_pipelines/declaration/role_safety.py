"""What makes a Vault JWT role for CI jobs dangerous, as pure rules with messages for people.

The declaration's checks apply the allowlist and TTL rules to each environment (every role of an
environment inherits its allowlist and TTLs); the schema-friendly ``CIJwtRole`` component, which
takes a role's fields directly, applies every rule here to its inputs. Both report the same
sentences because both call these functions. Each rule takes the field path to report, so the
declaration says ``environments[production].ip_allowlist`` where the component says
``token_bound_cidrs``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence

from ..errors import Problem
from .allowlists import breadth, loopback
from .model import TIER_LIMITS, Tier

GLOB = "*"
LONGEST_TTL = 12 * 3600
"""The longest token TTL any override accepts, in seconds: longer than any CI job runs."""
LONG_TTL_OVERRIDE = "overrides.long_token_ttl"
"""Where a longer TTL is accepted, with its reason (an environment's or a role component's field)."""


def _is_open(cidr: str) -> bool:
    return ipaddress.ip_network(cidr, strict=False).prefixlen == 0


def is_open_allowlist(cidrs: Sequence[str]) -> bool:
    """The allowlist admits (nearly) anyone: one range admits every address, or all its ranges together admit
    every address of a family or more public addresses than any egress needs (``allowlists.breadth``)."""
    return any(_is_open(cidr) for cidr in cidrs) or breadth(cidrs) is not None


def open_allowlist_problems(field: str, cidrs: Sequence[str], tier: Tier) -> Iterator[Problem]:
    """An allowlist that admits (nearly) anyone (``0.0.0.0/0``, ``::/0``, or ranges that add up to it) where
    the tier refuses one."""
    if TIER_LIMITS[tier].open_allowlist == "refused":
        fix = f"; a {tier} allowlist must list your runners' egress ranges"
        yield from closed_allowlist_problems(field, cidrs, fix)


def closed_allowlist_problems(field: str, cidrs: Sequence[str], fix: str) -> Iterator[Problem]:
    """Why an allowlist that must be closed is not: one range admits every address, its ranges together admit
    (nearly) anyone, or a range admits loopback, which Vault sees for every request a proxy on its own host
    forwards without X-Forwarded-For. ``fix`` ends each message (with its own separator)."""
    single = [cidr for cidr in cidrs if _is_open(cidr)]
    for cidr in single:
        yield Problem(field, cidr, f"admits every address{fix}")
    if single or not cidrs:
        return
    wide = breadth(cidrs)
    if wide is not None:
        yield Problem(field, list(cidrs), f"{wide}{fix}")
        return
    for cidr in loopback(cidrs):
        yield Problem(field, cidr, "admits loopback addresses, which Vault sees for every request a proxy on its "
                                   f"own host forwards without X-Forwarded-For, whoever sent it{fix}")


def open_allowlist_warning(field: str, cidrs: Sequence[str], tier: Tier) -> Problem | None:
    """An open allowlist where the tier allows one: legal, but worth saying (louder for a test tier)."""
    if TIER_LIMITS[tier].open_allowlist != "warned" or not is_open_allowlist(cidrs):
        return None
    if tier is Tier.DEVELOPMENT:
        return Problem(field, list(cidrs), "a token for this environment can be used from any address")
    return Problem(field, list(cidrs), f"a token for this {tier} environment can be used from any address, and its "
                                       "secrets are shared by the team; list your runners' egress ranges")


def max_token_ttl(tier: Tier) -> int:
    """The longest token TTL accepted without an override: one hour for development, 30 minutes for test,
    20 for staging, 15 for production."""
    return TIER_LIMITS[tier].max_token_ttl


def ttl_ladder() -> str:
    """Every tier's TTL limit, lowest tier first, for messages."""
    return ", ".join(f"{tier} {TIER_LIMITS[tier].max_token_ttl}" for tier in Tier) + " seconds"


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def ttl_problems(
    where: str, tier: Tier, token_ttl: int, token_max_ttl: int, long_ttl_reason: str | None
) -> Iterator[Problem]:
    """A TTL longer than the maximum TTL, or above the tier's limit without ``overrides.long_token_ttl``.

    ``where`` is the object holding ``token_ttl`` and ``token_max_ttl`` (empty: they are top-level).
    """
    if token_ttl > token_max_ttl:
        yield Problem(_field(where, "token_ttl"), token_ttl, f"is longer than token_max_ttl ({token_max_ttl})")
    if long_ttl_reason:
        for name, value in (("token_ttl", token_ttl), ("token_max_ttl", token_max_ttl)):
            if value > LONGEST_TTL:
                yield Problem(_field(where, name), value,
                              f"exceeds {LONGEST_TTL} seconds (12 hours), the most {LONG_TTL_OVERRIDE} accepts: a CI "
                              "token that outlives any job is a standing credential; shorten it")
        return
    limit = max_token_ttl(tier)
    for name, value in (("token_ttl", token_ttl), ("token_max_ttl", token_max_ttl)):
        if value > limit:
            yield Problem(
                _field(where, name),
                value,
                f"exceeds {limit} seconds, the limit for a {tier} environment (limits tighten towards production: "
                f"{ttl_ladder()}); shorten it, or set {LONG_TTL_OVERRIDE} to the reason you accept a longer-lived "
                "token",
            )


def long_ttl_warning(where: str, long_ttl_reason: str | None) -> Problem | None:
    """An accepted long TTL: legal with its reason, and still worth saying."""
    if not long_ttl_reason:
        return None
    return Problem(_field(where, LONG_TTL_OVERRIDE), long_ttl_reason,
                   "longer-lived tokens widen the window a leaked token can be used")


def audience_problem(field: str, audiences: Sequence[str]) -> Problem | None:
    """A role without ``bound_audiences``: Vault then refuses every token that names an audience."""
    if audiences:
        return None
    return Problem(field, [], "is empty: Vault refuses every token that carries an audience, and CI tokens all "
                              "do; bind the audience your CI system puts in its tokens")


ClaimValue = str | bool


def bound_claims_problems(
    field: str, claims: Mapping[str, Sequence[ClaimValue]], claims_match: str
) -> Iterator[Problem]:
    """No claim bound, a claim bound to no value, and any value that widens or breaks the binding."""
    if not claims:
        yield Problem(field, {}, "binds no claim: every token of the mount's issuer and this audience would "
                                 "log in (any project, branch or job); bind the immutable project or "
                                 "repository id, the ref and the context or environment")
        return
    for claim, values in claims.items():
        where = f"{field}.{claim}"
        if not values:
            yield Problem(where, [], "lists no value: no token can match it; list the values to accept, "
                                     "or remove the claim")
        for value in values:
            problem = claim_value_problem(where, value, claims_match)
            if problem is not None:
                yield problem


def claim_value_problem(field: str, value: ClaimValue, claims_match: str) -> Problem | None:
    """One bound value: globs only where they cannot widen, booleans only where Vault can compare them."""
    if isinstance(value, bool):
        if claims_match == "glob":
            return Problem(field, value, "glob matching compares strings only, so a boolean claim can never "
                                         "match; bind it with claims_match string")
        return None
    if not value:
        return Problem(field, value, "is empty; list the exact value the token carries")
    if "," in value:
        return Problem(field, value, "contains ',', which the vault provider splits into several values; "
                                     "list each value on its own")
    if GLOB not in value:
        return None
    if claims_match != "glob":
        return Problem(field, value, "is a glob, but string matching compares it literally: no token carries "
                                     "it, and switching the role to glob matching would widen it; list exact "
                                     "values")
    prefix = value.removesuffix(GLOB)
    if GLOB in prefix or not prefix.endswith("/") or len(prefix) < 2:
        return Problem(field, value, "widens the binding: a Vault glob '*' spans '/' and ':' and admits "
                                     "look-alikes (another repository, branch or user); use '*' only at the "
                                     "end, after a fixed prefix ending in '/', or list exact values")
    return None
