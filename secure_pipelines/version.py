"""The installed version of secure-pipelines, and the requirement range a new project pins."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "secure-pipelines"
"""The name ``pip install`` knows the toolkit by."""
_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def installed_version() -> str:
    """The version of the installed distribution (``0.0.0`` when run from sources that were never installed)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0.0.0"


def compatible_requirement(installed: str) -> str:
    """``secure-pipelines>=X.Y.Z,<N``: the releases that keep the declaration format and commands of
    ``installed`` (below 1.0 a minor release may change them, so the range stops at the next minor)."""
    release = _RELEASE.match(installed)
    if release is None:
        raise ValueError(f"{installed!r} is not a version number such as 0.1.0")
    major, minor, patch = int(release[1]), int(release[2]), int(release[3] or 0)
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"{DISTRIBUTION}>={major}.{minor}.{patch},<{upper}"
