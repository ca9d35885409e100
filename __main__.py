"""The secure-pipelines stack program (``pulumi up -s <environment>``).

settings -> model -> plan -> components -> exports; see ``secure_pipelines/stack/program.py``.
"""

from pathlib import Path

from secure_pipelines.stack import main

main(Path(__file__).resolve().parent)
