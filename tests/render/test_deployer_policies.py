"""Each stack's deployer policy, as rendered for the example, is the committed golden file; OpenBao takes
it, and a token holding it may write its environment's policies exactly as planned and nothing else.

The rehearsal (``tests/rehearse/test_deployers.py``) applies every stack with such a token; here the
golden file itself is checked, a few requests each way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from secure_pipelines import naming
from secure_pipelines.plan import Plan
from secure_pipelines.rehearse.vault_client import VaultSession

from .conftest import DevVault

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "deployers"
REGENERATE = ("securepipe render --all --out rendered && "
              "cp rendered/vault/*/secure_pipelines.deployer.*.hcl tests/golden/deployers/")
STACKS = ("dev", "staging", "production")


@pytest.mark.parametrize("stack", STACKS)
def test_the_rendered_deployer_policy_is_the_golden_file(example_files: dict[str, str], stack: str) -> None:
    name = naming.deployer_policy(stack)
    rendered = example_files[f"vault/{stack}/{name}.hcl"]
    golden = (GOLDEN / f"{name}.hcl").read_text(encoding="utf-8")
    assert rendered == golden, f"the deployer policy of {stack} changed; review it, then: {REGENERATE}"


@pytest.fixture(scope="module")
def staging_deployer(render_openbao: DevVault) -> Iterator[VaultSession]:
    """A token holding only the golden staging deployer policy (written to OpenBao as it is committed)."""
    root = VaultSession(render_openbao.addr, render_openbao.token)
    name = naming.deployer_policy("staging")
    text = (GOLDEN / f"{name}.hcl").read_text(encoding="utf-8")
    assert root.call("put", f"sys/policies/acl/{name}", {"policy": text}).ok
    assert (root.read(f"sys/policies/acl/{name}").body["data"]["policy"]) == text
    answer = root.write("auth/token/create", {"policies": [name], "no_default_policy": True, "ttl": "10m"})
    yield VaultSession(render_openbao.addr, answer.body["auth"]["client_token"])
    root.call("delete", f"sys/policies/acl/{name}")


def test_the_staging_deployer_writes_a_staging_policy_exactly_as_planned(
    staging_deployer: VaultSession, render_openbao: DevVault, example_plan: Plan
) -> None:
    root = VaultSession(render_openbao.addr, render_openbao.token)
    policy = next(p for p in example_plan.environment("staging").policies if p.name == "staging.ci.webapp")
    before = root.read(f"sys/policies/acl/{policy.name}")  # other tests' policy of the same name, restored after
    try:
        assert staging_deployer.call("put", f"sys/policies/acl/{policy.name}", {"policy": policy.hcl}).ok
        widened = policy.hcl + 'path "kv-production/data/*" {\n  capabilities = ["read"]\n}\n'
        assert staging_deployer.call("put", f"sys/policies/acl/{policy.name}", {"policy": widened}).status == 403
    finally:
        if before.ok:
            root.call("put", f"sys/policies/acl/{policy.name}", {"policy": before.body["data"]["policy"]})
        else:
            root.call("delete", f"sys/policies/acl/{policy.name}")


@pytest.mark.parametrize(("path", "body"), [
    ("sys/policies/acl/staging.extra", {"policy": 'path "kv-staging/data/*" { capabilities = ["read"] }'}),
    ("sys/policies/acl/production.ci.webapp", {"policy": 'path "x" { capabilities = ["read"] }'}),
    ("sys/policies/acl/secure_pipelines.deployer.staging", {"policy": 'path "*" { capabilities = ["sudo"] }'}),
    ("sys/mounts/kv-production/tune", {"description": "x"}),
    ("auth/circleci/config", {"bound_issuer": "https://issuer.attacker.example"}),
])
def test_the_staging_deployer_writes_nothing_else(staging_deployer: VaultSession, path: str, body: dict[str, str]
                                                  ) -> None:
    assert staging_deployer.write(path, body).status == 403


def test_the_staging_deployer_reads_no_secret(staging_deployer: VaultSession) -> None:
    assert staging_deployer.read("kv-staging/data/apps/webapp").status == 403
