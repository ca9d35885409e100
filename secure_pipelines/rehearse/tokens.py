"""Mint OIDC tokens as an issuer would, and the malformed ones an attacker would try."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from .keys import SIGNING_ALG, IssuerKey


def mint(key: IssuerKey, claims: Mapping[str, Any]) -> str:
    """A token signed by the issuer's key, as the CI system would hand it to a job."""
    return jwt.encode({"alg": SIGNING_ALG, "kid": key.kid, "typ": "JWT"}, dict(claims), key.key)


def mint_with_stranger_key(key: IssuerKey, claims: Mapping[str, Any]) -> str:
    """Right claims and ``kid``, signed by a key the issuer never published."""
    stranger = ECKey.generate_key("P-256")
    return jwt.encode({"alg": SIGNING_ALG, "kid": key.kid, "typ": "JWT"}, dict(claims), stranger)


def mint_unsigned(claims: Mapping[str, Any]) -> str:
    """``alg: none``: a token with no signature at all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that "none" is deprecated: that is the point
        # The key is never used by "none"; joserfc's signature wants one.
        return jwt.encode({"alg": "none", "typ": "JWT"}, dict(claims), OctKey.generate_key(256), algorithms=["none"])
