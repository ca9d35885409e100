"""The secure-pipelines stack program (``pulumi up -s <environment>``).

It reads the declaration exactly as every ``securepipe`` command does (stacks/declaration.yaml unless
the stack config names another); the stack's name selects the environment.
"""

from pathlib import Path

from secure_pipelines.stack import main

main(Path(__file__).resolve().parent)
