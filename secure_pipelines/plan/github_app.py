"""The GitHub App permissions the stacks need, derived from the plan: exactly those, and no more.

The stacks configure the GitHub provider for a GitHub App installation, never a personal token. What
the provider calls for each resource type, and the App permission GitHub asks for each call (GitHub's
server-to-server permission data; ``pulumi_github`` wraps terraform-provider-github):

* every run: ``GET /orgs/{owner}`` and ``GET /repos/{owner}/{repo}``: Repository "Metadata", read
  (GitHub gives every App that level anyway);
* ``github.BranchProtection``: the branch protection mutations (REST: ``/branches/{branch}/protection``):
  Repository "Administration", write;
* ``github.OrganizationRuleset``: ``/orgs/{org}/rulesets``: Organization "Administration", write (even to
  read a ruleset back);
* ``github.RepositoryEnvironment`` and ``RepositoryEnvironmentDeploymentPolicy``: ``PUT``/``DELETE``
  environment and branch policy: Repository "Administration", write; reading them back: Repository
  "Actions", read.

Reviewers and ruleset bypass teams are numeric ids in the plan, so no team is looked up by name and the
App needs no Organization "Members" permission.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .model import EnvironmentPlan, Plan

Scope = Literal["repository", "organization"]
Access = Literal["read", "write"]


@dataclass(frozen=True)
class AppPermission:
    """One permission of the GitHub App, as GitHub's App settings page names it."""

    scope: Scope
    name: str
    """GitHub's title of the permission, e.g. ``Administration``."""
    access: Access
    why: tuple[str, ...]
    """What the stacks do with it, for people."""

    @property
    def id(self) -> str:
        """A stable id: ``repository.administration``."""
        return f"{self.scope}.{self.name.lower()}"


@dataclass(frozen=True)
class AppNeeds:
    """What the GitHub App installation needs for the chosen stacks."""

    permissions: tuple[AppPermission, ...]
    repositories: tuple[str, ...]
    """The repositories the installation must reach ("Only select repositories"); empty: none."""

    @property
    def needed(self) -> bool:
        return bool(self.permissions)


def _needs(plan: Plan, environments: Iterable[EnvironmentPlan], organization: bool
           ) -> list[tuple[Scope, str, Access, str, str | None]]:
    found: list[tuple[Scope, str, Access, str, str | None]] = []
    if organization:
        for protection in plan.branch_protections:
            if protection.enforceable:
                found.append(("repository", "Administration", "write",
                              "protect default branches (branch protection)", protection.repository))
        if plan.organization_ruleset is not None:
            found.append(("organization", "Administration", "write",
                          f"the organisation ruleset {plan.organization_ruleset.name} (GitHub asks write even to "
                          "read it back)", None))
    for env in environments:
        for github_env in env.github_environments:
            if not github_env.available:
                continue
            found.append(("repository", "Administration", "write",
                          "create deployment environments and their branch policies", github_env.repository))
            found.append(("repository", "Actions", "read",
                          "read deployment environments and branch policies back", github_env.repository))
    if found:
        found.append(("repository", "Metadata", "read",
                      "read the organisation and each repository (every App has it)", None))
    return found


def app_needs(plan: Plan, stacks: Sequence[str] | None = None) -> AppNeeds:
    """The App permissions and repositories ``stacks`` need (every stack when ``None``). Pure."""
    chosen = [e for e in plan.environments if stacks is None or e.name in stacks]
    organization = stacks is None or plan.resources_stack in stacks
    merged: dict[tuple[Scope, str], tuple[Access, list[str]]] = {}
    repositories: list[str] = []
    for scope, name, access, why, repository in _needs(plan, chosen, organization):
        old_access, reasons = merged.get((scope, name), ("read", []))
        merged[(scope, name)] = ("write" if "write" in (old_access, access) else "read",
                                 reasons if why in reasons else [*reasons, why])
        if repository is not None and repository not in repositories:
            repositories.append(repository)
    order = {"organization": 1, "repository": 0}
    permissions = sorted((AppPermission(scope, name, access, tuple(why)) for (scope, name), (access, why)
                          in merged.items()), key=lambda p: (order[p.scope], p.name))
    return AppNeeds(tuple(permissions), tuple(repositories))


def markdown_table(needs: AppNeeds) -> str:
    """The permissions as a Markdown table (the README's is this function's output for the example)."""
    lines = ["| permission | access | why |", "|---|---|---|"]
    lines += [f"| {p.scope.capitalize()} \"{p.name}\" | {p.access} | {'; '.join(p.why)} |" for p in needs.permissions]
    return "\n".join(lines) + "\n"
