"""Every secret path of a rehearsal, indexed once for the checks each role makes against all of them.

Each CI role is checked against every secret path of the organisation (its neighbours read for real,
Vault's capability answer for the rest). Walking the whole list once per role made that part of a
rehearsal grow with roles x paths in Python alone (about 40 s at 1000 repositories); the index keeps
each role's share to its own paths, its neighbours and the paths Vault did not deny it. Pure.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

from ..plan.model import CIRole, SecretPath

NEIGHBOURS_READ_FOR_REAL = 3
"""Other repositories' paths a role's token reads for real (the rest: Vault's capability check)."""


@dataclass(frozen=True)
class PathIndex:
    """The secret paths in the rehearsal's order, their API paths, and where each lies."""

    paths: tuple[SecretPath, ...]
    data_paths: tuple[str, ...]
    """``paths[i].data_path`` for each ``i``: asked of Vault for every role."""
    by_repository: dict[str | None, tuple[SecretPath, ...]]
    by_environment: dict[str, tuple[SecretPath, ...]]
    shared_by_environment: dict[str, tuple[SecretPath, ...]]
    count_by_data_path: dict[str, int]

    @classmethod
    def of(cls, paths: Iterable[SecretPath]) -> PathIndex:
        ordered = tuple(paths)
        by_repository: defaultdict[str | None, list[SecretPath]] = defaultdict(list)
        by_environment: defaultdict[str, list[SecretPath]] = defaultdict(list)
        shared: defaultdict[str, list[SecretPath]] = defaultdict(list)
        for path in ordered:
            by_repository[path.repository].append(path)
            by_environment[path.environment].append(path)
            if path.shared:
                shared[path.environment].append(path)
        return cls(
            ordered, tuple(p.data_path for p in ordered),
            {k: tuple(v) for k, v in by_repository.items()},
            {k: tuple(v) for k, v in by_environment.items()},
            {k: tuple(v) for k, v in shared.items()},
            dict(Counter(p.data_path for p in ordered)),
        )

    def others(self, role: CIRole) -> int:
        """How many paths are not the role's own."""
        own = {p.data_path for p in role.secret_paths}
        return len(self.paths) - sum(self.count_by_data_path.get(data_path, 0) for data_path in own)

    def neighbours(self, role: CIRole) -> list[SecretPath]:
        """Paths an attacker would try first, none of them the role's own: the same repository elsewhere,
        the same place for other repositories, and every shared secret of its environment it is not
        listed for."""
        own = {p.data_path for p in role.secret_paths}
        environment = self.by_environment.get(role.environment, ())
        same_repository = _first(p for p in self.by_repository.get(role.repository, ()) if p.data_path not in own)
        same_environment = _first(p for p in environment if p.repository is not None
                                  and p.repository != role.repository and p.data_path not in own)
        unlisted = [p for p in self.shared_by_environment.get(role.environment, ()) if p.data_path not in own]
        return same_repository + same_environment + unlisted


def _first(paths: Iterable[SecretPath]) -> list[SecretPath]:
    return list(islice(paths, NEIGHBOURS_READ_FOR_REAL))
