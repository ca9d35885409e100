"""Where a declaration's values come from, one module per source."""

from .environment import EnvironmentSource, Override
from .pulumi_config import PulumiConfigSource
from .yaml_file import YamlFileSource

__all__ = ["EnvironmentSource", "Override", "PulumiConfigSource", "YamlFileSource"]
