"""What a change to the declaration does to access, for its reviewers: pure functions of two plans.

:func:`access_of` reads, from each environment's own plan and the resources stack's plan, what a
review compares: every CI role with its bindings and grants, every admin role and its group, the
auth mounts, default-branch protection (per repository or ruleset, read the same way), deployment
environments, the pipeline policy; each CI system's config policy compares its own settings.
:func:`access_changes` classifies every difference as widening, narrowing or neutral
(``secure_pipelines.changes``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .changes import (
    NARROWING,
    NEUTRAL,
    WIDENING,
    AccessChange,
    Kind,
    compare_flag,
    compare_networks,
    compare_number,
    compare_sets,
    shown,
)
from .ci import registry
from .declaration.model import Visibility
from .plan.model import (
    AdminAuthMount,
    AdminRole,
    CIRole,
    Deployment,
    GitHubEnvironment,
    JwtMount,
    PipelinePolicyPlan,
    Plan,
    PromotionRecords,
)


@dataclass(frozen=True)
class Protection:
    """Default-branch protection of one repository, however it is declared (classic or ruleset)."""

    repository: str
    branch: str
    required_approvals: int
    code_owner_reviews: bool
    last_push_approval: bool
    dismiss_stale_reviews: bool
    status_checks: tuple[str, ...]
    conversation_resolution: bool
    binds_admins: bool
    bypass_teams: tuple[int, ...]
    force_pushes: bool
    deletions: bool
    enforced: bool


@dataclass(frozen=True)
class Access:
    """The parts of a declaration's plans that a review of access compares."""

    roles: Mapping[str, CIRole] = field(default_factory=dict)
    """CI roles by ``<mount>/<role>``."""
    admin_roles: Mapping[str, tuple[AdminRole, frozenset[str]]] = field(default_factory=dict)
    """Admin roles by ``admin:<role>``, with the secret paths they may write."""
    mounts: Mapping[str, JwtMount] = field(default_factory=dict)
    admin_auth: AdminAuthMount | None = None
    protections: Mapping[str, Protection] = field(default_factory=dict)
    github_environments: Mapping[str, GitHubEnvironment] = field(default_factory=dict)
    pipeline_policy: PipelinePolicyPlan | None = None
    deployments: Mapping[str, Deployment] = field(default_factory=dict)
    """Each repository's deployments by ``<repository> -> <environment> (<CI system>)``."""
    organization: Plan | None = None
    """The resources stack's plan (each CI system compares its own settings in it)."""

    @property
    def repositories(self) -> frozenset[str]:
        return frozenset(r.name for r in self.organization.repositories) if self.organization else frozenset()


NO_ACCESS = Access()
ANYWHERE = ("0.0.0.0/0", "::/0")
"""What an admin role without ``token_bound_cidrs`` admits."""
"""What a declaration that does not exist (yet) grants."""


def access_of(organization: Plan, environments: Mapping[str, Plan] | None = None) -> Access:
    """Each environment read from its own stack's plan (default: ``organization``'s), the rest from
    the resources stack's plan."""
    chosen = environments if environments is not None else {e.name: organization for e in organization.environments}
    envs = [plan.environment(name) for name, plan in chosen.items()]
    return Access(
        roles={f"{r.mount_path}/{r.role_name}": r for env in envs for r in env.roles}
        | {f"{r.mount_path}/{r.role_name}": r for r in organization.infrastructure_roles},
        admin_roles={f"admin:{env.admin_role.role_name}": (env.admin_role,
                                                           frozenset(p.data_path for p in env.secret_store.paths))
                     for env in envs},
        mounts={m.path: m for m in organization.jwt_mounts},
        admin_auth=organization.admin_auth,
        protections=_protections(organization),
        github_environments={f"{g.repository}/{g.environment}": g for env in envs for g in env.github_environments},
        pipeline_policy=organization.pipeline_policy,
        deployments={f"{d.repository} -> {d.environment} ({d.ci})": d for env in envs for d in env.deployments},
        organization=organization,
    )


def _protections(plan: Plan) -> dict[str, Protection]:
    found = {p.repository: Protection(
        repository=p.repository, branch=p.branch, required_approvals=p.required_approvals,
        code_owner_reviews=p.require_code_owner_reviews, last_push_approval=p.require_last_push_approval,
        dismiss_stale_reviews=p.dismiss_stale_reviews, status_checks=p.required_status_checks,
        conversation_resolution=p.require_conversation_resolution, binds_admins=p.enforce_admins, bypass_teams=(),
        force_pushes=p.allows_force_pushes, deletions=p.allows_deletions, enforced=p.enforceable,
    ) for p in plan.branch_protections}
    ruleset = plan.organization_ruleset
    if ruleset is not None:
        for repo in plan.repositories:
            if repo.github_id in ruleset.repository_ids:
                found[repo.name] = Protection(
                    repository=repo.name, branch=repo.default_branch, required_approvals=ruleset.required_approvals,
                    code_owner_reviews=ruleset.require_code_owner_reviews,
                    last_push_approval=ruleset.require_last_push_approval,
                    dismiss_stale_reviews=ruleset.dismiss_stale_reviews, status_checks=ruleset.required_status_checks,
                    conversation_resolution=ruleset.require_conversation_resolution,
                    binds_admins=not ruleset.bypass_team_ids, bypass_teams=ruleset.bypass_team_ids,
                    force_pushes=False, deletions=False, enforced=True,
                )
    return found


_ORDER = {WIDENING: 0, NARROWING: 1, NEUTRAL: 2}


def access_changes(old: Access, new: Access) -> list[AccessChange]:
    """Every difference in access from ``old`` to ``new``: widening first, then narrowing, then neutral."""
    changes = [
        *_roles(old, new), *_admins(old, new), *_mounts(old, new), *_protection(old, new),
        *_environments(old, new), *_pipeline_policy(old, new), *_ci_policies(old, new), *_runners(old, new),
        *_visibility(old, new),
    ]
    return sorted(changes, key=lambda c: _ORDER[c.kind])


def widens(changes: list[AccessChange]) -> bool:
    return any(c.kind == WIDENING for c in changes)


def _keyed(old: Mapping[str, object], new: Mapping[str, object]) -> tuple[list[str], list[str], list[str]]:
    """(removed, added, kept) keys, each sorted."""
    return sorted(set(old) - set(new)), sorted(set(new) - set(old)), sorted(set(old) & set(new))


def _described(role: CIRole) -> str:
    who = f" as {role.developer}" if role.developer else ""
    paths = ", ".join(p.data_path for p in role.secret_paths)
    return (f"{role.repository} ({role.ci}){who} reads {paths} from {role.ref_binding} via {role.deploy_via}, "
            f"from {', '.join(role.token_bound_cidrs)}")


def _glob(records: PromotionRecords | None) -> list[str]:
    return [records.data_glob] if records else []


def _roles(old: Access, new: Access) -> Iterator[AccessChange]:
    removed, added, kept = _keyed(old.roles, new.roles)
    for key in added:
        role = new.roles[key]
        yield AccessChange("role.added", WIDENING, f"role {key}", "role", "-", _described(role),
                           f"new role {key}: {_described(role)}")
    for key in removed:
        role = old.roles[key]
        yield AccessChange("role.removed", NARROWING, f"role {key}", "role", _described(role), "-",
                           f"role {key} removed: {_described(role)} no more")
    for key in kept:
        yield from _role(f"role {key}", old.roles[key], new.roles[key])


def _role(subject: str, old: CIRole, new: CIRole) -> Iterator[AccessChange]:
    before, after = old.claims, new.claims
    for claim in sorted(set(before) - set(after)):
        yield AccessChange("role.claim.removed", WIDENING, subject, f"bound_claims.{claim}", shown(before[claim]),
                           "-", f"{subject}: no longer binds {claim} (any value now logs in)")
    for claim in sorted(set(after) - set(before)):
        yield AccessChange("role.claim.added", NARROWING, subject, f"bound_claims.{claim}", "-",
                           shown(after[claim]), f"{subject}: now also binds {claim}")
    for claim in sorted(set(before) & set(after)):
        yield from compare_sets(subject, f"bound_claims.{claim}", before[claim], after[claim], more_is=WIDENING,
                                what="role.claim-values")
    yield from compare_flag(subject, "glob matching of bound claims", old.claims_match == "glob",
                            new.claims_match == "glob", true_is=WIDENING, what="role.glob-matching")
    yield from compare_sets(subject, "bound_audiences", old.bound_audiences, new.bound_audiences, more_is=WIDENING,
                            what="role.audiences")
    yield from compare_networks(subject, "token_bound_cidrs", old.token_bound_cidrs, new.token_bound_cidrs,
                                what="role.cidrs")
    yield from compare_number(subject, "token_ttl", old.token_ttl, new.token_ttl, more_is=WIDENING, what="role.ttl")
    yield from compare_number(subject, "token_max_ttl", old.token_max_ttl, new.token_max_ttl, more_is=WIDENING,
                              what="role.max-ttl")
    yield from compare_sets(subject, "reads", [p.data_path for p in old.secret_paths],
                            [p.data_path for p in new.secret_paths], more_is=WIDENING, what="grant")
    yield from compare_sets(subject, "creates promotion records at", _glob(old.records), _glob(new.records),
                            more_is=WIDENING, what="grant.records")
    # A deploy held to a digest another environment recorded ships less; dropping the check ships anything.
    yield from compare_sets(subject, "ships only digests recorded at", _glob(old.promoted_from),
                            _glob(new.promoted_from), more_is=NARROWING, what="role.promotion")
    if (old.deploy_via, old.ref_binding) != (new.deploy_via, new.ref_binding) and before == after:
        yield AccessChange("role.described", NEUTRAL, subject, "deploys via / refs",
                           f"{old.deploy_via}; {old.ref_binding}", f"{new.deploy_via}; {new.ref_binding}",
                           f"{subject}: described differently, binds the same claims")


def _admins(old: Access, new: Access) -> Iterator[AccessChange]:
    removed, added, kept = _keyed(old.admin_roles, new.admin_roles)
    for key in added:
        role, paths = new.admin_roles[key]
        yield AccessChange("admin.added", WIDENING, f"admin role {key}", "role", "-", f"group {role.admin_group}",
                           f"new admin role {key}: group {role.admin_group} may write {shown(sorted(paths))}")
    for key in removed:
        role, _ = old.admin_roles[key]
        yield AccessChange("admin.removed", NARROWING, f"admin role {key}", "role", f"group {role.admin_group}", "-",
                           f"admin role {key} removed")
    for key in kept:
        (before, old_paths), (after, new_paths) = old.admin_roles[key], new.admin_roles[key]
        subject = f"admin role {key}"
        if before.admin_group != after.admin_group:
            yield AccessChange("admin.group-changed", WIDENING, subject, "admin_group", before.admin_group,
                               after.admin_group, f"{subject}: members of {after.admin_group} now write these "
                               f"secrets (instead of {before.admin_group})")
        yield from compare_sets(subject, "bound_audiences", before.bound_audiences, after.bound_audiences,
                                more_is=WIDENING, what="admin.audiences")
        if before.groups_claim != after.groups_claim:
            yield AccessChange("admin.groups-claim", WIDENING, subject, "groups_claim", before.groups_claim,
                               after.groups_claim, f"{subject}: membership of {after.admin_group} is now read from the "
                               f"{after.groups_claim!r} claim (was {before.groups_claim!r}): check the identity "
                               "provider lets no user set it")
        yield from compare_sets(subject, "allowed_redirect_uris", before.allowed_redirect_uris,
                                after.allowed_redirect_uris, more_is=WIDENING, what="admin.redirect-uris")
        yield from compare_sets(subject, "writes", old_paths, new_paths, more_is=WIDENING, what="admin-grant")
        # No admin networks declared: admin tokens are used from anywhere.
        yield from compare_networks(subject, "token_bound_cidrs", before.token_bound_cidrs or ANYWHERE,
                                    after.token_bound_cidrs or ANYWHERE, what="admin.cidrs")
        yield from compare_number(subject, "token_ttl", before.token_ttl, after.token_ttl, more_is=WIDENING,
                                  what="admin.ttl")
        yield from compare_number(subject, "token_max_ttl", before.token_max_ttl, after.token_max_ttl,
                                  more_is=WIDENING, what="admin.max-ttl")


def _mounts(old: Access, new: Access) -> Iterator[AccessChange]:
    removed, added, kept = _keyed(old.mounts, new.mounts)
    for path in added:
        yield AccessChange("auth-mount.added", WIDENING, f"auth mount {path}", "issuer", "-",
                           new.mounts[path].issuer, f"Vault now trusts tokens of {new.mounts[path].issuer}")
    for path in removed:
        yield AccessChange("auth-mount.removed", NARROWING, f"auth mount {path}", "issuer", old.mounts[path].issuer,
                           "-", f"Vault no longer trusts tokens of {old.mounts[path].issuer}")
    for path in kept:
        if old.mounts[path].issuer != new.mounts[path].issuer:
            yield AccessChange("auth-mount.issuer-changed", WIDENING, f"auth mount {path}", "issuer",
                               old.mounts[path].issuer, new.mounts[path].issuer,
                               f"auth mount {path} now trusts another issuer")
    if old.admin_auth and new.admin_auth and old.admin_auth.oidc_discovery_url != new.admin_auth.oidc_discovery_url:
        yield AccessChange("admin-auth.provider-changed", WIDENING, f"auth mount {new.admin_auth.path}",
                           "oidc_discovery_url", old.admin_auth.oidc_discovery_url, new.admin_auth.oidc_discovery_url,
                           "admins now log in through another identity provider")


_PROTECTION_FLAGS: tuple[tuple[str, Kind], ...] = (
    ("code_owner_reviews", NARROWING), ("last_push_approval", NARROWING), ("dismiss_stale_reviews", NARROWING),
    ("conversation_resolution", NARROWING), ("binds_admins", NARROWING), ("enforced", NARROWING),
    ("force_pushes", WIDENING), ("deletions", WIDENING),
)
"""Each protection setting, and what switching it on does to access."""
_ENVIRONMENT_FLAGS: tuple[tuple[str, Kind], ...] = (
    ("can_admins_bypass", WIDENING), ("prevent_self_review", NARROWING), ("reviewers_enforceable", NARROWING),
    ("available", NARROWING),
)


def _protection(old: Access, new: Access) -> Iterator[AccessChange]:
    removed, added, kept = _keyed(old.protections, new.protections)
    for repo in added:
        yield AccessChange("protection.added", NARROWING, f"branch protection of {repo}", "protection", "-",
                           new.protections[repo].branch, f"{repo}'s default branch is now protected")
    for repo in removed:
        gone = repo not in new.repositories
        yield AccessChange("protection.removed", NEUTRAL if gone else WIDENING, f"branch protection of {repo}",
                           "protection", old.protections[repo].branch, "-",
                           f"{repo} is no longer declared" if gone else f"{repo}'s default branch is no longer "
                           "protected")
    for repo in kept:
        before, after = old.protections[repo], new.protections[repo]
        subject = f"branch protection of {repo}"
        if before.branch != after.branch:
            yield AccessChange("protection.branch-changed", WIDENING, subject, "branch", before.branch, after.branch,
                               f"{subject}: protects {after.branch} instead of {before.branch}")
        yield from compare_number(subject, "required approvals", before.required_approvals, after.required_approvals,
                                  more_is=NARROWING, what="protection.approvals")
        for name, true_is in _PROTECTION_FLAGS:
            yield from compare_flag(subject, name, getattr(before, name), getattr(after, name), true_is=true_is,
                                    what=f"protection.{name.replace('_', '-')}")
        yield from compare_sets(subject, "required status checks", before.status_checks, after.status_checks,
                                more_is=NARROWING, what="protection.status-checks")
        yield from compare_sets(subject, "bypass teams", before.bypass_teams, after.bypass_teams, more_is=WIDENING,
                                what="protection.bypass-teams")


def _runners(old: Access, new: Access) -> Iterator[AccessChange]:
    """A deploy moved off its own self-hosted runners: other jobs on the new machines share what it leaves."""
    _, _, kept = _keyed(old.deployments, new.deployments)
    for key in kept:
        was, now = old.deployments[key].runner, new.deployments[key].runner
        if was == now:
            continue
        subject = f"deploys of {key}"
        shown_now = now or "the CI system's own machines"
        if was is None:
            yield AccessChange("deploy.runner", NARROWING, subject, "runner", "-", now or "-",
                               f"{subject}: now on their own self-hosted runners ({now})")
        else:
            yield AccessChange("deploy.runner", WIDENING, subject, "runner", was, now or "-",
                               f"{subject}: now run on {shown_now} instead of {was}: check no other environment's "
                               "jobs run there")


_READERS = {Visibility.PRIVATE: 0, Visibility.INTERNAL: 1, Visibility.PUBLIC: 2}
"""How many may read a repository's code: its collaborators, every member of the enterprise, anyone."""


def _visibility(old: Access, new: Access) -> Iterator[AccessChange]:
    """A repository made readable by more people: they may read its pipeline and, public, fork it and open pull
    requests whose jobs run on its runners."""
    before = {r.name: r.visibility for r in old.organization.repositories} if old.organization else {}
    after = {r.name: r.visibility for r in new.organization.repositories} if new.organization else {}
    for name in sorted(before.keys() & after.keys()):
        was, now = before[name], after[name]
        if was == now:
            continue
        wider = _READERS[now] > _READERS[was]
        yield AccessChange("repository.visibility", WIDENING if wider else NARROWING, f"repository {name}",
                           "visibility", str(was), str(now),
                           f"repository {name}: now {now} instead of {was}"
                           + (": check its runners and deployment gates for jobs of people outside the team"
                              if now is Visibility.PUBLIC else ""))


def _environments(old: Access, new: Access) -> Iterator[AccessChange]:
    removed, added, kept = _keyed(old.github_environments, new.github_environments)
    for key in added:
        yield AccessChange("deployment-environment.added", NEUTRAL, f"deployment environment {key}",
                           "environment", "-", key, f"deployment environment {key} declared")
    for key in removed:
        yield AccessChange("deployment-environment.removed", NEUTRAL, f"deployment environment {key}",
                           "environment", key, "-", f"deployment environment {key} no longer declared")
    for key in kept:
        before, after = old.github_environments[key], new.github_environments[key]
        subject = f"deployment environment {key}"
        yield from compare_sets(subject, "reviewer users", before.reviewer_users, after.reviewer_users,
                                more_is=NARROWING, what="environment.reviewers")
        yield from compare_sets(subject, "reviewer teams", before.reviewer_teams, after.reviewer_teams,
                                more_is=NARROWING, what="environment.reviewer-teams")
        for name, true_is in _ENVIRONMENT_FLAGS:
            yield from compare_flag(subject, name, getattr(before, name), getattr(after, name), true_is=true_is,
                                    what=f"environment.{name.replace('_', '-')}")
        yield from _deployment_branches(subject, before.deployment_branches, after.deployment_branches)


def _deployment_branches(subject: str, old: tuple[str, ...] | None, new: tuple[str, ...] | None
                         ) -> Iterator[AccessChange]:
    if old == new:
        return
    if new is None or old is None:
        yield AccessChange("environment.branches.any" if new is None else "environment.branches.listed",
                           WIDENING if new is None else NARROWING, subject, "deployment branches",
                           shown(old) if old else "any", shown(new) if new else "any",
                           f"{subject}: deploys from {'any branch' if new is None else shown(new)}")
        return
    yield from compare_sets(subject, "deployment branches", old, new, more_is=WIDENING,
                            what="environment.branches")


def _pipeline_policy(old: Access, new: Access) -> Iterator[AccessChange]:
    before, after = old.pipeline_policy, new.pipeline_policy
    if before is None or after is None:
        return
    yield from compare_sets("pipeline policy", "approved_registries", before.approved_registries,
                            after.approved_registries, more_is=WIDENING, what="pipeline-policy.registries")
    yield from compare_sets("pipeline policy", "required_security_jobs", before.required_security_jobs,
                            after.required_security_jobs, more_is=NARROWING, what="pipeline-policy.security-jobs")
    yield from compare_sets("pipeline policy", "code_freeze", before.code_freeze, after.code_freeze,
                            more_is=NARROWING, what="pipeline-policy.code-freeze")


def _ci_policies(old: Access, new: Access) -> Iterator[AccessChange]:
    """Each CI system with config policies compares its own settings (``None``: not in use there)."""
    def in_use(plan: Plan | None) -> set[str]:
        return {m.ci for m in plan.jwt_mounts} if plan else set()

    before, after = in_use(old.organization), in_use(new.organization)
    for system in registry.named(before | after):
        if system.config_policy is not None:
            yield from system.config_policy.changes(old.organization if system.name in before else None,
                                                    new.organization if system.name in after else None)
