"""Where the templates are: ``--templates``, else ``[tool.promptlib]``, else ``./templates``."""

from __future__ import annotations

import sys
from pathlib import Path

from promptlib.errors import UsageError

__all__ = ["templates_root"]


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


def templates_root(option: str | None, cwd: Path | None = None) -> Path:
    """The templates folder to use.

    ``option`` (from ``--templates``) wins; otherwise the nearest ``pyproject.toml`` above
    ``cwd`` with ``[tool.promptlib] templates = "..."`` (relative to that file); otherwise
    ``./templates``.
    """
    if option:
        return Path(option)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if not pyproject.is_file():
            continue
        tool = _read_toml(pyproject).get("tool", {})
        settings = tool.get("promptlib") if isinstance(tool, dict) else None
        if isinstance(settings, dict) and "templates" in settings:
            value = settings["templates"]
            if not isinstance(value, str):
                raise UsageError(f"[tool.promptlib] templates in {pyproject} must be a path")
            return folder / value
        break  # the nearest pyproject.toml decides
    return here / "templates"
