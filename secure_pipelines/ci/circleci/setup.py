"""CircleCI's steps of the setup checklist: its ids, each context (created, its id pasted in, restricted,
holding VAULT_ADDR), each runner class, the organisation's settings and config policies, and each
project's variables and rendered config."""

from __future__ import annotations

from collections.abc import Iterator

from ...checklist.steps import Phase, Scope, Setup, Step, Value, declared, hint
from ...plan.model import Plan
from . import ids
from .plan import NAME, CircleCIPlan, circleci_plan
from .render import CONFIG_PATH

TITLE = "CircleCI"
POLICIES = "rendered/circleci/policies/"


def _deploying(plan: Plan, environment: str) -> list[str]:
    return [d.repository for d in plan.environment(environment).deployments if d.ci == NAME]


class CircleCISetupSteps:
    """The ``SetupSteps`` capability of CircleCI."""

    def steps(self, setup: Setup) -> list[Step]:
        plan = setup.plan
        circleci = circleci_plan(plan)
        return [*_ids(plan, circleci), *_contexts(setup, circleci), *_runners(plan, circleci),
                *_organization(circleci), *_projects(plan, circleci)]


def _ids(plan: Plan, circleci: CircleCIPlan) -> Iterator[Step]:
    scope = Scope("ci", TITLE)
    yield Step(
        "circleci.org-id", Phase.DECLARE, scope, "Paste the CircleCI organisation's id into the declaration",
        values=(Value("ci.circleci.org_id", declared(circleci.org_id)),), where=ids.ORG_ID,
        verify=f"`curl -sf {ids.issuer_configuration(circleci.org_id)}` answers (only a real organisation id has "
               "an OIDC issuer)",
        why="the JWT mount trusts exactly this organisation's issuer, and every role requires it as the audience",
    )
    for project in circleci.projects:
        values = [Value(f"repositories[{project.repository}].ci.circleci.project_id", declared(project.project_id))]
        if project.pipeline_definition_id is not None:
            values.append(Value(f"repositories[{project.repository}].ci.circleci.pipeline_definition_id",
                                declared(project.pipeline_definition_id)))
        yield Step(
            f"circleci.project-ids.{project.repository}", Phase.DECLARE, Scope("repository", project.repository),
            f"Paste the ids of {project.repository}'s CircleCI project into the declaration",
            values=tuple(values), where=f"{ids.PROJECT_ID}; {ids.PIPELINE_DEFINITION_ID}",
            verify="`echo $CIRCLE_PROJECT_ID` in any job of the project prints the declared project id",
            why="roles bind the immutable project id and, for staging and production, the reviewed pipeline "
                "definition",
        )
    for environment in circleci.environments:
        context = environment.context
        if context is None:
            continue
        yield Step(
            f"circleci.context.{environment.environment}", Phase.DECLARE, Scope("environment", environment.environment),
            f"Create the CircleCI context {context.name} and paste its id into the declaration",
            values=(Value("context", context.name),
                    Value(f"environments[{environment.environment}].ci.circleci.context.id", declared(context.id))),
            where=f"CircleCI > Organization Settings > Contexts > Create Context; its id: "
                  f"{ids.contexts_api(circleci.org_id)}",
            verify=f"the API lists {context.name} with the declared id",
            why="roles bind the context's id (oidc.circleci.com/context-ids): a renamed context keeps it",
            environment=environment.environment,
        )
    for developer, user_id in circleci.developers:
        yield Step(
            f"circleci.user-id.{developer}", Phase.DECLARE, scope,
            f"Paste {developer}'s CircleCI user id into the declaration",
            values=(Value(f"developers[{developer}].ci.circleci.user_id", declared(user_id)),),
            where=f"{ids.USER_ID}, or {ids.USER_ID_API}",
            verify=f"{developer}'s dev deploy logs in as their own role",
        )


def _contexts(setup: Setup, circleci: CircleCIPlan) -> Iterator[Step]:
    for environment in circleci.environments:
        context, name = environment.context, environment.environment
        if context is None:
            continue
        scope = Scope("environment", name)
        yield Step(
            f"circleci.context-expression.{name}", Phase.CI, scope,
            f"Restrict the context {context.name} by this expression",
            values=(Value("expression", context.restriction_expression),),
            where=f"CircleCI > Organization Settings > Contexts > {context.name} > Add Expression Restriction, or "
                  f"`circleci context restriction create {context.id} --type expression --value '<expression>'`",
            verify="the context lists exactly this expression; a job using it on another branch, in an SSH rerun or "
                   "with an unversioned config fails as Unauthorized",
            why="an SSH rerun of a per-developer job, or a pipeline run with a config nobody committed, carries the "
                "same OIDC claims as the reviewed pipeline: only the context can refuse it",
            environment=name,
        )
        if context.security_group:
            held = environment.approval_hold
            yield Step(
                f"circleci.context-group.{name}", Phase.CI, scope,
                f"Restrict the context {context.name} to the security group {context.security_group}, and remove "
                "All members",
                values=(Value("security group", context.security_group),),
                where=f"CircleCI > Organization Settings > Contexts > {context.name} > Add Security Group (GitHub "
                      "OAuth organisations); after changing the team, Refresh Permissions (User Settings > Account "
                      "Integrations)",
                verify=f"the context's Security column lists only {context.security_group}; a deploy "
                       f"{'approved' if held else 'started'} by someone outside it fails as Unauthorized",
                why=("only an approval by a member releases the deploy" if held else
                     "only a member's push starts the deploy") + "; add no project restriction beside it: CircleCI "
                    "admits a user who is in one of the groups or projects assigned to a context (Vault already binds "
                    "each role to its project)",
                environment=name,
            )
        yield Step(
            f"circleci.context-variables.{name}", Phase.CI, scope,
            f"Add the Vault address to the context {context.name}",
            values=(setup.vault_address(name),),
            where=f"CircleCI > Organization Settings > Contexts > {context.name} > Add Environment Variable, or "
                  f"`circleci context secret set {context.id} --name VAULT_ADDR`",
            verify="the deploy job's log-in step reaches Vault",
            why="in the context, not in project settings: whoever may edit project settings could point deploys at a "
                "server that collects their tokens",
            environment=name,
        )


def _runners(plan: Plan, circleci: CircleCIPlan) -> Iterator[Step]:
    for environment in circleci.environments:
        name = environment.environment
        if not _deploying(plan, name):
            continue
        allowlist = ", ".join(plan.environment(name).ip_allowlist)
        if environment.runner_resource_class:
            yield Step(
                f"circleci.runner-class.{name}", Phase.CI, Scope("environment", name),
                f"Create the runner resource class {environment.runner_resource_class} and run ephemeral runners "
                "for it",
                values=(Value("resource class", environment.runner_resource_class),
                        Value("egress addresses within", allowlist),
                        hint("one job per machine", "machine runner 3 with runner.mode: single-task on a machine "
                                                    "replaced after each job, or the container runner")),
                where="CircleCI > Self-Hosted Runners > Create Resource Class (organisation admins), then install the "
                      "runners with its token",
                verify=f"a runner of the class is online; its public address is in {allowlist}; the config policy "
                       "runner_classes_reserved_to_deploys refuses any other job asking for the class",
                why="Vault admits the deploys only from these addresses, and a runner keeps whatever one job leaves "
                    "for the next",
                environment=name,
            )
        if environment.ip_ranges:
            yield Step(
                f"circleci.ip-ranges.{name}", Phase.CI, Scope("environment", name),
                f"Enable CircleCI's IP ranges for the {name} deploy jobs (Performance or Scale plan)",
                values=(Value("egress addresses within", allowlist),),
                where="the rendered config sets circleci_ip_ranges: true on the deploy jobs; the ranges are the A "
                      "records of all.knownips.circleci.com",
                verify=f"`dig +short all.knownips.circleci.com` lies within {allowlist}",
                why="these ranges are shared by every CircleCI customer who enables them",
                environment=name,
            )


def _organization(circleci: CircleCIPlan) -> Iterator[Step]:
    scope = Scope("ci", TITLE)
    owner = f"--owner-id {circleci.org_id}"
    yield Step(
        "circleci.unversioned-config", Phase.CI, scope, "Switch off triggering pipelines with unversioned config",
        values=(Value("Trigger pipelines with unversioned config", "Off"),),
        where="CircleCI > Organization Settings > Advanced, and Project Settings > Advanced of each project",
        verify="both settings show Off",
        why="such a pipeline runs a config nobody reviewed with the contexts and OIDC tokens of the branch it names "
            "(the context expression refuses it too)",
    )
    yield Step(
        "circleci.config-policies", Phase.CI, scope, "Push the rendered config policies and switch their evaluation on",
        values=(Value("test", f"circleci policy test {POLICIES}"),
                Value("push", f"circleci policy push {POLICIES} {owner}"),
                Value("switch on", f"circleci policy settings --enabled=true {owner}")),
        where="the CircleCI CLI, as an organisation admin (config policies need the Scale plan or CircleCI server)",
        verify=f"`circleci policy diff {POLICIES} {owner}` shows no difference",
        why="they refuse a pipeline that would use a production context off the default branch, in an SSH rerun, "
            "on another runner class, without its security jobs or approval",
    )


def _projects(plan: Plan, circleci: CircleCIPlan) -> Iterator[Step]:
    for project in circleci.projects:
        repository = project.repository
        scope = Scope("repository", repository)
        yield Step(
            f"circleci.project-settings.{repository}", Phase.REPOSITORIES, scope,
            f"Set the image registry variables of {repository}'s CircleCI project, and keep forked builds secretless",
            values=(hint("IMAGE_REPOSITORY", f"the image's repository, e.g. ghcr.io/{plan.github_owner}/{repository}"),
                    hint("REGISTRY_USERNAME", "an account that may push to it"),
                    hint("REGISTRY_PASSWORD", "its token, allowed to push to that repository only"),
                    Value("Pass secrets to builds from forked pull requests", "Off")),
            where="CircleCI > Project Settings > Environment Variables; Project Settings > Advanced",
            verify="the build-image job pushes the image and records its digest",
            why="the build runs on every branch, so these hold registry credentials only, never a deploy secret; "
                "forked builds get OIDC tokens only with the forked-secrets setting on",
        )
        yield Step(
            f"circleci.config.{repository}", Phase.REPOSITORIES, scope,
            f"Commit {repository}'s rendered CircleCI config through a reviewed pull request",
            values=(Value("from", f"rendered/repositories/{repository}/{CONFIG_PATH}"),
                    Value("to", CONFIG_PATH)),
            where=f"the repository {plan.github_owner}/{repository}",
            verify="`securepipe render --all --check` passes and the committed file equals the rendered one",
        )
