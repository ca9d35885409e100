"""Run a rehearsal: apply the stacks' Vault side, seed every secret, fire every flow and attack."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from ..ci import registry
from ..ci.base import LayerDecision
from ..declaration.model import Declaration, Tier
from ..explain import PathAccess, access_matrix
from ..plan import CIRole, Deployment, Plan, PromotionRecords, SecretPath
from ..progress import progress
from .addresses import outside_addresses
from .admin import rehearse_admin
from .apply import StackVaultResource
from .attacks import LoginAttack, login_attacks, role_admits, violated_binding
from .deployers import apply_as_deployers, ask_capabilities_early, attack_rows, bootstrap, deployers_of, revoke
from .differential import differential_outcome
from .flows import LegitimateLogin, deployments_of, legitimate_logins, role_key
from .forwarded import verify_forwarded_address
from .grants import DENIED, READ, WRITE, CapabilityScreen, PathSet, SharedCapabilities, grants_of
from .keys import IssuerKey, generate_issuer_keys, write_private_keys
from .outcomes import Expectation, Kind, Outcome, Rehearsal, Verdict, verdict_for
from .path_index import PathIndex
from .probe import Firing, claims_for, client_token, login, refusing_layer, token_for
from .revocation import revocation_rows
from .scratch import refuse_real_vault
from .seeding import MARKER_KEY, Promotions, seed, seed_records
from .server import OpenBaoServer, dev_server
from .timing import PhaseTimes
from .vault_client import Answer, VaultSession, VaultUnreachable, close_sessions

ROLE_WORKERS = 4
CAPABILITY_WORKERS = 3
"""Concurrent capability requests for a token asked many paths (a policy set the screen cannot screen)."""


@dataclass(frozen=True)
class VaultTarget:
    """An existing Vault to rehearse against (the configuration stays there)."""

    addr: str
    token: str
    forwarded_addr: str | None = None
    """Where logins go; defaults to ``addr``, whose listener must trust X-Forwarded-For from us."""


ResourceSource = Callable[[], Sequence[StackVaultResource]]
"""The Vault resources the stacks register, each with its stack (captured from the stack program under
Pulumi's mocks)."""


@dataclass(frozen=True)
class Subject:
    """What a rehearsal fires at: each environment with the declaration and plan its own stack reads,
    and the plan of the resources stack, which owns the auth mounts every environment logs in through."""

    organization: Plan
    environments: tuple[tuple[str, Declaration, Plan], ...]

    @staticmethod
    def of(declaration: Declaration, plan: Plan, environments: Sequence[str] | None = None) -> Subject:
        """Every environment (or those named) read from one declaration."""
        names = [e.name for e in plan.environments] if environments is None else list(environments)
        for name in names:
            plan.environment(name)
        return Subject(plan, tuple((name, declaration, plan) for name in names))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.environments)

    def plan_of(self, environment: str) -> Plan:
        return next(plan for name, _, plan in self.environments if name == environment)

    @property
    def issuers(self) -> list[str]:
        plans = (self.organization, *(plan for _, _, plan in self.environments))
        return list(dict.fromkeys(m.issuer for plan in plans for m in plan.jwt_mounts))

    def paths(self) -> list[SecretPath]:
        return [p for name, _, plan in self.environments for p in plan.environment(name).secret_store.paths]

    def records(self) -> list[PromotionRecords]:
        """Every place a rehearsed role records or reads promotion records (its environment's or its source's)."""
        found = {r for _, _, _, role in self.deployments() for r in (role.records, role.promoted_from) if r}
        return sorted(found, key=lambda r: r.data_glob)

    def deployments(self) -> list[tuple[Declaration, Plan, Deployment, CIRole]]:
        return [(declaration, plan, deployment, role) for name, declaration, plan in self.environments
                for deployment, role in deployments_of(plan, (name,))]

    def frozen(self) -> list[tuple[Declaration, Plan, Deployment, CIRole]]:
        """The production deployments a code freeze stops, each with the role it would log in with."""
        return [(declaration, plan, deployment, role) for name, declaration, plan in self.environments
                for deployment, role in deployments_of(plan, (name,), frozen=True)]

    def infrastructure(self) -> list[tuple[Declaration, Plan, Deployment, CIRole]]:
        """The infrastructure pipeline's role per stack, rehearsed when the resources stack (which writes
        them) is; with the declaration and plan of that stack."""
        plan = self.organization
        if plan.infrastructure is None or plan.resources_stack not in self.names:
            return []
        declaration = next(d for name, d, _ in self.environments if name == plan.resources_stack)
        return [(declaration, plan, deployment, deployment.roles[0]) for deployment in plan.infrastructure.deployments]

    def access_matrix(self) -> list[PathAccess]:
        return [access for name, _, plan in self.environments for access in access_matrix(plan, (name,))]


@dataclass(frozen=True)
class Capabilities:
    """Where a role's capability checks are asked: the deployer policy's shared per policy set, CI roles'
    through the screen."""

    shared: SharedCapabilities
    screen: CapabilityScreen
    paths: PathSet
    """What a CI role's capability check asks: every secret's data path and every promotion record glob."""


@contextmanager
def _vault(target: VaultTarget | None) -> Iterator[OpenBaoServer]:
    if target is not None:
        yield OpenBaoServer(target.addr, target.forwarded_addr or target.addr, target.token)
        return
    with dev_server() as server:
        yield server


def rehearse(
    subject: Subject,
    resources: ResourceSource,
    target: VaultTarget | None = None,
    keys_dir: Path | None = None,
) -> Rehearsal:
    """Apply, seed, fire; return every outcome. Embedded OpenBao unless ``target`` is given;
    the current progress listener (``secure_pipelines.progress``) hears of each phase and of each role done."""
    started = time.monotonic()
    environments = subject.names
    times = PhaseTimes(listener=progress())
    for system in {registry.by_name(role.ci) for role in subject.organization.roles}:
        if system.later_layers is not None:
            system.later_layers.start(subject.organization)  # e.g. worker processes, ready for the flows
    with times.phase("later-layers"):
        # Which attacks Vault admits by design follows from the plan alone: their later layers' decisions start
        # now, beside the capture (one core of Python) and the apply (the server's), not during the flows.
        _prepare_later_layers(subject)
    with times.phase("capture"):
        vault_resources = resources()
    with times.phase("keys"):
        keys = generate_issuer_keys(subject.issuers)
    times.started("server-start")
    starting = time.perf_counter()
    with _vault(target) as server:
        times.record("server-start", time.perf_counter() - starting)
        times.meter = lambda: (time.process_time() + later_layers_cpu_seconds(), server.cpu_seconds())
        try:
            rehearsal = Rehearsal(environments, server.api_addr, embedded=target is None, phases=times)
            if keys_dir is not None:
                rehearsal.keys_written = {i: str(p) for i, p in write_private_keys(keys, keys_dir).items()}
            root = VaultSession(server.api_addr, server.root_token)
            _check_reachable(root)
            paths = subject.paths()
            index = PathIndex.of(paths)
            with times.phase("apply"):
                if target is not None:
                    refuse_real_vault(root, vault_resources, paths)
                deployers = deployers_of(subject.organization, [(n, subject.plan_of(n)) for n in environments],
                                         vault_resources)
                tokens = bootstrap(root, deployers)
                applied, applied_rows = apply_as_deployers(root, vault_resources, tokens, keys,
                                                           subject.organization.resources_stack)
                rehearsal.outcomes.extend(applied_rows)
            rehearsal.notes.extend(applied.skipped)
            with times.phase("address-check"):
                rehearsal.outcomes.extend(verify_forwarded_address(server))
            with times.phase("seed"):
                markers = seed(root, paths)
                records = subject.records()
                recorded = seed_records(root, [r for r in records if r.environment in environments])

            infrastructure = subject.infrastructure()

            frozen = subject.frozen()

            def one_role(each: tuple[Declaration, Plan, Deployment, CIRole]) -> Rehearsal:
                declaration, plan, deployment, role = each
                scratch = Rehearsal(environments, server.api_addr, rehearsal.embedded)
                if any(each is stopped for stopped in frozen):
                    _rehearse_frozen(scratch, server, declaration, deployment, role, keys)
                    return scratch
                _rehearse_role(scratch, server, declaration, plan, deployment, role, keys, index, markers,
                               Promotions(records, recorded), Capabilities(shared, screen, asked_paths),
                               deployer=any(each is mine for mine in infrastructure))
                return scratch

            # Roles are independent; a few threads keep the server busy while Python mints tokens.
            deployments = subject.deployments() + infrastructure + frozen
            # The deployer tokens' capability checks are all server work: asked beside the flows (Python work).
            early = ThreadPoolExecutor(max_workers=1)
            screen = CapabilityScreen(root, workers=CAPABILITY_WORKERS)
            shared = SharedCapabilities(root, screen)
            asked_paths = PathSet.of([*index.data_paths, *(r.data_glob for r in records)])
            try:
                asked_early = early.submit(ask_capabilities_early, tokens, paths, shared)
                with times.phase("flows", total=len(deployments)), \
                        ThreadPoolExecutor(max_workers=ROLE_WORKERS) as pool:
                    for done in pool.map(one_role, deployments):
                        rehearsal.outcomes.extend(done.outcomes)
                        rehearsal.observed |= done.observed
                        times.advance()
                with times.phase("admin"):
                    for env_name in environments:
                        rehearse_admin(rehearsal, server, subject.plan_of(env_name), env_name, paths,
                                       [r for r in records if r.environment == env_name])
                with times.phase("deployers"):
                    asked_early.result()
                    rehearsal.outcomes.extend(attack_rows(root, subject.organization, tokens, paths, shared))
                    revoke(root, tokens)
            finally:
                early.shutdown(wait=False, cancel_futures=True)
                screen.close()
            with times.phase("differential"):
                rehearsal.outcomes.append(differential_outcome(subject.access_matrix(), rehearsal.observed))
        finally:
            close_sessions()
            times.started("server-stop")
            stopping = time.perf_counter()
    times.record("server-stop", time.perf_counter() - stopping)
    rehearsal.seconds = time.monotonic() - started
    return rehearsal


def later_layers_cpu_seconds() -> float:
    """CPU seconds the later layers' decisions took in worker processes (part of the rehearsal's own)."""
    return sum(system.later_layers.cpu_seconds() for system in registry.systems() if system.later_layers is not None)


def _check_reachable(root: VaultSession) -> None:
    answer = root.read("auth/token/lookup-self")
    if not answer.ok:
        raise VaultUnreachable(f"Vault at {root.addr} refused the token: {answer.reason}")


def _row(kind: Kind, flow: str, role: CIRole, expected: Expectation, answer: Answer, layer: str = "",
         proof: str = "") -> Outcome:
    return Outcome(
        kind=kind, flow=flow, environment=role.environment, repository=role.repository, ci=str(role.ci),
        developer=role.developer, expected=expected, got=answer.shown,
        layer="" if answer.ok else layer, verdict=verdict_for(kind, expected, answer.ok), proof=proof,
    )


def _label(role: CIRole) -> str:
    return f"{role.repository} -> {role.environment}" + (f" as {role.developer}" if role.developer else "")


def _rehearse_role(
    rehearsal: Rehearsal, server: OpenBaoServer, declaration: Declaration, plan: Plan,
    deployment: Deployment, role: CIRole, keys: dict[str, IssuerKey], paths: PathIndex,
    markers: dict[str, str], promotions: Promotions, capabilities: Capabilities, *, deployer: bool = False,
) -> None:
    """Fire ``role``'s legitimate logins, what its token may do, and its attacks. ``deployer``: the role is
    the infrastructure pipeline's for one stack (its token must hold that stack's deployer policy alone)."""
    key = keys[role.issuer]
    now = int(time.time())
    session: VaultSession | None = None
    logins = _logins_of(declaration, deployment, role, deployer=deployer)
    for legit in logins:
        answer = login(server.forwarded_addr, legit.firing, token_for(declaration, legit.firing, key, now))
        rehearsal.outcomes.append(_row("legitimate", f"{legit.description}: log in", role, "admitted", answer))
        token = client_token(answer)
        if token and session is None:
            session = VaultSession(server.forwarded_addr, token, legit.firing.client_address)
    if session is not None and deployer:
        _deployer_authorization(rehearsal, session, role, paths.paths, capabilities.shared)
    elif session is not None:
        _authorization(rehearsal, capabilities, session, role, paths, markers, promotions)
    if not outside_addresses(role.token_bound_cidrs):
        rehearsal.outcomes.append(Outcome(
            "attack", f"{_label(role)}: login from outside the allowlist", role.environment, role.repository,
            str(role.ci), role.developer, "refused",
            f"not tried: no address lies outside {', '.join(role.token_bound_cidrs)}", "", "not-applicable",
            proof="the declared allowlist admits every address (securepipe validate warns about it)",
        ))
    # Attacks Vault admits wait for the later layers' costly decisions, which start in the background:
    # the role fires its other attacks meanwhile, and its rows keep their order.
    fired = [_fire_attack(server, declaration, plan, attack, key, now)
             for attack in _attacks_on(declaration, plan, deployment, role, logins, deployer=deployer)]
    rehearsal.outcomes.extend(row if isinstance(row, Outcome) else row() for row in fired)


FROZEN_LAYER = "Vault: no production role while pipeline_policy.code_freeze names the repository"


def _rehearse_frozen(rehearsal: Rehearsal, server: OpenBaoServer, declaration: Declaration, deployment: Deployment,
                     role: CIRole, keys: dict[str, IssuerKey]) -> None:
    """A deploy the code freeze stops: its job, exactly as it would be were the repository not frozen, is
    refused by Vault (the role is not there), whatever its pipeline file or config policy says."""
    key = keys[role.issuer]
    now = int(time.time())
    for legit in _logins_of(declaration, deployment, role, deployer=False):
        answer = login(server.forwarded_addr, legit.firing, token_for(declaration, legit.firing, key, now))
        rehearsal.outcomes.append(_row("attack", f"{legit.description}: log in under the code freeze", role,
                                       "refused", answer, layer=FROZEN_LAYER))


def _logins_of(declaration: Declaration, deployment: Deployment, role: CIRole, *, deployer: bool
               ) -> list[LegitimateLogin]:
    """The role's legitimate logins (an infrastructure pipeline's jobs carry its pipeline's traits)."""
    pipeline = registry.by_name(role.ci).infrastructure
    traits = pipeline.job_traits(declaration) if deployer and pipeline is not None else ()
    return legitimate_logins(declaration, deployment, role, traits)


def _attacks_on(declaration: Declaration, plan: Plan, deployment: Deployment, role: CIRole,
                logins: Sequence[LegitimateLogin], *, deployer: bool) -> list[LoginAttack]:
    """Every login attack on the role, built from its legitimate logins. Pure."""
    first = logins[0].firing.job
    refs = tuple(dict.fromkeys(legit.firing.job.ref for legit in logins if legit.firing.job.ref != first.ref))
    # A deployer role binds its reviewed pipeline whatever its stack's tier: face it with production's matrix.
    attacked = replace(role, tier=Tier.PRODUCTION) if deployer else role
    return login_attacks(plan, declaration, deployment, attacked, first, refs)


def admitted_by_design(subject: Subject, now: int, ci: AbstractSet[str] | None = None
                       ) -> list[tuple[Plan, LoginAttack]]:
    """The login attacks the plan's own Vault roles admit, each with the plan its role is in: they change only
    claims the role does not bind, so only a later layer (or an accepted risk) can stop them. ``ci``: only the
    roles of these CI systems. Pure."""
    infrastructure = subject.infrastructure()
    found: list[tuple[Plan, LoginAttack]] = []
    for each in [*subject.deployments(), *infrastructure]:
        declaration, plan, deployment, role = each
        if ci is not None and str(role.ci) not in ci:
            continue
        deployer = any(each is mine for mine in infrastructure)
        logins = _logins_of(declaration, deployment, role, deployer=deployer)
        for attack in _attacks_on(declaration, plan, deployment, role, logins, deployer=deployer):
            if attack.claims_only and role_admits(attack.role, claims_for(declaration, attack.firing, now)):
                found.append((plan, attack))
    return found


def _prepare_later_layers(subject: Subject) -> None:
    """Start, in the order the roles are fired, the later layers' costly decisions the attacks Vault admits by
    design will wait for. Only a head start: a decision not started here starts when an attack needs it."""
    layered = {system.name for system in registry.systems() if system.later_layers is not None}
    for plan, attack in admitted_by_design(subject, int(time.time()), layered):
        layers = registry.by_name(attack.firing.job.ci).later_layers
        if layers is not None:
            layers.prepare(plan, attack.firing.job)


def _fire_attack(server: OpenBaoServer, declaration: Declaration, plan: Plan, attack: LoginAttack,
                 key: IssuerKey, now: int) -> Outcome | Callable[[], Outcome]:
    """Fire one attack; when Vault admits it, ask the later layers, and fail it if the plan says
    Vault itself binds what the attack changed (a Vault regression is never excused by a later layer).
    An admitted attack's row is returned as a call that waits for the later layers' decisions, which
    have started in the background."""
    firing: Firing = attack.firing
    answer = login(server.forwarded_addr, firing, token_for(declaration, firing, key, now))
    role = attack.role
    flow = f"{_label(role)}: {attack.name}"
    decisions = _later_layers(plan, firing, thorough=False)
    stopping = [d for d in decisions if d.stops]
    also = tuple(f"{d.layer} ({d.proof})" for d in stopping)

    def outcome(got: str, layer: str, verdict: Verdict, proof: str = "", extra: tuple[str, ...] = ()) -> Outcome:
        return Outcome("attack", flow, role.environment, role.repository, str(role.ci), role.developer,
                       "refused", got, layer, verdict, proof=proof, also=extra)

    if not answer.ok:
        return outcome(answer.shown, refusing_layer(answer, attack.expected_layer), "ok", extra=also)
    layers = registry.by_name(firing.job.ci).later_layers
    if layers is not None:
        layers.prepare(plan, firing.job)
    return lambda: _judge_admitted(declaration, plan, attack, now, outcome)


def _judge_admitted(declaration: Declaration, plan: Plan, attack: LoginAttack, now: int,
                    outcome: Callable[..., Outcome]) -> Outcome:
    """The row of an attack Vault admitted: stopped by a later layer, an accepted risk, or an escape."""
    firing = attack.firing
    role = attack.role
    decisions = _later_layers(plan, firing, thorough=True)
    stopping = [d for d in decisions if d.stops]
    also = tuple(f"{d.layer} ({d.proof})" for d in stopping)
    bound = violated_binding(role, claims_for(declaration, firing, now)) if attack.claims_only else None
    if attack.expected_layer.startswith("Vault") and (bound or not attack.claims_only):
        reason = f"the plan binds {bound}" if bound else "Vault checks this for every token"
        return outcome("admitted", "", "escape",
                       proof=f"Vault should have refused ({reason}); " + ("; ".join(also) or "no later layer"))
    if stopping:
        first = stopping[0]
        others = "; ".join(f"{d.layer}: {d.proof}" for d in decisions if d is not first)
        return outcome("admitted by Vault (by design)", first.layer, "stopped-elsewhere",
                       proof=first.proof + (f"; also asked: {others}" if others else ""), extra=also[1:])
    proof = "; ".join(f"{d.layer}: {d.proof}" for d in decisions) or "no later layer applies to this job"
    if attack.accepted_when_unbound:
        return outcome("admitted (no layer stops it)", "", "accepted-risk",
                       proof=f"accepted risk: {attack.accepted_when_unbound}; asked: {proof}")
    return outcome("admitted", "", "escape", proof=proof)


def _later_layers(plan: Plan, firing: Firing, *, thorough: bool) -> list[LayerDecision]:
    """What the layers after Vault of the job's CI system decide (none where it has none)."""
    layers = registry.by_name(firing.job.ci).later_layers
    return layers.decide(plan, firing.job, thorough=thorough) if layers is not None else []


def _authorization(rehearsal: Rehearsal, asked: Capabilities, session: VaultSession, role: CIRole,
                   paths: PathIndex, markers: dict[str, str], promotions: Promotions) -> None:
    """Read exactly its own paths; write none; read no other (real reads of neighbours, and Vault's
    capability check of every path)."""
    label = _label(role)
    own = {p.data_path for p in role.secret_paths}
    for path in role.secret_paths:
        answer = session.read(path.data_path)
        data = (answer.body.get("data") or {}).get("data") or {}
        if answer.ok and data.get(MARKER_KEY) != markers.get(path.data_path):
            answer = Answer(409, {}, ("Vault answered with a value that is not this path's seeded secret",))
        whose = f"shared ({', '.join(path.readers)})" if path.shared else "own"
        rehearsal.outcomes.append(_row("legitimate", f"{label}: read {whose} {path.data_path}", role, "admitted",
                                       answer))
        write = session.write(path.data_path, {"data": {MARKER_KEY: "overwritten by a CI token"}})
        rehearsal.outcomes.append(_row("attack", f"{label}: CI token writes its own {path.data_path}", role,
                                       "refused", write, layer="Vault: ACL policy (read-only)"))
    for path in paths.neighbours(role):
        answer = session.read(path.data_path)
        unlisted = f" (shared with {', '.join(path.readers)} only)" if path.shared else ""
        rehearsal.outcomes.append(_row("attack", f"{label}: CI token reads {path.data_path}{unlisted}", role,
                                       "refused", answer, layer="Vault: ACL policy"))
    # Vault's answers on the paths a rule of the token's policies could reach; every other path: deny.
    capabilities = asked.screen.reachable(session.token, asked.paths)
    rehearsal.observed |= grants_of(role_key(role), capabilities)
    _promotion_rows(rehearsal, session, role, promotions, capabilities)
    others = paths.others(role)
    readable_others = sorted(path for path, caps in capabilities.items()
                             if READ & caps and path in paths.count_by_data_path and path not in own)
    rehearsal.outcomes.append(Outcome(
        "attack", f"{label}: any of the {others} other secret paths readable (Vault capability check)",
        role.environment, role.repository, str(role.ci), role.developer, "refused",
        "admitted: " + ", ".join(readable_others) if readable_others else f"refused: 0 of {others} readable",
        "" if readable_others else "Vault: ACL policy", "escape" if readable_others else "ok",
    ))
    for address in outside_addresses(role.token_bound_cidrs)[:1]:
        stolen = VaultSession(session.addr, session.token, address)
        answer = stolen.read(role.secret_paths[0].data_path)
        rehearsal.outcomes.append(_row("attack", f"{label}: its token replayed from {address} (outside the "
                                       "allowlist)", role, "refused", answer,
                                       layer="Vault: token_bound_cidrs (token tied to allowed addresses)"))
    for outcome in revocation_rows(session, role.secret_paths[0].data_path):
        rehearsal.outcomes.append(_row(outcome.kind, f"{label}: {outcome.flow}", role, outcome.expected,
                                       outcome.answer, layer=outcome.layer))


def _deployer_authorization(rehearsal: Rehearsal, session: VaultSession, role: CIRole,
                            paths: Sequence[SecretPath], shared: SharedCapabilities) -> None:
    """An infrastructure pipeline's token holds exactly its stack's deployer policy (no default policy),
    reads no secret (Vault's capability check of every path), and ends when the job revokes it."""
    label = _label(role)
    answer = session.read("auth/token/lookup-self")
    held = tuple(sorted((answer.body.get("data") or {}).get("policies") or ()))
    if answer.ok and held != tuple(sorted(role.token_policies)):
        answer = Answer(409, {}, (f"the token holds {', '.join(held) or 'no policy'}, not exactly "
                                  f"{', '.join(role.token_policies)}",))
    rehearsal.outcomes.append(_row("legitimate", f"{label}: its token holds only {', '.join(role.token_policies)}",
                                   role, "admitted", answer))
    capabilities = shared.of(session.token, [p.data_path for p in paths])
    readable = sorted(p.data_path for p in paths if capabilities[p.data_path] - {"deny"})
    rehearsal.outcomes.append(Outcome(
        "attack", f"{label}: any of the {len(paths)} secret paths readable or writable (Vault capability check)",
        role.environment, role.repository, str(role.ci), None, "refused",
        "admitted: " + ", ".join(readable) if readable else f"refused: 0 of {len(paths)} reachable",
        "" if readable else "Vault: ACL policy (a deployer never touches a secret)", "escape" if readable else "ok",
        proof=shared.how(session.token),
    ))
    for outcome in revocation_rows(session, "auth/token/lookup-self"):
        rehearsal.outcomes.append(_row(outcome.kind, f"{label}: {outcome.flow}", role, outcome.expected,
                                       outcome.answer, layer=outcome.layer))


def _promotion_rows(rehearsal: Rehearsal, session: VaultSession, role: CIRole, promotions: Promotions,
                    capabilities: Mapping[str, AbstractSet[str]]) -> None:
    """Its own deploys record a digest once and never overwrite one; it reads the records of the environment
    it promotes from and cannot forge one there; it can create no record anywhere else."""
    label = _label(role)
    if role.records is not None:
        record = f"{role.records.data_prefix}/{secrets.token_hex(32)}"
        created = session.write(record, {"data": {"image": "recorded by the rehearsal"}})
        rehearsal.outcomes.append(_row("legitimate", f"{label}: records a digest it deployed ({record})", role,
                                       "admitted", created))
        again = session.write(record, {"data": {"image": "another image under the same digest"}})
        rehearsal.outcomes.append(_row("attack", f"{label}: overwrites a promotion record ({record})", role,
                                       "refused", again, layer="Vault: ACL policy (create only)"))
    source = role.promoted_from
    if source is not None and source in promotions.recorded:
        record = promotions.recorded[source]
        read = session.read(record)
        rehearsal.outcomes.append(_row("legitimate", f"{label}: reads {source.environment}'s record {record}", role,
                                       "admitted", read))
        forged = session.write(f"{source.data_prefix}/{secrets.token_hex(32)}", {"data": {"image": "forged"}})
        rehearsal.outcomes.append(_row("attack", f"{label}: forges a record in {source.environment} "
                                       f"({source.data_glob})", role, "refused", forged, layer="Vault: ACL policy"))
    others = [r.data_glob for r in promotions.records if r != role.records]
    forgeable = sorted(g for g in others if WRITE & capabilities.get(g, DENIED))
    rehearsal.outcomes.append(Outcome(
        "attack", f"{label}: creates a promotion record anywhere but its own ({len(others)} places, Vault capability "
        "check)", role.environment, role.repository, str(role.ci), role.developer, "refused",
        "admitted: " + ", ".join(forgeable) if forgeable else f"refused: 0 of {len(others)} writable",
        "" if forgeable else "Vault: ACL policy", "escape" if forgeable else "ok",
    ))


