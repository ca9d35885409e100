"""Fixtures every test folder may use: a real OpenBao dev server for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from secure_pipelines.rehearse.server import OpenBaoServer, dev_server
from secure_pipelines.rehearse.vault_client import VaultSession


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoServer]:
    """A real OpenBao dev server on 127.0.0.1 (in memory), stopped when the session ends.

    ``api_addr`` takes the root token; ``forwarded_addr`` trusts X-Forwarded-For from 127.0.0.1, so
    a test can present any client address. Tests share it: mount at unique paths.
    """
    with dev_server() as server:
        yield server


@pytest.fixture(scope="session")
def openbao_root(openbao: OpenBaoServer) -> VaultSession:
    """A client of the session's OpenBao holding the root token."""
    return VaultSession(openbao.api_addr, openbao.root_token)
