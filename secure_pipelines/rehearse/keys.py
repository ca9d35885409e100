"""A local signing key per issuer: the rehearsal's only substitution for the issuer's discovery URL."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey

SIGNING_ALG = "ES256"


@dataclass(frozen=True)
class IssuerKey:
    """The key that stands in for one issuer's published JWKS."""

    issuer: str
    key: ECKey

    @property
    def kid(self) -> str:
        return self.key.thumbprint()

    @property
    def public_pem(self) -> str:
        return self.key.as_pem(private=False).decode()

    @property
    def private_pem(self) -> bytes:
        return self.key.as_pem(private=True)


def generate_issuer_keys(issuers: Iterable[str]) -> dict[str, IssuerKey]:
    """A fresh P-256 key for each distinct issuer."""
    return {issuer: IssuerKey(issuer, ECKey.generate_key("P-256")) for issuer in dict.fromkeys(issuers)}


def key_file_name(issuer: str) -> str:
    """``https://issuer.example/org/<id>`` -> ``issuer.example_org_<id>.pem``."""
    stem = re.sub(r"^[a-z]+://", "", issuer).strip("/")
    return re.sub(r"[^A-Za-z0-9.-]+", "_", stem) + ".pem"


def write_private_keys(keys: Mapping[str, IssuerKey], directory: Path) -> dict[str, Path]:
    """Write each issuer's private key as one PEM file (mode 0600) under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for issuer, issuer_key in keys.items():
        path = directory / key_file_name(issuer)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_bytes(issuer_key.private_pem)
        written[issuer] = path
    return written
