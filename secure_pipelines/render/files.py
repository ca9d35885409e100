"""Plan -> the whole output tree: each repository's pipeline files (asked of its CI systems), the
organisation-wide policy files of systems that have them, and the Vault policies (``output`` writes
them and keeps the directory in step)."""

from __future__ import annotations

from collections.abc import Iterable

from ..ci import registry
from ..plan.model import Plan
from .templating import RenderSource, render_template

VAULT_DIR = "vault"
"""Each environment's Vault policies are under ``vault/<environment>/``."""


REPOSITORIES_DIR = "repositories"
"""Each repository's pipeline files are under ``repositories/<repository>/``."""


def repository_dir(repository: str) -> str:
    return f"{REPOSITORIES_DIR}/{repository}"


def vault_policy_files(plan: Plan, source: RenderSource, environments: Iterable[str]) -> dict[str, str]:
    """Each environment's Vault ACL policies and its stack's deployer policy: the header, then exactly the
    HCL the components apply."""
    files: dict[str, str] = {}
    for name in environments:
        env = plan.environment(name)
        for policy in (*env.policies, plan.deployer(name).policy):
            files[f"{VAULT_DIR}/{env.name}/{policy.name}.hcl"] = render_template(
                "vault/policy.hcl.j2", header=source.header(), hcl=policy.hcl
            )
    return files


def pipeline_files(plan: Plan, source: RenderSource) -> dict[str, str]:
    """Each repository's pipeline files, asked of the CI systems it builds on."""
    return {
        f"{repository_dir(repo.name)}/{relative}": text
        for repo in plan.repositories for system in registry.named(repo.ci)
        for relative, text in system.pipeline_files(plan, repo.name, source).items()
    }


def shared_files(plan: Plan, source: RenderSource) -> dict[str, str]:
    """The files every environment shares: each repository's pipeline files and the config policies."""
    files = pipeline_files(plan, source)
    for system in registry.named(m.ci for m in plan.jwt_mounts):
        if system.config_policy is not None:
            files.update(system.config_policy.files(plan, source))
    return files


def file_environment(path: str) -> str | None:
    """The environment a rendered file belongs to; ``None`` for a file every environment shares."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == VAULT_DIR else None


def render_files(plan: Plan, source: RenderSource, environments: Iterable[str] | None = None) -> dict[str, str]:
    """Every rendered file, by path relative to the output directory.

    Pipeline files and config policies span all environments, so they are always rendered;
    ``environments`` limits the per-environment files (Vault policies) to those named.
    """
    chosen = [e.name for e in plan.environments] if environments is None else list(environments)
    for name in chosen:
        plan.environment(name)  # unknown names fail here, before anything is rendered
    return dict(sorted({**shared_files(plan, source), **vault_policy_files(plan, source, chosen)}.items()))
