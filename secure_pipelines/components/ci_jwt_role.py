"""``CIJwtRole``: one Vault JWT role for CI jobs, from explicit fields, for a stack in any language.

The role is written by the same function as the plan's roles (``ci_roles.jwt_role``), and its
fields are refused where the declaration would refuse them (``declaration.role_safety``): no bound
claim, no audience, a glob that widens a binding, an open allowlist or a long TTL for staging or
production.

No ``from __future__ import annotations`` here: Pulumi infers the package schema from these
annotations at run time, and reads each field's documentation from this file.
"""

from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pulumi
from pydantic import AfterValidator, Field

from ..declaration.model import Cidr, OverrideReason, SafeName, Strict, Tier
from ..declaration.role_safety import (
    ClaimValue,
    audience_problem,
    bound_claims_problems,
    long_ttl_warning,
    open_allowlist_problems,
    open_allowlist_warning,
    ttl_problems,
)
from ..plan.model import BoundClaim, ClaimsMatch, TokenType
from ._component import Component
from ._inputs import explicit_dependencies, refuse, validated_inputs
from .ci_roles import _role_api_path, jwt_role

COMPONENT = "CIJwtRole"


class CIJwtRoleOverrides(TypedDict):
    """Risks the role accepts on purpose, each with the reason (at least 10 characters)."""

    long_token_ttl: NotRequired[str]
    """Accept token TTLs above the tier's limit (development one hour, test 30 minutes, staging 20,
    production 15): why."""


class CIJwtRoleArgs(TypedDict):
    """The fields of one Vault JWT role that CI jobs log in with."""

    mount: str
    """Path of the JWT auth mount the role lives in, e.g. ``ci``; the mount trusts exactly one CI issuer
    (its ``bound_issuer``), so the issuer is bound there, not here."""
    role_name: str
    """The role's name, e.g. ``production.webapp``: lowercase letters, digits, '-', '_' or '.'."""
    tier: str
    """``development``, ``test``, ``staging`` or ``production``: staging and production refuse an open
    allowlist, and token TTLs above the tier's limit (development one hour, test 30 minutes, staging 20,
    production 15) need ``overrides.long_token_ttl``."""
    bound_audiences: list[str]
    """The audiences a token must name (``aud``); at least one, as the CI system sends it."""
    bound_claims: dict[str, list[Any]]
    """Claim name -> the values accepted (any of them); every claim listed must match. Bind immutable
    ids (project or repository, owner), the ref, and the context or environment. A value is a JSON
    string or boolean and keeps its type: ``false`` binds the boolean, ``"false"`` the string (a
    boolean claim, such as a flag marking an SSH rerun, must be bound as a boolean or no token
    matches). Numbers are refused: CI tokens carry ids as strings, so quote them."""
    claims_match: NotRequired[str]
    """``string`` (exact JSON equality, the default) or ``glob`` (strings only; ``*`` only at the end,
    after a fixed prefix ending in '/', e.g. a subject that names one user)."""
    token_bound_cidrs: list[str]
    """The networks jobs log in from (your runners' egress ranges), e.g. ``203.0.113.16/28``; the token
    works only from them."""
    token_ttl: float
    """Lifetime of the Vault token, in whole seconds (at least 60)."""
    token_max_ttl: float
    """Longest lifetime of the Vault token after renewals, in whole seconds (at least ``token_ttl``)."""
    token_policies: list[str]
    """The Vault policies the token carries (at least one); Vault's default policy is never added."""
    user_claim: NotRequired[str]
    """The claim that names the logged-in entity; default ``sub``."""
    overrides: NotRequired[CIJwtRoleOverrides]
    """Risks accepted on purpose, each with its reason."""


def _claim_value(value: Any) -> ClaimValue:
    if isinstance(value, str | bool):
        return value
    kind = "a number" if isinstance(value, int | float) else type(value).__name__
    raise ValueError(f"is {kind}: a bound value is a string or a boolean (CI tokens carry ids as strings: "
                     "quote them)")


Seconds = Annotated[int, Field(ge=60)]


class _Overrides(Strict):
    long_token_ttl: OverrideReason | None = None


class _RoleFields(Strict):
    """:class:`CIJwtRoleArgs` as validated: the declaration's own types for names, CIDRs and reasons."""

    mount: SafeName
    role_name: SafeName
    tier: Tier
    bound_audiences: tuple[Annotated[str, Field(min_length=1)], ...]
    bound_claims: dict[Annotated[str, Field(min_length=1)], tuple[Annotated[Any, AfterValidator(_claim_value)], ...]]
    claims_match: Literal["string", "glob"] = "string"
    token_bound_cidrs: Annotated[tuple[Cidr, ...], Field(min_length=1)]
    token_ttl: Seconds
    token_max_ttl: Seconds
    token_policies: Annotated[tuple[SafeName, ...], Field(min_length=1)]
    user_claim: Annotated[str, Field(min_length=1)] = "sub"
    overrides: _Overrides = _Overrides()


@dataclass(frozen=True)
class ExplicitRole:
    """A role from explicit fields, in the terms ``ci_roles.jwt_role`` writes (``JwtRoleSettings``)."""

    mount_path: str
    role_name: str
    bound_audiences: tuple[str, ...]
    bound_claims: tuple[BoundClaim, ...]
    claims_match: ClaimsMatch
    user_claim: str
    token_policies: tuple[str, ...]
    token_bound_cidrs: tuple[str, ...]
    token_ttl: int
    token_max_ttl: int
    token_type: TokenType = "service"

    @property
    def resource_name(self) -> str:
        return f"{self.mount_path}-{self.role_name}"

    @property
    def role_type(self) -> Literal["jwt"]:
        return "jwt"

    @property
    def has_typed_claims(self) -> bool:
        return any(not isinstance(v, str) for claim in self.bound_claims for v in claim.values)


def _explicit_role(fields: _RoleFields) -> ExplicitRole:
    return ExplicitRole(
        mount_path=fields.mount,
        role_name=fields.role_name,
        bound_audiences=fields.bound_audiences,
        bound_claims=tuple(BoundClaim(claim, values) for claim, values in fields.bound_claims.items()),
        claims_match=fields.claims_match,
        user_claim=fields.user_claim,
        token_policies=fields.token_policies,
        token_bound_cidrs=fields.token_bound_cidrs,
        token_ttl=fields.token_ttl,
        token_max_ttl=fields.token_max_ttl,
    )


def role_from_args(name: str, args: CIJwtRoleArgs) -> tuple[ExplicitRole, list[str]]:
    """The role ``args`` describe and the warnings to show, or :class:`InvalidComponentInputs`."""
    fields = validated_inputs(COMPONENT, name, _RoleFields, args)
    refuse(COMPONENT, name, [
        *filter(None, [audience_problem("bound_audiences", fields.bound_audiences)]),
        *bound_claims_problems("bound_claims", fields.bound_claims, fields.claims_match),
        *open_allowlist_problems("token_bound_cidrs", fields.token_bound_cidrs, fields.tier),
        *ttl_problems("", fields.tier, fields.token_ttl, fields.token_max_ttl, fields.overrides.long_token_ttl),
    ])
    warnings = [long_ttl_warning("", fields.overrides.long_token_ttl),
                open_allowlist_warning("token_bound_cidrs", fields.token_bound_cidrs, fields.tier)]
    return _explicit_role(fields), [str(w) for w in warnings if w is not None]


class CIJwtRole(Component):
    """One Vault JWT role for CI jobs, from explicit fields, checked as secure-pipelines checks its own roles:
    no bound claim, no audience, a glob that widens a binding, an open allowlist (staging and production)
    or a TTL above the tier's limit is refused, and nothing is created. The role is written
    as ``vault.generic.Endpoint`` with its API body when a bound value is a boolean (the provider's
    string map cannot say ``false``), else as ``vault.jwt.AuthBackendRole``; its tokens never carry
    Vault's default policy."""

    role_path: pulumi.Output[str]
    """The role's API path, ``auth/<mount>/role/<role_name>``, known once the role is written."""

    def __init__(self, name: str, args: CIJwtRoleArgs, opts: pulumi.ResourceOptions | None = None):
        role, warnings = role_from_args(name, args)
        depends_on = explicit_dependencies(COMPONENT, name, opts)
        super().__init__(COMPONENT, name, opts)
        for warning in warnings:
            pulumi.log.warn(warning, resource=self)
        self.role = jwt_role(self, role, depends_on)
        path = _role_api_path(role)
        self.role_path = self.role.urn.apply(lambda _: path)
        self.register_outputs({"rolePath": self.role_path})
