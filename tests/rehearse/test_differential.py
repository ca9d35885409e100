"""explain's access matrix (the plan) equals what Vault granted during the rehearsal."""

from __future__ import annotations

from secure_pipelines.explain import access_matrix, granted
from secure_pipelines.rehearse import Access
from secure_pipelines.rehearse.differential import differences, observed_grants


def test_explain_and_the_rehearsal_agree_on_every_grant(rehearse_example) -> None:
    plan, rehearsal = rehearse_example()
    matrix = access_matrix(plan)
    assert granted(matrix), "explain granted nothing: the comparison would be empty"
    assert observed_grants(rehearsal.observed) == granted(matrix)
    assert [o.got for o in rehearsal.outcomes if "explain's access matrix" in o.flow] == ["equal"]


def test_a_grant_vault_makes_beyond_the_matrix_is_a_difference(rehearse_example) -> None:
    plan, rehearsal = rehearse_example("production")
    matrix = access_matrix(plan, ["production"])
    stray = Access("circleci/webapp-production", "kv-production/data/apps/api", "read")
    extra, missing = differences(matrix, {*rehearsal.observed, stray})
    assert extra == {(stray.who, stray.data_path, stray.capability)} and not missing


def test_a_grant_vault_withholds_is_a_difference(rehearse_example) -> None:
    plan, rehearsal = rehearse_example("production")
    matrix = access_matrix(plan, ["production"])
    dropped = next(iter(rehearsal.observed))
    extra, missing = differences(matrix, rehearsal.observed - {dropped})
    assert missing == {(dropped.who, dropped.data_path, dropped.capability)} and not extra


def test_a_shared_secret_is_explained_and_granted_to_its_listed_repositories_and_its_admins_only(
    rehearse_example,
) -> None:
    plan, rehearsal = rehearse_example("production")
    shared = "kv-production/data/shared/payments"
    (access,) = [a for a in access_matrix(plan, ["production"]) if a.path == shared]
    assert {r.repository for r in access.readers} == {"webapp", "shop"}
    assert [w.role for w in access.writers] == ["admin:production.admins"]
    seen = {(a.who, a.capability) for a in rehearsal.observed if a.data_path == shared}
    assert seen == {(r.role, "read") for r in access.readers} | {("admin:production.admins", "write")}
