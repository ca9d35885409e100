"""Write a new project's files without ever overwriting one: every file is checked first, and a
file that appears meanwhile is refused too (exclusive create); a failed write removes what it wrote."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import SecurePipelinesError, UnwritableOutput


class FilesExist(SecurePipelinesError):
    """Files ``securepipe init`` would write are already there: it wrote nothing."""

    def __init__(self, directory: Path, existing: list[str], hint: str):
        self.existing = tuple(existing)
        where = "this directory" if directory == Path(".") else str(directory)
        super().__init__(f"{where} already has {', '.join(existing)}; nothing was written (init never "
                         f"overwrites a file): {hint}")


def write_new_files(directory: Path, files: Mapping[str, str], hint: str) -> list[Path]:
    """Write ``files`` (relative path -> text) under ``directory``, all or none; refuse if any exists."""
    existing = [name for name in files if (directory / name).exists() or (directory / name).is_symlink()]
    if existing:
        raise FilesExist(directory, existing, hint)
    written: list[Path] = []
    try:
        for name, text in files.items():
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            written.append(path)
    except FileExistsError as error:
        _remove(written)
        raise FilesExist(directory, [str(Path(error.filename).relative_to(directory))], hint) from None
    except OSError as error:
        _remove(written)
        raise UnwritableOutput(f"{error.filename or directory}: cannot be written ({error.strerror or error}); "
                               "nothing was left behind") from None
    return written


def _remove(paths: list[Path]) -> None:
    for path in reversed(paths):
        path.unlink(missing_ok=True)
