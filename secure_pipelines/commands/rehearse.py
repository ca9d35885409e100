"""``securepipe rehearse``: prove the trust chain against a real OpenBao (embedded unless given)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..declaration.sources.environment import REHEARSAL_TOKEN_VARIABLE
from ..errors import SecurePipelinesError
from ..progress import shown_on
from ..rehearse import Rehearsal, VaultTarget, rehearse_views
from ..rehearse.report import (
    COLUMNS,
    as_json,
    as_json_summary,
    failures,
    phase_table,
    print_closing,
    rows,
    title,
    verdict,
)
from ._common import (
    AllOption,
    DeclarationOption,
    StackOption,
    console,
    error_console,
    fail,
    for_reading,
    open_stacks,
    print_rows,
    user_errors,
)

WIDE_FROM = 110
"""Narrower than this, each row of the report is shown stacked (it reads in 80 columns)."""


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
    brief: Annotated[bool, typer.Option("--summary", help="Only the counts, and each escape or refused "
                                        "legitimate flow.")] = False,
    timings: Annotated[bool, typer.Option(
        "--timings", help="Also show how long each phase took (with --format json, they are always in "
        "the document's \"phases\").")] = False,
) -> None:
    """Prove the stacks' Vault roles: apply them to an embedded OpenBao, fire every legitimate deploy and
    every attack at them; exit 1 if any attack gets in or any legitimate deploy is refused."""
    if (vault_addr is None) != (vault_token is None):
        fail("--vault-addr and --vault-token go together (or give neither for an embedded OpenBao)")
    target = VaultTarget(vault_addr, vault_token) if vault_addr and vault_token else None
    with user_errors():
        views = open_stacks(declaration, stack, all_stacks, organization=True)
        with shown_on(error_console):
            try:
                rehearsal = rehearse_views(views, target, keys_dir)
            except OSError as error:
                raise SecurePipelinesError(
                    f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")) from None
    if output is ReportFormat.JSON:
        console.print_json(as_json_summary(rehearsal) if brief else as_json(rehearsal))
    else:
        if brief:
            show_summary(rehearsal, console)
        else:
            print_rows(console, title(rehearsal), COLUMNS, rows(rehearsal.outcomes), WIDE_FROM)
            print_closing(rehearsal, for_reading(console))
        if timings:
            for_reading(console).print(phase_table(rehearsal))
    if not rehearsal.passed:
        raise typer.Exit(1)


def show_summary(rehearsal: Rehearsal, target: Console) -> None:
    """The counts, after the failures (escapes and refused legitimate flows) if there are any."""
    failed = failures(rehearsal)
    if failed:
        print_rows(target, f"Failures of the {title(rehearsal)[0].lower()}{title(rehearsal)[1:]}", COLUMNS,
                   rows(failed), WIDE_FROM)
    for_reading(target).print(verdict(rehearsal))


def register(app: typer.Typer) -> None:
    app.command()(rehearse)
