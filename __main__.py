"""The secure-pipelines stack program (``pulumi up -s <environment>``).

settings -> model -> plan -> components -> exports; see ``secure_pipelines/infra/program.py``.
"""

from pathlib import Path

from secure_pipelines.infra.program import run_stack_program

run_stack_program(Path(__file__).resolve().parent)
