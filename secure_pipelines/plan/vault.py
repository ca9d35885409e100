"""The Vault side of the plan: JWT mounts, secret paths, ACL policies, CI roles and admin roles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .. import naming
from ..ci.base import CISystem
from ..declaration.model import (
    PROMOTIONS_PREFIX,
    Admins,
    Declaration,
    Developer,
    Environment,
    Repository,
    SharedSecret,
)
from ..errors import InvalidDeclaration, Problem
from .model import (
    AdminAuthMount,
    AdminRole,
    CIRole,
    DeveloperLookup,
    JwtMount,
    Plan,
    PromotionRecords,
    SecretPath,
    SecretStore,
    VaultPolicy,
)
from .vault_policies import admin_write_policy, ci_read_policy

ADMIN_MOUNT_PATH = "admins"


def jwt_mount(declaration: Declaration, system: CISystem) -> JwtMount:
    """The one JWT auth mount trusting ``system``'s issuer."""
    return JwtMount(
        ci=system.name,
        path=system.mount_path,
        issuer=system.issuer(declaration),
        oidc_discovery_url=system.discovery_url(declaration),
        description=f"{system.name} OIDC workload identity for {declaration.organization.name}",
    )


def admin_auth_mount(declaration: Declaration) -> AdminAuthMount:
    return AdminAuthMount(
        path=ADMIN_MOUNT_PATH,
        oidc_discovery_url=declaration.admins.auth.oidc_discovery_url,
        default_role=None,
        description=f"{declaration.organization.name} secret admins (write-only)",
    )


def secret_path(env: Environment, repo: Repository, developer: Developer | None) -> SecretPath:
    parts = [env.secrets.prefix] + ([developer.name] if developer else []) + [repo.name]
    return SecretPath(
        environment=env.name,
        repository=repo.name,
        developer=developer.name if developer else None,
        mount=env.secret_mount,
        path="/".join(parts),
        readers=(repo.name,),
    )


def shared_secret_path(env: Environment, shared: SharedSecret) -> SecretPath:
    return SecretPath(
        environment=env.name,
        repository=None,
        developer=None,
        mount=env.secret_mount,
        path=shared.path,
        shared=shared.name,
        readers=shared.repositories,
    )


def shared_paths_of(env: Environment, repo: Repository) -> tuple[SecretPath, ...]:
    """The shared secrets of ``env`` that ``repo`` reads."""
    return tuple(shared_secret_path(env, s) for s in env.shared_secrets if repo.name in s.repositories)


def developer_lookup(env: Environment, repo: Repository, shared: Sequence[SecretPath]) -> DeveloperLookup:
    """How a per-developer deploy of ``repo`` to ``env`` finds its role and secrets from its own token alone."""
    own = secret_path(env, repo, None)  # the file name does not depend on the developer
    return DeveloperLookup(
        environment=env.name,
        role_prefix=naming.developer_roles_prefix(env.name, repo.name),
        policy_prefix=naming.developer_policies_prefix(env.name, repo.name),
        secret_prefix=f"{env.secret_mount}/data/{env.secrets.prefix}/",
        secret_suffix=f"/{repo.name}",
        secret_file=own.file_name,
        shared=tuple((p.data_path, p.file_name) for p in shared),
    )


def promotion_records(env: Environment, repo: Repository) -> PromotionRecords:
    """Where deploys of ``repo`` to ``env`` record the digests they deployed."""
    return PromotionRecords(environment=env.name, repository=repo.name, mount=env.secret_mount,
                            prefix=f"{PROMOTIONS_PREFIX}/{repo.name}")


def promotions_of(declaration: Declaration, env: Environment, repo: Repository
                  ) -> tuple[PromotionRecords | None, PromotionRecords | None]:
    """``(records it writes, records it must find)`` for deploys of ``repo`` to ``env``."""
    records = promotion_records(env, repo) if env.name in declaration.promotion_sources() else None
    source = declaration.environment(env.promote_from) if env.promote_from else None
    return records, promotion_records(source, repo) if source is not None else None


def ci_policy_name(env: Environment, repo: Repository, developer: Developer | None) -> str:
    return naming.ci_policy(env.name, repo.name, developer.name if developer else None)


def ci_read(
    declaration: Declaration, env: Environment, repo: Repository, developer: Developer | None,
    paths: Sequence[SecretPath],
) -> VaultPolicy:
    """The policy that reads exactly ``paths`` (its own, then the shared secrets it is listed for), for the
    role(s) of ``repo`` in ``env`` (as ``developer``)."""
    who = f"{repo.name} in {env.name}" + (f" for {developer.name}" if developer else "")
    return VaultPolicy(
        name=ci_policy_name(env, repo, developer),
        environment=env.name,
        purpose="ci-read",
        hcl=ci_read_policy(f"CI read access: {who}", env.secret_mount, [p.path for p in paths],
                           *(r.data_prefix if r else None for r in promotions_of(declaration, env, repo))),
        previous_name=naming.previous_ci_policy(env.name, repo.name, developer.name if developer else None),
    )


def admin_write(declaration: Declaration, env: Environment) -> VaultPolicy:
    records = PROMOTIONS_PREFIX if env.name in declaration.promotion_sources() else None
    return VaultPolicy(
        name=naming.admin_policy(env.name),
        environment=env.name,
        purpose="admin-write",
        hcl=admin_write_policy(f"Secret admins of {env.name}: write and rotate", env.secret_mount, records),
        previous_name=naming.previous_admin_policy(env.name),
    )


def ci_role(
    declaration: Declaration,
    env: Environment,
    repo: Repository,
    system: CISystem,
    developer: Developer | None,
    paths: Sequence[SecretPath],
) -> CIRole:
    """The role a job of ``repo`` on ``system`` logs in with to deploy to ``env`` (as ``developer``)."""
    binding = system.binding(declaration, repo, env, developer)
    assert developer is None or binding.user_id, "checked by validation: per-developer roles have a user id"
    who = developer.name if developer else None
    records, promoted_from = promotions_of(declaration, env, repo)
    previous = (naming.previous_ci_role(env.name, repo.name, who),)
    if who is not None:
        previous += (naming.developer_named_ci_role(env.name, repo.name, who),)
    return CIRole(
        ci=system.name,
        mount_path=system.mount_path,
        role_name=naming.ci_role(env.name, repo.name, binding.user_id),
        repository=repo.name,
        environment=env.name,
        tier=env.tier,
        developer=developer.name if developer else None,
        issuer=system.issuer(declaration),
        bound_audiences=system.audiences(declaration),
        bound_claims=binding.claims,
        claims_match=binding.claims_match,
        user_claim=system.user_claim,
        token_policies=(ci_policy_name(env, repo, developer),),
        token_bound_cidrs=env.ip_allowlist,
        token_ttl=env.token_ttl,
        token_max_ttl=env.token_max_ttl,
        token_type="service",
        secret_paths=tuple(paths),
        ref_binding=binding.ref_binding,
        deploy_via=binding.deploy_via,
        previous_role_names=previous,
        user_id=binding.user_id,
        developer_jobs=binding.developer_jobs,
        records=records,
        promoted_from=promoted_from,
    )


def admin_role(admins: Admins, env: Environment, policy: VaultPolicy) -> AdminRole:
    """The role admins of ``env`` log in with: its admin group only, from the admins' networks, the
    write-only policy."""
    auth = admins.auth
    group = admins.group_of(env.name)
    assert group is not None, "checked by validation"
    return AdminRole(
        mount_path=ADMIN_MOUNT_PATH,
        role_name=naming.admin_role(env.name),
        environment=env.name,
        bound_audiences=auth.bound_audiences,
        groups_claim=auth.groups_claim,
        admin_group=group,
        user_claim=auth.user_claim,
        allowed_redirect_uris=auth.allowed_redirect_uris,
        token_policies=(policy.name,),
        token_bound_cidrs=admins.ip_allowlist,
        token_ttl=min(env.token_ttl, 900),
        token_max_ttl=min(env.token_max_ttl, 1800),
    )


def secret_store(env: Environment, paths: Sequence[SecretPath]) -> SecretStore:
    return SecretStore(
        environment=env.name,
        mount=env.secret_mount,
        paths=tuple(paths),
        description=f"{env.name} secrets (KV v2), managed by secure-pipelines",
    )


def refuse_collisions(plan: Plan) -> None:
    """Two declared things must never share a Vault name: one would reach the other's secrets."""
    names = {
        "role": [f"{r.mount_path}/{r.role_name}" for r in plan.roles],
        "policy": [p.name for env in plan.environments for p in env.policies],
        "secret path": [f"{p.mount}/{p.path}" for env in plan.environments for p in env.secret_store.paths],
    }
    found = [
        Problem(f"{kind} names", name, "two declared items produce this same Vault name; rename one of them")
        for kind, values in names.items()
        for name, count in Counter(values).items() if count > 1
    ]
    if found:
        raise InvalidDeclaration(found)
