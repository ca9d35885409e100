"""Job traits only GitHub Actions has: what the rehearsal changes in a job's token to attack a role."""

from __future__ import annotations

EVENT_TRAIT = "event-name"
"""A job trait: the event that started the run (``event_name``), when it is not a push."""
WORKFLOW_FILE_TRAIT = "workflow-file"
"""A job trait: the job runs in another workflow file of the repository (``workflow_ref``)."""
CALLED_WORKFLOW_TRAIT = "called-workflow"
"""A job trait: the job runs inside a reusable workflow, given as ``owner/repo/path@ref``
(``job_workflow_ref``), called from the deploy workflow."""
RUNNER_TRAIT = "runner-environment"
"""A job trait: where the job runs (``runner_environment``: ``github-hosted`` or ``self-hosted``)."""
AUDIENCE_TRAIT = "audience"
"""A job trait: the audience the job asked for (``aud``)."""
