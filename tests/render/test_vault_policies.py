"""The rendered Vault policy files are accepted by a real OpenBao, and are what the components apply."""

from __future__ import annotations

import subprocess
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from secure_pipelines.plan import Plan

from .conftest import DevVault, tool


def bao(vault: DevVault, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("bao"), *args], capture_output=True, text=True, env=vault.env(home), timeout=60)


def vault_files(rendered_dir: Path) -> list[Path]:
    return sorted((rendered_dir / "vault").rglob("*.hcl"))


def test_every_environment_has_its_policy_files(example_plan: Plan, rendered_dir: Path) -> None:
    expected = {f"{env.name}/{p.name}.hcl" for env in example_plan.environments
                for p in (*env.policies, example_plan.deployer(env.name).policy)}
    assert {p.relative_to(rendered_dir / "vault").as_posix() for p in vault_files(rendered_dir)} == expected


def test_openbao_accepts_every_rendered_policy(render_openbao: DevVault, rendered_dir: Path, tmp_path: Path) -> None:
    client = hvac.Client(url=render_openbao.addr, token=render_openbao.token)
    for path in vault_files(rendered_dir):
        name = f"rendered-{path.parent.name}-{path.stem}"
        result = bao(render_openbao, tmp_path, "policy", "write", name, str(path))
        assert result.returncode == 0, f"{path}: {result.stderr}"
        stored = client.sys.read_policy(name)["data"]["rules"]
        assert stored == path.read_text()


def test_openbao_refuses_a_broken_policy(render_openbao: DevVault, tmp_path: Path) -> None:
    """The acceptance check can fail: OpenBao parses the HCL it is given."""
    broken = tmp_path / "broken.hcl"
    broken.write_text('path "kv-dev/data/x" {\n  capabilities = ["read"\n')
    result = bao(render_openbao, tmp_path, "policy", "write", "broken", str(broken))
    assert result.returncode != 0


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_a_ci_policy_reads_its_own_path_and_nothing_else(
    render_openbao: DevVault, rendered_dir: Path, tmp_path: Path, environment: str
) -> None:
    """Written from the rendered file, the policy grants what the plan says: read on its own path."""
    client = hvac.Client(url=render_openbao.addr, token=render_openbao.token)
    name = f"check-ci-{environment}-webapp"
    rendered = rendered_dir / f"vault/{environment}/{environment}.ci.webapp.hcl"
    client.sys.create_or_update_policy(name, rendered.read_text())
    token = client.auth.token.create(policies=[name], ttl="5m")["auth"]["client_token"]
    capabilities = client.sys.get_capabilities(
        paths=[f"kv-{environment}/data/apps/webapp", f"kv-{environment}/data/apps/api"], token=token
    )
    assert capabilities[f"kv-{environment}/data/apps/webapp"] == ["read"]
    assert capabilities[f"kv-{environment}/data/apps/api"] == ["deny"]


@pytest.mark.parametrize("policy", ["production/production.ci.webapp", "production/production.admin",
                                    "dev/dev.ci.api.lin"])
def test_every_token_may_revoke_itself_and_do_nothing_else_with_tokens(
    render_openbao: DevVault, rendered_dir: Path, policy: str
) -> None:
    """Roles carry no default policy, so the rendered policy must grant revoke-self, and only that."""
    client = hvac.Client(url=render_openbao.addr, token=render_openbao.token)
    name = "check-revoke-" + policy.replace("/", "-")
    client.sys.create_or_update_policy(name, (rendered_dir / f"vault/{policy}.hcl").read_text())
    token = client.auth.token.create(policies=[name], no_default_policy=True, ttl="5m")["auth"]["client_token"]
    token_paths = ["auth/token/revoke-self", "auth/token/create", "auth/token/lookup-self", "auth/token/renew-self",
                   "auth/token/revoke", "sys/policies/acl/" + name]
    capabilities = client.sys.get_capabilities(paths=token_paths, token=token)
    assert capabilities.pop("auth/token/revoke-self") == ["update"]
    assert all(granted == ["deny"] for path, granted in capabilities.items() if path in token_paths), capabilities
    assert hvac.Client(url=render_openbao.addr, token=token).auth.token.revoke_self() is not None
    with pytest.raises(hvac.exceptions.Forbidden):
        hvac.Client(url=render_openbao.addr, token=token).auth.token.lookup_self()


def test_a_ci_token_without_the_default_policy_can_revoke_itself(
    render_openbao: DevVault, rendered_dir: Path
) -> None:
    """CI roles drop Vault's default policy; the CI policy grants revoke-self back, and nothing else of it."""
    client = hvac.Client(url=render_openbao.addr, token=render_openbao.token)
    name = "check-ci-revoke-self"
    client.sys.create_or_update_policy(name, (rendered_dir / "vault/production/production.ci.webapp.hcl").read_text())
    token = client.auth.token.create(policies=[name], no_default_policy=True, ttl="5m")["auth"]["client_token"]
    job = hvac.Client(url=render_openbao.addr, token=token)
    assert client.sys.get_capabilities(paths=["auth/token/lookup-self"], token=token)["auth/token/lookup-self"] == [
        "deny"]
    job.auth.token.revoke_self()
    with pytest.raises(hvac.exceptions.Forbidden):
        job.secrets.kv.v2.read_secret_version(path="apps/webapp", mount_point="kv-production",
                                              raise_on_deleted_version=True)
