"""Plan -> rendered files: what every CI system's renderer shares (``templating``: package templates
and the file header; ``pipelines``: the CI-neutral shape of a repository's pipeline).

``files`` writes the whole output tree, asking each CI system for its files: import it as
``secure_pipelines.render.files`` (the systems build on this package, so it does not load ``files``).
"""

from .pipelines import DeployJob, Pipeline, RoleChoice, pipeline
from .templating import CORE_TEMPLATES, RenderSource, Templates, render_template

__all__ = [
    "CORE_TEMPLATES",
    "DeployJob",
    "Pipeline",
    "RenderSource",
    "RoleChoice",
    "Templates",
    "pipeline",
    "render_template",
]
