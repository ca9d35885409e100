"""A pinned policy's capability checks through its parameter-free twin: Vault answers both alike."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from secure_pipelines.rehearse.grants import SharedCapabilities, capabilities_of, without_parameters
from secure_pipelines.rehearse.vault_client import VaultSession

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "deployers"
DEPLOYER_POLICIES = sorted(GOLDEN.glob("*.hcl"))


def _rules(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if re.match(r"\s*(path\s|capabilities\s*=)", line)]


def _paths_to_ask(policy_text: str) -> list[str]:
    """Every path a rule of the policy names (globs filled in), their neighbours, and secret paths."""
    named = re.findall(r'^path "([^"]+)"', policy_text, re.MULTILINE)
    concrete = [p.replace("+", "seg").rstrip("*") + ("x" if p.endswith("*") else "") for p in named]
    around = [f"{p}/deeper" for p in concrete] + [p.rsplit("/", 1)[0] for p in concrete]
    secret = [f"kv-{env}/{kind}/apps/webapp" for env in ("dev", "qa", "staging", "production")
              for kind in ("data", "metadata")]
    return list(dict.fromkeys(concrete + around + secret))


def _token(root: VaultSession, policy: str) -> str:
    created = root.write("auth/token/create", {"policies": [policy], "no_default_policy": True, "ttl": "10m"})
    assert created.ok, created.reason
    return created.body["auth"]["client_token"]


@pytest.mark.parametrize("golden", DEPLOYER_POLICIES, ids=lambda p: p.stem)
def test_a_twin_keeps_every_rule_and_drops_every_pin(golden: Path) -> None:
    text = golden.read_text()
    twin = without_parameters(text)
    assert twin is not None
    assert "allowed_parameters = {" in text and "allowed_parameters = {" not in twin
    assert "denied_parameters = {" not in twin
    assert _rules(twin) == _rules(text) and len(_rules(text)) > 10


def test_a_parameter_block_not_written_one_parameter_a_line_is_not_twinned() -> None:
    stanza = 'path "sys/policies/acl/a" {\n  capabilities = ["update"]\n  allowed_parameters = {\n'
    assert without_parameters(stanza + '    "policy" = ["x"]\n  }\n}\n') == \
        'path "sys/policies/acl/a" {\n  capabilities = ["update"]\n}\n'
    assert without_parameters(stanza + '    "policy" = [\n      "x",\n    ]\n  }\n}\n') is None
    assert without_parameters(stanza + '    "policy" = ["x"]\n') is None  # never closed
    # A rule hidden on a line that opens like a parameter is not dropped with the block: no twin at all.
    hidden = stanza + '    "x" = ["a"] } path "kv/data/*" { capabilities = ["read"]\n  }\n}\n'
    assert without_parameters(hidden) is None
    assert without_parameters(stanza + '    "policy" = ["a \\"quoted\\" ] } value", "b"]\n  }\n}\n') is not None


@pytest.mark.parametrize("golden", DEPLOYER_POLICIES, ids=lambda p: p.stem)
def test_vault_answers_a_twin_as_it_answers_the_pinned_policy(openbao_root: VaultSession, golden: Path) -> None:
    text = golden.read_text()
    name = f"{golden.stem}-{secrets.token_hex(3)}"
    assert openbao_root.write(f"sys/policies/acl/{name}", {"policy": text}).ok
    assert openbao_root.write(f"sys/policies/acl/{name}-twin", {"policy": without_parameters(text)}).ok
    paths = _paths_to_ask(text)
    pinned = capabilities_of(openbao_root, _token(openbao_root, name), paths)
    twin = capabilities_of(openbao_root, _token(openbao_root, f"{name}-twin"), paths)
    assert twin == pinned
    assert sum(1 for caps in pinned.values() if caps != {"deny"}) > 10


def test_shared_answers_for_a_pinned_policy_come_from_its_twin_which_is_then_removed(
        openbao_root: VaultSession) -> None:
    text = (GOLDEN / "secure_pipelines.deployer.dev.hcl").read_text()
    name = f"pinned-{secrets.token_hex(3)}"
    assert openbao_root.write(f"sys/policies/acl/{name}", {"policy": text}).ok
    token = _token(openbao_root, name)
    paths = _paths_to_ask(text)
    shared = SharedCapabilities(openbao_root)

    assert shared.of(token, paths) == capabilities_of(openbao_root, token, paths)
    assert name in shared.how(token) and "without its parameter pins" in shared.how(token)
    listed = openbao_root.call("list", "sys/policies/acl").body["data"]["keys"]
    assert not [p for p in listed if p.startswith(f"{name}.rehearsal-twin")]


def test_a_policy_without_pins_is_asked_with_the_token_itself(openbao_root: VaultSession) -> None:
    name = f"plain-{secrets.token_hex(3)}"
    assert openbao_root.write(f"sys/policies/acl/{name}", {"policy": "# no allowed_parameters here\n"
                              f'path "kv/data/{name}" {{\n  capabilities = ["read"]\n}}\n'}).ok
    shared = SharedCapabilities(openbao_root)
    token = _token(openbao_root, name)
    assert shared.of(token, [f"kv/data/{name}", "kv/data/other"]) == {
        f"kv/data/{name}": {"read"}, "kv/data/other": {"deny"}}
    assert shared.how(token) == ""


def test_a_pinned_policy_widened_to_read_secrets_is_still_seen_reaching_them(openbao_root: VaultSession) -> None:
    widened = (GOLDEN / "secure_pipelines.deployer.dev.hcl").read_text() + \
        'path "kv-dev/data/*" {\n  capabilities = ["read"]\n}\n'
    name = f"widened-{secrets.token_hex(3)}"
    assert openbao_root.write(f"sys/policies/acl/{name}", {"policy": widened}).ok
    shared = SharedCapabilities(openbao_root)
    token = _token(openbao_root, name)
    answers = shared.of(token, ["kv-dev/data/apps/webapp", "kv-qa/data/apps/webapp"])
    assert answers == {"kv-dev/data/apps/webapp": {"read"}, "kv-qa/data/apps/webapp": {"deny"}}
    assert shared.how(token)
