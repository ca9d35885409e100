"""Seed every secret path with a distinct marker, so a read proves whose secret it returned."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import SecurePipelinesError
from ..plan import PromotionRecords, SecretPath
from .vault_client import VaultSession

MARKER_KEY = "rehearsal_marker"


SEED_WORKERS = 4
"""Concurrent writes while seeding (paths are independent)."""


def seed(root: VaultSession, paths: Sequence[SecretPath]) -> dict[str, str]:
    """Write a distinct marker to every secret path, so a read proves whose secret it got."""
    markers = {path.data_path: f"{path.mount}/{path.path}#{secrets.token_hex(8)}" for path in paths}

    def write(path: SecretPath) -> None:
        answer = root.write(path.data_path, {"data": {MARKER_KEY: markers[path.data_path]}})
        if not answer.ok:
            raise SecurePipelinesError(f"cannot seed {path.data_path}: {answer.reason} (does the stack create "
                                       f"the {path.mount} mount?)")

    with ThreadPoolExecutor(max_workers=SEED_WORKERS) as pool:
        for _ in pool.map(write, paths):
            pass
    return markers


@dataclass(frozen=True)
class Promotions:
    """Every place rehearsed roles record digests or read them, and one record written in each place the
    rehearsal applied (as a deploy there would leave it)."""

    records: Sequence[PromotionRecords]
    recorded: Mapping[PromotionRecords, str]
    """The API path of the seeded record, by place."""


def seed_records(root: VaultSession, places: Sequence[PromotionRecords]) -> dict[PromotionRecords, str]:
    """One digest record in each place, written as root (the one a promoting deploy will find)."""
    recorded: dict[PromotionRecords, str] = {}
    for place in places:
        path = f"{place.data_prefix}/{secrets.token_hex(32)}"
        answer = root.write(path, {"data": {"image": f"rehearsal image deployed to {place.environment}"}})
        if not answer.ok:
            raise SecurePipelinesError(f"cannot seed the promotion record {path}: {answer.reason}")
        recorded[place] = path
    return recorded
