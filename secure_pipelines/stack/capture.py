"""Run the real stack program under Pulumi's mocks runtime and list every resource it registers.

No Pulumi CLI, no provider plugin, no credentials: ``pulumi.runtime.set_mocks`` stands in for the
engine; the program registers a stack's view (read through the front door, exactly as
``pulumi up`` reads it) with the stack program's own code (:func:`.program.register_view`); the
stack's config, from its stack config file, is set with ``pulumi.runtime.set_all_config``; and a
stack transformation records each resource's options (parent, protect, retain_on_delete).

Each capture runs in its own thread: Pulumi keeps its runtime state in context variables and a
per-thread event loop, and a new thread starts with an empty context, so captures neither see
each other nor the caller's own Pulumi runtime, and may be run any number of times in one process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret

from ..components.collector import paced_for_registration
from ..errors import SecurePipelinesError
from ..project import CONFIG_NAMESPACE, DECLARATION_FILE_KEY
from ..views import Request, StackView, open_views
from .program import (
    ADMIN_OIDC_CLIENT_ID_KEY,
    GITHUB_APP_ID_KEY,
    GITHUB_APP_INSTALLATION_ID_KEY,
    SECRET_CONFIG_KEYS,
    register_view,
)

PROJECT_NAME = "secure-pipelines"
PLACEHOLDER_SECRET = "captured-without-credentials"
"""Stands in for secret config (encrypted in the stack file, or set only on the operator's machine)."""
PLACEHOLDER_CLIENT_ID = "captured-without-client-id"
PLACEHOLDER_APP_ID = "captured-without-github-app"


@dataclass(frozen=True)
class CapturedResource:
    """One resource the stack program registers, as the Pulumi engine would receive it."""

    type_token: str
    """E.g. ``vault:index/mount:Mount`` or ``secure-pipelines:index:Environment``."""
    name: str
    """The resource's logical name (unique per type in a stack)."""
    inputs: Mapping[str, Any]
    """The inputs as the SDK sent them (camelCase keys); secret values unwrapped (see ``secret_keys``),
    and whole numbers as ``int`` (the wire carries only doubles)."""
    parent: str | None
    """The name of the parent component; ``None`` for a child of the stack itself."""
    protect: bool
    """Effective ``protect`` (inherited from the parent when not set)."""
    retain_on_delete: bool
    """``retain_on_delete`` as set on the resource."""
    secret_keys: frozenset[str] = field(default_factory=frozenset)
    """Input keys whose value is (or contains) a Pulumi secret: mask these when showing inputs."""


@dataclass(frozen=True)
class StackCapture:
    """Everything one run of the stack program showed: its resources and its warnings."""

    stack: str
    resources: tuple[CapturedResource, ...]
    warnings: tuple[str, ...]


def capture_stack(stack: str, declaration: Path | None = None, *, project_dir: Path) -> list[CapturedResource]:
    """Every resource the stack program of ``project_dir`` registers for ``stack``, in registration order.

    The stack's view is read through the front door, as ``securepipe`` commands read it, from
    ``project_dir`` (``declaration`` as ``--declaration`` would give it). Raises the user's mistakes
    (``UnknownStack``, ``InvalidDeclaration``, ``DeclarationNotFound``) unchanged.
    """
    return list(capture_stack_run(stack, declaration, project_dir=project_dir).resources)


def capture_stack_run(stack: str, declaration: Path | None = None, *, project_dir: Path) -> StackCapture:
    """Like :func:`capture_stack`, also returning the warnings the program logged."""
    views = open_views(Request(declaration=declaration, stacks=(stack,)), cwd=project_dir)
    return capture_view(views.first)


def capture_view(view: StackView) -> StackCapture:
    """The resources and warnings of one stack's view, registered by the stack program's own code."""
    config, secret_keys = stack_config(view)
    return capture_program(lambda: register_view(view), view.stack, config, secret_keys)


def capture_program(
    program: Callable[[], None],
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
) -> StackCapture:
    """Run any Pulumi program function under the mocks runtime as stack ``stack`` and capture it.

    ``capture_view`` runs the stack program this way; benchmarks and tests run smaller programs.
    """
    outcome: dict[str, Any] = {}
    runner = threading.Thread(
        target=_run_in_fresh_runtime,
        args=(program, stack, dict(config or {}), list(secret_keys), outcome),
        name=f"capture-{stack}",
        daemon=True,
    )
    with paced_for_registration():
        runner.start()
        runner.join()
    if "error" in outcome:
        raise outcome["error"]
    return StackCapture(stack=stack, resources=tuple(outcome["resources"]), warnings=tuple(outcome["warnings"]))


def stack_config(view: StackView) -> tuple[dict[str, str], list[str]]:
    """The stack's config as the Pulumi CLI would pass it (strings; objects as JSON), and its secret keys.

    Encrypted (``secure:``) values cannot be read without the stack's key, and required secrets
    may be set only on an operator's machine: both get a placeholder, still marked secret. The
    declaration file is the one the view read, so the program, run from this config, reads it too.
    """
    stack_config = view.sources.config
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in stack_config.values.items():
        if key in stack_config.secret_keys:
            config[key] = PLACEHOLDER_SECRET
            secret_keys.append(key)
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)
    for key in SECRET_CONFIG_KEYS:
        if key not in config:
            config[key] = PLACEHOLDER_SECRET
            secret_keys.append(key)
    config.setdefault(f"{CONFIG_NAMESPACE}:{ADMIN_OIDC_CLIENT_ID_KEY}", PLACEHOLDER_CLIENT_ID)
    config.setdefault(f"{CONFIG_NAMESPACE}:{GITHUB_APP_ID_KEY}", PLACEHOLDER_APP_ID)
    config.setdefault(f"{CONFIG_NAMESPACE}:{GITHUB_APP_INSTALLATION_ID_KEY}", PLACEHOLDER_APP_ID)
    config[DECLARATION_FILE_KEY] = str(view.sources.choice.path.resolve())
    return config, secret_keys


class _SharedExecutor(ThreadPoolExecutor):
    """The worker threads Pulumi's mock monitor runs on, kept for the next capture.

    Each worker thread gets its own event loop from Pulumi and never closes it; reusing the
    threads keeps that to one loop per worker for the whole process instead of one per capture.
    """

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Ignored: a closing capture loop must not stop the threads the next capture uses."""


_EXECUTOR = _SharedExecutor(thread_name_prefix="pulumi-capture")


class _Recorder(pulumi.runtime.Mocks):
    """Stands in for the engine: every registration is kept, and each resource's state is its inputs."""

    def __init__(self) -> None:
        self.registered: dict[tuple[str, str], dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.registered[(args.typ, args.name)] = dict(args.inputs)
        return f"{args.name}-id", _unwrap(dict(args.inputs))

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


@dataclass
class _Options:
    type_token: str
    name: str
    parent: str | None
    protect: bool
    retain_on_delete: bool


class _OptionsRecorder:
    """A stack transformation that writes down each resource's options and changes nothing."""

    def __init__(self) -> None:
        self.seen: list[_Options] = []
        self._by_resource: dict[int, _Options] = {}

    def __call__(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        parent = self._by_resource.get(id(args.opts.parent)) if args.opts.parent is not None else None
        protect = args.opts.protect if args.opts.protect is not None else bool(parent and parent.protect)
        options = _Options(
            type_token=args.type_,
            name=args.name,
            parent=parent.name if parent else None,
            protect=bool(protect),
            retain_on_delete=bool(args.opts.retain_on_delete),
        )
        self.seen.append(options)
        self._by_resource[id(args.resource)] = options
        return None


class _WarningLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _run_in_fresh_runtime(
    program: Callable[[], None],
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    outcome: dict[str, Any],
) -> None:
    warnings = _WarningLog()
    logger = logging.getLogger(f"secure_pipelines.capture.{stack}.{threading.get_ident()}")
    logger.propagate = False
    logger.addHandler(warnings)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_EXECUTOR)
    asyncio.set_event_loop(loop)
    try:
        recorder = _Recorder()
        pulumi.runtime.set_mocks(recorder, project=PROJECT_NAME, stack=stack, preview=False, logger=logger)
        pulumi.runtime.set_all_config(config, secret_keys)
        options = _OptionsRecorder()
        pulumi.runtime.register_stack_transformation(options)
        pulumi.runtime.test(program)()
        outcome["resources"] = _join(options.seen, recorder.registered)
        outcome["warnings"] = list(warnings.messages)
    except pulumi.RunError as error:
        # The stack program turns a user's mistake into a RunError for the Pulumi CLI; callers get the mistake.
        outcome["error"] = error.__cause__ if isinstance(error.__cause__, SecurePipelinesError) else error
    except BaseException as error:  # handed to the calling thread and re-raised there
        outcome["error"] = error
    finally:
        logger.removeHandler(warnings)
        _close_event_loop()


def _close_event_loop() -> None:
    loop = asyncio.get_event_loop()
    loop.close()
    asyncio.set_event_loop(None)


def _join(seen: list[_Options], registered: dict[tuple[str, str], dict[str, Any]]) -> list[CapturedResource]:
    captured: list[CapturedResource] = []
    for options in seen:
        key = (options.type_token, options.name)
        if key not in registered:
            raise RuntimeError(f"{options.type_token} {options.name} was constructed but never registered")
        raw = registered[key]
        captured.append(CapturedResource(
            type_token=options.type_token,
            name=options.name,
            inputs=_unwrap(raw),
            parent=options.parent,
            protect=options.protect,
            retain_on_delete=options.retain_on_delete,
            secret_keys=frozenset(key for key, value in raw.items() if _contains_secret(value)),
        ))
    return captured


def _contains_secret(value: Any) -> bool:
    if is_rpc_secret(value):
        return True
    if isinstance(value, Mapping):
        return any(_contains_secret(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_secret(v) for v in value)
    return False


def _unwrap(value: Any) -> Any:
    if is_rpc_secret(value):
        return _unwrap(unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles; the program sent an int
    return value
