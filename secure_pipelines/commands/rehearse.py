"""``securepipe rehearse``: prove the trust chain against a real OpenBao (embedded unless given)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..declaration.sources.environment import REHEARSAL_TOKEN_VARIABLE
from ..errors import SecurePipelinesError
from ..rehearse import VaultTarget, rehearse_views
from ..rehearse.report import as_json, phase_table, print_report
from ._common import (
    AllOption,
    DeclarationOption,
    StackOption,
    console,
    error_console,
    fail,
    for_reading,
    open_stacks,
    user_errors,
)
from .progress import rehearsal_progress


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def rehearse(
    stack: StackOption = None,
    all_stacks: AllOption = False,
    declaration: DeclarationOption = None,
    vault_addr: Annotated[str | None, typer.Option(
        "--vault-addr", help="Apply to this Vault and leave the configuration there (default: an embedded "
        "OpenBao dev server on 127.0.0.1, stopped afterwards). Its listener must trust X-Forwarded-For "
        "from this machine.")] = None,
    vault_token: Annotated[str | None, typer.Option(
        "--vault-token", envvar=REHEARSAL_TOKEN_VARIABLE,
        help="Token for --vault-addr (needs root-like rights).", show_envvar=True)] = None,
    keys_dir: Annotated[Path | None, typer.Option(
        "--keys-dir", help="Write each issuer's private signing key here (one PEM file per issuer).")] = None,
    output: Annotated[ReportFormat, typer.Option("--format", "-f", help="table or json.")] = ReportFormat.TABLE,
    timings: Annotated[bool, typer.Option(
        "--timings", help="Also show how long each phase took (with --format json, they are always in "
        "the document's \"phases\").")] = False,
) -> None:
    """Apply the Vault side of the stacks, fire every legitimate flow and attack; exit 1 on any escape
    or refused legitimate flow."""
    if (vault_addr is None) != (vault_token is None):
        fail("--vault-addr and --vault-token go together (or give neither for an embedded OpenBao)")
    target = VaultTarget(vault_addr, vault_token) if vault_addr and vault_token else None
    with user_errors():
        views = open_stacks(declaration, stack, all_stacks, organization=True)
        with rehearsal_progress(error_console) as progress:
            try:
                rehearsal = rehearse_views(views, target, keys_dir, progress)
            except OSError as error:
                raise SecurePipelinesError(
                    f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")) from None
    if output is ReportFormat.JSON:
        console.print_json(as_json(rehearsal))
    else:
        print_report(rehearsal, for_reading(console))
        if timings:
            for_reading(console).print(phase_table(rehearsal))
    if not rehearsal.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(rehearse)
