"""The one deploy script every rendered deploy step runs, whichever CI system runs it.

A deploy step holds three things a later job on the same runner, or the deploy itself, must never
get: the job's OIDC token, the Vault token it buys, and the secrets. So the script

- writes secrets only into a private directory (``umask 077``, ``mktemp -d``: mode 0700, files 0600);
- keeps both tokens in shell variables: never exported, never written to a file, never a command-line
  argument (other users of a runner read every process's arguments): the JWT reaches Vault on curl's
  standard input, the Vault token as a header curl reads from a pipe (``--header @<(printf ...)``);
- forgets the OIDC token (and whatever could mint another) as soon as it has logged in, so ``make
  deploy`` gets the secrets, not what buys them;
- removes the directory and revokes the Vault token in one EXIT trap, which the signal traps lead to as
  well: on success, failure and cancellation. A revocation that fails is said loudly and fails the
  step, without hiding the deploy's own failure when that came first.

Each CI system says how its job holds the token (:class:`JobToken`) and where the image reference
comes from, and places the script in its step (in a subshell where the job's script goes on after it).
Only what survives a SIGKILL or a power cut escapes this; ephemeral runners (one job per machine)
cover that.
"""

from __future__ import annotations

from dataclasses import dataclass

from .pipelines import DeployJob
from .templating import shell_quote

DIGEST_PATTERN = "@sha256:[0-9a-f]{64}$"
"""An image reference pinned by digest ends so; deploys refuse any other."""


@dataclass(frozen=True)
class JobToken:
    """How a CI system hands its deploy step the job's OIDC token."""

    variable: str
    """The shell variable holding the token (the CI system's own, or one ``fetch`` sets)."""
    fetch: str = ""
    """Shell that sets ``variable``, for a system whose jobs request their token at run time."""
    minters: tuple[str, ...] = ()
    """Further variables that could buy another token; unset with the token after login."""
    selector: str = ""
    """Per developer: the shell expression whose value picks the role (``RoleChoice.selector`` patterns);
    ``token_claim FILTER`` reads a claim of the token itself."""
    selector_name: str = "user"
    """What ``selector`` is, for people (e.g. ``subject``)."""


def _revoke() -> str:
    return """\
end_job() {
  status=$?
  trap - EXIT HUP INT TERM
  if [ -n "$vault_token" ]; then
    if vault POST auth/token/revoke-self --fail --output /dev/null; then
      echo "Vault token revoked"
    else
      echo "error: could not revoke this job's Vault token (role $role); it stays valid until its TTL ends." \\
        "Revoke it (bao token revoke -accessor), and check that the role's policy grants update on" \\
        "auth/token/revoke-self and that VAULT_ADDR answers." >&2
      if [ "$status" -eq 0 ]; then status=1; fi
    fi
  fi
  rm -rf "$private_dir"
  exit "$status"
}
trap end_job EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM"""


_VAULT = """\
vault() {  # vault METHOD API-PATH [curl options]: this job's Vault token as a header read from a pipe
  curl --silent --show-error --header @<(printf 'X-Vault-Token: %s\\n' "$vault_token") --request "$1" \\
    "${@:3}" "$VAULT_ADDR/v1/$2"
}
read_secret() {  # read_secret API-PATH FILE: the secret's data as JSON in the private directory
  vault GET "$1" --fail | jq .data.data > "$private_dir/secrets/$2"
}"""


def _token_claim(token: JobToken) -> str:
    return f"""\
token_claim() {{  # token_claim JQ-FILTER: a claim of this job's OIDC token, read from its payload
  local payload
  payload=$(printf '%s' "${token.variable}" | cut -d. -f2 | tr '_-' '/+')
  case $(( ${{#payload}} % 4 )) in 2) payload="$payload==" ;; 3) payload="$payload=" ;; esac
  printf '%s' "$payload" | base64 -d | jq -r "$1"
}}"""


def _choose_role(job: DeployJob, token: JobToken) -> str:
    """``role``: the one role, or (per developer) the one ``token.selector`` picks."""
    if not job.per_developer:
        choice = job.roles[0]
        return f"role={shell_quote(choice.role)}"
    lines = [_token_claim(token), f'case "{token.selector}" in']
    for choice in job.roles:
        lines.append(f"  {choice.selector}) role={shell_quote(choice.role)} ;;")
    lines.append(f'  *) echo "No {job.environment} role for {token.selector_name} {token.selector}: add the '
                 f'developer to environments[{job.environment}].developers" >&2; exit 1 ;;')
    lines.append("esac")
    return "\n".join(lines)


def _reads(job: DeployJob) -> str:
    """Each role's secret reads, by the role chosen (one role: unconditional)."""
    def reads(secrets: tuple[tuple[str, str], ...]) -> list[str]:
        return [f"read_secret {shell_quote(path)} {shell_quote(file)}" for path, file in secrets]

    if not job.per_developer:
        return "\n".join(reads(job.roles[0].secrets))
    lines = ['case "$role" in']
    for choice in job.roles:
        lines.append(f"  {shell_quote(choice.role)})")
        lines += [f"    {line}" for line in reads(choice.secrets)]
        lines.append("    ;;")
    lines.append("esac")
    return "\n".join(lines)


def _secrets_dirs(job: DeployJob) -> str:
    """``mkdir`` of the secrets directory and of each subdirectory a secret's file goes in."""
    subdirs = sorted({file.rsplit("/", 1)[0] for choice in job.roles for _, file in choice.secrets if "/" in file})
    return " ".join(["mkdir", '"$private_dir/secrets"', *(f'"$private_dir/secrets/"{shell_quote(d)}' for d in subdirs)])


def _login(mount: str, token: JobToken) -> str:
    forget = " ".join((token.variable, *token.minters))
    return f"""\
login_url="$VAULT_ADDR/v1/auth/{mount}/login"
if ! status=$(printf '%s\\n' "${token.variable}" | jq --compact-output --raw-input --arg role "$role" \\
    '{{role: $role, jwt: .}}' | curl --silent --show-error --request POST --data @- \\
    --output "$private_dir/login.json" --write-out '%{{http_code}}' "$login_url"); then
  echo "error: could not reach Vault at $login_url" >&2; exit 1
fi
unset {forget}  # the deploy gets the secrets, not what buys them
if [ "$status" != 200 ]; then
  echo "error: Vault refused the login as $role at $login_url (HTTP $status):" \\
    "$(jq -r '.errors // [] | join("; ")' "$private_dir/login.json" 2>/dev/null)" >&2
  exit 1
fi
vault_token=$(jq -r '.auth.client_token // empty' "$private_dir/login.json")
rm -f "$private_dir/login.json"
if [ -z "$vault_token" ]; then
  echo "error: Vault gave no token for $role at $login_url" >&2; exit 1
fi"""


_VAULT_STATUS = """\
vault_status() {  # vault_status API-PATH: Vault's HTTP status for reading it (000: Vault did not answer)
  vault GET "$1" --output /dev/null --write-out '%{http_code}' || true
}"""


def _promoted(job: DeployJob) -> list[str]:
    """Refuse a digest the environment promoted from did not record (read with this job's own token)."""
    if job.promoted_from is None:
        return []
    source, records = job.promoted_from
    return [_VAULT_STATUS, f"""\
record_status=$(vault_status {shell_quote(records)}/"$digest")
case "$record_status" in
  200) echo "promoting $image_ref: {source} deployed it" ;;
  404) echo "error: $image_ref was never deployed to {source}; deploy it there first, then promote that digest" \\
         "(no record at {records}/$digest)" >&2; exit 1 ;;
  *) echo "error: could not check whether {source} deployed $image_ref (HTTP $record_status from Vault)" >&2
     exit 1 ;;
esac"""]


def _record(job: DeployJob) -> list[str]:
    """After a deploy that succeeded, record its digest once (create only) for the environments that
    promote from this one; an existing record (a rerun) is kept as it is."""
    if job.records is None:
        return []
    return [*([] if job.promoted_from else [_VAULT_STATUS]), f"""\
record={shell_quote(job.records)}/"$digest"
if [ "$(vault_status "$record")" = 200 ]; then
  echo "$image_ref was already recorded as deployed to {job.environment}"
elif jq --null-input --compact-output --arg image "$image_ref" '{{data: {{image: $image}}}}' \\
    | vault POST "$record" --fail --output /dev/null --data @-; then
  echo "recorded $image_ref as deployed to {job.environment}"
elif [ "$(vault_status "$record")" = 200 ]; then  # a concurrent deploy of the same digest recorded it first
  echo "$image_ref was recorded as deployed to {job.environment} by a concurrent deploy"
else
  echo "error: {job.environment} deployed $image_ref but could not record it at $record," \\
    "so it cannot be promoted; check the role's policy grants create there" >&2
  exit 1
fi"""]


def deploy_script(job: DeployJob, token: JobToken, image_ref: str) -> str:
    """The whole deploy step of ``job``: check the image, log in, read the secrets, deploy, clean up.

    ``image_ref`` is the shell word holding the image reference (e.g. ``"$IMAGE_REF"``).
    """
    parts = [
        "set -euo pipefail",
        "umask 077",
        f"image_ref={image_ref}",
        f"if ! printf '%s' \"$image_ref\" | grep -Eq '{DIGEST_PATTERN}'; then",
        '  echo "error: the image is not pinned by digest: $image_ref" >&2; exit 1',
        "fi",
        'digest="${image_ref##*@sha256:}"',
        "# Secrets only in a private directory; on every way out it is removed and the token revoked.",
        "private_dir=$(mktemp -d)",
        _secrets_dirs(job),
        "vault_token=",
        "role=",
        _VAULT,
        _revoke(),
    ]
    if token.fetch:
        parts.append(token.fetch)
    parts += [
        _choose_role(job, token),
        _login(job.mount, token),
        *_promoted(job),
        _reads(job),
        f"DEPLOY_ENVIRONMENT={shell_quote(job.environment)} IMAGE_REF=\"$image_ref\" "
        'SECRETS_DIR="$private_dir/secrets" make deploy',
        *_record(job),
    ]
    return "\n".join(parts)


def apply_script(mount: str, role: str, stack: str, token: JobToken) -> str:
    """The infrastructure pipeline's step applying ``stack``: log in through the stack's deployer ``role``,
    give the Vault token to ``pulumi up`` alone (in its environment, never its arguments; its provider's
    child token is bounded by it), and revoke it on every way out, as a deploy step does."""
    parts = [
        "set -euo pipefail",
        "umask 077",
        "# The Vault token lives in this step only; on every way out it is revoked.",
        "private_dir=$(mktemp -d)",
        "vault_token=",
        f"role={shell_quote(role)}",
        _VAULT,
        _revoke(),
    ]
    if token.fetch:
        parts.append(token.fetch)
    parts += [
        _login(mount, token),
        f'VAULT_TOKEN="$vault_token" pulumi up --yes --non-interactive --stack {shell_quote(stack)}',
    ]
    return "\n".join(parts)
