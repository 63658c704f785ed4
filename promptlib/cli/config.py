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


def _path_setting(key: str, cwd: Path | None) -> Path | None:
    """``[tool.promptlib] <key> = "..."`` in the nearest pyproject.toml, as a path."""
    found = _settings(cwd)
    if not found or key not in found[1]:
        return None
    value = found[1][key]
    if not isinstance(value, str):
        raise UsageError(f"[tool.promptlib] {key} in {found[0] / 'pyproject.toml'} must be a path")
    return found[0] / value


def catalog_file(option: str | None, cwd: Path | None = None) -> Path | None:
    """A model catalog to add to promptlib's own: ``--catalog``, else ``[tool.promptlib]
    models = "..."``, else none."""
    return Path(option) if option else _path_setting("models", cwd)


def templates_root(option: str | None, cwd: Path | None = None) -> Path:
    """The templates folder to use.

    ``option`` (from ``--templates``) wins; otherwise the nearest ``pyproject.toml`` above
    ``cwd`` with ``[tool.promptlib] templates = "..."`` (relative to that file); otherwise
    ``./templates``.
    """
    if option:
        return Path(option)
    return _path_setting("templates", cwd) or (cwd or Path.cwd()).resolve() / "templates"
