"""CLI commands: each module defines ``register(app)``; ``cli.py`` finds them all."""
