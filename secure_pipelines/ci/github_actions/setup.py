"""GitHub Actions' steps of the setup checklist: developers' ids, each environment's self-hosted runners
(label, runner group, ephemeral), and each repository's variables and rendered workflow."""

from __future__ import annotations

from collections.abc import Iterator

from ...checklist.steps import Phase, Scope, Setup, Step, Value, declared, hint
from ...declaration.where import github_user_id
from ...plan.model import Plan
from .render import ACTIONLINT_PATH, github_actions_pipeline, runs_on
from .workflow import NAME, github_actions_plan, workflow_ref

TITLE = "GitHub Actions"
SELF_HOSTED_LABEL = "self-hosted"


def _repositories(plan: Plan) -> list[str]:
    return [r.name for r in plan.repositories if NAME in r.ci]


class GitHubActionsSetupSteps:
    """The ``SetupSteps`` capability of GitHub Actions."""

    def steps(self, setup: Setup) -> list[Step]:
        return [*_developers(setup.plan), *_runners(setup.plan), *_repositories_steps(setup)]


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
