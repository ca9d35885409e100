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
    user_id: str = ""
    """Per developer: the jq filter that reads the pushing user's immutable id from the token's claims
    (empty when the token has none); it names the role."""
    user_name: str = "user"
    """What that id is, for people (e.g. ``GitHub user``)."""


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


USER_ID_PATTERN = "^[A-Za-z0-9-]{1,64}$"
"""A CI user id as a role name may hold it (a number or a UUID); a token's id is refused otherwise."""
DEVELOPER_PATTERN = "^[a-z][a-z0-9-]*$"
"""A developer's name (a short name), as read back from the login's policy before it goes in a path."""


def _choose_role(job: DeployJob, token: JobToken) -> str:
    """``role``: the one role, or (per developer) the one named by the user id in the job's own token."""
    if job.role is not None:
        return f"role={shell_quote(job.role.role)}"
    lookup = job.developer_lookup
    assert lookup is not None
    return "\n".join([_token_claim(token), f"""\
user_id=$(token_claim {shell_quote(token.user_id)})
if ! printf '%s' "$user_id" | grep -Eq '{USER_ID_PATTERN}'; then
  echo "error: this job's token names no {token.user_name} id to pick its {job.environment} role by" \\
    "(got '$user_id')" >&2
  exit 1
fi
role={shell_quote(lookup.role_prefix)}"$user_id\""""])


def _no_developer_role(job: DeployJob, token: JobToken) -> str:
    """Per developer: Vault's answer that the role does not exist means the pusher has no environment here:
    say so and skip the deploy (exit 0). Any other refusal still fails the job."""
    if job.developer_lookup is None:
        return ""
    return f"""\
if [ "$status" = 400 ] && jq -e --arg role "$role" \\
    '.errors // [] | any(. == ("role \\"" + $role + "\\" could not be found"))' \\
    "$private_dir/login.json" >/dev/null 2>&1; then
  echo "notice: {token.user_name} $user_id has no {job.environment} environment (no role $role): skipping" \\
    "the {job.environment} deploy. To give them one, add them to environments[{job.environment}].developers" \\
    "and run pulumi up on the {job.environment} stack; no pipeline file changes."
  exit 0
fi
"""


def _reads(job: DeployJob) -> str:
    """The role's secret reads; per developer, its own path comes from the read policy Vault granted."""
    def reads(secrets: tuple[tuple[str, str], ...]) -> list[str]:
        return [f"read_secret {shell_quote(path)} {shell_quote(file)}" for path, file in secrets]

    if job.role is not None:
        return "\n".join(reads(job.role.secrets))
    lookup = job.developer_lookup
    assert lookup is not None
    return "\n".join([f"""\
if ! printf '%s' "$developer" | grep -Eq '{DEVELOPER_PATTERN}'; then
  echo "error: Vault's login as $role granted no single {lookup.policy_prefix}<developer> policy" \\
    "(got '$developer'), so this job cannot tell which secrets are its own" >&2
  exit 1
fi
read_secret {shell_quote(lookup.secret_prefix)}"$developer"{shell_quote(lookup.secret_suffix)} \\
  {shell_quote(lookup.secret_file)}""", *reads(lookup.shared)])


def _developer(job: DeployJob) -> str:
    """Per developer: ``developer``, read from the one read policy of the repository the login granted."""
    if job.developer_lookup is None:
        return ""
    prefix = shell_quote(job.developer_lookup.policy_prefix)
    return f"""\
developer=$(jq -r --arg prefix {prefix} '[.auth.token_policies // [] | .[] | select(startswith($prefix))
  | ltrimstr($prefix)] | if length == 1 then .[0] else "" end' "$private_dir/login.json")
"""


def _secrets_dirs(job: DeployJob) -> str:
    """``mkdir`` of the secrets directory and of each subdirectory a secret's file goes in."""
    subdirs = sorted({file.rsplit("/", 1)[0] for file in job.secret_files if "/" in file})
    return " ".join(["mkdir", '"$private_dir/secrets"', *(f'"$private_dir/secrets/"{shell_quote(d)}' for d in subdirs)])


def _login(mount: str, token: JobToken, on_refusal: str = "", on_login: str = "") -> str:
    """Log in through ``$role`` on ``mount``; ``on_refusal`` runs before a refusal fails the step, ``on_login``
    once the answer is in (a per-developer deploy's pieces)."""
    forget = " ".join((token.variable, *token.minters))
    return f"""\
login_url="$VAULT_ADDR/v1/auth/{mount}/login"
if ! status=$(printf '%s\\n' "${token.variable}" | jq --compact-output --raw-input --arg role "$role" \\
    '{{role: $role, jwt: .}}' | curl --silent --show-error --request POST --data @- \\
    --output "$private_dir/login.json" --write-out '%{{http_code}}' "$login_url"); then
  echo "error: could not reach Vault at $login_url" >&2; exit 1
fi
unset {forget}  # the deploy gets the secrets, not what buys them
{on_refusal}if [ "$status" != 200 ]; then
  echo "error: Vault refused the login as $role at $login_url (HTTP $status):" \\
    "$(jq -r '.errors // [] | join("; ")' "$private_dir/login.json" 2>/dev/null)" >&2
  exit 1
fi
vault_token=$(jq -r '.auth.client_token // empty' "$private_dir/login.json")
{on_login}rm -f "$private_dir/login.json"
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
        _login(job.mount, token, _no_developer_role(job, token), _developer(job)),
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
