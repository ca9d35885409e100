"""The declaration: the core model (``model``), what GitHub can enforce (``github``), cross-field
rules (``checks``) and the one loader (``loader``) with its ordered ``sources``."""

from .model import Declaration, Sections, Tier

__all__ = ["Declaration", "Sections", "Tier"]
