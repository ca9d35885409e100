"""Every Vault name secure-pipelines gives an object, one function per object kind.

Vault ACL globs match only a trailing ``*`` (or a ``+`` segment), so a stack's deployer policy can be
small only if every Vault object one environment owns begins with the environment's name followed by
a separator no environment name contains. Environment names are short names (``[a-z][a-z0-9-]*``), so
``-`` cannot separate (``dev-*`` would also match the objects of an environment named ``dev-lin``);
``.`` can: Vault allows it in role and policy names and environment names never contain it, so the
``<env>.`` prefixes of distinct environments are disjoint.

Organisation-wide objects the resources stack owns (each stack's deployer policy and role) begin with
``secure_pipelines.``: no environment name contains ``_``, so no environment's ``<env>.*`` glob reaches
them, and no environment's deployer can widen its own policy or role.

The ``previous_*`` functions give the names before this convention, for Pulumi aliases only.
"""

from __future__ import annotations

SEPARATOR = "."
"""Between the environment and the rest of a name: environment names never contain it."""
ORGANIZATION_PREFIX = "secure_pipelines."
"""The first part of every organisation-wide name: environment names never contain ``_``."""


def environment_prefix(environment: str) -> str:
    """What every name of an object ``environment`` owns begins with (its deployer's globs end here)."""
    return f"{environment}{SEPARATOR}"


def secret_mount(environment: str) -> str:
    """The environment's KV v2 mount, unless the declaration names one (one exact path per environment)."""
    return f"kv-{environment}"


def ci_role(environment: str, repository: str, user_id: str | None = None) -> str:
    """The JWT role a repository's jobs log in with on its CI system's mount: ``<env>.<repo>[.<user id>]``.

    A per-developer role is named by the developer's immutable user id on that CI system, which a job
    reads from its own token: the rendered pipeline names no developer, so onboarding changes no file.
    """
    return SEPARATOR.join([environment, repository, *([user_id] if user_id else [])])


def developer_roles_prefix(environment: str, repository: str) -> str:
    """What the name of every per-developer role of a repository in an environment begins with."""
    return f"{ci_role(environment, repository)}{SEPARATOR}"


def developer_policies_prefix(environment: str, repository: str) -> str:
    """What the name of every per-developer read policy of a repository in an environment begins with
    (the developer's name follows it)."""
    return f"{ci_policy(environment, repository)}{SEPARATOR}"


def ci_policy(environment: str, repository: str, developer: str | None = None) -> str:
    """The policy that reads a repository's secrets: ``<env>.ci.<repo>[.<developer>]``."""
    return SEPARATOR.join([environment, "ci", repository, *([developer] if developer else [])])


def admin_policy(environment: str) -> str:
    """The admins' write-only policy: ``<env>.admin``."""
    return f"{environment_prefix(environment)}admin"


def admin_role(environment: str) -> str:
    """The role admins log in with on the admin mount: ``<env>.admins``."""
    return f"{environment_prefix(environment)}admins"


def deployer_policy(stack: str) -> str:
    """The policy a stack's ``pulumi up`` runs with: ``secure_pipelines.deployer.<stack>``."""
    return f"{ORGANIZATION_PREFIX}deployer{SEPARATOR}{stack}"


def deployer_role(stack: str) -> str:
    """The JWT role the infrastructure pipeline logs in with to apply a stack (same name as its policy)."""
    return deployer_policy(stack)


def deployers_prefix() -> str:
    """What every deployer policy and role name begins with (the resources stack's globs end here)."""
    return f"{ORGANIZATION_PREFIX}deployer{SEPARATOR}"


def owned_by(name: str, environment: str) -> bool:
    """Whether ``environment``'s deployer globs (``<env>.*``) reach the name."""
    return name.startswith(environment_prefix(environment))


# --- names before the convention, for aliases (Pulumi identity) only ------------------------------------


def previous_ci_role(environment: str, repository: str, developer: str | None = None) -> str:
    """``<repo>-<env>[-<developer>]``: a CI role's name before the convention."""
    return f"{repository}-{environment}" + (f"-{developer}" if developer else "")


def developer_named_ci_role(environment: str, repository: str, developer: str) -> str:
    """``<env>.<repo>.<developer>``: a per-developer role's name before roles were named by user id."""
    return SEPARATOR.join([environment, repository, developer])


def previous_ci_policy(environment: str, repository: str, developer: str | None = None) -> str:
    """``ci-<env>-[<developer>-]<repo>``: a CI read policy's name before the convention."""
    return f"ci-{environment}-" + (f"{developer}-" if developer else "") + repository


def previous_admin_policy(environment: str) -> str:
    """``admin-<env>``: the admin write policy's name before the convention."""
    return f"admin-{environment}"
