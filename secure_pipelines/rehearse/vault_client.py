"""A small Vault API client: every call answers with an :class:`Answer` instead of raising on refusals.

A rehearsal sends tens of thousands of requests from one Python process, and the client's own CPU
time is what limits it: measured here, a request through hvac and requests cost 550-1000 µs of
client CPU, through a kept-alive ``http.client`` connection about 150 µs. So requests go straight
to the API over one keep-alive connection per thread and Vault address, with the token and the
claimed client address as headers.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import SecurePipelinesError

TIMEOUT_SECONDS = 30.0

# What a kept-alive connection raises when the server closed it while it was idle.
_STALE_CONNECTION = (http.client.RemoteDisconnected, http.client.CannotSendRequest, BrokenPipeError,
                     ConnectionResetError, ConnectionAbortedError)


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


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int
    base_path: str


def _origin(addr: str) -> _Origin:
    split = urlsplit(addr)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise VaultUnreachable(f"{addr!r} is not a Vault address; give one like http://127.0.0.1:8200")
    port = split.port or (443 if split.scheme == "https" else 80)
    return _Origin(split.scheme, split.hostname, port, split.path.rstrip("/"))


_LOCAL = threading.local()
_OPENED: list[http.client.HTTPConnection] = []
_OPENED_LOCK = threading.Lock()
_TLS: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """The system's trust store, certificates and host names verified (made once, shared by threads)."""
    global _TLS
    with _OPENED_LOCK:
        if _TLS is None:
            _TLS = ssl.create_default_context()
        return _TLS


def _connection(origin: _Origin, fresh: bool = False) -> http.client.HTTPConnection:
    """This thread's keep-alive connection to ``origin`` (a new one when ``fresh``)."""
    connections: dict[_Origin, http.client.HTTPConnection] = _LOCAL.__dict__.setdefault("connections", {})
    connection = connections.get(origin)
    if connection is not None and not fresh:
        return connection
    if connection is not None:
        connection.close()
    if origin.scheme == "https":
        connection = http.client.HTTPSConnection(origin.host, origin.port, timeout=TIMEOUT_SECONDS,
                                                 context=_tls_context())
    else:
        connection = http.client.HTTPConnection(origin.host, origin.port, timeout=TIMEOUT_SECONDS)
    connections[origin] = connection
    with _OPENED_LOCK:
        _OPENED.append(connection)
    return connection


def close_sessions() -> None:
    """Close every keep-alive connection (each thread's), e.g. when a rehearsal ends."""
    with _OPENED_LOCK:
        for connection in _OPENED:
            connection.close()
        _OPENED.clear()
    _LOCAL.__dict__.pop("connections", None)


def _exchange(origin: _Origin, method: str, target: str, payload: bytes | None,
              headers: dict[str, str]) -> tuple[int, bytes]:
    connection = _connection(origin)
    reused = connection.sock is not None
    try:
        connection.request(method, target, payload, headers)
        response = connection.getresponse()
        return response.status, response.read()
    except _STALE_CONNECTION:
        if not reused:
            raise
    # The server closed the idle connection before reading the request: send it once more, anew.
    connection = _connection(origin, fresh=True)
    connection.request(method, target, payload, headers)
    response = connection.getresponse()
    return response.status, response.read()


def _answer(status: int, raw: bytes) -> Answer:
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        body = {"errors": [raw.decode(errors="replace").strip()]}
    if not isinstance(body, dict):
        body = {}
    if 200 <= status < 300:
        return Answer(status, body)
    errors = body.get("errors") or []
    return Answer(status, {}, tuple(str(e) for e in errors))


class VaultSession:
    """One caller of the Vault API: an address, a token (maybe none) and the client address it claims."""

    def __init__(self, addr: str, token: str | None = None, client_address: str | None = None):
        self.addr = addr
        self.token = token or ""
        self.client_address = client_address
        self._origin = _origin(addr)
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["X-Vault-Token"] = token
        if client_address is not None:
            self._headers["X-Forwarded-For"] = client_address

    def with_token(self, token: str) -> VaultSession:
        return VaultSession(self.addr, token, self.client_address)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        payload = json.dumps(body).encode() if body is not None else None
        target = f"{self._origin.base_path}/v1/{path}"
        try:
            status, raw = _exchange(self._origin, method.upper(), target, payload, self._headers)
        except (OSError, http.client.HTTPException) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            if isinstance(error, socket.timeout):
                reason = f"no answer within {TIMEOUT_SECONDS:.0f}s"
            raise VaultUnreachable(f"Vault at {self.addr} does not answer: {reason}") from None
        return _answer(status, raw)

    def read(self, path: str) -> Answer:
        return self.call("get", path)

    def write(self, path: str, body: dict[str, Any]) -> Answer:
        return self.call("post", path, body)
