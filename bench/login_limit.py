"""The embedded OpenBao's own JWT login limit on this machine (never a timed test).

Run from the project root:

    .venv/bin/python bench/login_limit.py [--threads 1 2 4 8 16] [--seconds 3]

One dev server (the rehearsal's own ``dev_server``), one JWT mount trusting one local key, one
role bound like a rehearsed CI role (audience, two claims, an allowlist, a policy, minutes of TTL).
Tokens are signed before the clock starts (the rehearsal's own signer and key type), so what is
measured is the server: client threads, each with one keep-alive connection to the listener the
rehearsal logs in through (``X-Forwarded-For`` inside the allowlist), post logins for a fixed time.
Every login must succeed. The best thread count is the limit a rehearsal is compared with.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from secure_pipelines.rehearse.keys import generate_issuer_keys
from secure_pipelines.rehearse.server import OpenBaoServer, dev_server
from secure_pipelines.rehearse.tokens import mint
from secure_pipelines.rehearse.vault_client import VaultSession

ISSUER = "https://issuer.bench.example"
AUDIENCE = "bench-audience"
ALLOWLIST = "198.51.100.0/24"
CLIENT_ADDRESS = "198.51.100.5"
ROLE = "bench-login"
TOKENS = 4000


@dataclass(frozen=True)
class LoginRate:
    """Logins a second with ``threads`` client threads."""

    threads: int
    logins: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.logins / self.seconds


def configure(server: OpenBaoServer) -> list[str]:
    """A JWT mount and one role on ``server``; returns pre-signed tokens that role admits."""
    key = generate_issuer_keys([ISSUER])[ISSUER]
    root = VaultSession(server.api_addr, server.root_token)
    for path, body in (
        ("sys/auth/bench", {"type": "jwt"}),
        ("auth/bench/config", {"bound_issuer": ISSUER, "jwt_validation_pubkeys": [key.public_pem]}),
        ("sys/policies/acl/bench-read", {"policy": 'path "secret/data/bench" { capabilities = ["read"] }'}),
        (f"auth/bench/role/{ROLE}", {
            "role_type": "jwt", "bound_audiences": [AUDIENCE], "user_claim": "sub",
            "bound_claims": {"repository_id": ["42"], "ref": ["refs/heads/main"]},
            "token_bound_cidrs": [ALLOWLIST], "token_policies": ["bench-read"], "token_no_default_policy": True,
            "token_ttl": 300, "token_max_ttl": 600,
        }),
    ):
        answer = root.write(path, body)
        if not answer.ok:
            raise SystemExit(f"cannot configure the login benchmark: {path}: {answer.reason}")
    now = int(time.time())
    return [
        mint(key, {"iss": ISSUER, "aud": AUDIENCE, "sub": f"repo:bench/app:ref:refs/heads/main#{n}",
                   "repository_id": "42", "ref": "refs/heads/main", "iat": now, "nbf": now - 5,
                   "exp": now + 3600, "jti": str(n)})
        for n in range(TOKENS)
    ]


def _login_loop(addr: str, tokens: Sequence[str], start: int, stop_at: list[float], counts: list[int],
                index: int, failures: list[str]) -> None:
    split = urlsplit(addr)
    connection = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port)
    headers = {"Content-Type": "application/json", "X-Forwarded-For": CLIENT_ADDRESS}
    done = 0
    position = start
    try:
        while time.perf_counter() < stop_at[0]:
            body = json.dumps({"role": ROLE, "jwt": tokens[position % len(tokens)]})
            connection.request("POST", "/v1/auth/bench/login", body, headers)
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                failures.append(f"HTTP {response.status}: {payload[:200]!r}")
                return
            done += 1
            position += 1
    finally:
        connection.close()
        counts[index] = done


def measure(server: OpenBaoServer, tokens: Sequence[str], threads: int, seconds: float) -> LoginRate:
    """Logins a second from ``threads`` client threads posting for ``seconds``."""
    counts = [0] * threads
    failures: list[str] = []
    started = time.perf_counter()
    stop_at = [started + seconds]
    workers = [
        threading.Thread(target=_login_loop, args=(server.forwarded_addr, tokens, n * 997, stop_at, counts, n,
                                                   failures))
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"a benchmark login was refused: {failures[0]}")
    return LoginRate(threads, sum(counts), elapsed)


def login_limit(threads: Sequence[int], seconds: float) -> list[LoginRate]:
    """One rate per thread count, against one fresh embedded OpenBao (after a short warm-up)."""
    with dev_server() as server:
        tokens = configure(server)
        measure(server, tokens, max(threads), min(seconds, 1.0))  # warm-up: connections, caches, GC
        return [measure(server, tokens, count, seconds) for count in threads]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per thread count")
    args = parser.parse_args(argv)
    rates = login_limit(args.threads, args.seconds)
    for rate in rates:
        print(f"{rate.threads:>3} threads: {rate.per_second:7.0f} logins/s ({rate.logins} in {rate.seconds:.1f}s)")
    best = max(rates, key=lambda r: r.per_second)
    print(f"limit: {best.per_second:.0f} logins/s with {best.threads} threads")


if __name__ == "__main__":
    main()
