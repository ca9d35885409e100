"""Tokens end with the job: a token revokes itself, and Vault refuses it from then on."""

from __future__ import annotations

from dataclasses import dataclass

from .outcomes import Expectation, Kind
from .vault_client import Answer, VaultSession

REVOKED_LAYER = "Vault: token revoked (auth/token/revoke-self)"


@dataclass(frozen=True)
class RevocationStep:
    """One request of the revocation proof and what it must get."""

    kind: Kind
    flow: str
    expected: Expectation
    answer: Answer
    layer: str


def revocation_rows(session: VaultSession, data_path: str) -> list[RevocationStep]:
    """Revoke ``session``'s token as the rendered steps do at the end of a job, then read ``data_path``
    with it, which Vault must refuse. Last use of the token: it is gone afterwards."""
    revoked = session.write("auth/token/revoke-self", {})
    after = session.read(data_path)
    return [
        RevocationStep("legitimate", "revokes its own token (auth/token/revoke-self), as a job does at its end",
                       "admitted", revoked, ""),
        RevocationStep("attack", f"its token, revoked, reads {data_path}", "refused", after, REVOKED_LAYER),
    ]
