"""Reading the files a user writes (declaration, Pulumi project and stack files): UTF-8 text, YAML read
strictly, and every failure an :class:`~secure_pipelines.errors.UnreadableFile` naming the file (and,
for YAML, the line and column)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml as libyaml
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import UnreadableFile


def read_text(path: Path, what: str) -> str:
    """The text of ``path`` (``what`` says what it is, for messages), decoded as UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFile(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise UnreadableFile(f"{path}: is a directory, not a {what}") from None
    except PermissionError:
        raise UnreadableFile(f"{path}: cannot be read (permission denied); make the {what} readable") from None
    except OSError as error:
        raise UnreadableFile(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UnreadableFile(
            f"{path}:{line}: is not UTF-8 text (byte 0x{data[error.start]:02x}); save the {what} as UTF-8"
        ) from None


def parse_yaml(text: str, path: Path | str) -> Any:
    """The YAML document in ``text`` (read from ``path``, which names it in errors); a duplicated key is an
    error, not a silent overwrite."""
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        what = " ".join(part for part in (error.context, error.problem) if part)
        raise UnreadableFile(f"{where}: is not valid YAML: {_one_line(what)}") from None
    except YAMLError as error:
        raise UnreadableFile(f"{path}: is not valid YAML: {_one_line(str(error))}") from None


_C_LOADER = getattr(libyaml, "CSafeLoader", libyaml.SafeLoader)


def parse_rendered_yaml(text: str) -> Any:
    """A pipeline config or config-policy test file this toolkit rendered, read back to be judged.

    Read with libyaml's C parser (through PyYAML), ten times faster than the pure-Python reader user files
    get: at organisation scale every ``pulumi up`` and every rehearsal reads each rendered config back to
    judge it by the config policies. libyaml reads YAML 1.1 (``on``, ``yes``, ``0755`` are no strings
    there), so this is only for files that read the same either way, which a test checks for every file
    read back; never for a workflow whose trigger key is ``on:``, nor for files users write.
    """
    return libyaml.load(text, Loader=_C_LOADER)


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document of the file at ``path``."""
    return parse_yaml(read_text(path, what), path)


def _one_line(text: str) -> str:
    return " ".join(text.split())
