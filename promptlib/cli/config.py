"""Where the templates are: ``--templates``, else ``[tool.promptlib]``, else ``./templates``."""

from __future__ import annotations

from pathlib import Path

from promptlib._toml import read_toml
from promptlib.errors import UsageError

__all__ = ["catalog_file", "templates_root"]


def _settings(cwd: Path | None) -> tuple[Path, dict[str, object]] | None:
    """The nearest pyproject.toml above ``cwd`` and its [tool.promptlib] table."""
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            tool = read_toml(pyproject, "the project file").get("tool", {})
            settings = tool.get("promptlib") if isinstance(tool, dict) else None
            return folder, settings if isinstance(settings, dict) else {}
    return None


def catalog_file(option: str | None, cwd: Path | None = None) -> Path | None:
    """A model catalog to add to promptlib's own: ``--catalog``, else ``[tool.promptlib]
    models = "..."``, else none."""
    if option:
        return Path(option)
    found = _settings(cwd)
    if found and "models" in found[1]:
        value = found[1]["models"]
        if not isinstance(value, str):
            raise UsageError("[tool.promptlib] models must be a path to a catalog file")
        return found[0] / value
    return None


def templates_root(option: str | None, cwd: Path | None = None) -> Path:
    """The templates folder to use.

    ``option`` (from ``--templates``) wins; otherwise the nearest ``pyproject.toml`` above
    ``cwd`` with ``[tool.promptlib] templates = "..."`` (relative to that file); otherwise
    ``./templates``.
    """
    if option:
        return Path(option)
    found = _settings(cwd)
    if found and "templates" in found[1]:
        value = found[1]["templates"]
        if not isinstance(value, str):
            raise UsageError("[tool.promptlib] templates must be a path")
        return found[0] / value
    return (cwd or Path.cwd()).resolve() / "templates"
