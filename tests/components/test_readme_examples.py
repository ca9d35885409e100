"""The README's Python example of the schema-friendly components runs, from a project of its own."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

from secure_pipelines.stack import capture_program

DEFAULT_DECLARATION = Path(__file__).resolve().parents[2] / "stacks" / "declaration.yaml"
"""The worked example's declaration (the repository root is its Pulumi project)."""

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Using the components from another stack"


def _python_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    return code


def test_the_python_example_creates_the_organisation_the_environment_and_the_role(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    shutil.copy(DEFAULT_DECLARATION, tmp_path / "stacks" / "declaration.yaml")
    monkeypatch.chdir(tmp_path)
    code = compile(_python_example(), "README.md (python example)", "exec")
    capture = capture_program(lambda: exec(code, {"__name__": "__main__"}), "production",
                              config={"secure-pipelines:adminOidcClientSecret": "s"},
                              secret_keys=["secure-pipelines:adminOidcClientSecret"])
    counts = Counter(r.type_token for r in capture.resources)
    assert counts["secure-pipelines:index:DeclaredOrganization"] == 1
    assert counts["secure-pipelines:index:DeclaredEnvironment"] == 1
    assert counts["secure-pipelines:index:CIJwtRole"] == 1
    assert counts["vault:generic/endpoint:Endpoint"] == 2  # the example's CircleCI role and the plan's

