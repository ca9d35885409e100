"""The shell every rendered deploy step shares, whichever CI system runs it.

A deploy step holds two things a later job on the same runner must never find: the secrets and the
Vault token. So the step writes secrets only into a private directory (``umask 077``, ``mktemp -d``:
mode 0700, files 0600), and one EXIT trap, which the signal traps lead to as well, removes that
directory and revokes the token on every way out: success, failure, cancellation. A revocation that
fails is said loudly and fails the step, without hiding the deploy's own failure when that came first.

Each CI system's template places these pieces in its own step: ``GUARD`` first (before the token
exists), then its login, then ``read_secrets`` and ``run_deploy``. Only what survives a SIGKILL or
a power cut escapes this; ephemeral runners (one job per machine) cover that.
"""

from __future__ import annotations

from .templating import shell_quote

GUARD = """\
umask 077
secrets_dir=$(mktemp -d)
end_job() {
  status=$?
  trap - EXIT HUP INT TERM
  rm -rf "$secrets_dir"
  if [ -n "${VAULT_TOKEN:-}" ] && ! curl --fail --silent --show-error --request POST \\
      --header "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/auth/token/revoke-self" > /dev/null; then
    echo "error: could not revoke this job's Vault token (auth/token/revoke-self); it stays valid until" \
      "its TTL ends. Check that the role's policy grants update on auth/token/revoke-self and that" \
      "VAULT_ADDR answers." >&2
    if [ "$status" -eq 0 ]; then status=1; fi
  fi
  exit "$status"
}
trap end_job EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM"""
"""Private directory, and the trap that removes it and revokes ``$VAULT_TOKEN`` on every exit path."""


def read_secrets(paths: str) -> str:
    """Read each API path listed in the shell word list ``paths`` into ``$secrets_dir/<name>.json``."""
    return (
        f"for path in {paths}; do\n"
        '  curl --fail --silent --show-error --header "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/$path" \\\n'
        '    | jq .data.data > "$secrets_dir/$(basename "$path").json"\n'
        "done"
    )


def run_deploy(environment: str, image_ref: str) -> str:
    """``make deploy`` with the secrets directory and the image, but without the Vault token."""
    return (f"env -u VAULT_TOKEN DEPLOY_ENVIRONMENT={shell_quote(environment)} IMAGE_REF={image_ref} "
            'SECRETS_DIR="$secrets_dir" make deploy')


def vault_login(mount: str, role: str, jwt_variable: str) -> str:
    """Log in to Vault through ``role`` on ``mount`` with the OIDC token in the exported ``jwt_variable``
    (never a command-line argument), then forget the OIDC token. ``VAULT_TOKEN`` is set but not exported:
    only a command given it explicitly (and ``GUARD``'s revocation) sees it."""
    return (
        f"login_url=\"$VAULT_ADDR/v1/auth/{mount}/login\"\n"
        f"if ! answer=$(jq -n --arg role {shell_quote(role)} '{{role: $role, jwt: env.{jwt_variable}}}' \\\n"
        '    | curl --silent --show-error --fail-with-body --request POST --data @- "$login_url"); then\n'
        f'  echo "Vault refused the login as {role} at $login_url" >&2; exit 1\n'
        "fi\n"
        f"unset {jwt_variable}\n"
        "VAULT_TOKEN=$(printf '%s' \"$answer\" | jq -r '.auth.client_token // empty')\n"
        "unset answer\n"
        f'if [ -z "$VAULT_TOKEN" ]; then echo "Vault gave no token for {role} at $login_url" >&2; exit 1; fi'
    )


def apply_stack(stack: str) -> str:
    """``pulumi up`` of one stack, the only process given the Vault token (its provider's child token
    is bounded by it, and ``GUARD`` revokes it on the way out)."""
    return f"VAULT_TOKEN=\"$VAULT_TOKEN\" pulumi up --yes --non-interactive --stack {shell_quote(stack)}"
