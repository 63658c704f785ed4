"""The CLI's view of the project settings (:mod:`promptlib.settings`) and its options."""

from __future__ import annotations

from pathlib import Path

from promptlib._repository import Registry
from promptlib.settings import project_settings

__all__ = ["catalog_file", "registry", "templates_root"]


def catalog_file(option: str | None, cwd: Path | None = None) -> Path | None:
    """``--catalog``, else ``[tool.promptlib] models``, else none."""
    return Path(option) if option else project_settings(cwd).catalog


def templates_root(option: str | None, cwd: Path | None = None) -> Path:
    """``--templates``, else ``[tool.promptlib] templates``, else ``./templates``."""
    return Path(option) if option else project_settings(cwd).templates


def registry(option: str | None, cwd: Path | None = None) -> Registry:
    """The templates registry, allowed the project's ``output_models``."""
    return project_settings(cwd).registry(option)
