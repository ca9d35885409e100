"""Where each CircleCI id the declaration names is found (the new declaration's comments and the
setup checklist say it the same way)."""

from __future__ import annotations

ORG_ID = "CircleCI > Organization Settings > Overview > Organization ID"
PROJECT_ID = "CircleCI > Project Settings > Overview > Project ID"
PIPELINE_DEFINITION_ID = ("CircleCI > Project Settings > Project Setup > the pipeline's definition ID "
                          "(or `circleci pipeline list` with the CircleCI CLI)")
CONTEXT_ID = "create the context (Organization Settings > Contexts), then its id from the API below"
USER_ID = "each developer's CircleCI > User Settings > Account Integrations > User ID"
USER_ID_API = "https://circleci.com/api/v2/me -> id (signed in as the developer)"


def contexts_api(org_id: str) -> str:
    """The API listing the organisation's contexts with their ids (needs a CircleCI API token)."""
    return f"https://circleci.com/api/v2/context?owner-id={org_id} -> items[].id"


def issuer_configuration(org_id: str) -> str:
    """CircleCI's OIDC discovery document of the organisation: it answers only for a real org id."""
    return f"https://oidc.circleci.com/org/{org_id}/.well-known/openid-configuration"
