"""The sentence each config-policy rule says for a violation, written independently of the Rego.

Kept in step with ``templates/*.rego.j2`` by the tests: a rule that stops matching its sentence,
or stops firing, fails them.
"""

from __future__ import annotations


def prod_context_reason(workflow: str, job: str, context: str, branch: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": uses production context {context} but is not filtered to '
        f"branch {branch} alone; set filters.branches.only to {branch} and remove other branches, patterns, "
        "tags and expression filters"
    )


def parameterised_context_reason(workflow: str, job: str, context: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": context {context} is a parameter, which this policy cannot '
        "check; write the context name itself"
    )


def ssh_rerun_reason(workflow: str, job: str, context: str, branch: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": would run with protected context {context} in an SSH rerun '
        f"on branch {branch}; rerun without SSH, and debug in a job that uses no test, staging or production context"
    )


def unapproved_orb_reason(alias: str, reference: str, approved: tuple[str, ...]) -> str:
    return (
        f"orbs.{alias}: {reference} is not an approved orb; use one of {_approved_orbs_text(approved)}, "
        "or have it added to ci.circleci.config_policy.approved_orbs in a reviewed change to the declaration"
    )


def inline_orb_reason(alias: str, approved: tuple[str, ...]) -> str:
    return (
        f"orbs.{alias}: inline orbs are not allowed; use one of {_approved_orbs_text(approved)} by reference "
        "(namespace/name@version)"
    )


def banned_orb_reason(alias: str, reference: str, banned: str) -> str:
    return (
        f"orbs.{alias}: {reference} is a banned orb version ({banned}); pin another released version of "
        f"{reference.split('@')[0]}"
    )


def may_resolve_to_banned_orb_reason(alias: str, reference: str, banned: str) -> str:
    return (
        f"orbs.{alias}: {reference} may resolve to the banned orb version {banned}; pin another released version "
        f"of {reference.split('@')[0]} as x.y.z"
    )


def floating_orb_reason(alias: str, reference: str) -> str:
    return (
        f"orbs.{alias}: {reference} is not pinned to a full version, and CircleCI resolves it to the newest match "
        f"on every run; pin it as {reference.split('@')[0]}@x.y.z, a released version you have reviewed"
    )


def security_job_reason(workflow: str, job: str, context: str, security_job: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": deploys with context {context} without requiring security '
        f"job {security_job} to succeed first; add {security_job} to the workflow and to this job's requires "
        "(directly or through a job it requires)"
    )


def reserved_context_reason(workflow: str, job: str, context: str, project_id: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": context {context} is reserved to other projects and project '
        f"{project_id} may not use it; remove the context from this job, or declare this repository for "
        "that environment"
    )


def runner_class_reason(workflow: str, job: str, context: str, resource_class: str, allowed: str,
                        definition: str | None = None) -> str:
    """``definition``: the job ``job`` invokes, when its name differs (a job of a job group)."""
    return (
        f'workflow "{workflow}", job "{job}": deploys with production context {context} on resource class '
        f"{resource_class}; define job {definition or job} in this config with resource_class {allowed}"
    )


def runner_not_a_deploy_reason(workflow: str, job: str, resource_class: str, environment: str, context: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": asks for runner class {resource_class}, which is reserved to the '
        f"deploy jobs of {environment} (context {context}); run this job on another resource class"
    )


def runner_branch_reason(workflow: str, job: str, resource_class: str, environment: str, branches: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": asks for runner class {resource_class}, reserved to {environment} '
        f"deploys from {branches}, but is not filtered to that alone; set filters.branches.only to {branches} "
        "and remove other branches, patterns, tags and expression filters"
    )


def runner_project_reason(workflow: str, job: str, resource_class: str, environment: str, project_id: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": asks for runner class {resource_class}, reserved to the projects that '
        f"deploy to {environment}, and project {project_id} is not one of them; run this job on another resource class"
    )


def image_reason(holder: str, name: str, image: str, registries: tuple[str, ...]) -> str:
    return (
        f'{holder} "{name}": image {image} is not from an approved registry; use an image under '
        f"{', '.join(sorted(registries))}"
    )


def code_freeze_reason(workflow: str, job: str, repository: str, context: str, branch: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": {repository} is under a code freeze, so nothing deploys to '
        f"production (context {context}), not even from {branch}; remove this job until the freeze is "
        "lifted in the declaration's pipeline_policy.code_freeze"
    )


def approval_reason(workflow: str, job: str, context: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": deploys with context {context}, which is held for approval, without '
        "requiring an approval job (type: approval) first; add one to the workflow and to this job's requires "
        "(directly or through a job it requires)"
    )


def approval_gate_reason(workflow: str, job: str, context: str, approval: str,
                         branches: tuple[str, ...] | None) -> str:
    """``job`` requires ``approval``, which may not run where ``job`` does (``branches``: the branches its
    filters name, ``None`` when they name none)."""
    return (
        f'workflow "{workflow}", job "{job}": deploys with context {context}, which is held for approval, but '
        f"approval job {approval} is not sure to run {_where(branches)}; give {approval}, and each job between "
        "them, this job's filters or none, with no matrix or serial-group"
    )


def security_gate_reason(workflow: str, job: str, context: str, security_job: str,
                         branches: tuple[str, ...] | None) -> str:
    """``job`` requires ``security_job`` (through the jobs between them), which may not run where ``job`` does."""
    return (
        f'workflow "{workflow}", job "{job}": deploys with context {context}, but security job {security_job} is '
        f"not sure to run {_where(branches)}; give {security_job}, and each job between them, this job's filters "
        "or none, with no matrix or serial-group"
    )


def job_groups_shape_reason() -> str:
    return (
        "job-groups: is not a map of job groups, each with a list of jobs under jobs, which this policy cannot "
        "read; write each group as its name with its jobs listed under jobs"
    )


def job_group_named_like_a_job_reason(group: str) -> str:
    return (
        f'job group "{group}": is also the name of a job, which CircleCI refuses and this policy cannot read; '
        "rename the group or the job"
    )


def nested_job_group_reason(group: str, job: str, nested: str) -> str:
    return (
        f'job group "{group}", job "{job}": invokes job group {nested}, which CircleCI does not nest and this policy '
        f"cannot read; list the jobs of {nested} in {group} itself"
    )


def job_group_invocation_reason(workflow: str, name: str, group: str, keys: tuple[str, ...]) -> str:
    """The invocation ``name`` of ``group`` sets ``keys`` besides name, requires, filters and serial-group."""
    return (
        f'workflow "{workflow}", job "{name}": invokes job group {group} with {", ".join(sorted(keys))}, which this '
        "policy cannot read on a job group (CircleCI documents name, requires, filters and serial-group there); "
        "move them to the group's jobs or remove them"
    )


def job_group_name_clash_reason(workflow: str, job: str, group: str) -> str:
    return (
        f'workflow "{workflow}", job "{job}": names a job of job group {group} (read as "<invocation>/<job>", the '
        "group-end job as the invocation) and another job of the workflow, which this policy cannot tell apart; "
        "give the group's invocation a name: that no other job of the workflow has or starts with"
    )


def _where(branches: tuple[str, ...] | None) -> str:
    if not branches:
        return "everywhere this job runs"
    names = sorted(set(branches))
    return f"on branch{'es' if len(names) > 1 else ''} {', '.join(names)}, where this job runs"


def _approved_orbs_text(approved: tuple[str, ...]) -> str:
    return ", ".join(sorted(approved)) if approved else "no orb (none is approved)"
