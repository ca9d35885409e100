"""CircleCI as a :class:`~secure_pipelines.ci.base.CISystem`: issuer, audience, bindings, deploy
settings, plan data, rendered files, rehearsal identity, attacks and later layers."""

from __future__ import annotations

from ...declaration.model import GITHUB_HOST, REVIEWED_TIERS, Declaration, Developer, Environment, Repository, Tier
from ...errors import Problem
from ...plan.model import BoundClaim, Plan
from ...render.templating import RenderSource
from ..base import AttackTarget, Binding, DeploySettings, JobAttack, SectionModels
from . import checks, claims, sections
from .identity import CircleCIIdentity, vcs_origin
from .layers import CircleCILayers
from .plan import NAME, CircleCIPlan, build, circleci_plan
from .policy.capability import CircleCIConfigPolicy
from .render import CONFIG_PATH, circleci_config
from .scaffold import CircleCIScaffold
from .setup import CircleCISetupSteps

VERSION_1_MOVES = (
    ("ci.circleci.contexts.<environment>", "environments[<environment>].ci.circleci.context"),
    ("pipeline_policy.approved_orbs", "ci.circleci.config_policy.approved_orbs"),
    ("pipeline_policy.banned_orb_versions", "ci.circleci.config_policy.banned_orb_versions"),
    ("pipeline_policy.rules", "ci.circleci.config_policy.rules"),
    ("pipeline_policy.production_resource_class",
     "environments[<production>].ci.circleci.runner_resource_class"),
    ("repositories[].circleci_project_id", "repositories[].ci.circleci.project_id"),
    ("repositories[].circleci_pipeline_definition_id", "repositories[].ci.circleci.pipeline_definition_id"),
    ("repositories[].vcs_origin", "repositories[].ci.circleci.vcs_origin"),
    ("environments[].runner_resource_class", "environments[].ci.circleci.runner_resource_class"),
    ("environments[].circleci_ip_ranges", "environments[].ci.circleci.ip_ranges"),
    ("environments[].approval_hold", "environments[].ci.circleci.approval_hold"),
    ("developers[].circleci_user_id", "developers[].ci.circleci.user_id"),
)


def _unpinned_override(repository: Repository) -> str | None:
    """The declaration's override accepting an unpinned pipeline definition, quoted with its reason."""
    section = sections.repository(repository)
    reason = section.overrides.unpinned_pipeline_definition if section is not None else None
    return f"repositories[{repository.name}].ci.circleci.{checks.UNPINNED}: {reason!r}" if reason else None


class CircleCIContexts:
    """CircleCI's contexts capability: each environment's context, its expression and security group."""

    def restriction(self, plan: Plan, environment: str) -> str | None:
        context = circleci_plan(plan).context(environment)
        return context.restrictions if context else None


class CircleCISystem:
    """CircleCI: one JWT mount per CircleCI organisation, roles bound to project, context and ref."""

    key = sections.KEY
    name = NAME
    title = "CircleCI"
    mount_path = "circleci"
    user_claim = "sub"
    sections = SectionModels(
        organization=sections.CircleCIOrganization,
        repository=sections.CircleCIRepository,
        environment=sections.CircleCIEnvironment,
        developer=sections.CircleCIDeveloper,
        organization_hint="with org_id (and config_policy)",
    )
    identity = CircleCIIdentity()
    contexts = CircleCIContexts()
    later_layers = CircleCILayers()
    config_policy = CircleCIConfigPolicy()
    infrastructure = None
    scaffold = CircleCIScaffold()
    setup_steps = CircleCISetupSteps()
    vcs_host = GITHUB_HOST  # vcs-origin names github.com; CircleCI's GitLab and Bitbucket projects are not modelled
    deploys_through_github_environments = False
    version_1_moves = VERSION_1_MOVES

    def problems(self, declaration: Declaration) -> list[Problem]:
        return checks.problems(declaration)

    def warnings(self, declaration: Declaration) -> list[Problem]:
        return checks.warnings(declaration)

    def issuer(self, declaration: Declaration) -> str:
        return f"{claims.ISSUER_PREFIX}{sections.organization(declaration).org_id}"

    def discovery_url(self, declaration: Declaration) -> str:
        return self.issuer(declaration)

    def audiences(self, declaration: Declaration) -> tuple[str, ...]:
        return (str(sections.organization(declaration).org_id),)

    def binding(
        self, declaration: Declaration, repository: Repository, environment: Environment, developer: Developer | None
    ) -> Binding:
        context = sections.environment(environment).context
        assert context is not None, "checked by validation"
        project = sections.project_id(repository)
        bound = [
            BoundClaim(claims.PROJECT_ID, (project,)),
            BoundClaim(claims.CONTEXT_IDS, (str(context.id),)),
            BoundClaim(claims.VCS_ORIGIN, (vcs_origin(declaration, repository),)),
        ]
        branches = declaration.deploy_branches(environment, repository)
        any_branch = "*" in branches
        if not any_branch:
            bound.append(BoundClaim(claims.VCS_REF, tuple(f"refs/heads/{b}" for b in branches)))
        section = sections.repository(repository)
        if environment.tier in REVIEWED_TIERS and section is not None and section.pipeline_definition_id:
            bound.append(BoundClaim(claims.PIPELINE_DEFINITION_ID, (str(section.pipeline_definition_id),)))
        user = sections.developer(developer) if developer is not None else None
        if developer is not None:
            # CircleCI names the triggering user only inside `sub`. The fixed prefix ends with the
            # user id and a '/', so the trailing glob can only span the vcs part of the subject.
            assert user is not None, "checked by validation"
            org_id = sections.organization(declaration).org_id
            bound.append(BoundClaim("sub", (f"org/{org_id}/project/{project}/user/{user.user_id}/*",)))
            match = "glob"
        else:
            # A JSON boolean: only a role written with typed bound_claims can require it.
            bound.append(BoundClaim(claims.SSH_RERUN, (False,)))
            match = "string"
        return Binding(
            claims=tuple(bound),
            claims_match=match,
            ref_binding="any branch" if any_branch else ", ".join(f"refs/heads/{b}" for b in branches),
            deploy_via=f"context {context.name}",
            user_id=str(user.user_id) if user is not None else None,
            developer_jobs=(f"jobs {developer.name} causes to run: {developer.name}'s pushes, and any pipeline "
                            f"{developer.name} triggers or reruns, whoever pushed its branch")
            if developer is not None else None,
        )

    def deploy_settings(self, declaration: Declaration, repository: Repository, environment: Environment
                        ) -> DeploySettings:
        section = sections.environment(environment)
        return DeploySettings(
            deploy_via=section.context.name if section.context else None,
            runner=section.runner_resource_class,
        )

    def holds_for_approval(self, declaration: Declaration, environment: Environment) -> bool:
        return any(sections.builds_on_circleci(r) for r in declaration.repositories
                   if r.name in environment.repositories) and sections.environment(environment).approval_hold

    def plan_extra(self, declaration: Declaration) -> CircleCIPlan:
        return build(declaration)

    def pipeline_files(self, plan: Plan, repository: str, source: RenderSource) -> dict[str, str]:
        return {CONFIG_PATH: circleci_config(plan, repository, source)}

    def attacks(self, target: AttackTarget) -> list[JobAttack]:
        """Another pipeline definition of the project, SSH reruns (also of another developer's job), a
        pipeline on the legitimate ref run with a config that was never committed, one a custom webhook
        started, and a deploy released by someone outside the context's security group (its approver
        where held, else who started it)."""
        legitimate = target.legitimate
        found: list[JobAttack] = []
        if target.role.tier is not Tier.DEVELOPMENT:
            found.append(JobAttack("another pipeline definition (config source) of the same project",
                                   legitimate.with_trait(claims.FOREIGN_PIPELINE_DEFINITION_TRAIT, True),
                                   accepted_when_unbound=_unpinned_override(legitimate.repository)))
        for ref in (legitimate.ref, *target.other_refs):
            rerun = legitimate.but(ref=ref).with_trait(claims.SSH_RERUN_TRAIT, True)
            found.append(JobAttack(f"SSH rerun on {ref}", rerun))
        found.append(JobAttack(f"unversioned config (pipeline.config_source api) on {legitimate.ref}",
                               legitimate.with_trait(claims.CONFIG_SOURCE_TRAIT, claims.UNVERSIONED_CONFIG)))
        found.append(JobAttack("a pipeline started by a custom webhook (no vcs-origin, no vcs-ref)",
                               legitimate.with_trait(claims.CUSTOM_WEBHOOK_TRAIT, True)))
        context = circleci_plan(target.plan).context(target.role.environment)
        if context is not None and context.security_group and target.role.developer is None:
            held = circleci_plan(target.plan).environment(target.role.environment).approval_hold
            who = "approved by" if held else "started by"
            found.append(JobAttack(f"{who} someone outside security group {context.security_group}",
                                   legitimate.with_trait(claims.RELEASED_BY_OUTSIDER_TRAIT, True)))
        for intruder in target.intruders:
            found.append(JobAttack(f"another developer's SSH rerun ({intruder.name} as {target.role.developer})",
                                   legitimate.but(developer=intruder).with_trait(claims.SSH_RERUN_TRAIT, True)))
        if target.role.developer is not None:
            found.append(_caused_by_another(target))
        return found


CAUSED_BY_ANOTHER_RISK = ("CircleCI's token names the user that caused the job to run (sub), whoever pushed its "
                          "branch, and no claim tells a pipeline {actor} reruns or triggers from one {actor} pushed; "
                          "validate warns about it (environments[{environment}].per_developer)")


def _caused_by_another(target: AttackTarget) -> JobAttack:
    """The role's developer reruns another developer's workflow, or triggers a pipeline on their branch: the
    other's code runs with a token no claim tells from the developer's own push (the same one is fired, so the
    later layers are asked what they already decided). Vault cannot refuse it; the row says so."""
    actor = str(target.role.developer)
    author = target.intruders[0].name if target.intruders else "another developer"
    return JobAttack(f"{actor} reruns {author}'s workflow, or triggers a pipeline on {author}'s branch: {author}'s "
                     f"code runs with the token {actor}'s own push gets", target.legitimate,
                     accepted_when_unbound=CAUSED_BY_ANOTHER_RISK.format(actor=actor,
                                                                         environment=target.role.environment))
