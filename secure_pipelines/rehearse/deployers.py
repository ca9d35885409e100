"""Each stack applied with its own deployer's token, and what a deployer must never do.

Root does only what the bootstrap does: it writes every stack's deployer policy and mints, per stack,
one short-lived token holding that policy alone (no default policy). Each stack's captured resources
are then sent with its own token, the resources stack's first (the deployer policies again, the auth
mounts, its environment). A request a deployer refuses is a refused legitimate row, since that stack's
``pulumi up`` would fail the same way; it is then sent with root so the rest of the rehearsal still runs
and reports everything else.

The attack rows are real requests with a deployer's token, each of which Vault must refuse: another
environment's roles, policies and mount; its own roles carrying another policy; its own policies
widened or added to; its own deployer policy; a token with another policy; an auth mount's issuer;
and any secret, read or written. The resources stack's deployer manages every deployer policy, its
own included (it is the organisation's key, see ``plan.deployers``), so only the rows that hold for it
too are fired with its token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import SecurePipelinesError
from ..plan import CIRole, Deployer, EnvironmentPlan, Plan, SecretPath
from .apply import AppliedConfiguration, ApplyFailed, Refused, StackVaultResource, VaultCall, VaultResource, apply
from .grants import READ, WRITE, SharedCapabilities
from .keys import IssuerKey
from .outcomes import Expectation, Kind, Outcome, verdict_for
from .vault_client import Answer, VaultSession

TOKEN_TTL = "2h"
"""How long a rehearsal's deployer token may live: it applies its stack first and fires its attack rows
after every flow, which at 1000 repositories is more than half an hour later on a 2-core machine (a
15-minute token had expired by then). Each is revoked once its attack rows are fired (:func:`revoke`)."""
ATTACKER_ISSUER = "https://issuer.attacker.example"


@dataclass(frozen=True)
class DeployerToken:
    """One stack's deployer and a session holding a token with its policy alone."""

    deployer: Deployer
    session: VaultSession

    @property
    def layer(self) -> str:
        return f"Vault: deployer policy {self.deployer.policy.name}"


def deployers_of(organization: Plan, environments: Sequence[tuple[str, Plan]],
                 resources: Sequence[StackVaultResource]) -> dict[str, Deployer]:
    """The deployer of each rehearsed stack (from the plan that stack reads), of the resources stack, and
    of any other stack whose resources are applied (from the organisation's plan)."""
    chosen = {name: plan.deployer(name) for name, plan in environments}
    for stack in (organization.resources_stack, *(r.stack for r in resources)):
        if stack not in chosen:
            if stack not in {e.name for e in organization.environments}:
                raise ApplyFailed(f"stack {stack!r} registers Vault resources but is no environment of the plan")
            chosen[stack] = organization.deployer(stack)
    return chosen


def bootstrap(root: VaultSession, deployers: Mapping[str, Deployer]) -> dict[str, DeployerToken]:
    """What root does once: write each deployer policy, and mint each stack's token holding it alone."""
    tokens: dict[str, DeployerToken] = {}
    for stack, deployer in deployers.items():
        policy = deployer.policy
        written = root.call("put", f"sys/policies/acl/{policy.name}", {"policy": policy.hcl})
        if not written.ok:
            raise SecurePipelinesError(f"Vault refused the deployer policy {policy.name}: {written.reason}")
        minted = root.write("auth/token/create", {
            "policies": [policy.name], "no_default_policy": True, "ttl": TOKEN_TTL,
            "display_name": f"rehearsal-deployer-{stack}",
        })
        if not minted.ok:
            raise SecurePipelinesError(f"Vault refused a token for {policy.name}: {minted.reason}")
        tokens[stack] = DeployerToken(deployer, root.with_token(minted.body["auth"]["client_token"]))
    return tokens


def revoke(root: VaultSession, tokens: Mapping[str, DeployerToken]) -> None:
    """Revoke every deployer token once the rehearsal no longer needs it (on an external Vault too)."""
    for token in tokens.values():
        root.write("auth/token/revoke", {"token": token.session.token})


def _stack_order(resources: Sequence[StackVaultResource], resources_stack: str) -> list[str]:
    stacks = list(dict.fromkeys(r.stack for r in resources))
    return sorted(stacks, key=lambda stack: stack != resources_stack)


def apply_as_deployers(
    root: VaultSession, resources: Sequence[StackVaultResource], tokens: Mapping[str, DeployerToken],
    keys: Mapping[str, IssuerKey], resources_stack: str,
) -> tuple[AppliedConfiguration, list[Outcome]]:
    """Send each stack's resources with its deployer's token, the resources stack's first.

    A refusal is a refused legitimate row, then the request is sent with root so the rehearsal goes on;
    if root is refused too, the configuration itself is wrong and the apply stops there.
    """
    applied = AppliedConfiguration()
    rows: list[Outcome] = []
    for stack in _stack_order(resources, resources_stack):
        token = tokens[stack]
        before = len(applied.calls)
        refusals: list[Outcome] = []
        apply(token.session, [r for r in resources if r.stack == stack], keys,
              refused=_refusal_recorder(root, token, refusals), applied=applied)
        rows.extend(refusals)
        if not refusals:
            rows.append(_deployer_row(
                "legitimate", token, f"applies stack {stack} with its deployer token alone "
                f"({len(applied.calls) - before} requests)", "admitted", Answer(200, {})))
    return applied, rows


def _refusal_recorder(root: VaultSession, token: DeployerToken, rows: list[Outcome]) -> Refused:
    def refused(resource: VaultResource, call: VaultCall, answer: Answer) -> None:
        rows.append(_deployer_row(
            "legitimate", token, f"{resource.name}: {call.method.upper()} {call.path}", "admitted", answer,
            proof=f"pulumi up -s {token.deployer.stack} would fail here: {token.deployer.policy.name} does not admit "
                  "this request (sent with the bootstrap token so the rest of the rehearsal runs)"))
        again = root.call(call.method, call.path, dict(call.body))
        if not again.ok:
            raise ApplyFailed(f"{resource.name}: {call.method.upper()} {call.path} refused even with the bootstrap "
                              f"token: {again.reason}")
    return refused


def _deployer_row(kind: Kind, token: DeployerToken, what: str, expected: Expectation, answer: Answer,
                  proof: str = "") -> Outcome:
    return Outcome(
        kind=kind, flow=f"deployer of {token.deployer.stack}: {what}", environment=token.deployer.stack,
        repository=None, ci=None, developer=None, expected=expected, got=answer.shown,
        layer="" if answer.ok else token.layer, verdict=verdict_for(kind, expected, answer.ok), proof=proof,
    )


# --- attacks ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployerAttack:
    """One request a deployer's token must not get through."""

    what: str
    method: str
    path: str
    body: Mapping[str, object]


def _target(organization: Plan, stack: str) -> EnvironmentPlan | None:
    """The environment a deployer of ``stack`` would most like to reach: the resources stack's (production
    in the example), else another one; ``None`` when the plan has no other environment."""
    others = [e for e in organization.environments if e.name != stack]
    return next((e for e in others if e.name == organization.resources_stack), others[0] if others else None)


def cross_environment_attacks(own: EnvironmentPlan, target: EnvironmentPlan, deployer: Deployer,
                              mounts: Sequence[str]) -> list[DeployerAttack]:
    """What the deployer of ``own`` tries against ``target``, and against the pins on its own objects. Pure."""
    theirs = target.admin_role
    target_policy = theirs.token_policies[0]
    planned = next((p for p in target.policies if p.name == target_policy), target.policies[0])
    attacks = [
        DeployerAttack(f"writes {target.name}'s admin role {theirs.role_name}", "post",
                       f"auth/{theirs.mount_path}/role/{theirs.role_name}",
                       {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["attacker"],
                        "token_policies": list(theirs.token_policies)}),
        DeployerAttack(f"writes {target.name}'s policy {planned.name}, even as planned", "put",
                       f"sys/policies/acl/{planned.name}", {"policy": planned.hcl}),
        DeployerAttack(f"tunes {target.name}'s secret mount {target.secret_store.mount}", "post",
                       f"sys/mounts/{target.secret_store.mount}/tune", {"description": "tuned by another stack"}),
    ]
    if target.roles:
        role = target.roles[0]
        attacks.append(DeployerAttack(f"writes {target.name}'s CI role {role.role_name}", "post",
                                      f"auth/{role.mount_path}/role/{role.role_name}",
                                      {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["attacker"],
                                       "token_policies": list(role.token_policies)}))
    mine = own.admin_role
    attacks += [
        DeployerAttack(f"gives its own role {mine.role_name} {target.name}'s policy {target_policy}", "post",
                       f"auth/{mine.mount_path}/role/{mine.role_name}", {"token_policies": [target_policy]}),
        DeployerAttack(f"gives its own role {mine.role_name} {target_policy} through the older 'policies' field",
                       "post", f"auth/{mine.mount_path}/role/{mine.role_name}", {"policies": [target_policy]}),
    ]
    if own.policies:
        policy = own.policies[0]
        attacks.append(DeployerAttack(
            f"widens its own policy {policy.name} to read {target.name}'s secrets", "put",
            f"sys/policies/acl/{policy.name}",
            {"policy": policy.hcl + f'path "{target.secret_store.mount}/data/*" {{\n  capabilities = ["read"]\n}}\n'}))
    attacks += [
        DeployerAttack(f"adds a policy of its own ({own.name}.extra) reading {target.name}'s secrets", "put",
                       f"sys/policies/acl/{own.name}.extra",
                       {"policy": f'path "{target.secret_store.mount}/data/*" {{\n  capabilities = ["read"]\n}}\n'}),
        DeployerAttack(f"widens its own deployer policy {deployer.policy.name}", "put",
                       f"sys/policies/acl/{deployer.policy.name}",
                       {"policy": 'path "*" {\n  capabilities = ["create", "read", "update", "delete", "sudo"]\n}\n'}),
    ]
    attacks += [a for mount in mounts[:1] for a in (
        DeployerAttack(f"points the auth mount {mount} at another issuer", "post", f"auth/{mount}/config",
                       {"bound_issuer": ATTACKER_ISSUER, "oidc_discovery_url": ATTACKER_ISSUER}),
    )]
    attacks.append(DeployerAttack("enables an auth method of its own (userpass)", "post",
                                  f"sys/auth/{own.name}-userpass", {"type": "userpass"}))
    # Last: were one admitted, what it destroys would hide the rows after it.
    attacks += [DeployerAttack(f"disables the auth mount {mount}", "delete", f"sys/auth/{mount}", {})
                for mount in mounts[:1]]
    attacks.append(DeployerAttack(f"deletes its own secret mount {own.secret_store.mount}", "delete",
                                  f"sys/mounts/{own.secret_store.mount}", {}))
    return attacks


def infrastructure_role_attacks(role: CIRole) -> list[DeployerAttack]:
    """A stack's deployer may not loosen the role its own pipeline logs in with (only the resources stack
    writes those): any repository, any branch, any network. Pure."""
    path = f"auth/{role.mount_path}/role/{role.role_name}"
    return [DeployerAttack(f"rewrites its own infrastructure role {role.role_name} to admit any job", "post", path,
                           {"role_type": "jwt", "user_claim": "sub", "bound_audiences": list(role.bound_audiences),
                            "bound_claims": {}, "token_bound_cidrs": [],
                            "token_policies": list(role.token_policies)})]


def token_attacks(target_policy: str | None) -> list[DeployerAttack]:
    """Tokens a deployer must not mint: another policy, root, an orphan (outliving the deployer's). Pure."""
    attacks = [DeployerAttack("creates a token with the root policy", "post", "auth/token/create",
                              {"policies": ["root"], "ttl": "5m"}),
               DeployerAttack("creates an orphan token (outliving its own)", "post", "auth/token/create-orphan",
                              {"ttl": "5m"})]
    if target_policy:
        attacks.insert(0, DeployerAttack(f"creates a token with another policy ({target_policy})", "post",
                                         "auth/token/create", {"policies": [target_policy], "ttl": "5m"}))
    return attacks


def attack_rows(root: VaultSession, organization: Plan, tokens: Mapping[str, DeployerToken],
                paths: Sequence[SecretPath], capabilities: SharedCapabilities) -> list[Outcome]:
    """Fire every deployer attack; every one must be refused. Every stack's secrets first (before any
    attack on a deployer policy could change what its capability check sees), destructive requests last."""
    secret_rows = {stack: _secret_rows(token, paths, organization.environment(stack), capabilities)
                   for stack, token in tokens.items()}
    rows: list[Outcome] = []
    mounts = [m.path for m in organization.jwt_mounts]
    for stack, token in tokens.items():
        target = _target(organization, stack)
        own = organization.environment(stack)
        rows += secret_rows[stack]
        attacks = token_attacks(target.admin_role.token_policies[0] if target else None)
        if not token.deployer.organization_wide and target is not None:
            attacks += cross_environment_attacks(own, target, token.deployer, mounts)
        if not token.deployer.organization_wide and organization.infrastructure is not None:
            attacks += infrastructure_role_attacks(organization.infrastructure.role(stack))
        for attack in attacks:
            answer = token.session.call(attack.method, attack.path, dict(attack.body))
            rows.append(_deployer_row("attack", token, attack.what, "refused", answer))
    return rows


def checked_paths(paths: Sequence[SecretPath]) -> list[str]:
    """What a deployer's capability check asks: every secret's data and metadata path. Pure."""
    return [q for p in paths for q in (p.data_path, p.data_path.replace("/data/", "/metadata/", 1))]


def ask_capabilities_early(tokens: Mapping[str, DeployerToken], paths: Sequence[SecretPath],
                           capabilities: SharedCapabilities) -> None:
    """Ask Vault each deployer token's capability checks now, for :func:`attack_rows` to read: they keep
    the server busy while the rehearsal's own CPU goes to the CI roles' flows."""
    for token in tokens.values():
        capabilities.of(token.session.token, checked_paths(paths))


def _secret_rows(token: DeployerToken, paths: Sequence[SecretPath], own: EnvironmentPlan,
                 capabilities: SharedCapabilities) -> list[Outcome]:
    """A deployer reads and writes no secret: a real read and write of its own environment's, and Vault's
    capability check of every data and metadata path."""
    rows: list[Outcome] = []
    mine = next((p for p in paths if p.environment == own.name), None)
    if mine is not None:
        rows.append(_deployer_row("attack", token, f"reads its own environment's secret {mine.data_path}", "refused",
                                  token.session.read(mine.data_path)))
        rows.append(_deployer_row("attack", token, f"overwrites {mine.data_path}", "refused",
                                  token.session.write(mine.data_path, {"data": {"rehearsal": "overwritten"}})))
    checked = checked_paths(paths)
    answers = capabilities.of(token.session.token, checked)
    reachable = sorted(p for p, caps in answers.items() if (READ | WRITE | {"delete", "list"}) & caps)
    rows.append(_deployer_row(
        "attack", token, f"any of the {len(paths)} secret paths readable or writable (Vault capability check)",
        "refused", Answer(200, {}) if reachable else Answer(403, {}, (f"0 of {len(checked)} paths reachable",)),
        proof="; ".join(part for part in (", ".join(reachable), capabilities.how(token.session.token)) if part)))
    return rows
