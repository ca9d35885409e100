"""The stack program (``pulumi up``) and the same program run under Pulumi's mocks runtime."""

from .capture import CapturedResource, StackCapture, capture_program, capture_stack, capture_stack_run
from .program import main, register_stack, run_stack_program, select_environment

__all__ = [
    "CapturedResource",
    "StackCapture",
    "capture_program",
    "capture_stack",
    "capture_stack_run",
    "main",
    "register_stack",
    "run_stack_program",
    "select_environment",
]
