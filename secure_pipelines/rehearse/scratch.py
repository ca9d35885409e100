"""Refuse to rehearse on a Vault that holds real configuration or real secrets.

The rehearsal replaces each CI issuer's discovery URL with a local key and writes markers into every
secret path: on a real Vault that would break every CI login and overwrite real secrets. So before
anything is written to a given ``--vault-addr``, the mounts and paths it would touch are checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import SecurePipelinesError
from ..plan import SecretPath
from .apply import AUTH_BACKEND, VaultResource
from .seeding import MARKER_KEY
from .vault_client import VaultSession

_FETCHED_KEYS = ("oidc_discovery_url", "jwks_url", "jwks_pairs")


class NotAScratchVault(SecurePipelinesError):
    """The target Vault holds something the rehearsal did not write."""


def refuse_real_vault(session: VaultSession, resources: Iterable[VaultResource],
                      paths: Sequence[SecretPath]) -> None:
    """Raise :class:`NotAScratchVault` naming the first real mount or secret the rehearsal would touch."""
    for resource in resources:
        if resource.type_token != AUTH_BACKEND or (resource.inputs.get("type") or "jwt") != "jwt":
            continue
        mount = str(resource.inputs.get("path") or "jwt").strip("/")
        config = session.read(f"auth/{mount}/config")
        data = config.body.get("data") or {}
        fetched = [k for k in _FETCHED_KEYS if data.get(k)]
        if config.ok and fetched:
            raise NotAScratchVault(
                f"{session.addr}: auth/{mount} trusts a real issuer ({', '.join(fetched)} is set); the "
                "rehearsal would replace it with a local key and break every CI login. Rehearse against a "
                "scratch Vault (or without --vault-addr, on an embedded one)"
            )
    for path in paths:
        answer = session.read(path.data_path)
        data = (answer.body.get("data") or {}).get("data") or {}
        if answer.ok and set(data) - {MARKER_KEY}:
            raise NotAScratchVault(
                f"{session.addr}: {path.data_path} holds a secret the rehearsal did not write; it would be "
                "overwritten. Rehearse against a scratch Vault (or without --vault-addr, on an embedded one)"
            )
