"""Seed every secret path with a distinct marker, so a read proves whose secret it returned."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from ..errors import SecurePipelinesError
from ..plan import SecretPath
from .vault_client import VaultSession

MARKER_KEY = "rehearsal_marker"


def seed(root: VaultSession, paths: Sequence[SecretPath]) -> dict[str, str]:
    """Write a distinct marker to every secret path, so a read proves whose secret it got."""
    markers: dict[str, str] = {}
    for path in paths:
        marker = f"{path.mount}/{path.path}#{secrets.token_hex(8)}"
        answer = root.write(path.data_path, {"data": {MARKER_KEY: marker}})
        if not answer.ok:
            raise SecurePipelinesError(f"cannot seed {path.data_path}: {answer.reason} (does the stack create "
                                       f"the {path.mount} mount?)")
        markers[path.data_path] = marker
    return markers
