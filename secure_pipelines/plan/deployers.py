"""Each stack's deployer policy: exactly what its ``pulumi up`` needs in Vault, and nothing else.

Pure functions of the plan. The paths and capabilities are those the Vault provider uses for each
resource type the stack creates (terraform-provider-vault, which ``pulumi_vault`` wraps):

* configure: ``GET auth/token/lookup-self``, then ``POST auth/token/create`` for its short-lived child
  token (Vault gives a child only a subset of its parent's policies);
* ``vault.Mount``: ``POST sys/mounts/<path>``, ``GET sys/mounts/<path>``, ``POST sys/mounts/<path>/tune``;
* ``vault.Policy``: ``GET``, ``PUT``, ``DELETE sys/policies/acl/<name>``;
* ``vault.jwt.AuthBackendRole`` and ``vault.generic.Endpoint`` roles: ``GET``, ``POST``, ``DELETE
  auth/<mount>/role/<name>``;
* ``vault.jwt.AuthBackend``: ``POST sys/auth/<path>`` (sudo), ``GET sys/auth/<path>`` (sudo), ``GET`` and
  ``POST auth/<path>/config``, ``GET`` and ``POST sys/mounts/auth/<path>/tune``.

Globs alone would not keep a deployer in its environment: one that may write any ``staging.*`` policy
could write one that reads production, and a ``staging.*`` role carrying it. So each policy it writes
is pinned to its planned text, and each role to its planned policies (Vault's ``allowed_parameters``:
a value matches only when equal, unless it begins or ends with ``*``); the globs only read and delete
(refresh, and removal of what the declaration no longer has). A deployer never reads a secret, never
deletes its secret mount (protected anyway), and never touches another environment's objects.

The resources stack's deployer also manages the organisation-wide auth mounts (who may sign CI
tokens) and every deployer's policy, its own included: it is the organisation's key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from .. import naming
from .model import AdminRole, Deployer, EnvironmentPlan, Grant, JwtMount, ParameterValue, Plan, VaultPolicy
from .vault import ADMIN_MOUNT_PATH

LOOKUP_SELF = "auth/token/lookup-self"
CHILD_TOKEN = "auth/token/create"
REVOKE_SELF = "auth/token/revoke-self"
MOUNT_TUNE_PARAMETERS = ("default_lease_ttl", "max_lease_ttl", "options", "description")
"""What the provider sends when it tunes a mount it manages (nothing that changes audit or headers)."""
LEGACY_POLICIES_PARAMETER = "policies"
"""A role's older name for ``token_policies``: a deployer may never set it (it would dodge the pin)."""


def _rw(*extra: str) -> tuple[str, ...]:
    return ("create", "read", "update", *extra)


def _provider_grants() -> list[Grant]:
    return [
        Grant(LOOKUP_SELF, ("read",), "the Vault provider looks up its own token when it starts"),
        Grant(CHILD_TOKEN, ("update",), "the provider's short-lived child token (Vault allows a child only a subset "
                                        "of these policies, and no orphan)"),
        Grant(REVOKE_SELF, ("update",), "the pipeline ends its token when the job is done"),
    ]


def _secret_mount_grants(env: EnvironmentPlan) -> list[Grant]:
    mount = env.secret_store.mount
    return [
        Grant(f"sys/mounts/{mount}", ("read", "update"),
              f"create and refresh {env.name}'s KV v2 mount (never delete it: it is protected; never read its "
              "secrets)", allowed=(("type", ("kv",)),)),
        Grant(f"sys/mounts/{mount}/tune", ("read", "update"), "change the mount's description, TTLs and options",
              allowed=tuple((name, ()) for name in MOUNT_TUNE_PARAMETERS), other_parameters=False),
    ]


def _policy_grants(env: EnvironmentPlan) -> list[Grant]:
    grants = [
        Grant(f"sys/policies/acl/{policy.name}", _rw("delete"),
              f"{env.name}'s {policy.purpose} policy {policy.name}, exactly as planned",
              allowed=(("policy", (policy.hcl,)),), other_parameters=False)
        for policy in env.policies
    ]
    grants.append(Grant(f"sys/policies/acl/{naming.environment_prefix(env.name)}*", ("read", "delete"),
                        f"refresh {env.name}'s policies, and remove those the declaration no longer has"))
    return grants


def _role_grant(mount: str, role_name: str, policies: Sequence[str], what: str) -> Grant:
    return Grant(f"auth/{mount}/role/{role_name}", _rw("delete"), f"{what}, carrying only {', '.join(policies)}",
                 allowed=(("token_policies", (tuple(policies),)),), denied=(LEGACY_POLICIES_PARAMETER,))


def _role_grants(env: EnvironmentPlan, mounts: Iterable[str]) -> list[Grant]:
    grants = [_role_grant(r.mount_path, r.role_name, r.token_policies, f"the CI role {r.role_name} of {r.repository}")
              for r in env.roles]
    admin: AdminRole = env.admin_role
    grants.append(_role_grant(admin.mount_path, admin.role_name, admin.token_policies, f"{env.name}'s admin role"))
    prefix = naming.environment_prefix(env.name)
    grants += [Grant(f"auth/{mount}/role/{prefix}*", ("read", "delete"),
                     f"refresh {env.name}'s roles on {mount}, and remove those the declaration no longer has")
               for mount in mounts]
    return grants


def _auth_mount_grants(path: str, kind: str, what: str) -> list[Grant]:
    return [
        Grant(f"sys/auth/{path}", ("create", "read", "update", "sudo"),
              f"enable and refresh {what} (never disable it)", allowed=(("type", (kind,)),)),
        Grant(f"auth/{path}/config", ("create", "read", "update"), f"configure {what}: the issuer it trusts"),
        Grant(f"sys/mounts/auth/{path}/tune", ("read", "update"), f"refresh and tune {what}"),
    ]


def _organization_grants(jwt_mounts: Sequence[JwtMount], admin_mount: str) -> list[Grant]:
    grants = [g for mount in jwt_mounts
              for g in _auth_mount_grants(mount.path, "jwt", f"the {mount.ci} JWT mount {mount.path}")]
    grants += _auth_mount_grants(admin_mount, "oidc", f"the admins' OIDC mount {admin_mount}")
    grants.append(Grant(f"sys/policies/acl/{naming.deployers_prefix()}*", _rw("delete"),
                        "every stack's deployer policy, this one's included: this stack is the organisation's key"))
    return grants


def hcl_string(text: str) -> str:
    """``text`` as an HCL string literal (what Vault's policy parser reads back as exactly ``text``)."""
    if "${" in text or "%{" in text:
        raise ValueError(f"{text[:40]!r}...: a policy value may not contain an HCL template sequence")
    return json.dumps(text, ensure_ascii=False)


def _value(value: ParameterValue) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(hcl_string(v) for v in value) + "]"
    if value.startswith("*") or value.endswith("*"):
        raise ValueError(f"{value[:40]!r}: a pinned value may not begin or end with '*' (Vault would match it "
                         "as a glob)")
    return hcl_string(value)


def _stanza(grant: Grant) -> list[str]:
    lines = [f"# {grant.purpose}", f'path "{grant.path}" {{',
             "  capabilities = [" + ", ".join(f'"{c}"' for c in grant.capabilities) + "]"]
    if grant.allowed:
        lines.append("  allowed_parameters = {")
        if grant.other_parameters:
            lines.append('    "*" = []')
        lines += [f'    "{name}" = [' + ", ".join(_value(v) for v in values) + "]" for name, values in grant.allowed]
        lines.append("  }")
    if grant.denied:
        lines.append("  denied_parameters = {")
        lines += [f'    "{name}" = []' for name in grant.denied]
        lines.append("  }")
    lines.append("}")
    return lines


def deployer_policy_hcl(stack: str, organization_wide: bool, grants: Sequence[Grant]) -> str:
    """The deployer policy's HCL: one commented stanza per grant."""
    scope = ("its environment and the organisation-wide auth mounts and deployers"
             if organization_wide else "its own environment only")
    lines = [f"# Deployer of stack {stack}: what `pulumi up -s {stack}` needs in Vault, {scope}.",
             "# Generated by secure-pipelines: never a secret's data; every policy and role it writes is pinned to",
             "# the plan (allowed_parameters)."]
    for grant in grants:
        lines += _stanza(grant)
    return "\n".join(lines) + "\n"


def deployer(plan: Plan, env: EnvironmentPlan) -> Deployer:
    """The deployer of the stack that owns ``env`` (the resources stack: also the organisation)."""
    organization_wide = env.name == plan.resources_stack
    mounts = [*(m.path for m in plan.jwt_mounts), ADMIN_MOUNT_PATH]
    grants = [*_provider_grants(), *_secret_mount_grants(env), *_policy_grants(env), *_role_grants(env, mounts)]
    if organization_wide:
        grants += _organization_grants(plan.jwt_mounts, plan.admin_auth.path)
    name = naming.deployer_policy(env.name)
    return Deployer(
        stack=env.name,
        tier=env.tier,
        organization_wide=organization_wide,
        grants=tuple(grants),
        policy=VaultPolicy(name=name, environment=env.name, purpose="deployer",
                           hcl=deployer_policy_hcl(env.name, organization_wide, grants)),
    )


def deployers(plan: Plan) -> tuple[Deployer, ...]:
    """One deployer per stack (each environment's; the resources stack's also the organisation's)."""
    return tuple(deployer(plan, env) for env in plan.environments)
