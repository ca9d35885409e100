"""The five commands agree on every example stack: the roles and secret paths ``resources`` lists,
the grants ``explain`` shows and what ``rehearse`` saw Vault grant are the same sets; ``validate``
accepts the stack and ``render`` writes the very policies ``resources`` registers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from secure_pipelines import naming

EXAMPLE_STACKS = ("dev", "staging", "production")
Grant = tuple[str, str, str]
_PATH_RULE = re.compile(r'path "([^"]+)" \{\s*capabilities = \[([^\]]*)\]')


def _rules(hcl: str) -> list[tuple[str, set[str]]]:
    return [(path, set(re.findall(r'"(\w+)"', capabilities))) for path, capabilities in _PATH_RULE.findall(hcl)]


def _matches(rule: str, path: str) -> bool:
    """Vault policy paths: a trailing ``*`` is a prefix match, anything else is exact."""
    return path.startswith(rule[:-1]) if rule.endswith("*") else path == rule


def resources_grants(resources: Iterable[Mapping[str, Any]]) -> tuple[set[Grant], set[str]]:
    """(grants, secret paths) read off the registered resources alone: each role's policies' rules."""
    policies = {r["inputs"]["name"]: _rules(r["inputs"]["policy"]) for r in resources
                if r["type"] == "vault:index/policy:Policy"}
    roles: list[tuple[str, str, list[str]]] = []  # (who, role type, policies)
    for r in resources:
        inputs = r["inputs"]
        if r["type"] == "vault:jwt/authBackendRole:AuthBackendRole":
            who = (f"admin:{inputs['roleName']}" if inputs["roleType"] == "oidc"
                   else f"{inputs['backend']}/{inputs['roleName']}")
            roles.append((who, inputs["roleType"], inputs["tokenPolicies"]))
        elif r["type"] == "vault:generic/endpoint:Endpoint" and "/role/" in inputs["path"]:
            mount, name = re.fullmatch(r"auth/(.+)/role/(.+)", inputs["path"]).groups()
            roles.append((f"{mount}/{name}", inputs["dataJson"]["role_type"], inputs["dataJson"]["token_policies"]))
    ci_rules = {path for who, kind, names in roles if kind == "jwt" for name in names for path, _ in policies[name]}
    secret_paths = {path for who, kind, names in roles if kind == "jwt" for name in names
                    for path, capabilities in policies[name] if "read" in capabilities and "*" not in path
                    and "/data/" in path}  # a deployer role's policy reads Vault's configuration, never a secret
    # Promotion records: a glob with no exact path beside it (a secret's own rule comes as a pair).
    record_paths = {rule for rule in ci_rules if rule.endswith("/*") and rule[:-2] not in ci_rules}
    grants: set[Grant] = set()
    for who, kind, names in roles:
        rules = [rule for name in names for rule in policies[name]]
        for path in secret_paths | record_paths:
            capabilities = _capabilities(rules, path)
            if kind == "jwt" and "read" in capabilities:
                grants.add((who, path, "read"))
            if {"create", "update"} & capabilities and (kind == "oidc" or path in record_paths):
                grants.add((who, path, "write"))
    return grants, secret_paths | record_paths


def _capabilities(rules: list[tuple[str, set[str]]], path: str) -> set[str]:
    """As Vault decides: the exact rule, else the longest matching glob; ``deny`` there denies all."""
    matching = [(rule, capabilities) for rule, capabilities in rules if _matches(rule, path)]
    if not matching:
        return set()
    best = max(len(rule) + (rule == path) for rule, _ in matching)
    chosen = set().union(*(c for rule, c in matching if len(rule) + (rule == path) == best))
    return set() if "deny" in chosen else chosen


def explain_grants(matrix: Iterable[Mapping[str, Any]]) -> set[Grant]:
    return ({(r["role"], a["path"], "read") for a in matrix for r in a["readers"]}
            | {(w["role"], a["path"], "write") for a in matrix for w in a["writers"]}
            | {(r["role"], a["path"], "write") for a in matrix for r in a["recorders"]})


def _json(ran: Any) -> Any:
    assert ran.exit_code == 0, ran.output
    return json.loads(ran.stdout)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_resources_explain_and_rehearse_see_the_same_grants(stack: str, securepipe, example_project: Path) -> None:
    resources = _json(securepipe("resources", "-s", stack, "-f", "json", cwd=example_project))["resources"]
    explained = _json(securepipe("explain", "-s", stack, "-f", "json", cwd=example_project))
    rehearsed = _json(securepipe("rehearse", "-s", stack, "-f", "json", cwd=example_project))
    registered, secret_paths = resources_grants(resources)
    observed = {(a["who"], a["path"], a["capability"]) for a in rehearsed["observed_access"]}
    assert registered, "no grant read off the resources: the comparison would prove nothing"
    assert {"read", "write"} == {capability for _, _, capability in registered}
    assert secret_paths == {a["path"] for a in explained}
    assert registered == explain_grants(explained) == observed
    assert rehearsed["passed"]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_validate_accepts_and_render_writes_the_policies_resources_registers(
    stack: str, securepipe, example_project: Path, tmp_path: Path,
) -> None:
    assert securepipe("validate", "-s", stack, cwd=example_project).exit_code == 0
    assert securepipe("render", "-s", stack, "-o", str(tmp_path), cwd=example_project).exit_code == 0
    resources = _json(securepipe("resources", "-s", stack, "-f", "json", cwd=example_project))["resources"]
    registered = {r["inputs"]["name"]: r["inputs"]["policy"] for r in resources
                  if r["type"] == "vault:index/policy:Policy"}
    rendered = {p.stem: p.read_text() for p in (tmp_path / "vault" / stack).glob("*.hcl")}
    # Every stack's deployer policy is rendered beside its environment's policies; the resources stack writes them.
    own = {name for name in registered if not name.startswith(naming.deployers_prefix())}
    assert own and set(rendered) == {*own, naming.deployer_policy(stack)}
    for name in set(rendered) & set(registered):
        assert rendered[name].endswith("\n" + registered[name]), name


def test_a_grant_only_one_side_makes_is_told_apart() -> None:
    """The resource reading above finds what a policy grants, so a widened policy would differ."""
    roles = [{"type": "vault:jwt/authBackendRole:AuthBackendRole",
              "inputs": {"roleName": "site-production", "backend": "ci", "roleType": "jwt", "tokenPolicies": ["p"]}}]
    narrow = {"type": "vault:index/policy:Policy", "inputs": {"name": "p", "policy": (
        'path "kv/data/apps/site" {\n  capabilities = ["read"]\n}\n')}}
    wide = {"type": "vault:index/policy:Policy", "inputs": {"name": "p", "policy": (
        'path "kv/data/apps/site" {\n  capabilities = ["read"]\n}\npath "kv/data/apps/other" {\n'
        '  capabilities = ["read"]\n}\n')}}
    assert resources_grants([*roles, narrow])[0] == {("ci/site-production", "kv/data/apps/site", "read")}
    assert ("ci/site-production", "kv/data/apps/other", "read") in resources_grants([*roles, wide])[0]
