"""CircleCI's OIDC token v2 claims (``$CIRCLE_OIDC_TOKEN_V2``), and the job traits only CircleCI has."""

from __future__ import annotations

CLAIM_PREFIX = "oidc.circleci.com/"
PROJECT_ID = CLAIM_PREFIX + "project-id"
CONTEXT_IDS = CLAIM_PREFIX + "context-ids"
VCS_ORIGIN = CLAIM_PREFIX + "vcs-origin"
VCS_REF = CLAIM_PREFIX + "vcs-ref"
SSH_RERUN = CLAIM_PREFIX + "ssh-rerun"
PIPELINE_DEFINITION_ID = CLAIM_PREFIX + "pipeline-definition-id"
ORG_ID = CLAIM_PREFIX + "org-id"

ISSUER_PREFIX = "https://oidc.circleci.com/org/"

SSH_RERUN_TRAIT = "ssh-rerun"
"""A job trait: the job is a rerun with SSH enabled (anyone who reruns it gets a shell)."""
FOREIGN_PIPELINE_DEFINITION_TRAIT = "foreign-pipeline-definition"
"""A job trait: another pipeline definition (config source) of the same project started the job."""
CONFIG_SOURCE_TRAIT = "config-source"
"""A job trait: where the pipeline's config came from, as ``pipeline.config_source`` shows it to a context
restriction: ``vcs`` (checked in; assumed, CircleCI documents no value for it) or ``api`` (an
unversioned config sent with the trigger). The OIDC token carries no claim for it."""
CHECKED_IN_CONFIG = "vcs"
UNVERSIONED_CONFIG = "api"
RELEASED_BY_OUTSIDER_TRAIT = "released-by-outsider"
"""A job trait: the user whose membership CircleCI checks against the context's security group (the
approver of the job's approval hold, else the user who started the pipeline) is not a member. The
OIDC token carries no claim for the approver, and staging and production roles bind no user."""
CUSTOM_WEBHOOK_TRAIT = "custom-webhook"
"""A job trait: a custom webhook started the pipeline. Its token has no ``vcs-origin`` or ``vcs-ref``
claim and the v1 ``sub`` (CircleCI's OIDC documentation); context restrictions do not apply to such
pipelines ("not currently supported"), so Vault alone must refuse them."""
