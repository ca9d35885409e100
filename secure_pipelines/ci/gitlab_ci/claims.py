"""GitLab CI's ID token (``id_tokens:`` in a job): the claims the roles bind and the values GitLab
sends, as GitLab documents them (doc/ci/secrets/id_token_authentication.md). Ids and boolean-like
claims are JSON strings (``"20"``, ``"true"``); ``runner_id`` is the one integer.

Also the job traits only GitLab has, which the rehearsal's identity reads.
"""

from __future__ import annotations

DEFAULT_INSTANCE = "https://gitlab.com"

PROJECT_ID = "project_id"
NAMESPACE_ID = "namespace_id"
USER_ID = "user_id"
REF = "ref"
"""The branch or tag name, without ``refs/heads/``; in a merge-request pipeline, the source branch."""
REF_TYPE = "ref_type"
REF_PROTECTED = "ref_protected"
PIPELINE_SOURCE = "pipeline_source"
ENVIRONMENT = "environment"
ENVIRONMENT_PROTECTED = "environment_protected"
ENVIRONMENT_ACTION = "environment_action"
DEPLOYMENT_TIER = "deployment_tier"
CI_CONFIG_REF_URI = "ci_config_ref_uri"
"""``<host>/<project path>//<config path>@<ref path>``; ``null`` when the config is not the project's own."""
RUNNER_ENVIRONMENT = "runner_environment"

TRUE = "true"
FALSE = "false"
BRANCH = "branch"
TAG = "tag"
START = "start"
"""The environment action that creates a deployment (the one deployment approvals hold)."""
SELF_HOSTED = "self-hosted"
GITLAB_HOSTED = "gitlab-hosted"
MERGE_REQUEST_EVENT = "merge_request_event"
PUSH = "push"

# Job traits (``Job.traits``): what a GitLab job can be that the CI-neutral job does not say.
PIPELINE_SOURCE_TRAIT = "pipeline-source"
"""The pipeline's source, when not what the job's event implies (``trigger``, ``api``...)."""
REF_PROTECTED_TRAIT = "ref-protected"
"""Whether GitLab marks the ref protected, when not what the ref implies."""
ENVIRONMENT_PROTECTED_TRAIT = "environment-protected"
ENVIRONMENT_ACTION_TRAIT = "environment-action"
DEPLOYMENT_TIER_TRAIT = "deployment-tier"
RUNNER_TRAIT = "runner-environment"
CI_CONFIG_TRAIT = "ci-config"
"""``another-file`` (another config path of the project) or ``another-project`` (``ci_config_ref_uri`` is null)."""
ANOTHER_CONFIG_FILE = "another-file"
ANOTHER_PROJECT_CONFIG = "another-project"
FORK_MERGE_REQUEST_TRAIT = "fork-merge-request"
"""A fork's merge request, run in the parent project; the value names the GitLab version's claims."""
FORK_CLAIMS_CURRENT = "18.2.2+"
"""From GitLab 18.2.2 the project claims name the fork (and ``job_project_*`` the parent, from 18.4)."""
FORK_CLAIMS_BEFORE_18_2_2 = "before-18.2.2"
"""Before GitLab 18.2.2 the project claims named the parent (the fix for HackerOne #3137660)."""
JOB_USER_TRAIT = "job-user"
"""The developer (by name) who runs the job, when not who pushed its pipeline: who retries it, or plays it when
it is manual. GitLab's user claims (``user_id``, ``user_login``, ``user_email``) name the user executing the job."""
AUDIENCE_TRAIT = "audience"
INSTANCE_URL_AUDIENCE = "instance-url"
"""The token was requested with the instance URL as ``aud`` (GitLab's old default)."""
