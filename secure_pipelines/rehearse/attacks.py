"""The attack matrix, derived from the plan: each attack changes one thing about a legitimate job.

Every token is signed by the issuer's own key unless the attack is about the signature, so each
row tests exactly one check. The attacks every CI system faces are here; each system adds the ones
only its jobs can make (``CISystem.attacks``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ..ci import registry
from ..ci.base import AttackTarget, Job
from ..declaration.model import Declaration, Developer
from ..plan.model import CIRole, Deployment, Plan
from .addresses import inside_address, is_inside, outside_addresses
from .probe import Firing

EXPIRED = (("iat", lambda now: now - 7200), ("nbf", lambda now: now - 7200), ("exp", lambda now: now - 3600))
NOT_YET_VALID = (("iat", lambda now: now + 3600), ("nbf", lambda now: now + 3600),
                 ("exp", lambda now: now + 7200))
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class LoginAttack:
    """A token a legitimate role must refuse."""

    name: str
    role: CIRole
    firing: Firing
    expected_layer: str
    claims_only: bool = False
    """The attack changes what the job is (claims), not the token's validity or the caller's address:
    whether Vault refuses it depends on the role's bound claims."""
    accepted_when_unbound: str | None = None
    """Why this attack is accepted where the plan does not bind the claim it changes: the declaration's
    override (field and quoted reason) or what the tier allows by definition (shown as ``accepted-risk``
    when no layer stops it; never an excuse where the plan binds the claim)."""


def _glob(pattern: str) -> re.Pattern[str]:
    """Vault's glob: ``*`` matches anything (``/`` and ``:`` included); nothing else is special."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def _value_matches(value: Any, bound: Any, glob: bool) -> bool:
    if glob:
        return isinstance(value, str) and isinstance(bound, str) and _glob(bound).fullmatch(value) is not None
    return type(value) is type(bound) and value == bound


def violated_binding(role: CIRole, claims: dict[str, Any]) -> str | None:
    """The first bound claim of ``role`` (as the plan declares it) that ``claims`` do not satisfy.

    ``None`` means the plan's Vault role admits these claims by design: another layer must stop them.
    """
    glob = role.claims_match == "glob"
    for binding in role.bound_claims:
        if binding.claim not in claims:
            return binding.claim
        value = claims[binding.claim]
        values = value if isinstance(value, list) else [value]
        if not any(_value_matches(v, bound, glob) for v in values for bound in binding.values):
            return binding.claim
    return None


def role_admits(role: CIRole, claims: dict[str, Any]) -> bool:
    """Whether the plan's Vault role admits these claims (a token validly signed by its issuer, current, sent
    from inside its allowlist): the user claim is present, the audience is one it binds, every bound claim
    matches. Pure."""
    audiences = claims.get("aud")
    named = audiences if isinstance(audiences, list) else [audiences]
    return (role.user_claim in claims
            and (not role.bound_audiences or any(a in role.bound_audiences for a in named))
            and violated_binding(role, claims) is None)


def _ref_attacks(deployment: Deployment) -> list[tuple[str, dict[str, object]]]:
    """Refs that must not deploy where only declared branches may."""
    if "*" in deployment.branches:
        return []
    found: list[tuple[str, dict[str, object]]] = [
        ("feature branch refs/heads/feature/x", {"ref": "refs/heads/feature/x"}),
        ("tag refs/tags/v1.0.0", {"ref": "refs/tags/v1.0.0", "event": "tag"}),
        ("pull request refs/pull/7/merge", {"ref": "refs/pull/7/merge", "event": "pull_request"}),
    ]
    for branch in deployment.branches:
        for look_alike in (f"{branch}-evil", f"{branch}/x", f"{branch}x"):
            found.append((f"look-alike ref refs/heads/{look_alike}", {"ref": f"refs/heads/{look_alike}"}))
    return found


def login_attacks(
    plan: Plan, declaration: Declaration, deployment: Deployment, role: CIRole, legitimate: Job,
    other_refs: tuple[str, ...] = (),
) -> list[LoginAttack]:
    """Every attack on ``role``'s login, each one change away from ``legitimate``.

    ``other_refs``: further refs a legitimate job may use (an SSH rerun is tried on each).
    """
    inside = inside_address(role.token_bound_cidrs[0])
    system = registry.by_name(role.ci)

    def fire(job: Job, **changes: Any) -> Firing:
        return replace(Firing(role.mount_path, role.role_name, job, client_address=inside), **changes)

    attacks: list[LoginAttack] = []

    def add(name: str, firing: Firing, layer: str, claims_only: bool = False) -> None:
        attacks.append(LoginAttack(name, role, firing, layer, claims_only))

    def change_job(name: str, job: Job, accepted_when_unbound: str | None = None) -> None:
        attacks.append(LoginAttack(name, role, fire(job), "Vault: bound_claims", True, accepted_when_unbound))

    add("wrong issuer", fire(legitimate, claim_changes=(("iss", "https://issuer.attacker.example"),)),
        "Vault: bound_issuer")
    add("wrong audience", fire(legitimate, claim_changes=(("aud", "https://attacker.example"),)),
        "Vault: bound_audiences")
    add("expired token", fire(legitimate, claim_changes=EXPIRED), "Vault: token expiry (exp)")
    add("token not yet valid (nbf in an hour)", fire(legitimate, claim_changes=NOT_YET_VALID),
        "Vault: not before (nbf)")
    add("wrongly signed (a key the issuer never published)", fire(legitimate, signature="stranger"),
        "Vault: token signature (issuer key)")
    add("alg: none (unsigned)", fire(legitimate, signature="none"), "Vault: token signature (issuer key)")
    change_job("another project / repository", legitimate.but(foreign_repository=True))
    add("another organisation", fire(legitimate.but(organization_suffix="other")), "Vault: bound_issuer")
    change_job("fork's origin", legitimate.but(from_fork=True))
    for name, change in _ref_attacks(deployment):
        change_job(name, legitimate.but(**change))
    change_job("missing context / environment", legitimate.but(deploys_via=None))
    for env in plan.environments:
        if env.name != deployment.environment and system.identity.can_run_in(plan, env.name):
            change_job(f"another environment's context / environment ({env.name})",
                       legitimate.but(deploys_via=env.name))
    intruders = _intruders(plan, declaration, role)
    for intruder in intruders:
        change_job(f"another developer's dev environment ({intruder.name} as {role.developer})",
                   legitimate.but(developer=intruder))
    for attack in system.attacks(AttackTarget(plan, declaration, deployment, role, legitimate, other_refs, intruders)):
        change_job(attack.name, attack.job, attack.accepted_when_unbound)
    for address in outside_addresses(role.token_bound_cidrs):
        add(f"login from outside the allowlist ({address})", fire(legitimate, client_address=address),
            "Vault: token_bound_cidrs")
    if not is_inside(LOOPBACK, role.token_bound_cidrs):
        add("login without X-Forwarded-For (Vault sees 127.0.0.1)", fire(legitimate, client_address=None),
            "Vault: token_bound_cidrs")
    return attacks


def _intruders(plan: Plan, declaration: Declaration, role: CIRole) -> tuple[Developer, ...]:
    """Other developers with a role of the same repository and system in this per-developer environment."""
    if role.developer is None:
        return ()
    names = dict.fromkeys(
        other.developer for other in plan.environment(role.environment).roles
        if other.developer not in (None, role.developer) and other.repository == role.repository
        and other.ci == role.ci
    )
    return tuple(declaration.developer(name) for name in names if name is not None)
