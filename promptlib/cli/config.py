"""Where the templates are: ``--templates``, else ``[tool.promptlib]``, else ``./templates``."""

from __future__ import annotations

import sys
from pathlib import Path

from promptlib.errors import UsageError

__all__ = ["catalog_file", "templates_root"]


def _read_toml(path: Path) -> dict[str, object]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            data: dict[str, object] = tomllib.load(handle)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from exc


def _settings(cwd: Path | None) -> tuple[Path, dict[str, object]] | None:
    """The nearest pyproject.toml above ``cwd`` and its [tool.promptlib] table."""
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            tool = _read_toml(pyproject).get("tool", {})
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
