"""GitHub Actions' steps of the setup checklist: developers' ids, each environment's self-hosted runners
(label, runner group, ephemeral), and each repository's variables and rendered workflow."""

from __future__ import annotations

from collections.abc import Iterator

from ...checklist.steps import Phase, Scope, Setup, Step, Value, declared, hint
from ...declaration.where import github_user_id
from ...plan.model import Plan
from .infrastructure import RUNNER_LABEL
from .infrastructure import WORKFLOW_PATH as INFRASTRUCTURE_WORKFLOW_PATH
from .render import ACTIONLINT_PATH, github_actions_pipeline, runs_on
from .workflow import NAME, github_actions_plan, workflow_ref

TITLE = "GitHub Actions"
SELF_HOSTED_LABEL = "self-hosted"


def _repositories(plan: Plan) -> list[str]:
    """The application repositories on GitHub Actions (the infrastructure repository has steps of its own)."""
    infrastructure = plan.infrastructure.repository if plan.infrastructure else None
    return [r.name for r in plan.repositories if NAME in r.ci and r.name != infrastructure]


class GitHubActionsSetupSteps:
    """The ``SetupSteps`` capability of GitHub Actions."""

    def steps(self, setup: Setup) -> list[Step]:
        return [*_developers(setup.plan), *_runners(setup.plan), *_repositories_steps(setup),
                *_infrastructure_steps(setup)]


def _developers(plan: Plan) -> Iterator[Step]:
    for developer, user_id in github_actions_plan(plan).developers:
        yield Step(
            f"github-actions.user-id.{developer}", Phase.DECLARE, Scope("ci", TITLE),
            f"Paste {developer}'s GitHub user id into the declaration",
            values=(Value(f"developers[{developer}].ci.github_actions.user_id", declared(user_id)),),
            where=github_user_id(f"<{developer}'s login>"),
            verify=f"{developer}'s dev deploy picks their own role (it matches the token's actor_id)",
        )


def runner_labels(plan: Plan) -> dict[str, list[str]]:
    """Environment -> the repositories whose deploy jobs to it run on self-hosted runners labelled with it
    (the labels the rendered workflows ask for)."""
    found: dict[str, list[str]] = {}
    for repository in _repositories(plan):
        for job in github_actions_pipeline(plan, repository).deploy_jobs:
            labels = runs_on(job)
            if labels[0] == SELF_HOSTED_LABEL:
                for label in labels[1:]:
                    found.setdefault(label, []).append(repository)
    return found


def _runners(plan: Plan) -> Iterator[Step]:
    main = {r.name: r.default_branch for r in plan.repositories}
    for label, repositories in runner_labels(plan).items():
        environment = plan.environment(label)
        allowlist = ", ".join(environment.ip_allowlist)
        workflows = ", ".join(workflow_ref(f"{plan.github_owner}/{r}", f"refs/heads/{main[r]}",
                                           github_actions_plan(plan).workflow_path) for r in repositories)
        yield Step(
            f"github-actions.runners.{label}", Phase.CI, Scope("environment", label),
            f"Run ephemeral self-hosted runners labelled {label}, in a runner group of their own",
            values=(Value("runner labels", f"{SELF_HOSTED_LABEL}, {label}"),
                    hint("runner group", f"one for {label} only, e.g. {plan.organization}-{label}-deployers"),
                    Value("repository access", ", ".join(repositories)),
                    Value("workflow access (Enterprise)", workflows),
                    Value("egress addresses within", allowlist),
                    hint("one job per machine", "./config.sh --ephemeral, or just-in-time runners")),
            where=f"GitHub > Organization settings > Actions > Runner groups; on each runner: ./config.sh --url "
                  f"https://github.com/{plan.github_owner} --labels {label} --runnergroup <group> --ephemeral",
            verify=f"the runner group admits only {', '.join(repositories)}; Settings > Actions > Runners lists its "
                   f"runners with the label {label}; their public address is in {allowlist}",
            why="Vault admits these deploys only from the allowlist and only from self-hosted runners; a persistent "
                "runner keeps what one job leaves for the next",
            environment=label,
        )


def _repositories_steps(setup: Setup) -> Iterator[Step]:
    plan = setup.plan
    addresses = {e.name: setup.vault_address(e.name) for e in plan.environments}
    distinct = list(dict.fromkeys(addresses.values()))
    vault = (tuple(distinct) if len(distinct) == 1 else
             tuple(Value(f"VAULT_ADDR (variable of environment {name})", address.value, address.exact)
                   for name, address in addresses.items()))
    path = github_actions_plan(plan).workflow_path
    for repository in _repositories(plan):
        scope = Scope("repository", repository)
        yield Step(
            f"github-actions.variables.{repository}", Phase.REPOSITORIES, scope,
            f"Set the Actions variables of {repository}",
            values=(*vault, hint("IMAGE_REPOSITORY", f"e.g. ghcr.io/{plan.github_owner}/{repository}")),
            where=f"GitHub > {plan.github_owner}/{repository} > Settings > Secrets and variables > Actions > Variables",
            verify="the build job pushes the image; each deploy job's log-in step reaches Vault",
            why="variables, not secrets: neither is secret, and the deploy's only credential is its OIDC token",
        )
        yield Step(
            f"github-actions.workflow.{repository}", Phase.REPOSITORIES, scope,
            f"Commit {repository}'s rendered workflow through a reviewed pull request",
            values=(Value("from", f"rendered/repositories/{repository}/{path}"), Value("to", path),
                    Value("and from", f"rendered/repositories/{repository}/{ACTIONLINT_PATH}"),
                    Value("to", ACTIONLINT_PATH)),
            where=f"the repository {plan.github_owner}/{repository}",
            verify="`securepipe render --all --check` passes and the committed files equal the rendered ones",
            why=f"staging and production roles admit only {path} at the default branch",
        )


def _infrastructure_steps(setup: Setup) -> Iterator[Step]:
    """The infrastructure repository, where its pipeline runs on GitHub Actions: its runners, its variables
    and each stack's Pulumi settings, its rendered workflow."""
    plan = setup.plan
    infrastructure = plan.infrastructure
    if infrastructure is None or infrastructure.ci != NAME:
        return
    repository = infrastructure.repository
    scope = Scope("repository", repository)
    allowlist = ", ".join(infrastructure.ip_allowlist)
    workflow = workflow_ref(f"{plan.github_owner}/{repository}", f"refs/heads/{infrastructure.default_branch}",
                            INFRASTRUCTURE_WORKFLOW_PATH)
    yield Step(
        f"github-actions.runners.{RUNNER_LABEL}", Phase.CI, scope,
        f"Run ephemeral self-hosted runners labelled {RUNNER_LABEL} for {repository}, in a runner group of their own",
        values=(Value("runner labels", f"{SELF_HOSTED_LABEL}, {RUNNER_LABEL}"),
                hint("runner group", f"one for {repository} only, e.g. {plan.organization}-infrastructure"),
                Value("repository access", repository),
                Value("workflow access (Enterprise)", workflow),
                Value("egress addresses within", allowlist),
                hint("installed", "python3 (with venv), jq, curl and the Pulumi CLI"),
                hint("one job per machine", "./config.sh --ephemeral, or just-in-time runners")),
        where=f"GitHub > Organization settings > Actions > Runner groups; on each runner: ./config.sh --url "
              f"https://github.com/{plan.github_owner} --labels {RUNNER_LABEL} --runnergroup <group> --ephemeral",
        verify=f"the runner group admits only {repository}; their public address is in {allowlist}",
        why="each stack's deployer role admits only these addresses and self-hosted runners: they apply every stack",
    )
    yield Step(
        f"github-actions.variables.{repository}", Phase.REPOSITORIES, scope,
        f"Set the Actions variable of {repository}, and each stack's Pulumi settings in its environment",
        values=(setup.vault_address(plan.resources_stack),
                *(hint(f"environment {stack}", "the Pulumi backend and secrets-provider settings of stack "
                                               f"{stack} (e.g. PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE), as "
                                               "secrets of this environment only")
                  for stack in infrastructure.stacks)),
        where=f"GitHub > {plan.github_owner}/{repository} > Settings > Secrets and variables > Actions; "
              "Settings > Environments > <stack> > Environment secrets",
        verify=f"each apply job logs in to Vault and `pulumi up` reads its stack; the {infrastructure.stacks[0]} job "
               "runs first",
        why="no Vault token is stored anywhere: each job buys a short one with its OIDC token",
    )
    yield Step(
        f"github-actions.workflow.{repository}", Phase.REPOSITORIES, scope,
        f"Commit {repository}'s rendered infrastructure workflow through a reviewed pull request",
        values=(Value("from", f"rendered/repositories/{repository}/{INFRASTRUCTURE_WORKFLOW_PATH}"),
                Value("to", INFRASTRUCTURE_WORKFLOW_PATH),
                Value("and from", f"rendered/repositories/{repository}/{ACTIONLINT_PATH}"),
                Value("to", ACTIONLINT_PATH)),
        where=f"the repository {plan.github_owner}/{repository}",
        verify="`securepipe render --all --check` passes and the committed files equal the rendered ones",
        why=f"each stack's deployer role admits only {INFRASTRUCTURE_WORKFLOW_PATH} at the default branch",
    )
