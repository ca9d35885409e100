"""Config-policy evaluations in worker processes decide exactly as in-process ones."""

from __future__ import annotations

import concurrent.futures

import pytest

from secure_pipelines.ci.circleci.policy import evaluator as evaluator_module
from secure_pipelines.ci.circleci.policy.bundle import circleci_policies
from secure_pipelines.ci.circleci.policy.cases import honest_cases, tampered_cases
from secure_pipelines.ci.circleci.policy.decision import DecisionStatus
from secure_pipelines.ci.circleci.policy.evaluate import PolicyError, evaluate_policies
from secure_pipelines.ci.circleci.policy.evaluator import PolicyEvaluator
from secure_pipelines.plan import Plan

from .conftest import EXAMPLE_SOURCE


def test_worker_processes_decide_each_honest_and_tampered_config_as_the_rehearsal_process_does(
        example_plan: Plan) -> None:
    policies = circleci_policies(example_plan, EXAMPLE_SOURCE)
    cases = [*honest_cases(example_plan)[:2], *tampered_cases(example_plan)[:4]]
    evaluator = PolicyEvaluator(workers=2)
    evaluator.start(in_workers=True)
    decided = [evaluator.submit(policies, case.config, case.meta) for case in cases]
    decisions = [future.result(timeout=120) for future in decided]
    assert decisions == [evaluate_policies(policies, case.config, case.meta) for case in cases]
    assert {d.status for d in decisions} == {DecisionStatus.PASS, DecisionStatus.HARD_FAIL}
    assert evaluator.cpu_seconds() > 0  # the workers' CPU is counted for the rehearsal's figures


def test_a_bundle_that_does_not_compile_is_an_error_from_the_worker(example_plan: Plan) -> None:
    broken = {**circleci_policies(example_plan, EXAMPLE_SOURCE), "broken.rego": "package org\n\nx := \n"}
    case = honest_cases(example_plan)[0]
    evaluator = PolicyEvaluator(workers=1)
    evaluator.start(in_workers=True)
    with pytest.raises(PolicyError, match="does not compile"):
        evaluator.submit(broken, case.config, case.meta).result(timeout=120)


@pytest.mark.parametrize("processes", ["not asked for", "cannot start"])
def test_without_worker_processes_one_thread_evaluates_and_adds_no_cpu_of_its_own(
        example_plan: Plan, monkeypatch: pytest.MonkeyPatch, processes: str) -> None:
    def no_processes(*_: object, **__: object) -> concurrent.futures.Executor:
        raise OSError("no semaphores here")

    monkeypatch.setattr(evaluator_module, "ProcessPoolExecutor", no_processes)
    policies = circleci_policies(example_plan, EXAMPLE_SOURCE)
    case = tampered_cases(example_plan)[0]
    evaluator = PolicyEvaluator()
    evaluator.start(in_workers=processes == "cannot start")
    decision = evaluator.submit(policies, case.config, case.meta).result(timeout=120)
    assert decision == evaluate_policies(policies, case.config, case.meta)
    assert decision.status is DecisionStatus.HARD_FAIL
    assert evaluator.cpu_seconds() == 0  # a thread's time is the rehearsal process's own
