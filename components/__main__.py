"""The secure-pipelines component package: Pulumi runs this folder to serve the components.

``pulumi package add <this folder>`` (or ``<repository URL>/components@<tag>``) installs
requirements.txt into ./venv, asks this program for the package schema and generates an SDK in the
stack's language; ``pulumi up`` then runs it to construct the components. Python stacks import the
same components directly: ``from secure_pipelines.components import DeclaredEnvironment``.
"""

import sys

from secure_pipelines.components.package import serve

if __name__ == "__main__":
    serve(sys.argv[1:])
