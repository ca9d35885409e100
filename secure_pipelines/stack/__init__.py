"""The stack program (``pulumi up``) and the same program run under Pulumi's mocks runtime."""

from .capture import (
    CapturedResource,
    StackCapture,
    capture_program,
    capture_stack,
    capture_stack_run,
    capture_view,
)
from .program import main, register_stack, register_view, run_stack_program, select_environment

__all__ = [
    "CapturedResource",
    "StackCapture",
    "capture_program",
    "capture_stack",
    "capture_stack_run",
    "capture_view",
    "main",
    "register_stack",
    "register_view",
    "run_stack_program",
    "select_environment",
]
