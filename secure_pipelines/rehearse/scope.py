"""What a rehearsal proves and what it does not: the claim printed under its table, kept honest.

The statements are fixed where they hold for every rehearsal, and read from the rows where they
depend on what was rehearsed (which later layers stopped attacks, which settings were substituted).
"""

from __future__ import annotations

from dataclasses import dataclass

from .outcomes import Rehearsal


@dataclass(frozen=True)
class Scope:
    """The rehearsal's claim, for people: what it proves, and what it leaves to other evidence."""

    proves: tuple[str, ...]
    does_not_prove: tuple[str, ...]


def scope(rehearsal: Rehearsal) -> Scope:
    """The claim a finished rehearsal can make."""
    later_layers = sorted({o.layer for o in rehearsal.outcomes if o.verdict == "stopped-elsewhere"})
    proves = [
        "every legitimate deploy of the plan logs in to a real OpenBao configured as the stacks would configure "
        "it (one substitution: each CI issuer's key), reads exactly its own secret, and writes none",
        "every attack row was refused by the Vault check it names, or (marked stopped-elsewhere) admitted by "
        "Vault by design and stopped by the later layer it names, with the check that proves it",
        "every CI and admin token can revoke itself and is refused once revoked",
        "each stack's Vault resources apply with a token holding only that stack's deployer policy, and every "
        "deployer attack row (another environment, its own pins, tokens, auth mounts, secrets) was refused",
        "the address Vault checks is the right-most X-Forwarded-For entry the trusted listener receives",
        "explain's access matrix equals what Vault granted",
    ]
    does_not_prove = [
        "a stolen token replayed from inside the allowlist before it expires or is revoked: Vault's JWT auth has "
        "no replay protection; token_bound_cidrs, short TTLs and the job's own revocation narrow the window",
        "that the settings made by hand outside Vault are in place: the later layers are evaluated as the plan "
        "declares them" + (f" ({', '.join(later_layers)})" if later_layers else "") + ", and the CI systems' and "
        "GitHub's own settings (context restrictions, security groups, pushed config policies, deployment "
        "environment rules, runner groups, ephemeral runners) are not read",
        "the admins' browser login and the identity provider's group memberships: the admin roles' bindings are "
        "read back from Vault and exercised with ID tokens signed by a local key",
        "your production listener's X-Forwarded-For trust: the rehearsal's listener trusts 127.0.0.1 only (the "
        "README shows a production listener)",
    ]
    if not rehearsal.embedded:
        does_not_prove.append("that the Vault rehearsed against is the one your stacks apply to")
    return Scope(tuple(proves), tuple(does_not_prove))
