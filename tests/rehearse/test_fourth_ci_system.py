"""A CI system the toolkit has never seen, defined entirely here and registered in one line, is
validated, planned, rendered, explained and rehearsed against OpenBao without any other change:
the proof that adding a CI system is one folder and one registry line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from ruamel.yaml import YAML

from secure_pipelines import InvalidDeclaration, build_plan, parse_declaration
from secure_pipelines.ci import registry
from secure_pipelines.ci.base import AttackTarget, Binding, DeploySettings, Job, JobAttack, SectionModels
from secure_pipelines.declaration.model import Declaration, Developer, Environment, Repository, Strict
from secure_pipelines.errors import Problem
from secure_pipelines.explain import access_matrix
from secure_pipelines.plan.model import BoundClaim, Plan
from secure_pipelines.render.files import render_files
from secure_pipelines.render.pipelines import pipeline
from secure_pipelines.render.templating import RenderSource

# --- the fourth CI system, as its folder would hold it ---------------------------------------------


class TinyOrganization(Strict):
    issuer: str = Field(description="the Tiny CI instance that signs job tokens")


class TinyRepository(Strict):
    project: int = Field(description="the immutable project number Tiny CI shows")


def tiny_organization(declaration: Declaration) -> TinyOrganization:
    section = declaration.ci["tiny_ci"]
    assert isinstance(section, TinyOrganization)
    return section


def tiny_project(repository: Repository) -> int:
    section = repository.ci["tiny_ci"]
    assert isinstance(section, TinyRepository)
    return section.project


class TinyIdentity:
    def can_run_in(self, plan: Plan, environment: str) -> bool:
        return any(e.name == environment for e in plan.environments)

    def claims(self, declaration: Declaration, job: Job, now: int) -> dict[str, Any]:
        issuer = tiny_organization(declaration).issuer
        project = tiny_project(job.repository)
        if job.foreign_repository or job.from_fork:
            project += 1000
        claims: dict[str, Any] = {
            "iss": issuer + (f"/{job.organization_suffix}" if job.organization_suffix else ""),
            "aud": "vault", "sub": f"project:{project}:{job.ref}",
            "iat": now, "nbf": now, "exp": now + 300,
            "project": str(project), "ref": job.ref,
        }
        if job.deploys_via is not None:
            claims["environment"] = job.deploys_via
        return claims


class TinyCI:
    key = "tiny_ci"
    name = "tiny-ci"
    title = "Tiny CI"
    mount_path = "tiny-ci"
    user_claim = "sub"
    sections = SectionModels(organization=TinyOrganization, repository=TinyRepository,
                             organization_hint="with its issuer")
    identity = TinyIdentity()
    contexts = None
    later_layers = None
    config_policy = None
    infrastructure = None
    scaffold = None
    setup_steps = None
    vcs_host = "github"
    deploys_through_github_environments = False
    version_1_moves = ()

    def problems(self, declaration: Declaration) -> list[Problem]:
        return []

    def warnings(self, declaration: Declaration) -> list[Problem]:
        return []

    def issuer(self, declaration: Declaration) -> str:
        return tiny_organization(declaration).issuer

    def discovery_url(self, declaration: Declaration) -> str:
        return self.issuer(declaration)

    def audiences(self, declaration: Declaration) -> tuple[str, ...]:
        return ("vault",)

    def binding(self, declaration: Declaration, repository: Repository, environment: Environment,
                developer: Developer | None) -> Binding:
        branches = declaration.deploy_branches(environment, repository)
        return Binding(
            claims=(BoundClaim("project", (str(tiny_project(repository)),)),
                    BoundClaim("environment", (environment.name,)),
                    BoundClaim("ref", tuple(f"refs/heads/{b}" for b in branches))),
            claims_match="string", ref_binding=", ".join(branches), deploy_via=f"environment {environment.name}",
        )

    def deploy_settings(self, declaration: Declaration, repository: Repository, environment: Environment
                        ) -> DeploySettings:
        return DeploySettings(deploy_via=environment.name, runner=None)

    def holds_for_approval(self, declaration: Declaration, environment: Environment) -> bool:
        return False

    def plan_extra(self, declaration: Declaration) -> None:
        return None

    def pipeline_files(self, plan: Plan, repository: str, source: RenderSource) -> dict[str, str]:
        shape = pipeline(plan, repository, self.name)
        jobs = "".join(f"{job.name}: login {job.mount} as {job.role_name}\n" for job in shape.deploy_jobs)
        return {".tiny-ci.yml": f"{source.header()}\n{jobs}"}

    def attacks(self, target: AttackTarget) -> list[JobAttack]:
        return []


TINY_CI = TinyCI()


@pytest.fixture
def with_tiny_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SYSTEMS", (*registry.SYSTEMS, TINY_CI))  # the one line


def declaration() -> dict[str, Any]:
    return {
        "version": 2,
        "organization": {"name": "tiny", "github": {"owner": "tiny", "owner_id": 1001, "plan": "team"}},
        "ci": {"tiny_ci": {"issuer": "https://ci.tiny.example"}},
        "admins": {"auth": {"oidc_discovery_url": "https://id.tiny.example/", "bound_audiences": ["vault"]},
                   "groups": {"production": "admins"}, "ip_allowlist": ["198.51.100.0/28"],
                   "members": [{"name": "ada"}]},
        "repositories": [{"name": "site", "github_id": 2001, "visibility": "public",
                          "required_status_checks": ["test"], "ci": {"tiny_ci": {"project": 42}}}],
        "environments": [{"name": "production", "tier": "production", "repositories": ["site"],
                          "ip_allowlist": ["192.0.2.0/28"], "token_ttl": 300, "token_max_ttl": 600,
                          "reviewers": {"users": [3001]}}],
    }


# --- the measures ------------------------------------------------------------------------------------


def test_unregistered_the_system_is_an_unknown_ci_key() -> None:
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(declaration())
    assert any(p.field == "repositories[site].ci.tiny_ci" and "not a known CI system" in p.message
               for p in refused.value.problems)


def test_registered_its_sections_are_validated_with_full_field_paths(with_tiny_ci: None) -> None:
    values = declaration()
    values["repositories"][0]["ci"]["tiny_ci"] = {"projekt": 42}
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(values)
    shown = {p.field: p.message for p in refused.value.problems}
    assert shown["repositories[site].ci.tiny_ci.project"] == "is required: the immutable project number Tiny CI shows"
    assert "known here: project" in shown["repositories[site].ci.tiny_ci.projekt"]


def test_registered_it_plans_its_mount_and_roles(with_tiny_ci: None) -> None:
    plan = build_plan(parse_declaration(declaration()))
    assert [(m.ci, m.path, m.issuer) for m in plan.jwt_mounts] == [("tiny-ci", "tiny-ci", "https://ci.tiny.example")]
    (role,) = plan.roles
    assert (role.ci, role.mount_path, role.role_name) == ("tiny-ci", "tiny-ci", "production.site")
    assert role.claims == {"project": ("42",), "environment": ("production",), "ref": ("refs/heads/main",)}
    assert plan.environment("production").github_environments == ()


def test_registered_it_renders_the_files_it_declares(with_tiny_ci: None) -> None:
    plan = build_plan(parse_declaration(declaration()))
    files = render_files(plan, RenderSource("tiny.yaml", "test"))
    assert files["repositories/site/.tiny-ci.yml"].endswith("deploy-production: login tiny-ci as production.site\n")


def test_registered_explain_shows_who_reads_through_it(with_tiny_ci: None) -> None:
    plan = build_plan(parse_declaration(declaration()))
    (access,) = access_matrix(plan)
    assert [(r.role, r.ci, r.deploys_via) for r in access.readers] == [
        ("tiny-ci/production.site", "tiny-ci", "environment production")]


def test_registered_its_roles_hold_against_openbao(with_tiny_ci: None, tmp_path: Path, rehearse_example) -> None:
    path = tmp_path / "tiny.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(declaration(), handle)
    _, rehearsal = rehearse_example("production", path, cwd=tmp_path)
    assert rehearsal.passed, [(o.flow, o.got, o.proof) for o in rehearsal.outcomes if o.failed]
    logins = [o for o in rehearsal.outcomes if o.ci == "tiny-ci" and o.kind == "legitimate" and "log in" in o.flow]
    attacks = [o for o in rehearsal.outcomes if o.ci == "tiny-ci" and o.kind == "attack"]
    assert logins and all(o.verdict == "ok" for o in logins)
    assert len(attacks) >= 15 and all(o.verdict == "ok" for o in attacks)


def test_a_system_that_cannot_tell_developers_apart_is_refused_in_a_per_developer_environment(
    with_tiny_ci: None,
) -> None:
    values = declaration()
    values["developers"] = [{"name": "lin"}]
    values["environments"].append({"name": "dev", "tier": "development", "repositories": ["site"],
                                   "branches": ["*"], "per_developer": True, "developers": ["lin"],
                                   "ip_allowlist": ["192.0.2.0/28"]})
    values["admins"]["groups"]["dev"] = "dev-admins"
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(values)
    (problem,) = refused.value.problems
    assert problem.field == "environments[dev].per_developer"
    assert "site deploy(s) here on Tiny CI, which cannot tell developers apart" in problem.message


# --- a system whose repositories live on another VCS host ---------------------------------------------


class TinyHostedElsewhere(TinyCI):
    vcs_host = "tinyhub"


@pytest.fixture
def with_tiny_ci_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SYSTEMS", (*registry.SYSTEMS, TinyHostedElsewhere()))


def hosted_elsewhere() -> dict[str, Any]:
    values = declaration()
    del values["repositories"][0]["github_id"]
    return values


def test_a_repository_on_another_host_needs_no_github_id_and_gets_no_github_protection(
    with_tiny_ci_elsewhere: None,
) -> None:
    plan = build_plan(parse_declaration(hosted_elsewhere()))
    assert plan.repository("site").github_id is None
    assert plan.branch_protections == ()
    assert plan.environment("production").github_environments == ()
    assert [r.role_name for r in plan.roles] == ["production.site"]


def test_an_organisation_ruleset_covers_only_repositories_github_hosts(with_tiny_ci_elsewhere: None) -> None:
    values = hosted_elsewhere()
    values["organization"]["github"]["protection"] = "organization-ruleset"
    assert build_plan(parse_declaration(values)).organization_ruleset is None


def test_github_settings_on_a_repository_of_another_host_are_refused(with_tiny_ci_elsewhere: None) -> None:
    values = hosted_elsewhere()
    values["repositories"][0].update(github_id=2001, github_plan="free")
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(values)
    shown = {p.field: p.message for p in refused.value.problems}
    assert set(shown) == {"repositories[site].github_id", "repositories[site].github_plan"}
    assert "hosted on tinyhub, not on GitHub" in shown["repositories[site].github_id"]


def test_a_repository_hosted_on_github_still_needs_its_id(with_tiny_ci: None) -> None:
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(hosted_elsewhere())
    (problem,) = refused.value.problems
    assert problem.field == "repositories[site].github_id"
    assert problem.message.startswith("is required: site builds on Tiny CI, hosted on GitHub")


def test_a_repository_cannot_live_on_two_hosts(with_tiny_ci_elsewhere: None) -> None:
    values = declaration()
    values["ci"]["github_actions"] = {}
    values["repositories"][0]["ci"]["github_actions"] = {}
    values["repositories"][0]["overrides"] = {"self_hosted_runners_on_public_repository": "ephemeral, one job each"}
    with pytest.raises(InvalidDeclaration) as refused:
        parse_declaration(values)
    assert [p.field for p in refused.value.problems] == ["repositories[site].ci"]
    assert "a repository lives on one host" in refused.value.problems[0].message
