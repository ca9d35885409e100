"""The package's shape, as measures: no import cycle, no import inside a function, and a core that
names no CI system (each system lives in its own folder under ``secure_pipelines/ci/``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "secure_pipelines"
CI_FOLDER = PACKAGE / "ci"
REGISTRY = CI_FOLDER / "registry.py"

CI_NAMES = re.compile(
    r"circleci|github_actions|github-actions|github actions|oidc\.circleci\.com|token\.actions\.githubusercontent\.com"
    r"|gitlab",
    re.IGNORECASE,
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module ``module`` imports (resolved: ``from p import name`` is ``p.name`` if that is a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield (candidate if candidate in MODULES else base), node.lineno


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]  # not the root package itself


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it loads: each one it imports, and the package ``__init__``s
    importing it runs first (a module's own packages are already loading when it runs; the root
    package runs before anything else)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        own = set(_ancestors(name)) | {name}
        for target, _ in _imported(name, path):
            if target not in MODULES:
                continue
            graph[name].add(target)
            graph[name].update(a for a in _ancestors(target) if a not in own)
        graph[name].discard(name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert sum(len(t) for t in graph.values()) > 100, "the graph is nearly empty: this test would prove nothing"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


def test_importing_a_package_module_counts_its_package_init() -> None:
    edges = import_graph()["secure_pipelines.ci.circleci.render"]
    assert "secure_pipelines.render.templating" in edges
    assert "secure_pipelines.render" in edges, "the package's __init__ runs before its module"


def test_no_module_imports_inside_a_function() -> None:
    found = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found += [f"{name}:{inner.lineno}" for inner in ast.walk(node)
                          if isinstance(inner, ast.Import | ast.ImportFrom)]
    assert found == []


def _system_folders() -> list[Path]:
    return sorted(p for p in CI_FOLDER.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def _core_files() -> Iterator[Path]:
    """Every module and template outside the CI systems' folders."""
    inside = _system_folders()
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".j2") and not any(folder in path.parents for folder in inside):
            yield path


def test_there_are_ci_system_folders_to_keep_apart() -> None:
    assert {p.name for p in _system_folders()} >= {"circleci", "github_actions", "gitlab_ci"}


def test_the_core_names_no_ci_system() -> None:
    hits = []
    for path in _core_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if path == REGISTRY and line.startswith("from .") and " import SYSTEM as " in line:
                continue  # the registry's one line per system
            if path == REGISTRY and line.startswith("SYSTEMS: "):
                continue  # ... and the list of their names
            if CI_NAMES.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == []


@pytest.mark.parametrize("line", [
    "    return 'https://oidc.circleci.com/org/' + org",
    "# GitHub Actions deploys run in environments",
    'KEY = "github_actions"',
    "mount = 'github-actions'",
    "ISSUER = 'https://token.actions.githubusercontent.com'",
    'KEY = "gitlab_ci"',
    "url: str = 'https://gitlab.com'",
    "# GitLab CI deploys run in environments",
])
def test_the_ci_name_scan_catches_each_form(line: str) -> None:
    assert CI_NAMES.search(line)


def test_the_vcs_host_is_not_a_ci_name() -> None:
    for line in ("github_id: int", "GitHub deployment environments", "github:index/branchProtection"):
        assert not CI_NAMES.search(line)
