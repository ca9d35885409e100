"""CircleCI: OIDC token v2 claims (``$CIRCLE_OIDC_TOKEN_V2``)."""

from __future__ import annotations

from ..declaration import CISystemName, Declaration, Developer, Environment, Repository, Tier
from .base import Binding, BoundClaim

CLAIM_PREFIX = "oidc.circleci.com/"
PROJECT_ID = CLAIM_PREFIX + "project-id"
CONTEXT_IDS = CLAIM_PREFIX + "context-ids"
VCS_ORIGIN = CLAIM_PREFIX + "vcs-origin"
VCS_REF = CLAIM_PREFIX + "vcs-ref"
SSH_RERUN = CLAIM_PREFIX + "ssh-rerun"
PIPELINE_DEFINITION_ID = CLAIM_PREFIX + "pipeline-definition-id"
ORG_ID = CLAIM_PREFIX + "org-id"


class CircleCISystem:
    name = CISystemName.CIRCLECI
    mount_path = "circleci"
    user_claim = "sub"
    pipeline_template = "circleci/config.yml.j2"

    def issuer(self, declaration: Declaration) -> str:
        return f"https://oidc.circleci.com/org/{self._circleci(declaration).org_id}"

    def discovery_url(self, declaration: Declaration) -> str:
        return self.issuer(declaration)

    def audiences(self, declaration: Declaration) -> tuple[str, ...]:
        return (str(self._circleci(declaration).org_id),)

    def vcs_origin(self, declaration: Declaration, repository: Repository) -> str:
        if repository.vcs_origin:
            return repository.vcs_origin
        return self._circleci(declaration).vcs_origin_format.format(
            owner=declaration.organization.github.owner, repository=repository.name
        )

    def context(self, declaration: Declaration, environment: Environment):
        return self._circleci(declaration).contexts[environment.name]

    def binding(
        self,
        declaration: Declaration,
        repository: Repository,
        environment: Environment,
        developer: Developer | None,
    ) -> Binding:
        context = self.context(declaration, environment)
        claims = [
            BoundClaim(PROJECT_ID, (str(repository.circleci_project_id),)),
            BoundClaim(CONTEXT_IDS, (str(context.id),)),
            BoundClaim(VCS_ORIGIN, (self.vcs_origin(declaration, repository),)),
        ]
        branches = declaration.deploy_branches(environment, repository)
        any_branch = "*" in branches
        if not any_branch:
            claims.append(BoundClaim(VCS_REF, tuple(f"refs/heads/{b}" for b in branches)))
        if environment.tier in (Tier.STAGING, Tier.PRODUCTION) and repository.circleci_pipeline_definition_id:
            claims.append(BoundClaim(PIPELINE_DEFINITION_ID, (str(repository.circleci_pipeline_definition_id),)))
        if developer is not None:
            # CircleCI names the triggering user only inside `sub`. The fixed prefix ends with the
            # user id and a '/', so the trailing glob can only span the vcs part of the subject.
            org_id = self._circleci(declaration).org_id
            claims.append(BoundClaim(
                "sub",
                (f"org/{org_id}/project/{repository.circleci_project_id}/user/{developer.circleci_user_id}/*",),
            ))
            match = "glob"
        else:
            # A JSON boolean: only a role written with typed bound_claims can require it.
            claims.append(BoundClaim(SSH_RERUN, (False,)))
            match = "string"
        return Binding(
            claims=tuple(claims),
            claims_match=match,
            ref_binding="any branch" if any_branch else ", ".join(f"refs/heads/{b}" for b in branches),
            deploy_via=f"context {context.name}",
        )

    @staticmethod
    def _circleci(declaration: Declaration):
        assert declaration.ci.circleci is not None, "checked by validation"
        return declaration.ci.circleci
