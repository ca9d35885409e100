"""The secure-pipelines stack program (``pulumi up -s <environment>``).

settings -> model -> plan -> components -> exports; see ``secure_pipelines/infra/program.py``.
"""

from pathlib import Path

import pulumi

from secure_pipelines.errors import SecurePipelinesError
from secure_pipelines.infra.program import run_stack_program

try:
    run_stack_program(Path(__file__).resolve().parent)
except SecurePipelinesError as error:
    # A user's mistake (unknown stack, invalid declaration): Pulumi prints the message, no traceback.
    raise pulumi.RunError(str(error)) from error
