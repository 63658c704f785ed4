"""``python -m promptlib``: the same as the ``promptlib`` command."""

from promptlib._cli import run

run()
