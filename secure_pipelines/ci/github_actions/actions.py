"""Third-party GitHub Actions the rendered workflows use, pinned by full commit SHA.

A tag can be moved to other code; a commit SHA cannot. The comment keeps the release for people
(and for Dependabot/Renovate, which update both together). Each SHA was cross-checked against
several independent public workflows that pin the same release; re-check with
``git ls-remote https://github.com/<owner>/<repo> refs/tags/<version>`` when you bump one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PinnedAction:
    repository: str
    sha: str
    version: str

    def __str__(self) -> str:
        return f"{self.repository}@{self.sha} # {self.version}"


@dataclass(frozen=True)
class PinnedActions:
    checkout: PinnedAction


PINNED_ACTIONS = PinnedActions(
    checkout=PinnedAction("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
)
