"""The rendered pipeline configs: valid for their CI, clean under its linters, and saying what the plan says."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from secure_pipelines.ci.circleci.plan import circleci_plan
from secure_pipelines.ci.circleci.policy.cases import parse_config
from secure_pipelines.ci.circleci.render import TOKEN as CIRCLECI_TOKEN
from secure_pipelines.ci.circleci.render import circleci_config
from secure_pipelines.ci.github_actions.render import github_actions_pipeline, runs_on
from secure_pipelines.declaration.model import Tier
from secure_pipelines.errors import InvalidDeclaration
from secure_pipelines.plan import Plan
from secure_pipelines.render.files import render_files
from secure_pipelines.render.output import write_output
from secure_pipelines.render.templating import shell_quote
from secure_pipelines.yaml_files import parse_yaml

from .conftest import EXAMPLE_SOURCE, tool

CIRCLECI_CONFIGS = ["repositories/webapp/.circleci/config.yml"]
WORKFLOWS = ["repositories/api/.github/workflows/deploy.yml",
             "repositories/infrastructure/.github/workflows/infrastructure.yml"]
PlanVariant = Callable[[Callable[[dict[str, Any]], None]], Plan]
FULL_SHA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def config(files: dict[str, str], path: str) -> dict[str, Any]:
    return parse_yaml(files[path], path)


def _environment(values: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in values["environments"] if e["name"] == name)


def invocations(circleci: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for item in circleci["workflows"]["deliver"]["jobs"]:
        name, params = (item, {}) if isinstance(item, str) else next(iter(item.items()))
        found[name] = params
    return found


def test_the_example_renders_the_expected_pipeline_files(example_files: dict[str, str]) -> None:
    assert sorted(p for p in example_files if p.endswith("config.yml")) == CIRCLECI_CONFIGS
    assert sorted(p for p in example_files if "/workflows/" in p) == WORKFLOWS


# --- real validators ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", CIRCLECI_CONFIGS)
def test_circleci_config_passes_the_circleci_schema(rendered_dir: Path, path: str) -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.circle-ci", str(rendered_dir / path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS)
def test_workflow_passes_the_github_workflow_schema(rendered_dir: Path, path: str) -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(rendered_dir / path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS)
def test_workflow_passes_actionlint(rendered_dir: Path, path: str) -> None:
    repository = rendered_dir / path.split("/.github/")[0]
    result = run(tool("actionlint"), "-config-file", ".github/actionlint.yaml", path.split("/", 2)[2],
                 cwd=repository)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS)
def test_workflow_has_no_zizmor_finding_of_medium_severity_or_above(rendered_dir: Path, path: str) -> None:
    result = run(tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "json",
                 str(rendered_dir / path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_zizmor_would_catch_a_template_injection(rendered_dir: Path, tmp_path: Path) -> None:
    """The zizmor check can fail: an untrusted expression in a run line is a finding."""
    text = (rendered_dir / WORKFLOWS[0]).read_text().replace(
        "run: make test", "run: echo ${{ github.event.head_commit.message }}", 1)
    bad = tmp_path / "deploy.yml"
    bad.write_text(text)
    result = run(tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "json", str(bad))
    assert result.returncode != 0
    assert any(f["ident"] == "template-injection" for f in json.loads(result.stdout))


# --- CircleCI: what the config says ------------------------------------------------------------


def test_circleci_has_test_security_build_and_one_deploy_per_environment(
    example_plan: Plan, example_files: dict[str, str]
) -> None:
    jobs = invocations(config(example_files, CIRCLECI_CONFIGS[0]))
    expected = ["test", *example_plan.pipeline_policy.required_security_jobs, "build-image",
                "deploy-dev", "deploy-qa", "deploy-staging", "approve-production", "deploy-production"]
    assert list(jobs) == expected
    assert set(jobs["build-image"]["requires"]) == {"test", *example_plan.pipeline_policy.required_security_jobs}


def test_each_deploy_job_uses_its_environments_context(example_plan: Plan, example_files: dict[str, str]) -> None:
    jobs = invocations(config(example_files, CIRCLECI_CONFIGS[0]))
    for deployment in (d for e in example_plan.environments for d in e.deployments if d.ci == "circleci"):
        assert jobs[f"deploy-{deployment.environment}"]["context"] == deployment.deploy_via


def test_staging_and_production_run_on_the_default_branch_only(example_files: dict[str, str]) -> None:
    jobs = invocations(config(example_files, CIRCLECI_CONFIGS[0]))
    for name in ("deploy-staging", "approve-production", "deploy-production"):
        assert jobs[name]["filters"] == {"branches": {"only": ["main"]}}
    assert "filters" not in jobs["deploy-dev"]


def test_a_test_environment_deploys_from_its_declared_branches_only_on_every_ci(example_files: dict[str, str]) -> None:
    circleci = invocations(config(example_files, CIRCLECI_CONFIGS[0]))["deploy-qa"]
    assert circleci["filters"] == {"branches": {"only": ["main", "release/qa"]}}
    github = workflow(example_files)["jobs"]["deploy-qa"]
    assert github["environment"] == "qa"
    assert "github.ref == 'refs/heads/main' || github.ref == 'refs/heads/release/qa'" in github["if"]
    gitlab = config(example_files, "repositories/shop/.gitlab-ci.yml")["deploy-qa"]
    assert gitlab["environment"]["deployment_tier"] == "testing"
    assert '$CI_COMMIT_BRANCH == "main" || $CI_COMMIT_BRANCH == "release/qa"' in gitlab["rules"][0]["if"]


def test_production_waits_for_a_manual_approval_after_staging(example_files: dict[str, str]) -> None:
    jobs = invocations(config(example_files, CIRCLECI_CONFIGS[0]))
    assert jobs["approve-production"]["type"] == "approval"
    assert jobs["approve-production"]["requires"] == ["build-image", "deploy-staging"]
    assert jobs["deploy-production"]["requires"] == ["approve-production"]


def test_no_approval_job_when_the_declaration_asks_for_none(plan_variant: PlanVariant) -> None:
    def no_hold(values: dict[str, Any]) -> None:
        _environment(values, "production")["ci"]["circleci"]["approval_hold"] = False

    plan = plan_variant(no_hold)
    jobs = invocations(parse_config(circleci_config(plan, "webapp", EXAMPLE_SOURCE)))
    assert "approve-production" not in jobs
    assert jobs["deploy-production"]["requires"] == ["build-image", "deploy-staging"]


def test_circleci_ip_ranges_follow_the_environment(plan_variant: PlanVariant) -> None:
    def staging_on_circleci_ranges(values: dict[str, Any]) -> None:
        _environment(values, "staging")["ci"]["circleci"]["ip_ranges"] = True

    rendered = parse_config(circleci_config(plan_variant(staging_on_circleci_ranges), "webapp", EXAMPLE_SOURCE))
    assert rendered["jobs"]["deploy-staging"]["circleci_ip_ranges"] is True
    assert "circleci_ip_ranges" not in rendered["jobs"]["deploy-production"]


def test_production_runs_on_the_declared_runner_class(example_plan: Plan, example_files: dict[str, str]) -> None:
    job = config(example_files, CIRCLECI_CONFIGS[0])["jobs"]["deploy-production"]
    assert (job["resource_class"],) == circleci_plan(example_plan).config_policy.production_resource_classes
    assert job["machine"] is True


def test_deploy_jobs_ship_the_image_built_once_by_digest(example_files: dict[str, str]) -> None:
    circleci = config(example_files, CIRCLECI_CONFIGS[0])
    build = json.dumps(circleci["jobs"]["build-image"])
    assert "docker build" in build and "persist_to_workspace" in build
    for name in ("deploy-dev", "deploy-staging", "deploy-production"):
        job = json.dumps(circleci["jobs"][name])
        assert "docker build" not in job and "setup_remote_docker" not in job
        assert "attach_workspace" in job and "@sha256:[0-9a-f]{64}$" in job


def test_deploy_jobs_log_in_with_the_oidc_token_against_the_planned_mount_and_role(
    example_plan: Plan, example_files: dict[str, str]
) -> None:
    jobs = config(example_files, CIRCLECI_CONFIGS[0])["jobs"]
    for env in example_plan.environments:
        for deployment in (d for d in env.deployments if d.ci == "circleci"):
            command = jobs[f"deploy-{env.name}"]["steps"][-1]["run"]["command"]
            assert "$CIRCLE_OIDC_TOKEN_V2" in command
            assert f"$VAULT_ADDR/v1/auth/{deployment.roles[0].mount_path}/login" in command
            lookup = deployment.developer_lookup
            if lookup is None:
                (role,) = deployment.roles
                assert f"role={shell_quote(role.role_name)}" in command
                assert role.secret_paths[0].data_path in command
            else:
                assert f'role={shell_quote(lookup.role_prefix)}"$user_id"' in command
                assert f'{shell_quote(lookup.secret_prefix)}"$developer"{shell_quote(lookup.secret_suffix)}' in command


@pytest.mark.parametrize(("subject", "expected"), [
    ("org/o/project/p/user/9f2c0a4e-1b7d-4e55-8c3a-2d6f8e9a0b1c/vcs-origin/github.com/acme/webapp/vcs-ref/refs/heads/x",
     "9f2c0a4e-1b7d-4e55-8c3a-2d6f8e9a0b1c"),
    ("org/o/project/p/user/u1", ""),
    ("org/o/project/p/users/u1/vcs-origin/x", ""),
])
def test_a_circleci_dev_deploy_reads_the_user_id_from_inside_the_subject(subject: str, expected: str) -> None:
    result = subprocess.run(["jq", "-r", CIRCLECI_TOKEN.user_id], input=json.dumps({"sub": subject}),
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == expected


def test_a_frozen_repository_gets_no_production_deploy(plan_variant: PlanVariant) -> None:
    def freeze(values: dict[str, Any]) -> None:
        values["pipeline_policy"]["code_freeze"] = ["webapp"]

    text = circleci_config(plan_variant(freeze), "webapp", EXAMPLE_SOURCE)
    assert "deploy-production" not in parse_config(text)["jobs"]
    assert "code freeze" in text


# --- GitHub Actions: what the workflow says ----------------------------------------------------


def workflow(files: dict[str, str]) -> dict[str, Any]:
    return parse_yaml(files[WORKFLOWS[0]], WORKFLOWS[0])


def test_workflow_is_read_only_by_default(example_files: dict[str, str]) -> None:
    assert workflow(example_files)["permissions"] == {"contents": "read"}


def logs_in(step: dict[str, Any]) -> bool:
    """A workflow step that logs in to Vault (the deploy script requests the job's token and logs in)."""
    return "$VAULT_ADDR/v1/auth/" in step.get("run", "")


def test_only_the_jobs_that_log_in_to_vault_may_request_an_oidc_token(example_files: dict[str, str]) -> None:
    for name, job in workflow(example_files)["jobs"].items():
        logs_in_here = any(logs_in(step) for step in job["steps"])
        assert (job.get("permissions", {}).get("id-token") == "write") == logs_in_here, name
        assert logs_in_here == name.startswith("deploy-"), name


def test_deploy_jobs_are_bound_to_their_github_environment(example_plan: Plan, example_files: dict[str, str]) -> None:
    jobs = workflow(example_files)["jobs"]
    for env in example_plan.environments:
        for github_env in env.github_environments:
            assert jobs[f"deploy-{env.name}"]["environment"] == github_env.environment


def test_deploy_jobs_log_in_with_the_planned_role(example_plan: Plan, example_files: dict[str, str]) -> None:
    jobs = workflow(example_files)["jobs"]
    for env in example_plan.environments:
        for deployment in (d for d in env.deployments if d.ci == "github-actions"):
            job = jobs[f"deploy-{env.name}"]
            login = next(s for s in job["steps"] if logs_in(s))["run"]
            assert f"$VAULT_ADDR/v1/auth/{deployment.roles[0].mount_path}/login" in login
            assert f"&audience={deployment.roles[0].bound_audiences[0]}\"" in login
            lookup = deployment.developer_lookup
            if lookup is None:
                assert f"role={shell_quote(deployment.roles[0].role_name)}" in login
            else:
                assert f'role={shell_quote(lookup.role_prefix)}"$user_id"' in login
                assert "token_claim '.actor_id // empty'" in login
                assert not any(str(role.claims["actor_id"][0]) in json.dumps(job) for role in deployment.roles)


def test_protected_deploys_run_on_the_default_branch_only(example_files: dict[str, str]) -> None:
    jobs = workflow(example_files)["jobs"]
    for name in ("deploy-staging", "deploy-production"):
        assert jobs[name]["if"] == "github.event_name == 'push' && (github.ref == 'refs/heads/main')"
    assert jobs["deploy-dev"]["if"] == "github.event_name == 'push'"


def test_every_action_is_pinned_by_full_commit_sha_with_its_version(example_files: dict[str, str]) -> None:
    text = example_files[WORKFLOWS[0]]
    uses = re.findall(r"uses: (\S+)( # v[\d.]+)?$", text, flags=re.MULTILINE)
    assert uses
    for reference, version in uses:
        assert FULL_SHA.match(reference), reference
        assert version, f"{reference} has no version comment"


def test_no_pull_request_target_and_no_expression_inside_run(example_files: dict[str, str]) -> None:
    data = workflow(example_files)
    assert "pull_request_target" not in data["on"]
    for job in data["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", "")


def test_every_checkout_drops_its_credentials(example_files: dict[str, str]) -> None:
    for job in workflow(example_files)["jobs"].values():
        for step in job["steps"]:
            if "actions/checkout" in str(step.get("uses", "")):
                assert step["with"]["persist-credentials"] is False


def test_production_ships_the_image_built_in_this_run(example_files: dict[str, str]) -> None:
    jobs = workflow(example_files)["jobs"]
    production = jobs["deploy-production"]
    assert "build-image" in production["needs"] and "deploy-staging" in production["needs"]
    assert "docker build" not in json.dumps(production)
    assert production["steps"][-1]["env"]["IMAGE_REF"] == "${{ needs.build-image.outputs.image-ref }}"


def test_production_runs_on_a_self_hosted_runner_with_known_egress(example_plan: Plan) -> None:
    jobs = github_actions_pipeline(example_plan, "api").deploy_jobs
    assert {j.environment: runs_on(j) for j in jobs if j.tier is not Tier.DEVELOPMENT} == {
        "qa": ("self-hosted", "qa"), "staging": ("self-hosted", "staging"),
        "production": ("self-hosted", "production")}


def test_a_security_job_name_no_ci_accepts_is_refused_by_validation(plan_variant: PlanVariant) -> None:
    def odd_name(values: dict[str, Any]) -> None:
        values["pipeline_policy"]["required_security_jobs"] = ["scan; rm -rf /"]

    with pytest.raises(InvalidDeclaration) as refused:
        plan_variant(odd_name)
    assert [p.field for p in refused.value.problems] == ["pipeline_policy.required_security_jobs[0]"]


def test_the_workflow_is_written_where_the_roles_bind_it(example_plan: Plan, example_files: dict[str, str]) -> None:
    for role in (r for r in example_plan.roles if r.ci == "github-actions" and "workflow_ref" in r.claims):
        for bound in role.claims["workflow_ref"]:  # one per branch that deploys
            owner_repo, _, rest = str(bound).partition("/.github/")
            path = ".github/" + rest.split("@")[0]
            assert owner_repo == f"acme/{role.repository}"
            assert f"repositories/{role.repository}/{path}" in example_files


def test_deploys_request_the_vault_audience_never_githubs_default(example_files: dict[str, str]) -> None:
    workflow = config(example_files, WORKFLOWS[0])
    logins = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if logs_in(step)]
    assert logins and {re.findall(r"&audience=([^\"]*)\"", login)[0] for login in logins} == {"vault.acme"}
    assert all(len(re.findall(r"&audience=", login)) == 1 for login in logins)


def test_workflow_dispatch_deploys_only_with_an_override_and_then_everywhere_it_is_bound(
    plan_variant: PlanVariant, tmp_path: Path
) -> None:
    def dispatch(values: dict[str, Any]) -> None:
        values["ci"]["github_actions"] = {"deploy_events": ["push", "workflow_dispatch"], "overrides": {
            "workflow_dispatch_deploys": "releases are cut by hand from main by the on-call engineer"}}

    plan = plan_variant(dispatch)
    files = render_files(plan, EXAMPLE_SOURCE)
    workflow = parse_yaml(files[WORKFLOWS[0]], WORKFLOWS[0])
    assert "workflow_dispatch" in workflow["on"]
    event_test = "(github.event_name == 'push' || github.event_name == 'workflow_dispatch')"
    assert workflow["jobs"]["build-image"]["if"] == event_test
    assert workflow["jobs"]["deploy-production"]["if"] == f"{event_test} && (github.ref == 'refs/heads/main')"
    (production,) = [r for r in plan.environment("production").roles if r.ci == "github-actions"]
    assert production.claims["event_name"] == ("push", "workflow_dispatch")
    # Per developer a dispatch is not the developer's push: whoever dispatches picks the branch, another's too.
    assert workflow["jobs"]["deploy-dev"]["if"] == "github.event_name == 'push'"
    developers = [r for r in plan.environment("dev").roles if r.ci == "github-actions"]
    assert developers and {r.claims["event_name"] for r in developers} == {("push",)}
    write_output(files, tmp_path, lambda _path: True, "stacks/declaration.yaml")
    linted = run(tool("actionlint"), "-config-file", ".github/actionlint.yaml", ".github/workflows/deploy.yml",
                 cwd=tmp_path / "repositories" / "api")
    assert linted.returncode == 0, linted.stdout + linted.stderr


# --- onboarding: Vault changes, pipeline files do not ------------------------------------------------


def onboard_kim_and_let_sam_go(values: dict[str, Any]) -> None:
    values["developers"].append({"name": "kim", "ci": {
        "circleci": {"user_id": "5b81e023-ae6f-4d70-9c1b-2f3041526374"},
        "github_actions": {"user_id": 5550003},
        "gitlab_ci": {"user_id": 8810003},
    }})
    dev = next(env for env in values["environments"] if env.get("per_developer"))
    dev["developers"] = ["lin", "kim"]


def test_onboarding_and_offboarding_change_vault_and_no_pipeline_file(
    example_plan: Plan, example_files: dict[str, str], plan_variant: PlanVariant
) -> None:
    changed = plan_variant(onboard_kim_and_let_sam_go)
    assert {r.developer for r in changed.environment("dev").roles} == {"lin", "kim"}
    assert {r.role_name for r in changed.roles} != {r.role_name for r in example_plan.roles}
    after = render_files(changed, EXAMPLE_SOURCE)
    pipeline_files = sorted(path for path in example_files if path.startswith("repositories/"))
    assert {".circleci/config.yml", ".github/workflows/deploy.yml", ".gitlab-ci.yml"} <= {
        path.split("/", 2)[2] for path in pipeline_files}
    assert pipeline_files == sorted(path for path in after if path.startswith("repositories/"))
    for path in pipeline_files:
        assert after[path] == example_files[path], f"{path} changed when a developer was added or removed"
