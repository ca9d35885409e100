"""A directory as it was committed at a git ref, written to a temporary directory (``git archive``), so
the front door can read a project at that ref exactly as it reads the working tree."""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

from .errors import SecurePipelinesError


class GitError(SecurePipelinesError):
    """git cannot give what was asked (not a repository, no such ref)."""


def _git(repository: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, check=False, timeout=120)
    except FileNotFoundError:
        raise GitError("git is not installed; install it, or compare two files: securepipe diff OLD NEW") from None


def repository_root(start: Path) -> Path:
    """The root of the git work tree ``start`` is in."""
    done = _git(start, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise GitError(f"{start} is not in a git repository; --base compares with a commit, so run it inside "
                       "one (or compare two files: securepipe diff OLD NEW)")
    return Path(done.stdout.decode().strip())


def check_ref(root: Path, ref: str) -> str:
    """The commit ``ref`` names (a clear error when it names none)."""
    done = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if done.returncode != 0 or ref.startswith("-"):
        raise GitError(f"--base {ref}: no such commit, branch or tag in {root}; fetch it first (e.g. git fetch "
                       "origin main) or name another")
    return done.stdout.decode().strip()


def extract(root: Path, commit: str, paths: Sequence[str], into: Path) -> list[str]:
    """Write ``paths`` (relative to ``root``) as committed at ``commit`` under ``into``; return those
    that existed there (a path the commit lacks is skipped, as if not yet written)."""
    present = [p for p in dict.fromkeys(paths)
               if _git(root, "cat-file", "-e", f"{commit}:{'' if p == '.' else p}").returncode == 0]
    if not present:
        return []
    done = _git(root, "archive", "--format=tar", commit, "--", *present)
    if done.returncode != 0:
        raise GitError(f"git archive {commit}: {done.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        for member in archive.getmembers():
            target = into / member.name
            # Regular files only, inside ``into``: links and special files of a commit are not followed.
            if not member.isfile() or ".." in Path(member.name).parts or Path(member.name).is_absolute():
                continue
            source = archive.extractfile(member)
            if source is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read())
    return present
