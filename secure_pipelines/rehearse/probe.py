"""Fire one token at Vault, from one client address, and say what happened (side effects here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ..ci import registry
from ..ci.base import Job
from ..declaration.model import Declaration
from .keys import IssuerKey
from .tokens import mint, mint_unsigned, mint_with_stranger_key
from .vault_client import Answer, VaultSession

Signature = Literal["issuer", "stranger", "none"]
REMOVE = object()
"""A claim change that removes the claim."""

_LAYERS: tuple[tuple[str, str], ...] = (
    (r"signature|no known key|unsupported signing|algorithm", "Vault: token signature (issuer key)"),
    (r"\(iss\)|issuer", "Vault: bound_issuer"),
    (r"\(aud\)|audience", "Vault: bound_audiences"),
    (r"expired|\(exp\)", "Vault: token expiry (exp)"),
    (r"not yet valid|\(nbf\)|\(iat\)|before", "Vault: not before (nbf)"),
    (r"sub.*glob|bound_subject", "Vault: bound_subject"),
)
_CLAIM = re.compile(r'claim "([^"]+)"')


@dataclass(frozen=True)
class Firing:
    """A token presented to one role from one address."""

    role_mount: str
    role_name: str
    job: Job
    claim_changes: tuple[tuple[str, Any], ...] = ()
    signature: Signature = "issuer"
    client_address: str | None = None
    """The address sent in X-Forwarded-For (None: none sent; Vault sees 127.0.0.1)."""


def claims_for(declaration: Declaration, firing: Firing, now: int) -> dict[str, Any]:
    claims = registry.by_name(firing.job.ci).identity.claims(declaration, firing.job, now)
    for name, value in firing.claim_changes:
        if value is REMOVE:
            claims.pop(name, None)
        else:
            claims[name] = value(now) if callable(value) else value
    return claims


def token_for(declaration: Declaration, firing: Firing, key: IssuerKey, now: int) -> str:
    claims = claims_for(declaration, firing, now)
    if firing.signature == "none":
        return mint_unsigned(claims)
    if firing.signature == "stranger":
        return mint_with_stranger_key(key, claims)
    return mint(key, claims)


def login(addr: str, firing: Firing, token: str) -> Answer:
    session = VaultSession(addr, client_address=firing.client_address)
    return session.write(f"auth/{firing.role_mount}/login", {"role": firing.role_name, "jwt": token})


def client_token(answer: Answer) -> str | None:
    auth = answer.body.get("auth")
    return auth.get("client_token") if isinstance(auth, dict) else None


def refusing_layer(answer: Answer, fallback: str) -> str:
    """Name the Vault check that refused, from Vault's own message."""
    text = answer.reason
    claim = _CLAIM.search(text)
    if claim:
        missing = " (missing)" if "missing" in text else ""
        return f"Vault: bound_claims {claim.group(1)}{missing}"
    for pattern, layer in _LAYERS:
        if re.search(pattern, text, re.IGNORECASE):
            return layer
    return fallback
