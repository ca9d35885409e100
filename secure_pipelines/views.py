"""The front door: every command, and the stack program, read a declaration through :func:`open_views`
(or, inside ``pulumi up``, :func:`program_view`), so what a command shows is what ``pulumi up`` applies.

Which file: ``--declaration FILE`` > ``SECUREPIPE_DECLARATION`` > the Pulumi project found from the
current directory upwards (the stack's ``secure-pipelines:declarationFile``, relative to the project
directory; else ``stacks/declaration.yaml``). Never the package's own example. Over the file, per
stack: the stack config object ``secure-pipelines:declaration``, then the ``SECUREPIPE_`` variables.

Each stack's view is validated, planned and cross-checked (its rendered files against its own
policies) once per run. Views that read the same values share one plan. When a run spans several
stacks, everything shared by every environment (pipeline files, config policies, auth mounts) must be
the same in every view; otherwise :class:`StacksDisagree` names the stacks and the fields.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .declaration.loader import DeclarationValues, planned_from, read_values
from .declaration.model import Declaration
from .declaration.sources.environment import DECLARATION_VARIABLE, ENV_PREFIX
from .errors import (
    DeclarationNotFound,
    InvalidDeclaration,
    NoDeclaration,
    Problem,
    StacksDisagree,
    UnknownStack,
)
from .plan.model import EnvironmentPlan, Plan
from .project import (
    DECLARATION_FILE_KEY,
    DECLARATION_KEY,
    DEFAULT_DECLARATION_FILE,
    PulumiProject,
    StackConfig,
    find_project,
    read_stack_config,
    stack_short_name,
)
from .render.agreement import IN_MEMORY, disagreements, failing_policy_tests
from .render.files import REPOSITORIES_DIR, pipeline_files

DECLARATION_OPTION = "--declaration"
NO_STACK = ""
"""The stack name of sources read for no stack in particular (to learn the declaration's environments)."""


@dataclass(frozen=True)
class DeclarationChoice:
    """The declaration file a stack reads, and why that one."""

    path: Path
    origin: str
    """``--declaration``, ``SECUREPIPE_DECLARATION``, the stack config key, or the project's default."""


def choose_declaration(
    explicit: Path | None,
    environ: Mapping[str, str],
    project: PulumiProject | None,
    config: StackConfig,
    cwd: Path,
) -> DeclarationChoice:
    """The declaration file of one stack, in the front door's order; relative names in the stack
    config and ``SECUREPIPE_DECLARATION`` are read from the project directory, as ``pulumi up`` does."""
    if explicit is not None:
        return DeclarationChoice(cwd / explicit, DECLARATION_OPTION)
    named = environ.get(DECLARATION_VARIABLE)
    if named:
        return DeclarationChoice((project.directory if project else cwd) / named, DECLARATION_VARIABLE)
    if project is None:
        raise NoDeclaration(
            f"no declaration found: no {DECLARATION_OPTION}, no {DECLARATION_VARIABLE}, and no Pulumi.yaml in "
            f"{cwd} or a directory above it; run `securepipe init` to start a project here, or pass "
            f"{DECLARATION_OPTION} FILE"
        )
    configured = config.declaration_file
    if configured:
        where = _shown(config.file, cwd, project) if config.file else f"the config of {project.file.name}"
        return DeclarationChoice(project.directory / configured, f"{DECLARATION_FILE_KEY} in {where}")
    return DeclarationChoice(project.directory / DEFAULT_DECLARATION_FILE, "the project's default")


def _missing(choice: DeclarationChoice, project: PulumiProject | None, cwd: Path) -> DeclarationNotFound:
    shown = _shown(choice.path, cwd, project)
    if choice.origin == "the project's default" and project is not None:
        return DeclarationNotFound(
            f"{shown}: no such declaration file in the Pulumi project {project.file}; create it "
            f"(`securepipe init`), set {DECLARATION_FILE_KEY} in the stack config, or pass {DECLARATION_OPTION} FILE"
        )
    return DeclarationNotFound(f"{shown}: no such declaration file (named by {choice.origin})")


def _shown(path: Path, cwd: Path, project: PulumiProject | None = None) -> str:
    """``path`` relative to ``cwd`` when inside it or inside the project above it, else as it is."""
    inside = [base for base in (cwd, project.directory if project else None) if base and path.is_relative_to(base)]
    return Path(os.path.relpath(path, cwd)).as_posix() if inside else str(path)


@dataclass(frozen=True)
class StackSources:
    """What one stack reads: its config, its declaration file and the values merged from them."""

    stack: str
    config: StackConfig
    choice: DeclarationChoice
    values: DeclarationValues


@dataclass(frozen=True)
class StackView:
    """One stack's declaration and plan, exactly as ``pulumi up -s <stack>`` would read them."""

    sources: StackSources
    declaration: Declaration
    plan: Plan

    @property
    def stack(self) -> str:
        return self.sources.stack

    @property
    def environment(self) -> EnvironmentPlan | None:
        """The environment this stack owns (``None`` for a resources stack that is none)."""
        return next((e for e in self.plan.environments if e.name == self.stack), None)

    @property
    def stack_warnings(self) -> tuple[Problem, ...]:
        """The warnings this stack reports: its environment's, and the organisation's in the resources stack."""
        return self.plan.warnings_for(self.stack)


@dataclass(frozen=True)
class Views:
    """Every stack a command asked for, and the resources stack's view where it was asked for too."""

    project: PulumiProject | None
    views: tuple[StackView, ...]
    organization: StackView | None
    """The resources stack's view (organisation-wide outputs), when asked for."""

    @property
    def stacks(self) -> tuple[str, ...]:
        return tuple(v.stack for v in self.views)

    @property
    def first(self) -> StackView:
        return self.views[0]

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The warnings each opened stack reports (organisation-wide ones in the resources stack), each once."""
        return tuple(dict.fromkeys(w for v in self.views for w in v.stack_warnings))


@dataclass(frozen=True)
class Request:
    """What a command asks of the front door."""

    declaration: Path | None = None
    """``--declaration FILE`` (relative to the current directory)."""
    stacks: Sequence[str] | None = None
    """The stacks to open; ``None``: one per environment of the declaration (``--all``)."""
    organization: bool = False
    """Also open the resources stack's view (a rehearsal applies its auth mounts)."""


Reporter = Callable[[str], None]


def open_views(
    request: Request,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    report: Reporter | None = None,
) -> Views:
    """The views of the stacks ``request`` names, read as ``pulumi up`` reads them.

    ``report`` gets one line saying what was read (declaration files, stack config files, how many
    ``SECUREPIPE_`` variables applied) before anything is validated, so it is said even when the
    declaration is refused.
    """
    here = (cwd or Path.cwd()).resolve()
    env = os.environ if environ is None else environ
    project = find_project(here)
    reader = _Reader(request.declaration, env, project, here)
    if request.stacks is None:
        sources = reader.every_environment()
    else:
        sources = [reader.stack(stack_short_name(s)) for s in dict.fromkeys(request.stacks)]
    named = _resources_stack_named(sources[0].values.values) if request.organization else None
    extra = [reader.stack(named)] if named is not None and all(s.stack != named for s in sources) else []
    if report is not None:
        report(sources_line([*sources, *extra], project, here))
    views = _checked_views(sources) + _checked_views(extra)
    _refuse_disagreement(views)
    organization = None
    if request.organization:
        organization = next((v for v in views if v.stack == views[0].plan.resources_stack), None)
        if organization is None:  # the values named another resources stack than the plan: read it too
            organization = _checked_views([reader.stack(views[0].plan.resources_stack)])[0]
            _refuse_disagreement([*views, organization])
    return Views(project, tuple(views[: len(sources)]), organization)


def program_view(
    stack: str,
    project_dir: Path,
    declaration_file: str | None,
    declaration_object: Mapping[str, Any] | None,
    environ: Mapping[str, str] | None = None,
) -> StackView:
    """The view of the stack ``pulumi up`` runs: its config as the Pulumi CLI passed it to the program."""
    env = os.environ if environ is None else environ
    project = find_project(project_dir)
    values: dict[str, Any] = {}
    if declaration_file is not None:
        values[DECLARATION_FILE_KEY] = declaration_file
    if declaration_object is not None:
        values[DECLARATION_KEY] = declaration_object
    config = StackConfig(stack, None, values)
    reader = _Reader(None, env, project, project_dir)
    return _checked_views([reader.with_config(config)])[0]


class _Reader:
    """Reads each stack's sources, once per stack."""

    def __init__(self, explicit: Path | None, environ: Mapping[str, str], project: PulumiProject | None,
                 cwd: Path):
        self.explicit = explicit
        self.environ = environ
        self.project = project
        self.cwd = cwd

    def stack(self, stack: str) -> StackSources:
        return self.with_config(read_stack_config(self.project, stack))

    def with_config(self, config: StackConfig) -> StackSources:
        choice = choose_declaration(self.explicit, self.environ, self.project, config, self.cwd)
        if not choice.path.exists() and not choice.path.is_symlink():
            raise _missing(choice, self.project, self.cwd)
        values = read_values(choice.path, config.declaration_object, self.environ)
        return StackSources(config.stack, config, choice, values)

    def every_environment(self) -> list[StackSources]:
        """One stack per environment of the declaration; a stack file naming no environment is refused."""
        files = self.project.stack_files() if self.project is not None else {}
        probes: dict[str, StackSources] = {}
        names: list[str] = []
        unstacked = read_stack_config(self.project, NO_STACK)
        default = self.with_config(unstacked) if self._default_exists(unstacked) else None
        if default is not None:
            names.extend(_environment_names(default.values.values))
        for stack in files:
            probes[stack] = self.stack(stack)
            names.extend(_environment_names(probes[stack].values.values))
        names = list(dict.fromkeys(names))
        if not names:
            if default is None and not probes:
                choice = choose_declaration(self.explicit, self.environ, self.project, unstacked, self.cwd)
                raise _missing(choice, self.project, self.cwd)
            return [default or next(iter(probes.values()))]  # validation names the missing environments
        stray = [stack for stack in files if stack not in names]
        if stray:
            raise UnknownStack(stray[0], names)
        return [probes.get(name) or self.stack(name) for name in names]

    def _default_exists(self, unstacked: StackConfig) -> bool:
        return choose_declaration(self.explicit, self.environ, self.project, unstacked, self.cwd).path.exists()


def _environment_names(values: Mapping[str, Any]) -> list[str]:
    environments = values.get("environments")
    if not isinstance(environments, list):
        return []
    return [e["name"] for e in environments if isinstance(e, Mapping) and isinstance(e.get("name"), str)]


def _resources_stack_named(values: Mapping[str, Any]) -> str | None:
    """The resources stack the values name, read before validation (so it can be reported first)."""
    organization = values.get("organization")
    named = organization.get("resources_stack") if isinstance(organization, Mapping) else None
    if isinstance(named, str):
        return named
    environments = [e for e in values.get("environments") or () if isinstance(e, Mapping)]
    production = [e.get("name") for e in environments if e.get("tier") == "production"]
    first = production or [e.get("name") for e in environments]
    return first[0] if first and isinstance(first[0], str) else None


def sources_line(sources: Sequence[StackSources], project: PulumiProject | None, cwd: Path) -> str:
    """One line: the declaration file(s) read, the stack config file(s), the ``SECUREPIPE_`` overrides."""
    by_file: dict[str, list[str]] = {}
    origins: dict[str, dict[str, None]] = {}
    for source in sources:
        shown = _shown(source.choice.path, cwd, project)
        by_file.setdefault(shown, []).append(source.stack)
        origins.setdefault(shown, {})[source.choice.origin] = None
    said = {shown: next(iter(found)) if len(found) == 1 else f"{DECLARATION_FILE_KEY} in each stack's config"
            if all(o.startswith(DECLARATION_FILE_KEY) for o in found) else "; ".join(found)
            for shown, found in origins.items()}
    if len(by_file) == 1:
        (shown,) = by_file
        declarations = f"declaration {shown} ({said[shown]})"
    else:
        declarations = "declarations " + ", ".join(
            f"{shown} ({said[shown]}; {', '.join(stacks)})" for shown, stacks in by_file.items())
    files = [_shown(s.config.file, cwd, project) for s in sources if s.config.file is not None]
    without = [s.stack for s in sources if s.config.file is None and s.stack]
    if project is None:
        config = "no stack config (no Pulumi project)"
    elif files:
        config = "stack config " + ", ".join(dict.fromkeys(files)) + (f" (none for {', '.join(without)})"
                                                                      if without else "")
    else:
        config = "no stack config file" + (f" for {', '.join(without)}" if without else "")
    variables = sorted({o.variable for s in sources for o in s.values.overrides})
    count = f"{len(variables)} {ENV_PREFIX} override{'' if len(variables) == 1 else 's'}"
    if variables:
        count += f" ({', '.join(variables)})"
    ignored = sorted({name for s in sources for name in s.values.ignored})
    if ignored:
        count += f"; ignored, not spelled {ENV_PREFIX}...: {', '.join(ignored)}"
    return f"read {declarations}; {config}; {count}"


# --- validation, planning and the cross-check, once per distinct set of values ---------------------------

_CACHE_SIZE = 16
_CHECKED: OrderedDict[str, tuple[Declaration, Plan] | InvalidDeclaration] = OrderedDict()


def _key(values: DeclarationValues) -> str:
    return json.dumps(
        [values.values, [[o.variable, list(o.path)] for o in values.overrides], [str(p) for p in values.problems]],
        sort_keys=True, default=str,
    )


def _checked(values: DeclarationValues) -> tuple[Declaration, Plan]:
    """Validated, planned and cross-checked; the same values are checked once per process."""
    key = _key(values)
    found = _CHECKED.get(key)
    if found is None:
        try:
            declaration, plan = planned_from(values)
            problems = disagreements(plan)
            if problems:
                raise InvalidDeclaration(problems)
            found = (declaration, plan)
        except InvalidDeclaration as refused:
            found = refused
        _CHECKED[key] = found
        while len(_CHECKED) > _CACHE_SIZE:
            _CHECKED.popitem(last=False)
    _CHECKED.move_to_end(key)
    if isinstance(found, InvalidDeclaration):
        raise InvalidDeclaration(found.problems)
    return found


_TESTED: OrderedDict[str, tuple[Problem, ...]] = OrderedDict()


def failing_tests(views: Views) -> tuple[Problem, ...]:
    """The rendered policy tests that fail, for every distinct declaration the views read (once each per
    process: they evaluate every tampered config of every project, which takes a while)."""
    found: list[Problem] = []
    for view in views.views:
        key = _key(view.sources.values)
        if key not in _TESTED:
            _TESTED[key] = failing_policy_tests(view.plan)
            while len(_TESTED) > _CACHE_SIZE:
                _TESTED.popitem(last=False)
        found.extend(_TESTED[key])
    return tuple(dict.fromkeys(found))


def _checked_views(sources: Sequence[StackSources]) -> list[StackView]:
    """Each stack's view; every problem of every stack is reported together, each once."""
    views: list[StackView] = []
    problems: dict[Problem, list[str]] = {}
    for source in sources:
        try:
            declaration, plan = _checked(source.values)
        except InvalidDeclaration as refused:
            for problem in refused.problems:
                problems.setdefault(problem, []).append(source.stack)
            continue
        if source.stack:
            _select(plan, source.stack)
        views.append(StackView(source, declaration, plan))
    if problems:
        everywhere = {s.stack for s in sources}
        raise InvalidDeclaration([
            problem if set(stacks) == everywhere else Problem(
                problem.field, problem.value, f"{problem.message} (stack {', '.join(stacks)})", problem.environment)
            for problem, stacks in problems.items()
        ])
    return views


def _select(plan: Plan, stack: str) -> None:
    if stack not in {e.name for e in plan.environments} and stack != plan.resources_stack:
        raise UnknownStack(stack, [e.name for e in plan.environments])


# --- stacks that must agree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shared:
    """What every environment shares, as one view would produce it."""

    files: dict[str, str]
    """Pipeline files (every environment's deploys are in them)."""
    organization_wide: tuple[object, ...]
    """The CI systems' organisation-wide data (config policies are rendered from it), the auth mounts
    every environment's roles live in, and the resources stack."""

    @staticmethod
    def of(view: StackView) -> _Shared:
        plan = view.plan
        return _Shared(pipeline_files(plan, IN_MEMORY),
                       (plan.extras, plan.jwt_mounts, plan.admin_auth, plan.resources_stack))


def _refuse_disagreement(views: Sequence[StackView]) -> None:
    distinct: dict[str, StackView] = {}
    # The resources stack's view first: organisation-wide outputs are its, the others are compared with it.
    for view in sorted(views, key=lambda v: v.stack != v.plan.resources_stack):
        distinct.setdefault(_key(view.sources.values), view)
    if len(distinct) < 2:
        return
    reference, *others = distinct.values()
    expected = _Shared.of(reference)
    for other in others:
        shared = _Shared.of(other)
        if shared == expected:
            continue
        fields = _differing_fields(reference.sources.values.values, other.sources.values.values)
        changed = sorted((p for p in {*expected.files, *shared.files} if expected.files.get(p) != shared.files.get(p)),
                         key=lambda p: (not p.startswith(REPOSITORIES_DIR), p))  # pipeline files first
        what = (f"files ({len(changed)}: " + ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "") + ")"
                if changed else "organisation-wide settings (config policies, auth mounts)")
        raise StacksDisagree(
            f"stacks {reference.stack} and {other.stack} read different declarations "
            f"({'; '.join(fields[:4])}{'; ...' if len(fields) > 4 else ''}) and would produce different {what}, "
            "which every environment shares; make the declaration the same for both (set the field in the "
            "declaration file rather than in one stack's config or a SECUREPIPE_ variable)"
        )


def _differing_fields(a: Any, b: Any, path: str = "") -> list[str]:
    """Dotted paths where two value trees differ, with both values."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return [f for key in sorted({*a, *b}, key=str)
                for f in _differing_fields(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [f for i, (x, y) in enumerate(zip(a, b, strict=True))
                for f in _differing_fields(x, y, f"{path}[{_label(x, i)}]")]
    if a == b:
        return []
    return [f"{path}: {_compact(a)} vs {_compact(b)}"]


def _label(item: Any, index: int) -> str:
    return item["name"] if isinstance(item, Mapping) and isinstance(item.get("name"), str) else str(index)


def _compact(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."
