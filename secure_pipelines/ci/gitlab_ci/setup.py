"""GitLab CI's steps of the setup checklist: each project's ids and protections (branch, environments,
variables, pipeline settings), each environment's protected runners, developers' ids, and each
project's rendered ``.gitlab-ci.yml``. GitLab has no Pulumi provider here: all of it is by hand."""

from __future__ import annotations

from collections.abc import Iterator

from ...checklist.steps import Phase, Scope, Setup, Step, Value, declared, hint
from ...declaration.model import PROTECTED_TIERS
from ...plan.model import Plan
from . import ids
from .infrastructure import RUNNER_TAG
from .plan import NAME, GitLabCIPlan, gitlab_plan

TITLE = "GitLab CI"


class GitLabCISetupSteps:
    """The ``SetupSteps`` capability of GitLab CI."""

    def steps(self, setup: Setup) -> list[Step]:
        plan = setup.plan
        gitlab = gitlab_plan(plan)
        return [*_ids(gitlab), *_runners(plan, gitlab), *_projects(setup, gitlab), *_infrastructure(plan, gitlab)]


def _ids(gitlab: GitLabCIPlan) -> Iterator[Step]:
    for project in gitlab.projects:
        where = f"repositories[{project.repository}].ci.gitlab_ci"
        yield Step(
            f"gitlab-ci.project-ids.{project.repository}", Phase.DECLARE, Scope("repository", project.repository),
            f"Paste the ids of {project.repository}'s GitLab project into the declaration",
            values=(Value(f"{where}.project_id", declared(project.project_id)),
                    Value(f"{where}.namespace_id", declared(project.namespace_id)),
                    Value(f"{where}.project_path", project.project_path)),
            where=f"{ids.PROJECT_ID}; {ids.project_api(gitlab.instance_url, project.project_path)}",
            verify="the API answers with the declared id and namespace.id (with a token for a private project)",
            why="roles bind the immutable ids; the path is pinned by ci_config_ref_uri and changes with a rename",
        )
    for developer, user_id in gitlab.developers:
        yield Step(
            f"gitlab-ci.user-id.{developer}", Phase.DECLARE, Scope("ci", TITLE),
            f"Paste {developer}'s GitLab user id into the declaration",
            values=(Value(f"developers[{developer}].ci.gitlab_ci.user_id", declared(user_id)),),
            where=ids.user_api(gitlab.instance_url, f"<{developer}'s username>"),
            verify=f"{developer}'s dev deploy logs in as their own role",
        )


def _runners(plan: Plan, gitlab: GitLabCIPlan) -> Iterator[Step]:
    paths = [p.project_path for p in gitlab.projects]
    for environment in gitlab.environments:
        if not environment.runner_tags:
            continue
        allowlist = ", ".join(plan.environment(environment.environment).ip_allowlist)
        yield Step(
            f"gitlab-ci.runners.{environment.environment}", Phase.CI, Scope("environment", environment.environment),
            f"Register protected, locked runners for the {environment.environment} deploy jobs",
            values=(Value("runner tags", ", ".join(environment.runner_tags)),
                    Value("protected", "yes"),
                    Value("locked to", ", ".join(paths)),
                    Value("egress addresses within", allowlist),
                    hint("one job per machine", "a fresh machine or container per job")),
            where="GitLab > the project > Settings > CI/CD > Runners > New project runner (tags, Protected, Lock to "
                  "current projects), then `gitlab-runner register` on each machine",
            verify=f"the runner shows the tags and 'protected'; its public address is in {allowlist}",
            why="Vault admits these deploys only from a self-hosted runner inside the allowlist; what one job leaves "
                "on a runner, the next job there can read",
            environment=environment.environment,
        )


def _projects(setup: Setup, gitlab: GitLabCIPlan) -> Iterator[Step]:
    plan = setup.plan
    protected = [e for e in gitlab.environments if e.tier in PROTECTED_TIERS]
    for project in gitlab.projects:
        scope = Scope("repository", project.repository)
        branch = plan.repository(project.repository).default_branch
        deploying = [e for e in protected if any(d.repository == project.repository
                                                 for d in plan.environment(e.environment).deployments)]
        yield Step(
            f"gitlab-ci.protected-branch.{project.repository}", Phase.REPOSITORIES, scope,
            f"Protect {project.project_path}'s default branch {branch}",
            values=(Value("allowed to push", "No one"),
                    hint("allowed to merge", "Maintainers (or Developers + Maintainers)"),
                    Value("allowed to force push", "off"),
                    hint("merge request approvals (Premium)", "code owners, no approval by the author, approvals "
                                                              "reset on new commits")),
            where="GitLab > the project > Settings > Repository > Protected branches; Settings > Merge requests",
            verify=f"a push to {branch} is refused; a merge request to it needs its approvals",
            why="staging and production roles require ref_protected: \"true\", so an unprotected branch refuses "
                "deploys, but only this protection decides who may merge",
        )
        for environment in deploying:
            if not environment.environment_protected:
                continue
            yield Step(
                f"gitlab-ci.protected-environment.{project.repository}.{environment.environment}",
                Phase.REPOSITORIES, scope,
                f"Protect the {environment.environment} environment of {project.project_path}, with deployment "
                "approvals",
                values=(Value("environment", environment.environment),
                        hint("allowed to deploy", f"the people who may deploy to {environment.environment}"),
                        hint("required approvals", "at least 1"),
                        Value("allow pipeline triggerer to approve deployment", "off")),
                where="GitLab > the project > Settings > CI/CD > Protected environments",
                verify=f"a deploy job to {environment.environment} waits for an approval by someone else",
                why="roles require environment_protected: \"true\"; who may deploy and approve is GitLab's alone",
                environment=environment.environment,
            )
        yield Step(
            f"gitlab-ci.project-settings.{project.repository}", Phase.REPOSITORIES, scope,
            f"Set {project.project_path}'s CI/CD variable and pipeline settings",
            values=(setup.vault_address(plan.resources_stack),
                    Value("VAULT_ADDR flags", "Protect variable"),
                    Value("ci_pipeline_variables_minimum_override_role", "no_one_allowed"),
                    Value("ci_allow_fork_pipelines_to_run_in_parent_project", "false"),
                    Value("CI/CD configuration file", project.ci_config_path)),
            where="GitLab > the project > Settings > CI/CD > Variables (minimum role to use pipeline variables: no one "
                  "allowed) and General pipelines; or the projects API (PUT /projects/:id)",
            verify="a pipeline started with extra variables is refused; the deploy job's log-in reaches Vault",
            why="whoever sets variables of a pipeline on the default branch could steer its deploy",
        )
        yield Step(
            f"gitlab-ci.config.{project.repository}", Phase.REPOSITORIES, scope,
            f"Commit {project.repository}'s rendered GitLab CI file through a reviewed merge request",
            values=(Value("from", f"rendered/repositories/{project.repository}/{project.ci_config_path}"),
                    Value("to", project.ci_config_path)),
            where=f"the project {project.project_path}",
            verify="`securepipe render --all --check` passes and the committed file equals the rendered one",
            why="staging and production roles pin this very file (ci_config_ref_uri)",
        )


def _infrastructure(plan: Plan, gitlab: GitLabCIPlan) -> Iterator[Step]:
    """The infrastructure project, where its pipeline runs on GitLab CI: its runners, and each stack's
    protected environment with that stack's Pulumi settings (its branch, variable and file are a project's)."""
    infrastructure = plan.infrastructure
    if infrastructure is None or infrastructure.ci != NAME:
        return
    project = gitlab.project(infrastructure.repository)
    scope = Scope("repository", project.repository)
    allowlist = ", ".join(infrastructure.ip_allowlist)
    yield Step(
        f"gitlab-ci.runners.{RUNNER_TAG}", Phase.CI, scope,
        f"Register protected runners tagged {RUNNER_TAG}, locked to {project.project_path}",
        values=(Value("runner tags", RUNNER_TAG), Value("protected", "yes"), Value("locked to", project.project_path),
                Value("egress addresses within", allowlist),
                hint("job image or machine", "python3 (with venv), jq, curl and the Pulumi CLI"),
                hint("one job per machine", "a fresh machine or container per job")),
        where="GitLab > the project > Settings > CI/CD > Runners > New project runner (tags, Protected, Lock to "
              "current projects), then `gitlab-runner register` on each machine",
        verify=f"the runner shows the tag and 'protected'; its public address is in {allowlist}",
        why="each stack's deployer role admits only these addresses and self-hosted runners: they apply every stack",
    )
    for stack in infrastructure.stacks:
        yield Step(
            f"gitlab-ci.infrastructure-environment.{project.repository}.{stack}", Phase.REPOSITORIES, scope,
            f"Protect the {stack} environment of {project.project_path}, with stack {stack}'s Pulumi settings",
            values=(Value("environment", stack),
                    hint("allowed to deploy", f"the people who may apply stack {stack}"),
                    hint("variables scoped to it", f"the Pulumi backend and secrets-provider settings of stack {stack} "
                                                   "(e.g. PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE), protected")),
            where="GitLab > the project > Settings > CI/CD > Protected environments; Variables (environment scope)",
            verify=f"the apply-{stack} job runs in the environment {stack} and reads only its own stack's settings",
            why=f"the deployer role of stack {stack} requires environment {stack} (protected, on Premium and above)",
            environment=stack,
        )
