"""CI systems: one folder each behind the :class:`~secure_pipelines.ci.base.CISystem` protocol,
listed once in :mod:`secure_pipelines.ci.registry`. The rest of the package asks them and never
names one."""
