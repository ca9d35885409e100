"""Roles a TypeScript program writes through ``CIJwtRole``, applied to a real OpenBao: the legitimate job
logs in, every attack one change away from it is refused.

The roles come out of the package exactly as in ``test_construct.py`` (Construct requests shaped as
the TypeScript SDK sends them), into JWT mounts of their own on the session's OpenBao; they are
written as the vault provider writes them (``rehearse.apply.calls_for``). Tokens are shaped from
CircleCI's and GitHub's OIDC documentation and signed by a local key standing in for each issuer.
Logins go through the listener that trusts ``X-Forwarded-For``, so each presents the address of a
runner inside or outside the role's CIDRs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from secure_pipelines.rehearse.apply import calls_for
from secure_pipelines.rehearse.keys import IssuerKey, generate_issuer_keys
from secure_pipelines.rehearse.server import OpenBaoServer
from secure_pipelines.rehearse.tokens import mint
from secure_pipelines.rehearse.vault_client import Answer, VaultSession

from .another_language import load_program, run_program

CIRCLECI_ORG = "6a1f4c2e-0b8d-4c53-9a7e-1d2b3c4d5e6f"
CIRCLECI_ISSUER = f"https://oidc.circleci.com/org/{CIRCLECI_ORG}"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
RELEASE_PROJECT = "7d03a245-c081-4f92-9e2c-415263748596"
PRODUCTION_CONTEXT = "2e5ebd90-7b3c-4a4d-8f8e-9c0d1e2f3041"
RUNNER = "203.0.113.20"
RUNNER_V6 = "2001:db8:200::7"
OUTSIDE = "198.51.100.7"


@dataclass(frozen=True)
class WrittenRole:
    mount: str
    role: str
    key: IssuerKey


def _mount(root: VaultSession, key: IssuerKey, prefix: str) -> str:
    path = f"{prefix}-{secrets.token_hex(4)}"
    assert root.write(f"sys/auth/{path}", {"type": "jwt"}).ok
    answer = root.write(f"auth/{path}/config", {"bound_issuer": key.issuer,
                                                "jwt_validation_pubkeys": [key.public_pem]})
    assert answer.ok, answer.reason
    return path


@pytest.fixture(scope="module")
def written(openbao_root: VaultSession) -> dict[str, WrittenRole]:
    """The fixture program's two roles, written into fresh mounts (one per issuer)."""
    keys = generate_issuer_keys([CIRCLECI_ISSUER, GITHUB_ISSUER])
    mounts = {"release-bot": _mount(openbao_root, keys[CIRCLECI_ISSUER], "circleci-role-test"),
              "docs-bot": _mount(openbao_root, keys[GITHUB_ISSUER], "github-role-test")}
    _, constructs = load_program("typescript_production.yaml")
    roles = [replace(c, inputs={**c.inputs, "mount": mounts[c.name]}, depends_on=())
             for c in constructs if c.name in mounts]
    run = run_program("production", roles)
    for resource in run.capture.resources:
        if resource.parent in mounts:
            for call in calls_for(resource, keys):
                answer = openbao_root.call(call.method, call.path, dict(call.body))
                assert answer.ok, answer.reason
    return {
        "release-bot": WrittenRole(mounts["release-bot"], "production.release-bot", keys[CIRCLECI_ISSUER]),
        "docs-bot": WrittenRole(mounts["docs-bot"], "production.docs", keys[GITHUB_ISSUER]),
    }


def _times() -> dict[str, int]:
    now = int(time.time())
    return {"iat": now, "nbf": now - 5, "exp": now + 300}


def circleci_claims() -> dict[str, Any]:
    """A CircleCI job of the release project on main, in the production context (``$CIRCLE_OIDC_TOKEN_V2``)."""
    user = "3f6fce01-8c4d-4b5e-9a9f-0d1e2f304152"
    return {
        "iss": CIRCLECI_ISSUER, "aud": CIRCLECI_ORG, **_times(),
        "sub": f"org/{CIRCLECI_ORG}/project/{RELEASE_PROJECT}/user/{user}/vcs-origin/github.com/acme/release"
               "/vcs-ref/refs/heads/main",
        "oidc.circleci.com/org-id": CIRCLECI_ORG,
        "oidc.circleci.com/project-id": RELEASE_PROJECT,
        "oidc.circleci.com/context-ids": [PRODUCTION_CONTEXT],
        "oidc.circleci.com/vcs-origin": "github.com/acme/release",
        "oidc.circleci.com/vcs-ref": "refs/heads/main",
        "oidc.circleci.com/ssh-rerun": False,
    }


def github_claims() -> dict[str, Any]:
    """A GitHub Actions job of acme/docs deploying from main in the production environment."""
    return {
        "iss": GITHUB_ISSUER, "aud": "https://github.com/acme", **_times(),
        "sub": "repo:acme/docs:environment:production",
        "repository": "acme/docs", "repository_id": "700000003",
        "repository_owner": "acme", "repository_owner_id": "91234567",
        "environment": "production", "ref": "refs/heads/main", "ref_type": "branch", "event_name": "push",
        "runner_environment": "self-hosted",
    }


def _login(openbao: OpenBaoServer, role: WrittenRole, claims: dict[str, Any], address: str) -> Answer:
    session = VaultSession(openbao.forwarded_addr, client_address=address)
    return session.write(f"auth/{role.mount}/login", {"role": role.role, "jwt": mint(role.key, claims)})


def test_the_legitimate_circleci_job_logs_in_with_only_the_roles_policy_for_five_minutes(openbao, written):
    answer = _login(openbao, written["release-bot"], circleci_claims(), RUNNER)
    assert answer.ok, answer.reason
    assert answer.body["auth"]["policies"] == ["production.ci.release-bot"]
    assert answer.body["auth"]["lease_duration"] == 300


def test_the_legitimate_github_job_logs_in_from_either_network(openbao, written):
    for address in (RUNNER, RUNNER_V6):
        answer = _login(openbao, written["docs-bot"], github_claims(), address)
        assert answer.ok, (address, answer.reason)
        assert answer.body["auth"]["policies"] == ["production.ci.docs"]


def _without(claim: str) -> Callable[[dict[str, Any]], None]:
    return lambda claims: claims.pop(claim)


def _setting(claim: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda claims: claims.update({claim: value})


ATTACKS: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "an SSH rerun": ("release-bot", _setting("oidc.circleci.com/ssh-rerun", True)),
    "no ssh-rerun claim": ("release-bot", _without("oidc.circleci.com/ssh-rerun")),
    "the string 'false' for ssh-rerun": ("release-bot", _setting("oidc.circleci.com/ssh-rerun", "false")),
    "another project of the organisation": ("release-bot", _setting("oidc.circleci.com/project-id",
                                                                    "8e14b356-d192-4fa3-8f20-526374859607")),
    "a feature branch": ("release-bot", _setting("oidc.circleci.com/vcs-ref", "refs/heads/feature")),
    "a look-alike branch": ("release-bot", _setting("oidc.circleci.com/vcs-ref", "refs/heads/main-evil")),
    "no context": ("release-bot", _setting("oidc.circleci.com/context-ids", [])),
    "another CircleCI organisation's audience": ("release-bot", _setting("aud", "another-org")),
    "another repository": ("docs-bot", _setting("repository_id", "700000099")),
    "a fork's owner": ("docs-bot", _setting("repository_owner_id", "1")),
    "the staging environment": ("docs-bot", _setting("environment", "staging")),
    "a pull request ref": ("docs-bot", _setting("ref", "refs/pull/7/merge")),
    "the default audience of another owner": ("docs-bot", _setting("aud", "https://github.com/evil")),
}
CLAIMS = {"release-bot": circleci_claims, "docs-bot": github_claims}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attack_one_change_away_from_the_legitimate_job_is_refused(openbao, written, attack):
    role, change = ATTACKS[attack]
    claims = CLAIMS[role]()
    change(claims)
    assert not _login(openbao, written[role], claims, RUNNER).ok


@pytest.mark.parametrize("role", ["release-bot", "docs-bot"])
def test_a_legitimate_token_from_outside_the_allowlist_is_refused(openbao, written, role):
    assert not _login(openbao, written[role], CLAIMS[role](), OUTSIDE).ok
