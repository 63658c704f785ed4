"""``python -m promptlib``: the same as the ``promptlib`` command."""

from promptlib.cli import run

run()
