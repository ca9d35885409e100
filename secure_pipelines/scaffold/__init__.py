"""A new infrastructure project (``securepipe init``): the Pulumi project files, a commented
declaration that validates (each CI system writes its own parts, through the ``Scaffold``
capability), and one stack config file per environment.

``model`` holds what the CI systems are given; ``project`` and ``stack_files`` build the files
(pure); ``write`` puts them on disk without ever overwriting one.
"""
