"""Pinned deployer policies through the capability screen: their rules read without their pins, every
answer Vault's."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from secure_pipelines.rehearse.grants import (
    CapabilityScreen,
    SharedCapabilities,
    capabilities_of,
    screenable,
    without_parameters,
)
from secure_pipelines.rehearse.vault_client import VaultSession

from .conftest import CountingSession

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
def test_a_pinned_policys_rules_are_read_without_its_pins_and_screened(golden: Path) -> None:
    text = golden.read_text()
    rules = without_parameters(text)
    assert rules is not None
    assert "allowed_parameters = {" in text and "allowed_parameters = {" not in rules
    assert "denied_parameters = {" not in rules
    assert _rules(rules) == _rules(text) and len(_rules(text)) > 10
    assert "\\" in text and screenable(text)  # the pins hold escapes; the rules do not


def test_a_parameter_block_not_written_one_parameter_a_line_is_not_read_so_not_screened() -> None:
    stanza = 'path "sys/policies/acl/a" {\n  capabilities = ["update"]\n  allowed_parameters = {\n'
    assert without_parameters(stanza + '    "policy" = ["x"]\n  }\n}\n') == \
        'path "sys/policies/acl/a" {\n  capabilities = ["update"]\n}\n'
    assert without_parameters(stanza + '    "policy" = [\n      "x",\n    ]\n  }\n}\n') is None
    assert without_parameters(stanza + '    "policy" = ["x"]\n') is None  # never closed
    # A rule hidden on a line that opens like a parameter is not dropped with the block: not screened at all.
    hidden = stanza + '    "x" = ["a"] } path "kv/+/*" { capabilities = ["read"]\n  }\n}\n'
    assert without_parameters(hidden) is None and not screenable(hidden)
    assert without_parameters(stanza + '    "policy" = ["a \\"quoted\\" ] } value", "b"]\n  }\n}\n') is not None


@pytest.mark.parametrize("golden", DEPLOYER_POLICIES, ids=lambda p: p.stem)
def test_the_screen_answers_a_pinned_policy_as_vault_answers_its_token_and_asks_it_no_secret_path(
        openbao_root: VaultSession, golden: Path, counting_root: CountingSession) -> None:
    text = golden.read_text()
    name = f"{golden.stem}-{secrets.token_hex(3)}"
    assert openbao_root.write(f"sys/policies/acl/{name}", {"policy": text}).ok
    token = _token(openbao_root, name)
    paths = _paths_to_ask(text)
    root = counting_root
    with CapabilityScreen(root) as screen:
        shared = SharedCapabilities(root, screen)
        answers = shared.of(token, paths)
        assert answers == capabilities_of(openbao_root, token, paths)
        assert sum(1 for caps in answers.values() if caps != {"deny"}) > 10
        assert not [p for p in root.asked if "/data/" in p or "/metadata/" in p]
        assert name in shared.how(token) and "resultant-acl" in shared.how(token)


def test_a_policy_the_screen_cannot_read_is_asked_every_path_with_the_token(openbao_root: VaultSession) -> None:
    name = f"segments-{secrets.token_hex(3)}"
    assert openbao_root.write(f"sys/policies/acl/{name}", {"policy": "# a segment wildcard\n"
                              f'path "kv/+/{name}" {{\n  capabilities = ["read"]\n}}\n'}).ok
    with CapabilityScreen(openbao_root) as screen:
        shared = SharedCapabilities(openbao_root, screen)
        token = _token(openbao_root, name)
        assert shared.of(token, [f"kv/data/{name}", "kv/data/other"]) == {
            f"kv/data/{name}": {"read"}, "kv/data/other": {"deny"}}
        assert shared.how(token) == ""


def test_a_pinned_policy_widened_to_read_secrets_is_still_seen_reaching_them(openbao_root: VaultSession) -> None:
    widened = (GOLDEN / "secure_pipelines.deployer.dev.hcl").read_text() + \
        'path "kv-dev/data/*" {\n  capabilities = ["read"]\n}\n'
    name = f"widened-{secrets.token_hex(3)}"
    assert openbao_root.write(f"sys/policies/acl/{name}", {"policy": widened}).ok
    with CapabilityScreen(openbao_root) as screen:
        shared = SharedCapabilities(openbao_root, screen)
        token = _token(openbao_root, name)
        answers = shared.of(token, ["kv-dev/data/apps/webapp", "kv-qa/data/apps/webapp"])
        assert answers == {"kv-dev/data/apps/webapp": {"read"}, "kv-qa/data/apps/webapp": {"deny"}}
        assert "no rule for 1 of the 2 paths" in shared.how(token)
