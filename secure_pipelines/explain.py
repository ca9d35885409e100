"""Who can reach which secret path, from where, on which branch: the access matrix of the plan; and
who can change what: each stack's deployer and the Vault paths it may write.

Pure functions of the plan. ``securepipe explain`` prints them; the rehearsal's differential test
checks that Vault, configured by the stacks, grants exactly this and nothing more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .ci import registry
from .plan.model import CIRole, Deployer, Deployment, EnvironmentPlan, Plan, PromotionRecords, SecretPath


@dataclass(frozen=True)
class Reader:
    """A CI role that may read a path, and everything a job must be to log in with it."""

    role: str
    """``<mount>/<role>``, e.g. ``<mount>/production.webapp``."""
    repository: str
    ci: str
    refs: str
    """Refs that may log in, e.g. ``refs/heads/main`` or ``any branch``."""
    deploys_via: str
    """What the job must run in (a named context, a deployment environment)."""
    context_restriction: str | None
    """The restriction of the context the job runs in, where its CI system has contexts."""
    developer: str | None
    cidrs: tuple[str, ...]
    policy: str
    developer_jobs: str | None = None
    """Per developer: which jobs the role admits as the developer's (what the CI system's token says of who runs
    a job), where it is not plainly the developer's pushes."""


@dataclass(frozen=True)
class Writer:
    """An admin role that may create, update and delete (never read) a path."""

    role: str
    """``admin:<role>``, e.g. ``admin:production.admins``."""
    group: str
    """The identity provider group the role is bound to."""
    cidrs: tuple[str, ...]
    """Where its tokens may be used from (empty: anywhere)."""
    policy: str


@dataclass(frozen=True)
class PathAccess:
    environment: str
    path: str
    """The KV v2 API path, e.g. ``kv-production/data/apps/webapp``."""
    readers: tuple[Reader, ...]
    writers: tuple[Writer, ...]
    recorders: tuple[Reader, ...] = ()
    """CI roles that create records here (promotion records: create only, never overwrite)."""


def _restriction(plan: Plan, env: EnvironmentPlan, deployment: Deployment) -> str | None:
    contexts = registry.by_name(deployment.ci).contexts
    if contexts is None or deployment.deploy_via is None:
        return None
    return contexts.restriction(plan, env.name)


def _reader(plan: Plan, env: EnvironmentPlan, deployment: Deployment, role: CIRole) -> Reader:
    return Reader(
        role=f"{role.mount_path}/{role.role_name}",
        repository=role.repository,
        ci=str(role.ci),
        refs=role.ref_binding,
        deploys_via=role.deploy_via,
        context_restriction=_restriction(plan, env, deployment),
        developer=role.developer,
        cidrs=role.token_bound_cidrs,
        policy=", ".join(role.token_policies),
        developer_jobs=role.developer_jobs,
    )


def _writers(env: EnvironmentPlan) -> tuple[Writer, ...]:
    admin = env.admin_role
    write_policies = {p.name for p in env.policies if p.purpose == "admin-write"}
    policies = [p for p in admin.token_policies if p in write_policies]
    if not policies:
        return ()
    return (Writer(role=f"admin:{admin.role_name}", group=admin.admin_group, cidrs=admin.token_bound_cidrs,
                   policy=", ".join(policies)),)


def _reads(role: CIRole, path: SecretPath) -> bool:
    return any(own.data_path == path.data_path for own in role.secret_paths)


def access_matrix(plan: Plan, environments: Sequence[str] | None = None) -> list[PathAccess]:
    """For every secret path of the chosen environments: who may read it and who may write it."""
    chosen = [e for e in plan.environments if environments is None or e.name in environments]
    matrix: list[PathAccess] = []
    for env in chosen:
        writers = _writers(env)
        for path in env.secret_store.paths:
            readers = tuple(
                _reader(plan, env, deployment, role)
                for deployment in env.live_deployments for role in deployment.roles if _reads(role, path)
            )
            matrix.append(PathAccess(env.name, path.data_path, readers, writers))
        matrix.extend(_promotion_access(plan, env))
    return matrix


def _promotion_access(plan: Plan, env: EnvironmentPlan) -> list[PathAccess]:
    """The digest records ``env``'s deploys create (and read back), and those of the environment it promotes
    from, which its deploys read; nobody else, admins included, may touch either."""
    found: list[PathAccess] = []
    for creates, pick in ((True, _own_records), (False, _source_records)):
        by_records: dict[PromotionRecords, list[Reader]] = {}
        for deployment in env.live_deployments:
            for role in deployment.roles:
                if (records := pick(role)) is not None:
                    by_records.setdefault(records, []).append(_reader(plan, env, deployment, role))
        for records, readers in by_records.items():
            found.append(PathAccess(env.name, records.data_glob, tuple(readers), (), tuple(readers) if creates else ()))
    return found


def _own_records(role: CIRole) -> PromotionRecords | None:
    return role.records


def _source_records(role: CIRole) -> PromotionRecords | None:
    return role.promoted_from


def granted(matrix: Sequence[PathAccess]) -> set[tuple[str, str, str]]:
    """``(who, path, capability)`` for every grant in the matrix (``read`` or ``write``)."""
    grants = {(r.role, a.path, "read") for a in matrix for r in a.readers}
    grants |= {(w.role, a.path, "write") for a in matrix for w in a.writers}
    grants |= {(r.role, a.path, "write") for a in matrix for r in a.recorders}
    return grants


def as_json(matrix: Sequence[PathAccess]) -> str:
    return json.dumps([asdict(a) for a in matrix], indent=2)


def _node(kind: str, *parts: str) -> str:
    return kind + "_" + re.sub(r"[^A-Za-z0-9]", "_", "_".join(parts))


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def as_mermaid(matrix: Sequence[PathAccess]) -> str:
    """``flowchart LR``: branch -> pipeline -> context/environment -> role -> policy -> path."""
    lines = ["flowchart LR"]
    nodes: dict[str, str] = {}
    edges: list[str] = []

    def node(node_id: str, label: str, shape: tuple[str, str] = ("[", "]")) -> str:
        nodes.setdefault(node_id, f"  {node_id}{shape[0]}{_label(label)}{shape[1]}")
        return node_id

    def edge(a: str, b: str, arrow: str = "-->", label: str | None = None) -> None:
        text = f"  {a} {arrow}" + (f"|{_label(label)}|" if label else "") + f" {b}"
        if text not in edges:
            edges.append(text)

    for access in matrix:
        path = node(_node("path", access.path), access.path, ("[(", ")]"))
        for reader in access.readers:
            refs = reader.refs
            branch = node(_node("ref", reader.repository, refs), f"{reader.repository}: {refs}", ("([", "])"))
            pipeline = node(_node("pipeline", reader.repository, reader.ci),
                            f"{reader.repository} {reader.ci} pipeline")
            restriction = f"<br/>{reader.context_restriction}" if reader.context_restriction else ""
            via_label = reader.deploys_via + restriction
            via = node(_node("via", reader.ci, reader.deploys_via), via_label, ("{{", "}}"))
            jobs = f" ({reader.developer_jobs})" if reader.developer_jobs else ""
            who = f"<br/>developer {reader.developer}{jobs}" if reader.developer else ""
            role = node(_node("role", reader.role), f"role {reader.role}{who}<br/>from {', '.join(reader.cidrs)}")
            policy = node(_node("policy", reader.policy), f"policy {reader.policy}", ("[/", "/]"))
            edge(branch, pipeline)
            edge(pipeline, via)
            edge(via, role)
            edge(role, policy)
            edge(policy, path, label="read, create (no overwrite)" if reader in access.recorders else "read")
        for writer in access.writers:
            group = node(_node("group", writer.group), f"group {writer.group}", ("([", "])"))
            where = f"<br/>from {', '.join(writer.cidrs)}" if writer.cidrs else ""
            role = node(_node("role", writer.role), f"{writer.role} (OIDC){where}")
            policy = node(_node("policy", writer.policy), f"policy {writer.policy}", ("[/", "/]"))
            edge(group, role)
            edge(role, policy)
            edge(policy, path, arrow="-.->", label="write, never read")
    return "\n".join([*lines, *nodes.values(), *edges]) + "\n"


@dataclass(frozen=True)
class DeployerPath:
    """One path a deployer may use, and how."""

    path: str
    capabilities: tuple[str, ...]
    pinned: bool
    """What it may write there is pinned to the plan (a policy's exact text, a role's exact policies)."""
    purpose: str


@dataclass(frozen=True)
class DeployerAccess:
    """Who can change what: one stack's deployer."""

    stack: str
    policy: str
    applied_with: str
    """What holds the policy when the stack is applied."""
    organization_wide: bool
    paths: tuple[DeployerPath, ...]


APPLIED_WITH = "a short-lived token holding only this policy (README: Deploying with Pulumi)"


def applied_with(plan: Plan, stack: str) -> str:
    """What holds a stack's deployer policy when it is applied: the infrastructure pipeline's role, if declared."""
    if plan.infrastructure is None:
        return APPLIED_WITH
    role = plan.infrastructure.role(stack)
    return (f"the {plan.infrastructure.repository} pipeline's job in environment {stack}, logged in through "
            f"auth/{role.mount_path}/role/{role.role_name} from {', '.join(role.token_bound_cidrs)}")


def _deployer_access(plan: Plan, deployer: Deployer) -> DeployerAccess:
    return DeployerAccess(
        stack=deployer.stack,
        policy=deployer.policy.name,
        applied_with=applied_with(plan, deployer.stack),
        organization_wide=deployer.organization_wide,
        paths=tuple(DeployerPath(g.path, g.capabilities, g.pinned, g.purpose) for g in deployer.grants),
    )


def who_changes_what(plan: Plan, stacks: Sequence[str] | None = None) -> list[DeployerAccess]:
    """Each chosen stack's deployer and every path it may use (all stacks when ``stacks`` is ``None``)."""
    return [_deployer_access(plan, d) for d in plan.deployers if stacks is None or d.stack in stacks]


def deployers_as_json(deployers: Sequence[DeployerAccess]) -> str:
    return json.dumps([asdict(d) for d in deployers], indent=2)
