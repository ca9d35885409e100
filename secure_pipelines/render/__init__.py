"""Plan -> rendered files: pipeline configs, CircleCI config policies and their tests, Vault policies.

Every function here is pure (plan in, ``{relative path: text}`` out) except :func:`write_files`.
"""

from .files import (
    circleci_config,
    circleci_config_path,
    circleci_policies,
    github_actionlint_config,
    github_actionlint_config_path,
    github_workflow,
    github_workflow_path,
    render_files,
    vault_policy_files,
    write_files,
)
from .pipelines import DeployJob, Pipeline, RoleChoice, pipeline, pipelines
from .policy_cases import (
    PolicyCase,
    circleci_policy_tests,
    honest_cases,
    parse_config,
    policy_cases,
    tampered_cases,
)
from .templating import RenderSource

__all__ = [
    "DeployJob",
    "Pipeline",
    "PolicyCase",
    "RenderSource",
    "RoleChoice",
    "circleci_config",
    "circleci_config_path",
    "circleci_policies",
    "circleci_policy_tests",
    "github_actionlint_config",
    "github_actionlint_config_path",
    "github_workflow",
    "github_workflow_path",
    "honest_cases",
    "parse_config",
    "pipeline",
    "pipelines",
    "policy_cases",
    "render_files",
    "tampered_cases",
    "vault_policy_files",
    "write_files",
]
