"""The secret-path index answers each role's neighbours and counts as a walk over every path would."""

from __future__ import annotations

from secure_pipelines.plan import Plan
from secure_pipelines.plan.model import CIRole, SecretPath
from secure_pipelines.rehearse.path_index import NEIGHBOURS_READ_FOR_REAL, PathIndex


def _walked_neighbours(role: CIRole, paths: list[SecretPath]) -> list[SecretPath]:
    """The definition, walking every path: the same repository elsewhere, the same place for other
    repositories (a few of each), every shared secret of its environment; never its own."""
    own = {p.data_path for p in role.secret_paths}
    others = [p for p in paths if p.data_path not in own]
    same_repository = [p for p in others if p.repository == role.repository]
    same_environment = [p for p in others if p.environment == role.environment and p.repository is not None
                        and p.repository != role.repository]
    unlisted = [p for p in others if p.environment == role.environment and p.shared]
    return (same_repository[:NEIGHBOURS_READ_FOR_REAL] + same_environment[:NEIGHBOURS_READ_FOR_REAL]
            + unlisted)


def test_neighbours_and_counts_match_a_walk_over_every_path(example_plan: Plan) -> None:
    paths = [p for environment in example_plan.environments for p in environment.secret_store.paths]
    index = PathIndex.of(paths)
    assert index.data_paths == tuple(p.data_path for p in paths)
    assert any(p.shared for p in paths) and len({p.environment for p in paths}) > 1
    checked = 0
    for role in example_plan.roles:
        if not role.secret_paths:
            continue
        own = {p.data_path for p in role.secret_paths}
        assert index.neighbours(role) == _walked_neighbours(role, paths), role.role_name
        assert index.others(role) == len([p for p in paths if p.data_path not in own]), role.role_name
        checked += 1
    assert checked > 10


def test_a_role_reading_a_shared_secret_is_not_its_own_neighbour(example_plan: Plan) -> None:
    paths = [p for environment in example_plan.environments for p in environment.secret_store.paths]
    index = PathIndex.of(paths)
    reader = next(r for r in example_plan.roles if any(p.shared for p in r.secret_paths))
    shared = {p.data_path for p in reader.secret_paths if p.shared}
    assert shared.isdisjoint(p.data_path for p in index.neighbours(reader))
    assert any(p.shared for p in index.neighbours(reader)) or all(
        p.data_path in shared for p in paths if p.shared and p.environment == reader.environment)
