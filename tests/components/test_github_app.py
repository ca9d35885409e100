"""The GitHub side is applied through a GitHub App installation, never a personal token."""

from __future__ import annotations

import json

import pulumi
import pytest

from secure_pipelines.plan import Plan
from secure_pipelines.stack import CapturedResource, capture_program, register_stack
from secure_pipelines.stack.capture import PLACEHOLDER_SECRET
from secure_pipelines.stack.program import github_app_from_config

PROVIDER = "pulumi:providers:github"


@pytest.mark.parametrize("stack", ["production", "dev"])
def test_the_stack_configures_the_github_provider_for_the_app_installation(
    captured: dict[str, list[CapturedResource]], example_plan: Plan, stack: str,
) -> None:
    (provider,) = [r for r in captured[stack] if r.type_token == PROVIDER]
    assert provider.inputs["owner"] == example_plan.github_owner
    assert "token" not in provider.inputs
    # As stacks/Pulumi.<stack>.yaml sets them; the private key is a secret set only with the Pulumi CLI.
    assert json.loads(provider.inputs["appAuth"]) == {"id": "9000000090", "installationId": "9000000091",
                                                      "pemFile": PLACEHOLDER_SECRET}
    assert "appAuth" in provider.secret_keys


def test_a_stack_without_the_app_installation_stops_naming_the_missing_setting(example_plan: Plan) -> None:
    def program() -> None:
        config = pulumi.Config("secure-pipelines")
        register_stack(example_plan, "staging", admin_oidc_client_id=lambda: "id",
                       admin_oidc_client_secret=lambda: "secret", github_app=lambda: github_app_from_config(config))

    with pytest.raises(pulumi.ConfigMissingError, match="secure-pipelines:githubAppId"):
        capture_program(program, "staging", config={})
