"""Apply the Vault resources a stack registers, sent to the Vault API as the provider sends them.

The input is what the stack program registered under Pulumi's mocks runtime (``stack.capture``).
The one substitution: a CI issuer's ``oidc_discovery_url`` is replaced by ``jwt_validation_pubkeys``
holding the local signing key of that issuer (``bound_issuer`` and every other setting stay).

The admin OIDC mount is enabled and its roles written as captured, but its ``config`` is not:
that needs the identity provider (discovery URL, client secret) and a browser. Admin logins are
rehearsed on a rehearsal-only JWT mount with each admin role's bindings as read back from Vault
(``rehearse.admin``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import SecurePipelinesError
from .keys import IssuerKey
from .vault_client import Answer, VaultSession

AUTH_BACKEND = "vault:jwt/authBackend:AuthBackend"
AUTH_BACKEND_ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
ENDPOINT = "vault:generic/endpoint:Endpoint"
MOUNT = "vault:index/mount:Mount"
POLICY = "vault:index/policy:Policy"
SECRET_V2 = "vault:kv/secretV2:SecretV2"

# Enable mounts first, then their config, then what lives in them.
_ORDER = {MOUNT: 0, AUTH_BACKEND: 0, POLICY: 1, AUTH_BACKEND_ROLE: 2, ENDPOINT: 2, SECRET_V2: 3}

# Inputs that say where a resource lives, or are Terraform-only, never fields of the API body.
_NOT_IN_BODY = {"backend", "role_name", "namespace", "path", "disable_remount", "tune", "provider_config"}


class VaultResource(Protocol):
    """The part of a captured resource the rehearsal reads (``stack.capture.CapturedResource``)."""

    @property
    def type_token(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> Mapping[str, Any]: ...


class StackVaultResource(VaultResource, Protocol):
    """A captured Vault resource and the stack that registers it (``stack_resources.StackResource``)."""

    @property
    def stack(self) -> str: ...


class ApplyFailed(SecurePipelinesError):
    """Vault refused a resource the stack would create: the stack would fail the same way."""


@dataclass(frozen=True)
class VaultCall:
    """One Vault API request, for the record (the rehearsal report lists them)."""

    resource: str
    method: str
    path: str
    body: Mapping[str, Any]


@dataclass
class AppliedConfiguration:
    """What was applied, and what was deliberately not."""

    calls: list[VaultCall] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Resources not sent, each with why."""
    admin_mounts: list[str] = field(default_factory=list)


def snake(name: str) -> str:
    """``tokenBoundCidrs`` -> ``token_bound_cidrs`` (the SDK sends camelCase; the API takes snake)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def api_fields(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {snake(k): v for k, v in inputs.items() if v is not None and snake(k) not in _NOT_IN_BODY}


def provider_bound_claims(bound_claims: Mapping[str, str]) -> dict[str, list[str]]:
    """As the Terraform-bridged provider sends ``bound_claims``: each value split on ``,``, trimmed."""
    return {claim: [part.strip() for part in value.split(",")] for claim, value in bound_claims.items()}


def calls_for(resource: VaultResource, keys: Mapping[str, IssuerKey]) -> list[VaultCall]:
    """The Vault API requests that create ``resource``. Pure."""
    inputs = resource.inputs
    kind = resource.type_token
    if kind == MOUNT:
        body = api_fields(inputs)
        config = {
            key: body.pop(name)
            for name, key in (("default_lease_ttl_seconds", "default_lease_ttl"),
                              ("max_lease_ttl_seconds", "max_lease_ttl"))
            if name in body
        }
        if config:
            body["config"] = config
        return [VaultCall(resource.name, "post", f"sys/mounts/{_trim(inputs['path'])}", body)]
    if kind == AUTH_BACKEND:
        return _auth_backend_calls(resource, keys)
    if kind == POLICY:
        return [VaultCall(resource.name, "put", f"sys/policies/acl/{inputs['name']}",
                          {"policy": inputs["policy"]})]
    if kind == AUTH_BACKEND_ROLE:
        body = api_fields(inputs)
        if "bound_claims" in body:
            body["bound_claims"] = provider_bound_claims(body["bound_claims"])
        path = f"auth/{_trim(inputs['backend'])}/role/{_trim(inputs['roleName'])}"
        return [VaultCall(resource.name, "post", path, body)]
    if kind == ENDPOINT:
        return [VaultCall(resource.name, "post", _trim(inputs["path"]), json.loads(inputs["dataJson"]))]
    if kind == SECRET_V2:
        path = f"{_trim(inputs['mount'])}/data/{_trim(inputs['name'])}"
        return [VaultCall(resource.name, "post", path, {"data": json.loads(inputs["dataJson"])})]
    raise ApplyFailed(
        f"{resource.name}: the rehearsal does not know how the provider sends a {kind}; "
        "teach secure_pipelines/rehearse/apply.py this resource type before rehearsing"
    )


def _auth_backend_calls(resource: VaultResource, keys: Mapping[str, IssuerKey]) -> list[VaultCall]:
    inputs = resource.inputs
    path = _trim(inputs.get("path") or inputs.get("type") or "jwt")
    backend_type = inputs.get("type") or "jwt"
    enable = {"type": backend_type, "description": inputs.get("description") or ""}
    if inputs.get("local") is not None:
        enable["local"] = inputs["local"]
    calls = [VaultCall(resource.name, "post", f"sys/auth/{path}", enable)]
    if backend_type != "jwt":
        return calls  # the OIDC (browser) config needs the identity provider: see the module docstring
    config = {k: v for k, v in api_fields(inputs).items() if k not in ("type", "description", "local")}
    issuer = config.get("bound_issuer")
    if not issuer or issuer not in keys:
        raise ApplyFailed(
            f"{resource.name}: JWT mount {path!r} has no bound_issuer with a local key; the rehearsal "
            "replaces the discovery URL with the issuer's key and needs bound_issuer to pick it"
        )
    for fetched in ("oidc_discovery_url", "oidc_discovery_ca_pem", "jwks_url", "jwks_ca_pem", "jwks_pairs"):
        config.pop(fetched, None)
    config["jwt_validation_pubkeys"] = [keys[issuer].public_pem]
    calls.append(VaultCall(resource.name, "post", f"auth/{path}/config", config))
    return calls


def _trim(path: object) -> str:
    return str(path).strip("/")


def vault_resources(resources: Iterable[VaultResource]) -> list[VaultResource]:
    """The Vault resources among everything captured, in the order Vault needs them."""
    chosen = [r for r in resources if r.type_token.startswith("vault:")]
    return sorted(chosen, key=lambda r: _ORDER.get(r.type_token, 9))


Refused = Callable[[VaultResource, VaultCall, Answer], None]
"""Told of a request Vault refused; raises to stop the apply, returns to go on."""


def apply(session: VaultSession, resources: Iterable[VaultResource], keys: Mapping[str, IssuerKey],
          refused: Refused | None = None, applied: AppliedConfiguration | None = None) -> AppliedConfiguration:
    """Send every captured Vault resource to Vault, in the order Vault needs them. At a refusal: stop with
    its reason, or tell ``refused`` (which may stop, or send it another way and go on).

    Resources of one rank (mounts, then policies, then roles, then secrets) do not depend on each
    other, so a rank's resources are sent by :data:`APPLY_WORKERS` threads at once; each resource's
    own calls (enable a mount, then configure it) stay in order, and so do the ranks.
    """
    applied = applied or AppliedConfiguration()
    ordered = vault_resources(resources)
    for resource in ordered:
        if resource.type_token == AUTH_BACKEND and (resource.inputs.get("type") or "jwt") != "jwt":
            applied.admin_mounts.append(_trim(resource.inputs.get("path")))
            applied.skipped.append(
                f"{resource.name}: OIDC config (discovery URL, client secret) not sent; admin logins are "
                "rehearsed on a rehearsal-only JWT mount with the admin roles' bindings read back from Vault"
            )
    planned = [(resource, calls_for(resource, keys)) for resource in ordered]  # refuses unknown types first
    with ThreadPoolExecutor(max_workers=APPLY_WORKERS) as pool:
        for rank in sorted({_ORDER.get(r.type_token, 9) for r in ordered}):
            batch = [(r, calls) for r, calls in planned if _ORDER.get(r.type_token, 9) == rank]
            for sent in pool.map(lambda each: _send(session, *each, refused=refused), batch):
                applied.calls.extend(sent)
    return applied


APPLY_WORKERS = 4
"""Concurrent requests while applying (the server answers several at once; one client thread cannot keep it busy)."""


def _send(session: VaultSession, resource: VaultResource, calls: list[VaultCall], refused: Refused | None
          ) -> list[VaultCall]:
    sent: list[VaultCall] = []
    for call in calls:
        if _already_enabled(session, call):
            continue
        answer: Answer = session.call(call.method, call.path, dict(call.body))
        if not answer.ok:
            if refused is None:
                raise ApplyFailed(f"{resource.name}: {call.method.upper()} {call.path} refused: {answer.reason}")
            refused(resource, call, answer)
        sent.append(call)
    return sent


def _already_enabled(session: VaultSession, call: VaultCall) -> bool:
    """Applying twice to the same Vault (``--vault-addr``) keeps an existing mount of the same type
    (as ``pulumi up`` would: the mount is already in its state). Read as the provider reads a mount it
    manages (``GET sys/mounts/<path>``, ``GET sys/auth/<path>``): a deployer may read nothing else."""
    if call.method != "post" or not re.fullmatch(r"sys/(auth|mounts)/.+", call.path) or call.path.endswith("/tune"):
        return False
    found = session.read(call.path)
    entry = found.body.get("data") or found.body
    return found.ok and entry.get("type") == call.body.get("type")
