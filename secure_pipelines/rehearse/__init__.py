"""Rehearse a declaration against a real OpenBao: apply the stacks' Vault side, fire every
legitimate flow and every attack, and report what got in and what stopped each attack."""

from __future__ import annotations

from pathlib import Path

from ..declaration.loader import load_declaration
from ..example_project import DEFAULT_DECLARATION
from ..plan.assembly import build_plan
from ..plan.model import Plan
from .outcomes import Access, Outcome, Rehearsal
from .runner import VaultTarget, rehearse, select_environments
from .server import OpenBaoServer, OpenBaoUnavailable, dev_server
from .stack_resources import captured_vault_resources
from .timing import ProgressListener


def rehearse_declaration(
    declaration: Path | None,
    stack: str | None,
    target: VaultTarget | None = None,
    keys_dir: Path | None = None,
    progress: ProgressListener | None = None,
) -> tuple[Plan, Rehearsal]:
    """Load, plan, capture the stacks' Vault resources and rehearse them (``stack=None``: every one)."""
    loaded = load_declaration(declaration or DEFAULT_DECLARATION)
    plan = build_plan(loaded)
    environments = select_environments(plan, stack)
    rehearsal = rehearse(
        loaded, plan, environments,
        lambda p, envs: captured_vault_resources(p, envs, declaration),
        target=target, keys_dir=keys_dir, progress=progress,
    )
    return plan, rehearsal


__all__ = [
    "Access",
    "OpenBaoServer",
    "OpenBaoUnavailable",
    "Outcome",
    "ProgressListener",
    "Rehearsal",
    "VaultTarget",
    "dev_server",
    "rehearse",
    "rehearse_declaration",
    "select_environments",
]
