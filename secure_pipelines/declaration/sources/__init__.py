"""Where a declaration's values come from, one module per source."""

from .pulumi_config import PulumiConfigSource
from .yaml_file import YamlFileSource

__all__ = ["PulumiConfigSource", "YamlFileSource"]
