"""Where the worked example project lives when the toolkit runs from a clone (temporary).

This is the one module that knows the repository's layout: commands default to the example's
declaration and stack files from here. Project discovery (the declaration found from the current
directory) will replace it; until then, an installed toolkit is given ``--declaration``.
"""

from __future__ import annotations

from pathlib import Path

EXAMPLE_PROJECT_DIR = Path(__file__).resolve().parent.parent
"""The Pulumi project of the worked example: ``Pulumi.yaml``, ``__main__.py`` and ``stacks/``."""
DEFAULT_DECLARATION = EXAMPLE_PROJECT_DIR / "stacks" / "declaration.yaml"
"""The example's declaration, read when no ``--declaration`` is given."""
