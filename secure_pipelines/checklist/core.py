"""The core's parts of the setup checklist: one plain function per concern, each taking the setup and
returning its steps. Adding a concern is adding a function to ``CORE_PARTS``; a CI system adds its own
through its ``SetupSteps`` capability instead."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..declaration.where import github_owner_id, github_repository_id
from ..plan.github_app import app_needs
from ..plan.model import EnvironmentPlan
from .steps import Phase, Scope, Setup, Step, Value, declared, hint

StepSource = Callable[[Setup], Iterable[Step]]
"""A part of the checklist: the steps one concern needs, from the setup."""
DISCOVERY_DOCUMENT = "/.well-known/openid-configuration"


def _organization(setup: Setup) -> Scope:
    return Scope("organization", setup.plan.organization)


def _environments(setup: Setup) -> list[EnvironmentPlan]:
    """Every environment, the resources stack's first (it is applied first)."""
    return sorted(setup.plan.environments, key=lambda e: e.name != setup.plan.resources_stack)


def github_ids(setup: Setup) -> Iterator[Step]:
    """The GitHub organisation's and each GitHub repository's immutable ids."""
    plan = setup.plan
    yield Step(
        "github.owner-id", Phase.DECLARE, _organization(setup),
        "Paste the GitHub organisation's immutable id into the declaration",
        values=(Value("organization.github.owner_id", declared(plan.github_owner_id)),),
        where=github_owner_id(plan.github_owner),
        verify=f"`curl -s https://api.github.com/orgs/{plan.github_owner} | jq .id` prints the declared id",
        why="roles bind the immutable owner id (repository_owner_id), which survives a rename; a name would not",
    )
    for repository in plan.repositories:
        if repository.github_id is None:
            continue
        yield Step(
            f"github.repository-id.{repository.name}", Phase.DECLARE, Scope("repository", repository.name),
            f"Paste {repository.name}'s immutable GitHub id into the declaration",
            values=(Value(f"repositories[{repository.name}].github_id", declared(repository.github_id)),),
            where=github_repository_id(plan.github_owner, repository.name),
            verify=f"`curl -s {github_repository_id(plan.github_owner, repository.name).split(' ')[0]} | jq .id` "
                   "prints the declared id (with a token if the repository is private)",
        )


def github_app(setup: Setup) -> Iterator[Step]:
    """The GitHub App the stacks apply the GitHub side with: created with exactly the permissions the plan
    needs, installed on the repositories the stacks write to only, its ids and key in each stack's config."""
    plan = setup.plan
    needs = app_needs(plan)
    if not needs.needed:
        return
    yield Step(
        "github.app", Phase.DECLARE, _organization(setup),
        "Create the GitHub App the stacks apply the GitHub side with, with exactly these permissions",
        values=tuple(Value(f"{p.scope.capitalize()} \"{p.name}\"", p.access) for p in needs.permissions),
        where=f"https://github.com/organizations/{plan.github_owner}/settings/apps/new (no webhook, no user "
              "authorisation); then Generate a private key (a .pem file)",
        verify="the App's Permissions page lists these and no other; `securepipe explain --all --view github-app` "
               "prints the same",
        why="the stacks write branch protection and environments with a token of this App: only these "
            "permissions, only on the installed repositories, never a person's token",
    )
    yield Step(
        "github.app-installation", Phase.DECLARE, _organization(setup),
        "Install the App on these repositories only, and put its ids in every stack config file",
        values=(Value("repositories", ", ".join(needs.repositories)),
                hint("secure-pipelines:githubAppId", "the App ID on the App's General settings page"),
                hint("secure-pipelines:githubAppInstallationId", "the number ending the installation's URL, "
                     f"https://github.com/organizations/{plan.github_owner}/settings/installations/<id>")),
        where="the App's page > Install App > Only select repositories; then stacks/Pulumi.<stack>.yaml",
        verify="the installation lists exactly these repositories; `securepipe validate` reads the stack files",
        why="an installation on all repositories would let the stacks' key change repositories the "
            "declaration does not name",
    )


def vault_server(setup: Setup) -> Iterator[Step]:
    """What the Vault server itself must allow: fetching each issuer's keys, and whom it believes about
    a client's address."""
    plan = setup.plan
    documents = tuple(Value(f"{mount.path} (issuer {mount.issuer})", mount.oidc_discovery_url.rstrip("/")
                            + DISCOVERY_DOCUMENT) for mount in plan.jwt_mounts)
    yield Step(
        "vault.issuer-discovery", Phase.VAULT, _organization(setup),
        "Let Vault reach each CI issuer's OIDC discovery document over HTTPS",
        values=documents,
        where="the Vault server's outbound firewall or proxy",
        verify="from the Vault host, `curl -sf <each URL above>` prints a document whose issuer is the one listed",
        why="Vault fetches each issuer's signing keys when the stack configures its JWT mount, and as keys rotate",
    )
    yield Step(
        "vault.forwarded-for", Phase.VAULT, _organization(setup),
        "Make Vault's listener trust X-Forwarded-For from your load balancers only",
        values=(hint("x_forwarded_for_authorized_addrs", "your load balancers' addresses, nothing wider"),
                Value("x_forwarded_for_reject_not_authorized", "true"),
                Value("x_forwarded_for_reject_not_present", "true")),
        where="the listener \"tcp\" block of the Vault server's configuration (README: behind a load balancer)",
        verify="a login to a CI role from an address outside its environment's ip_allowlist is refused "
               "(`securepipe rehearse` proves the rule on its own listener)",
        why="every role binds token_bound_cidrs to the address Vault believes; trust a wider range and anything "
            "inside it can claim to be inside your allowlist",
    )


def admins_identity_provider(setup: Setup) -> Iterator[Step]:
    """The OIDC client Vault is at the admins' identity provider, and one group per environment."""
    plan = setup.plan
    first = plan.environments[0].admin_role
    yield Step(
        "admins.oidc-client", Phase.VAULT, _organization(setup),
        "Register Vault as an OIDC client at the admins' identity provider",
        values=(
            Value("issuer", plan.admin_auth.oidc_discovery_url),
            Value("client id (one of admins.auth.bound_audiences)", ", ".join(first.bound_audiences)),
            Value("redirect URIs", ", ".join(first.allowed_redirect_uris)),
            Value("claims the ID token carries", f"{first.groups_claim}, {first.user_claim}"),
            hint(f"stacks/Pulumi.{plan.resources_stack}.yaml", "secure-pipelines:adminOidcClientId: the client id"),
            Value("the client secret", f"pulumi config set --secret -s {plan.resources_stack} "
                                       "secure-pipelines:adminOidcClientSecret"),
        ),
        where="your identity provider's admin console",
        verify=f"after `pulumi up -s {plan.resources_stack}`: `bao login -method=oidc -path={plan.admin_auth.path} "
               f"role={first.role_name}` opens the provider's login and returns a token to a member of "
               f"{first.admin_group}",
        why="the ID token's audience is the client id: a client id outside bound_audiences refuses every admin login",
    )
    for environment in _environments(setup):
        role = environment.admin_role
        networks = ", ".join(role.token_bound_cidrs) or "any address (admins.ip_allowlist is empty)"
        yield Step(
            f"admins.group.{environment.name}", Phase.VAULT, Scope("environment", environment.name),
            f"Create the identity provider group of {environment.name}'s secret admins, and put only them in it",
            values=(Value("group", role.admin_group), Value("ID token claim listing it", role.groups_claim),
                    Value("admins log in from", networks)),
            where="your identity provider's groups",
            verify=f"an admin's ID token lists {role.admin_group} in {role.groups_claim}; "
                   f"`securepipe explain -s {environment.name}` shows the group as the only writer",
            why="members may write (never read) this environment's secrets; a group serving two tiers would make a "
                "dev admin a production admin",
            environment=environment.name,
        )


def apply_stacks(setup: Setup) -> Iterator[Step]:
    """Each stack's config file and ``pulumi up``, the resources stack first."""
    plan = setup.plan
    for environment in _environments(setup):
        name = environment.name
        first = name == plan.resources_stack
        address = setup.vault_address(name)
        yield Step(
            f"apply.{name}", Phase.APPLY, Scope("environment", name),
            f"Apply the {name} stack" + (" first: it creates the auth mounts every other stack writes roles into"
                                         if first else ""),
            values=(Value("stack config file", f"stacks/Pulumi.{name}.yaml"),
                    Value("vault:address", address.value, address.exact),
                    hint("credentials", "export VAULT_TOKEN: a short-lived token of this stack's deployer policy "
                                        f"{plan.deployer(name).name} (README: Key zero), never root"),
                    Value("once", f"pulumi stack init {name}"),
                    *((Value("the GitHub App's key, once", f"pulumi config set --secret -s {name} "
                             "secure-pipelines:githubAppPrivateKey < app.private-key.pem"),)
                      if app_needs(plan, [name]).needed else ()),
                    Value("prove, then apply", f"securepipe rehearse -s {name} && pulumi up -s {name}")),
            where="the infrastructure project's directory",
            verify=f"`pulumi preview -s {name}` shows no change; `securepipe resources -s {name}` lists what it "
                   "applied",
            environment=name,
        )


def github_repositories(setup: Setup) -> Iterator[Step]:
    """What GitHub's protection needs from each repository, and what the declared plan cannot enforce."""
    plan = setup.plan
    code_owners = {p.repository for p in plan.branch_protections if p.require_code_owner_reviews}
    if plan.organization_ruleset is not None and plan.organization_ruleset.require_code_owner_reviews:
        code_owners |= {r.name for r in plan.repositories if r.github_id is not None}
    unenforced = {p.repository: p.unenforced_reason for p in plan.branch_protections if not p.enforceable}
    for repository in plan.repositories:
        if repository.github_id is None:
            continue
        scope = Scope("repository", repository.name)
        if repository.name in code_owners:
            yield Step(
                f"github.codeowners.{repository.name}", Phase.REPOSITORIES, scope,
                f"Add a CODEOWNERS file to {repository.name} naming who must review each path",
                values=(Value("file", ".github/CODEOWNERS (on the default branch)"),),
                where=f"the repository {plan.github_owner}/{repository.name}",
                verify="a pull request touching an owned path lists its owner as a required reviewer",
                why="branch protection requires code-owner review, which requires nobody where no owner is named",
            )
        if repository.required_status_checks:
            yield Step(
                f"github.status-checks.{repository.name}", Phase.REPOSITORIES, scope,
                f"Make {repository.name}'s CI report the required status checks under exactly these names",
                values=tuple(Value("required check", check) for check in repository.required_status_checks),
                where=f"the rendered pipeline of {repository.name} names its jobs so",
                verify="a pull request's checks list each name; a merge waits for all of them",
                why="branch protection waits for checks of these names: one never reported blocks every merge",
            )
        if repository.name in unenforced:
            yield Step(
                f"github.unenforced.{repository.name}", Phase.REPOSITORIES, scope,
                f"Know that GitHub does not enforce {repository.name}'s branch protection",
                values=(hint("reason", str(unenforced[repository.name])),),
                where="upgrade the plan or change the visibility to have it enforced",
                verify="the declaration's overrides.unenforced_github_protection gives your reason",
            )
        for environment in plan.environments:
            for github in environment.github_environments:
                if github.repository == repository.name and (github.reviewer_users or github.reviewer_teams) and \
                        not github.reviewers_enforceable:
                    yield Step(
                        f"github.unenforced-reviewers.{repository.name}.{environment.name}", Phase.REPOSITORIES,
                        scope, f"Know that GitHub does not enforce the {environment.name} reviewers of "
                               f"{repository.name} on its plan",
                        where="GitHub Enterprise enforces environment reviewers on private repositories",
                        verify="the declaration's overrides.unenforced_github_protection gives your reason",
                        environment=environment.name,
                    )


def secrets(setup: Setup) -> Iterator[Step]:
    """Each environment's secrets, written by its admins (Pulumi never holds a secret value)."""
    plan = setup.plan
    for environment in _environments(setup):
        role = environment.admin_role
        paths = tuple(Value(f"{p.repository}" + (f" ({p.developer})" if p.developer else ""), f"{p.mount}/{p.path}")
                      for p in environment.secret_store.paths)
        yield Step(
            f"secrets.{environment.name}", Phase.SECRETS, Scope("environment", environment.name),
            f"Write the secrets of {environment.name}, as one of its admins",
            values=paths,
            where=f"`bao login -method=oidc -path={plan.admin_auth.path} role={role.role_name}`, then "
                  "`bao kv put <path> KEY=value ...` for each path, then `bao token revoke -self`",
            verify=f"the next deploy to {environment.name} reads them (a deploy fails on a missing path); "
                   "admins cannot read them back, by design",
            why="Pulumi never writes a secret value: its state would hold it",
            environment=environment.name,
        )


def verify_chain(setup: Setup) -> Iterator[Step]:
    """The whole chain, proven before and after the first deploy."""
    yield Step(
        "verify.rehearse", Phase.VERIFY, _organization(setup),
        "Rehearse every legitimate deploy and attack against an embedded OpenBao",
        values=(Value("command", "securepipe rehearse --all"),),
        where="the infrastructure project (and its CI, on every pull request)",
        verify="it exits 0: no escape, no legitimate deploy refused",
    )
    yield Step(
        "verify.rendered-in-step", Phase.VERIFY, _organization(setup),
        "Keep the rendered files in step with the declaration",
        values=(Value("command", "securepipe render --all --check"),),
        where="the infrastructure repository's CI",
        verify="it exits 0; each repository's committed pipeline file equals its rendered one",
    )
    for environment in _environments(setup):
        live = environment.live_deployments  # a code freeze's deploys are refused
        if live:
            yield Step(
                f"verify.first-deploy.{environment.name}", Phase.VERIFY, Scope("environment", environment.name),
                f"Watch the first deploy to {environment.name} log in to Vault and read its secrets",
                values=tuple(hint(d.repository, f"{d.ci}: deploy via {d.deploy_via or '-'}"
                                  + (f" on {d.runner}" if d.runner else "")) for d in live),
                where="each CI system's pipeline page",
                verify=f"the deploy job to {environment.name} succeeds; a job of another branch, another "
                       "repository or another runner is refused by Vault",
                environment=environment.name,
            )


CORE_PARTS: tuple[StepSource, ...] = (
    github_ids, github_app, vault_server, admins_identity_provider, apply_stacks, github_repositories, secrets,
    verify_chain,
)
"""The core's parts, each a plain function; the CI systems' parts come from their capability."""
