"""Another team's program: builds its own small plan and uses ONE secure-pipelines component.

Run as ``python tests/components/standalone_program.py <Component>``; prints the resources it registered
(under Pulumi's mocks runtime) as JSON. ``test_standalone.py`` runs it in a fresh process, as a
separate stack program would be.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pulumi

from secure_pipelines import components as sp
from secure_pipelines.declaration.loader import parse_declaration
from secure_pipelines.plan.assembly import build_plan

DECLARATION: dict[str, Any] = {
    "version": 2,
    "organization": {"name": "tiny", "github": {"owner": "tiny", "owner_id": 1001, "plan": "team"}},
    "ci": {"github_actions": {}},
    "admins": {
        "auth": {"oidc_discovery_url": "https://id.tiny.example/", "bound_audiences": ["vault"]},
        "groups": {"live": "admins"},
        "ip_allowlist": ["198.51.100.0/28"],
        "members": [{"name": "ada"}],
    },
    "repositories": [{"name": "site", "github_id": 2001, "ci": {"github_actions": {}}, "visibility": "public",
                      "required_status_checks": ["test"],
                      "overrides": {"self_hosted_runners_on_public_repository": "just-in-time runners, one job each"}}],
    "environments": [{"name": "live", "tier": "production", "repositories": ["site"],
                      "ip_allowlist": ["192.0.2.0/28"], "token_ttl": 300, "token_max_ttl": 600,
                      "reviewers": {"users": [3001]}}],
}


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.registered.append({"type": args.typ, "name": args.name})
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def build(component: str) -> pulumi.Resource:
    plan = build_plan(parse_declaration(DECLARATION))
    env = plan.environment("live")
    builders = {
        "SecretStore": lambda: sp.SecretStore("store", sp.SecretStoreArgs(store=env.secret_store)),
        "AccessPolicies": lambda: sp.AccessPolicies("policies", sp.AccessPoliciesArgs(policies=env.policies)),
        "CIRoles": lambda: sp.CIRoles("roles", sp.CIRolesArgs(roles=env.roles)),
        "AdminRole": lambda: sp.AdminRole("admin", sp.AdminRoleArgs(role=env.admin_role)),
        "GitHubEnvironments": lambda: sp.GitHubEnvironments(
            "envs", sp.GitHubEnvironmentsArgs(environments=env.github_environments)),
        "JwtAuthMounts": lambda: sp.JwtAuthMounts("mounts", sp.JwtAuthMountsArgs(mounts=plan.jwt_mounts)),
        "AdminAuth": lambda: sp.AdminAuth("admins", sp.AdminAuthArgs(
            mount=plan.admin_auth, oidc_client_id="id", oidc_client_secret=pulumi.Output.secret("s"))),
        "DefaultBranchProtection": lambda: sp.DefaultBranchProtection(
            "protection", sp.DefaultBranchProtectionArgs(protections=plan.branch_protections)),
        "Environment": lambda: sp.Environment("live", sp.EnvironmentArgs(environment=env)),
    }
    return builders[component]()


def main(component: str) -> None:
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="another-project", stack="another-stack", preview=False)
    pulumi.runtime.test(lambda: build(component).urn)()
    print(json.dumps(recorder.registered))


if __name__ == "__main__":
    main(sys.argv[1])
