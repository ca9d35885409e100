"""The protocol every CI system implements, and the CI-neutral terms it is spoken in.

A CI system is one folder under ``secure_pipelines/ci/``: its declaration sections and checks, its
claim bindings and plan contributions, its pipeline templates and render function, its rehearsal
identity, attacks and later layers. The core (declaration, plan, render, rehearse, explain) talks
to it only through :class:`CISystem`; a capability a system lacks is ``None`` (or an empty answer).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from ..changes import AccessChange
from ..checklist.steps import Setup, Step
from ..declaration.model import Declaration, Developer, Environment, Repository
from ..errors import Problem
from ..plan.model import BoundClaim, CIRole, ClaimsMatch, Deployment, Plan
from ..render.templating import RenderSource
from ..scaffold.model import NewDeveloper, NewEnvironment, NewOrganization

Event = Literal["push", "tag", "pull_request"]


@dataclass(frozen=True)
class Binding:
    """What one CI role binds, before names and policies are attached."""

    claims: tuple[BoundClaim, ...]
    claims_match: ClaimsMatch
    """``string`` (exact JSON equality) or ``glob``."""
    ref_binding: str
    """For people: which refs may log in (e.g. ``refs/heads/main`` or ``any branch``)."""
    deploy_via: str
    """For people: what the job must run in (a named context, a deployment environment...)."""
    user_id: str | None = None
    """Per developer: the developer's immutable user id on the CI system, as the job's token carries it
    (it names the role, so a job finds its role from its own token)."""
    developer_jobs: str | None = None
    """For people, per developer: which jobs the role admits as the developer's, where the CI system's token
    names who runs a job rather than who wrote its code (e.g. ``runs of lin's pushes``)."""


def refs_for_people(branches: tuple[str, ...]) -> str:
    """``Binding.ref_binding`` for branches that may deploy (``('*',)``: any branch)."""
    return "any branch" if "*" in branches else ", ".join(f"refs/heads/{b}" for b in branches)


@dataclass(frozen=True)
class DeploySettings:
    """Where one repository's deploy job to one environment runs, as its CI system declares it."""

    deploy_via: str | None
    """The name of what the deploy job runs in (a context, a deployment environment); ``None``: nothing."""
    runner: str | None
    """The self-hosted runner (class) the deploy job runs on; ``None``: the system's choice."""


@dataclass(frozen=True)
class Job:
    """One CI job asking Vault for secrets: who runs it, from where, on which ref, with what.

    ``traits`` carry what only one CI system knows about a job (an SSH rerun, say): that system's
    identity and layers read them; the core passes them along.
    """

    ci: str
    """The CI system's name (``CISystem.name``)."""
    repository: Repository
    environment: str
    """The environment the job deploys to (the role it logs in with)."""
    ref: str
    """The git ref, e.g. ``refs/heads/main``."""
    developer: Developer | None
    """The person whose push or rerun started the job."""
    event: Event = "push"
    deploys_via: str | None = None
    """The environment whose context / deployment environment the job runs in (None: none)."""
    from_fork: bool = False
    foreign_repository: bool = False
    """The job runs in another repository of the same organisation (ids nobody declared)."""
    organization_suffix: str | None = None
    """Set when the job runs in another organisation (ids derived from it)."""
    traits: tuple[tuple[str, str | bool], ...] = ()

    def but(self, **changes: Any) -> Job:
        return replace(self, **changes)

    def trait(self, name: str, default: str | bool = False) -> str | bool:
        return next((value for key, value in self.traits if key == name), default)

    def with_trait(self, name: str, value: str | bool) -> Job:
        kept = tuple((key, old) for key, old in self.traits if key != name)
        return replace(self, traits=(*kept, (name, value)))

    @property
    def branch(self) -> str | None:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else None


def fake_uuid(*parts: str) -> str:
    """A stable UUID-shaped id for something the declaration does not name (another org, a fork)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "securepipe-rehearsal:" + "/".join(parts)))


def fake_numeric_id(*parts: str) -> int:
    """A stable numeric id (GitHub-style) for something the declaration does not name."""
    return 900_000_000 + int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:8], 16) % 99_999_999


class JobIdentity(Protocol):
    """How one CI system describes a job in its OIDC token (the rehearsal mints exactly this)."""

    def claims(self, declaration: Declaration, job: Job, now: int) -> dict[str, Any]:
        """The claims the CI system would put in this job's token, issued at ``now``."""
        ...

    def can_run_in(self, plan: Plan, environment: str) -> bool:
        """Whether a job of this CI system can run in ``environment``'s context or deployment environment."""
        ...


@dataclass(frozen=True)
class AttackTarget:
    """A legitimate login and everything a system needs to derive attacks one change away from it."""

    plan: Plan
    declaration: Declaration
    deployment: Deployment
    role: CIRole
    legitimate: Job
    other_refs: tuple[str, ...]
    """Further refs a legitimate job of this role may use."""
    intruders: tuple[Developer, ...]
    """Other developers with a role of the same repository and system in this (per-developer) environment."""


@dataclass(frozen=True)
class JobAttack:
    """A job the role must refuse, one change away from a legitimate one (judged by bound claims)."""

    name: str
    job: Job
    accepted_when_unbound: str | None = None
    """Why this attack is accepted where the plan does not bind the claim it changes: the declaration's
    override (field and quoted reason), or what the environment's tier allows by definition (a development
    environment deploys from any branch); ``None``: nothing accepts it, so if it gets in, it is an escape."""


@dataclass(frozen=True)
class LayerDecision:
    """What a layer after Vault decides for a job, with the check that proves it."""

    layer: str
    stops: bool
    proof: str


class Contexts(Protocol):
    """Capability: a job runs in a named, restricted set of variables (a context) per environment."""

    def restriction(self, plan: Plan, environment: str) -> str | None:
        """The restrictions the environment's context enforces, for people (an expression, who may use
        it), if it has any."""
        ...


class LaterLayers(Protocol):
    """Capability: layers after Vault that stop what Vault admits by design."""

    def start(self, plan: Plan) -> None:
        """Get ready to decide on ``plan``'s jobs (e.g. start worker processes) while the caller does other work."""
        ...

    def prepare(self, plan: Plan, job: Job) -> None:
        """Start the costly decisions for ``job`` in the background (``decide`` with ``thorough`` waits for them)."""
        ...

    def decide(self, plan: Plan, job: Job, *, thorough: bool) -> list[LayerDecision]:
        """The decisions of the layers that apply to ``job`` (the costly ones only when ``thorough``)."""
        ...

    def cpu_seconds(self) -> float:
        """CPU seconds the decisions took outside this process so far (worker processes), for the figures."""
        ...


class ConfigPolicy(Protocol):
    """Capability: organisation-wide policies that decide which pipeline configs may run."""

    def files(self, plan: Plan, source: RenderSource) -> dict[str, str]:
        """The policy bundle and its tests, by path relative to the output directory."""
        ...

    def refusals(self, plan: Plan) -> tuple[Problem, ...]:
        """Every rendered pipeline config evaluated against the rendered policies, on the default
        branch and on a feature branch: each violation (hard or soft: a rendered config must pass) is
        a problem naming the rule, the jobs and the declaration field to change."""
        ...

    def failing_tests(self, plan: Plan) -> tuple[Problem, ...]:
        """The rendered policy tests that fail when run against the rendered policies."""
        ...

    def changes(self, old: Plan | None, new: Plan | None) -> list[AccessChange]:
        """How its policy settings changed between two plans, for reviewers (``None``: not in use there)."""
        ...


class InfrastructurePipeline(Protocol):
    """Capability: the infrastructure repository's own pipeline runs on this system: it checks every change
    without any credential, and on the default branch applies each stack through a JWT role of its own."""

    def binding(self, declaration: Declaration, repository: Repository, environment: Environment) -> Binding:
        """What the role applying ``environment``'s stack binds: the infrastructure repository, its default
        branch, the reviewed pipeline file, the stack's environment (and self-hosted runners)."""
        ...

    def job_traits(self, declaration: Declaration) -> tuple[tuple[str, str | bool], ...]:
        """What the rehearsal adds to a legitimate job to make it an infrastructure job (its pipeline file,
        its runner, its protected environment)."""
        ...

    def files(self, plan: Plan, source: RenderSource) -> dict[str, str]:
        """The infrastructure repository's pipeline files, by path relative to that repository."""
        ...


class Scaffold(Protocol):
    """Capability: this system's parts of the declaration ``securepipe init`` writes. Each part is YAML
    text with comments, at no indentation (the core places it); every id in it is a placeholder whose
    comment says where to find the real one."""

    @property
    def repository_name(self) -> str:
        """The sample repository it builds in the new declaration, e.g. ``webapp``."""
        ...

    def organization(self, new: NewOrganization) -> str:
        """The body of ``ci.<key>`` (``{}`` when there is nothing to set)."""
        ...

    def repository(self, new: NewOrganization) -> str:
        """The sample repository: the mapping of its ``repositories`` entry, ``name`` first."""
        ...

    def environment(self, new: NewOrganization, environment: NewEnvironment) -> str | None:
        """The body of ``environments[].ci.<key>`` (``None``: nothing for this environment)."""
        ...

    def developer(self, new: NewOrganization, developer: NewDeveloper) -> str | None:
        """The body of ``developers[].ci.<key>`` (``None``: it tells developers apart by nothing)."""
        ...


class SetupSteps(Protocol):
    """Capability: the steps this system needs taken by hand (what Pulumi cannot configure in it), for the
    setup checklist: its ids, its settings, its runners and variables, each with the exact value."""

    def steps(self, setup: Setup) -> list[Step]:
        """Its steps for the plan of ``setup`` (any phase and scope; the checklist puts them in order)."""
        ...


@dataclass(frozen=True)
class SectionModels:
    """The declaration sections a CI system reads, one model per level (``None``: no section there)."""

    organization: type[BaseModel]
    repository: type[BaseModel]
    environment: type[BaseModel] | None = None
    developer: type[BaseModel] | None = None
    """Per-developer identity (a user id): ``None`` when the system cannot tell developers apart."""
    organization_hint: str = ""
    """How to fill in the organisation section, for the error when it is missing."""


class CISystem(Protocol):
    """One CI system, as the core sees it (its attributes are read, never set)."""

    @property
    def key(self) -> str:
        """Its key under every ``ci:`` mapping of the declaration (by convention, its folder's name)."""
        ...

    @property
    def name(self) -> str:
        """Its name in the plan and in outputs (JWT mount, resource names, reports)."""
        ...

    @property
    def title(self) -> str:
        """Its name for people, in messages."""
        ...

    @property
    def mount_path(self) -> str:
        """The JWT auth mount for its issuer."""
        ...

    @property
    def user_claim(self) -> str: ...

    @property
    def sections(self) -> SectionModels: ...

    @property
    def identity(self) -> JobIdentity:
        """How its jobs' tokens look (the rehearsal mints them)."""
        ...

    @property
    def contexts(self) -> Contexts | None:
        """Capability: named, restricted contexts jobs run in (``None``: it has none)."""
        ...

    @property
    def later_layers(self) -> LaterLayers | None:
        """Capability: layers after Vault that stop what Vault admits by design."""
        ...

    @property
    def config_policy(self) -> ConfigPolicy | None:
        """Capability: organisation-wide policies on pipeline configs, rendered with their tests."""
        ...

    @property
    def infrastructure(self) -> InfrastructurePipeline | None:
        """Capability: the infrastructure repository's own pipeline (``None``: it cannot run it)."""
        ...

    @property
    def scaffold(self) -> Scaffold | None:
        """Capability: its parts of the declaration a new project starts from (``None``: it writes none)."""
        ...

    @property
    def setup_steps(self) -> SetupSteps | None:
        """Capability: its steps of the setup checklist (``None``: it needs nothing done by hand)."""
        ...

    @property
    def vcs_host(self) -> str:
        """The VCS host its repositories live on. The core knows one, ``declaration.model.GITHUB_HOST``:
        it requires a GitHub id and plans GitHub protection only for repositories hosted there. A
        system on another host says in its own warnings what that host must be set to by hand."""
        ...

    @property
    def deploys_through_github_environments(self) -> bool:
        """Deploy jobs run in GitHub deployment environments, which the plan then declares."""
        ...

    @property
    def version_1_moves(self) -> tuple[tuple[str, str], ...]:
        """Where its version 1 declaration fields went in version 2, for the migration message."""
        ...

    def problems(self, declaration: Declaration) -> list[Problem]:
        """Its cross-field mistakes (ids its bindings need, settings an environment lacks)."""
        ...

    def warnings(self, declaration: Declaration) -> list[Problem]:
        """Its legal but risky choices."""
        ...

    def issuer(self, declaration: Declaration) -> str: ...

    def discovery_url(self, declaration: Declaration) -> str: ...

    def audiences(self, declaration: Declaration) -> tuple[str, ...]: ...

    def binding(
        self, declaration: Declaration, repository: Repository, environment: Environment, developer: Developer | None
    ) -> Binding:
        """What a role of ``repository`` deploying to ``environment`` (as ``developer``) binds."""
        ...

    def deploy_settings(self, declaration: Declaration, repository: Repository, environment: Environment
                        ) -> DeploySettings: ...

    def holds_for_approval(self, declaration: Declaration, environment: Environment) -> bool:
        """Whether its deploy jobs to ``environment`` wait for a person's approval."""
        ...

    def plan_extra(self, declaration: Declaration) -> object | None:
        """Plan data only this system reads (kept in ``Plan.extras`` under its name)."""
        ...

    def pipeline_files(self, plan: Plan, repository: str, source: RenderSource) -> dict[str, str]:
        """The files a repository commits to run on this system, by path relative to the repository."""
        ...

    def attacks(self, target: AttackTarget) -> list[JobAttack]:
        """Attacks only this system's jobs can make (the core fires the common ones)."""
        ...
