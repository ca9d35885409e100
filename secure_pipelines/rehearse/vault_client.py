"""A thin hvac wrapper: every call answers with an :class:`Answer` instead of raising on refusals."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import hvac
import hvac.exceptions
import requests

from ..errors import SecurePipelinesError

_STATUS_OF: dict[type[hvac.exceptions.VaultError], int] = {
    hvac.exceptions.InvalidRequest: 400,
    hvac.exceptions.Unauthorized: 401,
    hvac.exceptions.Forbidden: 403,
    hvac.exceptions.InvalidPath: 404,
    hvac.exceptions.RateLimitExceeded: 429,
    hvac.exceptions.InternalServerError: 500,
    hvac.exceptions.VaultNotInitialized: 501,
    hvac.exceptions.VaultDown: 503,
}


class VaultUnreachable(SecurePipelinesError):
    """The Vault address does not answer, or the token is not accepted there."""


@dataclass(frozen=True)
class Answer:
    """What Vault said to one request."""

    status: int
    body: dict[str, Any]
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def shown(self) -> str:
        """For a report: ``admitted``, or ``refused: <Vault's reason>``."""
        return "admitted" if self.ok else f"refused: {self.reason.removeprefix('error validating claims: ')}"

    @property
    def reason(self) -> str:
        """Vault's message without its multi-error wrapping (``1 error occurred: * permission denied``)."""
        if not self.errors:
            return f"HTTP {self.status}"
        return "; ".join(_unwrap(e) for e in self.errors)


def _unwrap(message: str) -> str:
    lines = [line.strip().removeprefix("* ").strip() for line in message.splitlines()]
    kept = [line for line in lines if line and not re.fullmatch(r"\d+ errors? occurred:", line)]
    return "; ".join(kept) or message


_LOCAL = threading.local()
_OPENED: list[requests.Session] = []
_OPENED_LOCK = threading.Lock()


def _http_session(client_address: str | None) -> requests.Session:
    """One keep-alive HTTP session per thread and claimed client address.

    ``trust_env`` is off: the rehearsal talks to the Vault address it was given and nothing else
    (no proxy from the environment), and requests skips re-reading the environment on every call.
    """
    sessions: dict[str | None, requests.Session] = _LOCAL.__dict__.setdefault("sessions", {})
    session = sessions.get(client_address)
    if session is None:
        session = requests.Session()
        session.trust_env = False
        if client_address is not None:
            session.headers["X-Forwarded-For"] = client_address
        sessions[client_address] = session
        with _OPENED_LOCK:
            _OPENED.append(session)
    return session


def close_sessions() -> None:
    """Close every keep-alive session (each thread's), e.g. when a rehearsal ends."""
    with _OPENED_LOCK:
        for session in _OPENED:
            session.close()
        _OPENED.clear()
    _LOCAL.__dict__.pop("sessions", None)


class VaultSession:
    """One caller of the Vault API: an address, a token (maybe none) and the client address it claims."""

    def __init__(self, addr: str, token: str | None = None, client_address: str | None = None):
        session = _http_session(client_address)
        self.addr = addr
        self.token = token or ""
        self.client_address = client_address
        self._client = hvac.Client(url=addr, token=token, session=session, timeout=30)

    def with_token(self, token: str) -> VaultSession:
        return VaultSession(self.addr, token, self.client_address)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        try:
            response = self._client.adapter.request(method, f"/v1/{path}", json=body, raise_exception=True)
        except hvac.exceptions.VaultError as error:
            status = next((code for kind, code in _STATUS_OF.items() if isinstance(error, kind)), 500)
            return Answer(status, {}, tuple(str(e) for e in (error.errors or [str(error)])))
        except requests.ConnectionError as error:
            raise VaultUnreachable(f"Vault at {self.addr} does not answer: {error}") from None
        if isinstance(response, dict):
            return Answer(200, response)
        status = getattr(response, "status_code", 204)
        return Answer(status, {})

    def read(self, path: str) -> Answer:
        return self.call("get", path)

    def write(self, path: str, body: dict[str, Any]) -> Answer:
        return self.call("post", path, body)
