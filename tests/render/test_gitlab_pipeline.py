"""The rendered ``.gitlab-ci.yml``: valid under GitLab's own CI schema, saying what the roles bind,
and its deploy script, run by bash against a real OpenBao set up from the plan.

The Vault side is the plan's own GitLab roles, policies and paths, with a local signing key in place of
GitLab's discovery URL; staging and production roles are bound to 127.0.0.1/32 instead of the runners'
ranges (the rehearsal proves the CIDR binding). Tokens are the rehearsal's GitLab ID tokens.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
from ruamel.yaml import YAML

from secure_pipelines import naming
from secure_pipelines.ci.base import Job
from secure_pipelines.ci.gitlab_ci.claims import PIPELINE_SOURCE_TRAIT
from secure_pipelines.ci.gitlab_ci.identity import GitLabCIIdentity
from secure_pipelines.declaration import Declaration
from secure_pipelines.declaration.loader import load_declaration
from secure_pipelines.plan import CIRole, Plan
from secure_pipelines.plan.vault_policies import REVOKE_SELF
from secure_pipelines.rehearse.keys import IssuerKey, generate_issuer_keys
from secure_pipelines.rehearse.tokens import mint

from .conftest import DevVault, enable, live_tokens, record_deployed, revoke_all, seed_secrets_and_policies, tool

DEFAULT_DECLARATION = Path(__file__).resolve().parents[2] / "stacks" / "declaration.yaml"
"""The worked example's declaration (the repository root is its Pulumi project)."""
CONFIG = "repositories/shop/.gitlab-ci.yml"
DIGEST_REF = "registry.gitlab.com/acme/shop@sha256:" + "cd" * 32
RECORDED_COMMANDS = ("curl", "jq", "grep", "mktemp", "mkdir", "basename", "rm")
"""The commands the deploy script runs (``make`` aside): their arguments are visible to every user of a runner."""
FAKE_MAKE = """#!/usr/bin/env bash
set -euo pipefail
{
  echo "target=$1"
  echo "environment=$DEPLOY_ENVIRONMENT"
  echo "image=$IMAGE_REF"
  echo "secrets_dir=$SECRETS_DIR"
  echo "secrets_dir_mode=$(stat -c %a "$SECRETS_DIR/..")"
  echo "private_dir_entries=$(ls -A "$SECRETS_DIR/..")"
  echo "vault_token_visible=${VAULT_TOKEN:+yes}"
  echo "id_token_visible=${VAULT_ID_TOKEN:+yes}"
  for f in "$SECRETS_DIR"/*.json; do
    echo "secret $(basename "$f")=$(jq -c . "$f")"
    echo "secret_mode $(basename "$f")=$(stat -c %a "$f")"
  done
} > "$MAKE_RECORD"
exit "${MAKE_EXIT:-0}"
"""


def load(text: str) -> dict[str, Any]:
    return YAML(typ="safe", pure=True).load(text)


@pytest.fixture(scope="module")
def gitlab_config(example_files: dict[str, str]) -> dict[str, Any]:
    return load(example_files[CONFIG])


def gitlab_roles(plan: Plan) -> list[CIRole]:
    return [r for r in plan.roles if r.ci == "gitlab-ci"]


def deploy_jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: job for name, job in config.items() if name.startswith("deploy-")}


# --- GitLab's own schema ------------------------------------------------------------------------------


def check_gitlab_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", "--data-transform",
                           "gitlab-ci", str(path)], capture_output=True, text=True, timeout=300)


def test_the_gitlab_ci_config_passes_gitlabs_ci_schema(rendered_dir: Path) -> None:
    result = check_gitlab_schema(rendered_dir / CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_deploy_job_with_an_unknown_environment_action(
    rendered_dir: Path, tmp_path: Path
) -> None:
    tampered = tmp_path / ".gitlab-ci.yml"
    tampered.write_text((rendered_dir / CONFIG).read_text().replace("action: start", "action: deploy", 1))
    result = check_gitlab_schema(tampered)
    assert result.returncode != 0 and "deploy" in result.stdout


# --- what the file says, against what the roles bind ---------------------------------------------------


def test_only_deploy_jobs_request_an_id_token_with_the_roles_audience(gitlab_config: dict[str, Any],
                                                                       example_plan: Plan) -> None:
    (audience,) = {a for r in gitlab_roles(example_plan) for a in r.bound_audiences}
    jobs = {name: job for name, job in gitlab_config.items() if isinstance(job, dict) and "stage" in job}
    with_tokens = {name for name, job in jobs.items() if "id_tokens" in job}
    assert with_tokens == {"deploy-dev", "deploy-qa", "deploy-staging", "deploy-production"}
    assert "id_tokens" not in gitlab_config.get("default", {})
    for name in with_tokens:
        assert jobs[name]["id_tokens"] == {"VAULT_ID_TOKEN": {"aud": audience}}


def test_each_deploy_job_starts_a_deployment_in_its_environment_and_tier(gitlab_config: dict[str, Any],
                                                                          example_plan: Plan) -> None:
    for role in gitlab_roles(example_plan):
        job = deploy_jobs(gitlab_config)[f"deploy-{role.environment}"]
        assert job["environment"] == {"name": role.claims["environment"][0],
                                      "deployment_tier": role.claims["deployment_tier"][0],
                                      "action": role.claims["environment_action"][0]}
        assert job["resource_group"] == role.environment


def test_deploy_jobs_run_on_the_declared_runners_where_the_allowlist_is_closed(
    gitlab_config: dict[str, Any], example_values: dict[str, Any]
) -> None:
    jobs = deploy_jobs(gitlab_config)
    for env in example_values["environments"]:
        tags = env.get("ci", {}).get("gitlab_ci", {}).get("runner_tags")
        assert jobs[f"deploy-{env['name']}"].get("tags") == tags, env["name"]


def test_production_ships_the_built_image_only_after_staging(gitlab_config: dict[str, Any]) -> None:
    assert gitlab_config["build-image"]["artifacts"] == {"reports": {"dotenv": "image.env"}}
    assert gitlab_config["build-image"]["needs"] == ["test", "security-scan"]
    assert gitlab_config["deploy-production"]["needs"] == ["build-image", "deploy-staging"]
    assert gitlab_config["deploy-staging"]["needs"] == ["build-image"]


def rule_admits(expression: str, variables: dict[str, str]) -> bool:
    """GitLab's ``rules: if:`` for the forms the renderer writes: ``$VAR``, ``$VAR == "x"``, ``&&``,
    ``||`` and parentheses (a variable that is unset or empty is false)."""
    tokens = re.findall(r'\$\w+|"[^"]*"|==|&&|\|\||\(|\)', expression)
    assert "".join(tokens) == re.sub(r"\s+", "", expression), f"unexpected syntax in {expression!r}"
    position = 0

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def atom() -> bool:
        token = take()
        if token == "(":
            value = any_of()
            assert take() == ")"
            return value
        current = variables.get(token[1:], "")
        if peek() == "==":
            take()
            return current == take().strip('"')
        return bool(current)

    def all_of() -> bool:
        value = atom()
        while peek() == "&&":
            take()
            value = atom() and value
        return value

    def any_of() -> bool:
        value = all_of()
        while peek() == "||":
            take()
            value = all_of() or value
        return value

    result = any_of()
    assert peek() is None, expression
    return result


@pytest.mark.parametrize(("expression", "variables", "admitted"), [
    ('$A == "x"', {"A": "x"}, True),
    ('$A == "x"', {"A": "y"}, False),
    ('$A && $B == "y"', {"B": "y"}, False),
    ('$A && ($B == "y" || $B == "z")', {"A": "1", "B": "z"}, True),
])
def test_the_rule_reader_reads_gitlabs_operators(expression: str, variables: dict[str, str], admitted: bool) -> None:
    assert rule_admits(expression, variables) is admitted


SOURCES = ("push", "web", "schedule", "merge_request_event", "trigger", "api", "pipeline", "parent_pipeline")


def pipeline_variables(branch: str | None, source: str) -> dict[str, str]:
    """What GitLab sets: no CI_COMMIT_BRANCH in merge-request (and tag) pipelines."""
    variables = {"CI_PIPELINE_SOURCE": source}
    if branch is not None and source != "merge_request_event":
        variables["CI_COMMIT_BRANCH"] = branch
    return variables


def test_each_deploy_job_runs_exactly_where_its_roles_admit_it(gitlab_config: dict[str, Any],
                                                                example_plan: Plan) -> None:
    for role in gitlab_roles(example_plan):
        (rule,) = deploy_jobs(gitlab_config)[f"deploy-{role.environment}"]["rules"]
        for branch in ("main", "feature/x", "main-evil", None):
            for source in SOURCES:
                runs = rule_admits(rule["if"], pipeline_variables(branch, source))
                admitted = (branch is not None and source != "merge_request_event"
                            and source in role.claims["pipeline_source"]
                            and ("ref" not in role.claims or branch in role.claims["ref"]))
                assert runs is admitted, (role.role_name, branch, source, rule["if"])


# --- the deploy script against OpenBao ------------------------------------------------------------------


@dataclass(frozen=True)
class Harness:
    vault: DevVault
    declaration: Declaration
    key: IssuerKey
    config: dict[str, Any]
    bin_dir: Path
    roles: frozenset[str]
    """The GitLab roles configured in Vault (a token search by another name would find nothing, silently)."""


def _role_body(role: CIRole) -> dict[str, Any]:
    local = role.token_bound_cidrs != ("0.0.0.0/0", "::/0")
    return {
        "role_type": "jwt", "bound_audiences": list(role.bound_audiences), "user_claim": role.user_claim,
        "bound_claims": {claim.claim: list(claim.values) for claim in role.bound_claims},
        "bound_claims_type": role.claims_match, "token_policies": list(role.token_policies),
        "token_no_default_policy": True,
        "token_bound_cidrs": ["127.0.0.1/32"] if local else list(role.token_bound_cidrs),
        "token_ttl": role.token_ttl, "token_max_ttl": role.token_max_ttl, "token_type": role.token_type,
    }


@pytest.fixture(scope="module")
def harness(render_openbao: DevVault, scripts_plan: Plan, scripts_files: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    client = hvac.Client(url=render_openbao.addr, token=render_openbao.token)
    mount = scripts_plan.mount("gitlab-ci")
    key = generate_issuer_keys([mount.issuer])[mount.issuer]
    enable(client, "jwt", mount.path)
    client.write_data(f"auth/{mount.path}/config",
                      data={"jwt_validation_pubkeys": [key.public_pem], "bound_issuer": mount.issuer})
    seed_secrets_and_policies(client, scripts_plan)
    record_deployed(client, scripts_plan, DIGEST_REF)
    for role in gitlab_roles(scripts_plan):
        client.adapter.post(f"/v1/auth/{role.mount_path}/role/{role.role_name}", json=_role_body(role))
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "make").write_text(FAKE_MAKE)
    (bin_dir / "make").chmod(0o755)
    for command in RECORDED_COMMANDS:  # each records its arguments, then runs the real command
        real = shutil.which(command)
        assert real, f"{command} is not installed"
        (bin_dir / command).write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "${{ARGV_RECORD:-/dev/null}}"\n'
                                       f'exec {real} "$@"\n')
        (bin_dir / command).chmod(0o755)
    yield Harness(render_openbao, load_declaration(DEFAULT_DECLARATION), key, load(scripts_files[CONFIG]), bin_dir,
                  frozenset(r.role_name for r in gitlab_roles(scripts_plan)))


def id_token(harness: Harness, environment: str, *, developer: str | None = None, ref: str = "refs/heads/main",
             source: str | None = None) -> str:
    declaration = harness.declaration
    job = Job(ci="gitlab-ci", repository=declaration.repository("shop"), environment=environment, ref=ref,
              developer=declaration.developer(developer) if developer else None, deploys_via=environment)
    if source is not None:
        job = job.with_trait(PIPELINE_SOURCE_TRAIT, source)
    return mint(harness.key, GitLabCIIdentity().claims(declaration, job, int(time.time())))


@dataclass(frozen=True)
class Run:
    result: subprocess.CompletedProcess[str]
    recorded: dict[str, str]
    left_in_tmp: list[Path]
    arguments: str
    """Every argument list the script's commands were called with, one a line."""
    live: list[dict[str, Any]]
    """Tokens the job's role issued during the run that Vault still honours (looked up as root)."""


VAULT_TOKEN_SHAPE = re.compile(r"\b(hv)?s\.[A-Za-z0-9]{20,}")
"""What a Vault (``hvs.``) or OpenBao (``s.``) service token looks like."""


def run_deploy(harness: Harness, job: str, token: str, tmp_path: Path, role: str | None = None, **env: str) -> Run:
    script = harness.config[job]["script"][0]
    since = time.time()
    record, scratch, argv = tmp_path / "make-record", tmp_path / "tmp", tmp_path / "argv"
    scratch.mkdir()
    variables = {
        **os.environ, "PATH": f"{harness.bin_dir}:{os.environ['PATH']}", "TMPDIR": str(scratch),
        "VAULT_ADDR": harness.vault.addr, "VAULT_ID_TOKEN": token, "IMAGE_REF": DIGEST_REF,
        "GITLAB_USER_ID": "1", "MAKE_RECORD": str(record), "ARGV_RECORD": str(argv), **env,
    }
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=variables, capture_output=True, text=True,
                            timeout=60)
    recorded = dict(line.split("=", 1) for line in record.read_text().splitlines()) if record.exists() else {}
    role = role or naming.ci_role(job.removeprefix("deploy-"), "shop")
    assert role in harness.roles, f"no GitLab role {role} is configured: {sorted(harness.roles)}"
    return Run(result, recorded, sorted(scratch.iterdir()), argv.read_text() if argv.exists() else "",
               live_tokens(harness.vault, role, since))


def test_production_deploy_reads_its_secret_privately_ships_the_digest_and_cleans_up(
    harness: Harness, tmp_path: Path
) -> None:
    run = run_deploy(harness, "deploy-production", id_token(harness, "production"), tmp_path)
    assert run.result.returncode == 0, run.result.stderr
    assert run.recorded["environment"] == "production" and run.recorded["image"] == DIGEST_REF
    assert run.recorded["secret shop.json"] == '{"owner":"kv-production-scripts/apps/shop"}'
    assert run.recorded["secrets_dir_mode"] == "700" and run.recorded["secret_mode shop.json"] == "600"
    assert run.recorded["id_token_visible"] == "", "the deploy step could log in again with the ID token"
    assert run.recorded["vault_token_visible"] == "" and run.recorded["private_dir_entries"] == "secrets", \
        "the deploy can reach the Vault token"
    assert run.left_in_tmp == [], "the private directory outlived the job"
    assert run.live == []
    assert "Vault token revoked" in run.result.stdout


def test_neither_token_is_ever_a_command_line_argument(harness: Harness, tmp_path: Path) -> None:
    """Other users of a self-hosted runner can read every process's arguments (ps, /proc/<pid>/cmdline)."""
    token = id_token(harness, "production")
    run = run_deploy(harness, "deploy-production", token, tmp_path)
    assert run.result.returncode == 0, run.result.stderr
    assert "auth/gitlab-ci/login" in run.arguments and "revoke-self" in run.arguments, "nothing was recorded"
    assert run.recorded["secret shop.json"], "the Vault token was used to read a secret"
    assert token not in run.arguments
    assert "X-Vault-Token" not in run.arguments and not VAULT_TOKEN_SHAPE.search(run.arguments)


def test_a_failing_deploy_still_removes_the_secrets_and_revokes_the_token(harness: Harness, tmp_path: Path) -> None:
    run = run_deploy(harness, "deploy-staging", id_token(harness, "staging"), tmp_path, MAKE_EXIT="3")
    assert run.result.returncode == 3
    assert run.recorded["secret shop.json"] == '{"owner":"kv-staging-scripts/apps/shop"}'
    assert run.left_in_tmp == []
    assert run.live == []


def test_a_token_that_cannot_be_revoked_fails_the_job_loudly(harness: Harness, scripts_plan: Plan,
                                                             tmp_path: Path) -> None:
    policy = next(p for p in scripts_plan.environment("production").policies if p.name == "production.ci.shop")
    without = policy.hcl[: policy.hcl.index("# End this token")]
    assert REVOKE_SELF not in without
    client = hvac.Client(url=harness.vault.addr, token=harness.vault.token)
    client.sys.create_or_update_policy(policy.name, without)
    try:
        run = run_deploy(harness, "deploy-production", id_token(harness, "production"), tmp_path)
    finally:
        client.sys.create_or_update_policy(policy.name, policy.hcl)
    revoke_all(harness.vault, run.live)
    assert run.recorded["target"] == "deploy", "the deploy itself ran"
    assert run.result.returncode == 1
    assert "could not revoke this job's Vault token (role production.shop)" in run.result.stderr
    assert run.left_in_tmp == []
    assert len(run.live) == 1, "the token the job could not revoke is still alive (and the check can see it)"


@pytest.mark.parametrize("developer", ["lin", "sam"])
def test_dev_deploy_logs_in_as_the_pipelines_user_and_reads_only_their_secret(
    harness: Harness, example_values: dict[str, Any], developer: str, tmp_path: Path
) -> None:
    user_id = next(d["ci"]["gitlab_ci"]["user_id"] for d in example_values["developers"] if d["name"] == developer)
    token = id_token(harness, "dev", developer=developer, ref="refs/heads/feature/x")
    run = run_deploy(harness, "deploy-dev", token, tmp_path, role=naming.ci_role("dev", "shop", str(user_id)))
    assert run.result.returncode == 0, run.result.stderr
    secrets = {k: v for k, v in run.recorded.items() if k.startswith("secret ")}
    assert secrets == {"secret shop.json": f'{{"owner":"kv-dev-scripts/apps/{developer}/shop"}}'}
    assert run.live == [] and "Vault token revoked" in run.result.stdout


def test_a_pipeline_started_by_someone_with_no_dev_environment_skips_the_dev_deploy(
    harness: Harness, example_values: dict[str, Any], tmp_path: Path
) -> None:
    lin = next(d["ci"]["gitlab_ci"]["user_id"] for d in example_values["developers"] if d["name"] == "lin")
    token = id_token(harness, "dev", ref="refs/heads/feature/x")  # the merger's: no developer
    merger = str(GitLabCIIdentity().claims(harness.declaration, Job(
        ci="gitlab-ci", repository=harness.declaration.repository("shop"), environment="dev",
        ref="refs/heads/feature/x", developer=None, deploys_via="dev"), int(time.time()))["user_id"])
    # The role comes from the token's user_id alone: $GITLAB_USER_ID naming a developer changes nothing.
    run = run_deploy(harness, "deploy-dev", token, tmp_path, role=naming.ci_role("dev", "shop", str(lin)),
                     GITLAB_USER_ID=str(lin))
    assert run.result.returncode == 0 and not run.recorded and run.live == []
    assert f"notice: GitLab user {merger} has no dev environment (no role dev.shop.{merger})" in run.result.stdout


def test_a_merge_request_pipelines_token_gets_no_secret_and_leaves_nothing(harness: Harness, tmp_path: Path) -> None:
    token = id_token(harness, "production", source="merge_request_event")
    run = run_deploy(harness, "deploy-production", token, tmp_path)
    assert run.result.returncode != 0 and not run.recorded
    assert "Vault refused the login as production.shop at" in run.result.stderr
    # Vault's own reason, for the person reading (the token breaks two bindings; Vault names either).
    assert re.search(r'claim "(pipeline_source|ref_protected)" does not match', run.result.stderr)
    assert run.left_in_tmp == []


def test_an_image_not_pinned_by_digest_is_refused_before_vault_is_asked(harness: Harness, tmp_path: Path) -> None:
    run = run_deploy(harness, "deploy-production", id_token(harness, "production"), tmp_path,
                     IMAGE_REF="registry.gitlab.com/acme/shop:latest")
    assert run.result.returncode != 0 and not run.recorded
    assert "the image is not pinned by digest: registry.gitlab.com/acme/shop:latest" in run.result.stderr
    assert run.left_in_tmp == []
