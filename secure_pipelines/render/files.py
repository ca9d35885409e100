"""Plan -> rendered files: pure functions returning ``{relative path: text}``, and one that writes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ..ci import CI_SYSTEMS
from ..declaration import CISystemName
from ..plan import Plan
from .actions import PINNED_ACTIONS
from .pipelines import pipeline
from .templating import RenderSource, render_template

CLOUD_IMAGE = "cimg/base:2025.01"
"""The image of the rendered cloud jobs; keep ``cimg/`` in ``pipeline_policy.approved_registries``."""

POLICY_DIR = "circleci/policies"
POLICY_LOGIC = (
    "prod_context_only_on_default_branch",
    "no_ssh_rerun_with_protected_context",
    "orbs_from_allowlist",
    "banned_orb_versions",
    "security_jobs_before_deploy",
    "contexts_reserved_to_projects",
    "production_runner_class",
    "images_from_approved_registries",
    "code_freeze",
)
"""One Rego file per rule, named after it (the rule names of the declaration's pipeline_policy.rules)."""


def repository_dir(repository: str) -> str:
    return f"repositories/{repository}"


def circleci_config_path(repository: str) -> str:
    return f"{repository_dir(repository)}/.circleci/config.yml"


def github_workflow_path(repository: str) -> str:
    return f"{repository_dir(repository)}/.github/workflows/deploy.yml"


def github_actionlint_config_path(repository: str) -> str:
    return f"{repository_dir(repository)}/.github/actionlint.yaml"


def circleci_config(plan: Plan, repository: str, source: RenderSource, *, include_frozen: bool = False) -> str:
    """``.circleci/config.yml`` of ``repository`` (production deploys under a code freeze left out)."""
    return render_template(
        CI_SYSTEMS[CISystemName.CIRCLECI].pipeline_template,
        header=source.header(),
        pipeline=pipeline(plan, repository, CISystemName.CIRCLECI, include_frozen=include_frozen),
        image=CLOUD_IMAGE,
    )


def github_workflow(plan: Plan, repository: str, source: RenderSource) -> str:
    """``.github/workflows/deploy.yml`` of ``repository``."""
    return render_template(
        CI_SYSTEMS[CISystemName.GITHUB_ACTIONS].pipeline_template,
        header=source.header(),
        pipeline=pipeline(plan, repository, CISystemName.GITHUB_ACTIONS),
        actions=PINNED_ACTIONS,
    )


def github_actionlint_config(plan: Plan, repository: str, source: RenderSource) -> str:
    """actionlint's config for ``repository``: the self-hosted runner labels its workflow uses."""
    jobs = pipeline(plan, repository, CISystemName.GITHUB_ACTIONS).deploy_jobs
    labels = sorted({label for job in jobs for label in job.runs_on[1:] if job.runs_on[0] == "self-hosted"})
    return render_template("github/actionlint.yaml.j2", header=source.header(), labels=labels)


def circleci_policies(plan: Plan, source: RenderSource) -> dict[str, str]:
    """The Rego bundle, by file name: the plan's data, shared helpers, and one file per rule."""
    policy = plan.pipeline_policy
    rules = set(policy.enabled_rules)
    unknown = rules - set(POLICY_LOGIC)
    if unknown:
        raise ValueError(f"no policy logic for rules {sorted(unknown)}; add templates/circleci/policies/<rule>.rego.j2")
    files = {
        "secure_pipelines_plan.rego": render_template(
            "circleci/policies/secure_pipelines_plan.rego.j2",
            header=source.header(),
            policy=policy,
            production_resource_classes=[policy.production_resource_class] if policy.production_resource_class else [],
        ),
        "secure_pipelines_helpers.rego": render_template(
            "circleci/policies/secure_pipelines_helpers.rego.j2", header=source.header()
        ),
    }
    for rule in POLICY_LOGIC:
        files[f"{rule}.rego"] = render_template(f"circleci/policies/{rule}.rego.j2", header=source.header())
    return files


def vault_policy_files(plan: Plan, source: RenderSource, environments: Iterable[str]) -> dict[str, str]:
    """Each environment's Vault ACL policies: the header, then exactly the HCL the components apply."""
    files: dict[str, str] = {}
    for name in environments:
        env = plan.environment(name)
        for policy in env.policies:
            files[f"vault/{env.name}/{policy.name}.hcl"] = render_template(
                "vault/policy.hcl.j2", header=source.header(), hcl=policy.hcl
            )
    return files


def render_files(plan: Plan, source: RenderSource, environments: Iterable[str] | None = None) -> dict[str, str]:
    """Every rendered file, by path relative to the output directory.

    Pipeline configs and CircleCI policies span all environments, so they are always rendered;
    ``environments`` limits the per-environment files (Vault policies) to those named.
    """
    from .policy_cases import circleci_policy_tests  # the cases render the configs above

    chosen = [e.name for e in plan.environments] if environments is None else list(environments)
    for name in chosen:
        plan.environment(name)  # unknown names fail here, before anything is rendered
    files: dict[str, str] = {}
    for repo in plan.repositories:
        if CISystemName.CIRCLECI in repo.ci:
            files[circleci_config_path(repo.name)] = circleci_config(plan, repo.name, source)
        if CISystemName.GITHUB_ACTIONS in repo.ci:
            files[github_workflow_path(repo.name)] = github_workflow(plan, repo.name, source)
            files[github_actionlint_config_path(repo.name)] = github_actionlint_config(plan, repo.name, source)
    if plan.pipeline_policy.projects:
        files.update({f"{POLICY_DIR}/{n}": t for n, t in circleci_policies(plan, source).items()})
        files.update({f"{POLICY_DIR}/{n}": t for n, t in circleci_policy_tests(plan, source).items()})
    files.update(vault_policy_files(plan, source, chosen))
    return dict(sorted(files.items()))


def write_files(files: Mapping[str, str], out_dir: Path) -> list[Path]:
    """Write ``files`` under ``out_dir`` (bytes exactly as rendered, LF line ends); return the paths."""
    written: list[Path] = []
    root = out_dir.resolve()
    for relative, text in files.items():
        target = (root / relative).resolve()
        if root not in target.parents:
            raise ValueError(f"refusing to write {relative!r} outside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
        written.append(target)
    return written
