"""Rehearse a declaration against a real OpenBao: apply the stacks' Vault side, fire every
legitimate flow and every attack, and report what got in and what stopped each attack."""

from __future__ import annotations

from pathlib import Path

from ..views import Views
from .outcomes import Access, Outcome, Rehearsal
from .runner import Subject, VaultTarget, rehearse
from .server import OpenBaoServer, OpenBaoUnavailable, dev_server
from .stack_resources import captured_vault_resources


def subject_of(views: Views) -> Subject:
    """Each opened stack's environment with its own view; the auth mounts from the resources stack's."""
    organization = views.organization or views.first
    return Subject(organization.plan, tuple((v.stack, v.declaration, v.plan) for v in views.views))


def rehearse_views(views: Views, target: VaultTarget | None = None, keys_dir: Path | None = None) -> Rehearsal:
    """Capture the stacks' Vault resources and rehearse them (views opened with the organisation's);
    the current progress listener (``secure_pipelines.progress``) hears of each phase and of each role done."""
    return rehearse(subject_of(views), lambda: captured_vault_resources(views), target=target, keys_dir=keys_dir)


__all__ = [
    "Access",
    "OpenBaoServer",
    "OpenBaoUnavailable",
    "Outcome",
    "Rehearsal",
    "Subject",
    "VaultTarget",
    "dev_server",
    "rehearse",
    "rehearse_views",
    "subject_of",
]
