"""Partials: shared snippets that templates ``{% include %}`` from one root folder.

An include names a file relative to the root. It cannot leave the root: absolute paths,
``..`` and symbolic links that resolve outside it are refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from jinja2 import BaseLoader, Environment, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from promptlib._errors import TemplateSecurityError
from promptlib._templates.environment import make_environment
from promptlib._templates.limits import current_limits
from promptlib._templates.textfile import read_text_file

__all__ = ["RootLoader", "partials_environment", "resolve_inside"]


def resolve_inside(root: Path, name: str) -> Path:
    """The file ``name`` under ``root``, refusing any path that escapes it.

    Raises:
        TemplateSecurityError: ``name`` is absolute, contains ``..``, or resolves (through a
            symbolic link) outside ``root``.
        TemplateNotFound: there is no such file.
    """
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts or "" in parts:
        raise TemplateSecurityError(
            f"include {name!r} must be a relative path inside the templates root, without "
            "'..' or a leading '/'"
        )
    root = root.resolve()
    target = root.joinpath(*parts)
    real = target.resolve()
    if not real.is_relative_to(root):
        raise TemplateSecurityError(
            f"include {name!r} resolves to {real}, outside the templates root {root} "
            "(through a symbolic link); partials must live inside the root"
        )
    if not real.exists():
        raise TemplateNotFound(name)
    return real


class RootLoader(BaseLoader):
    """Loads partials from one root folder, never outside it.

    Each partial is read once: the text a template was checked and hashed with is the
    text it renders with, however the file changes later (a registry loads an edited
    partial's templates again, with a new loader).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root: Path = Path(root).resolve()
        self._read: dict[str, tuple[str, str]] = {}

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        found = self._read.get(template)
        if found is None:
            path = resolve_inside(self.root, template)
            found = (read_text_file(path, current_limits().file_bytes), str(path))
            self._read[template] = found
        return found[0], found[1], lambda: True


def partials_environment(root: str | os.PathLike[str]) -> SandboxedEnvironment:
    """A sandboxed environment whose includes read from ``root``, once each (one per
    template, so that a template's partials never change under it)."""
    return make_environment(RootLoader(root))
