"""Project settings: ``[tool.promptlib]`` in the nearest ``pyproject.toml``, read once.

The CLI, the pytest plugin and ``promptlib test`` all read them here::

    [tool.promptlib]
    templates = "prompts"           # the templates folder (default: ./templates)
    models = "models.toml"          # a model catalog added to promptlib's own
    output_models = ["app.schemas"] # modules whose pydantic models template files may name
"""

from __future__ import annotations

import difflib
import functools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlib._errors import UsageError
from promptlib._toml import read_toml

if TYPE_CHECKING:
    from promptlib._repository import Registry

__all__ = ["KEYS", "ProjectSettings", "UnknownSettingWarning", "project_settings"]

KEYS = ("templates", "models", "output_models")


class UnknownSettingWarning(UserWarning):
    """``[tool.promptlib]`` holds a key promptlib does not know (a typo, most often)."""


@dataclass(frozen=True)
class ProjectSettings:
    """What ``[tool.promptlib]`` says, with paths made absolute.

    Attributes:
        file: the ``pyproject.toml`` read, or ``None`` when there is none.
        templates: the templates folder.
        catalog: a model catalog to add to promptlib's own, or ``None``.
        output_models: modules (or ``module:Class`` names) whose pydantic models template
            files may name in ``output: {model: ...}``; nothing else is imported.
    """

    file: Path | None
    templates: Path
    catalog: Path | None = None
    output_models: tuple[str, ...] = ()

    def registry(self, templates: str | Path | None = None) -> Registry:
        """A :class:`~promptlib.Registry` of ``templates`` (default: the project's folder)
        that may import the allowed output models."""
        from promptlib._repository import Registry

        return Registry(
            templates or self.templates,
            model_modules=self.output_models,
            model_paths=self.import_paths,
        )

    @property
    def import_paths(self) -> tuple[str, ...]:
        """Where the project's own modules import from, installed or not: its folder and
        its ``src/`` folder when there is one."""
        if self.file is None:
            return ()
        root = self.file.parent
        return tuple(str(p) for p in (root, root / "src") if p.is_dir())


def project_settings(cwd: str | Path | None = None) -> ProjectSettings:
    """The settings of the project ``cwd`` (default: the working folder) is in."""
    here = (Path(cwd) if cwd else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            break
    else:
        return ProjectSettings(None, here / "templates")
    templates, catalog, output_models = _read(pyproject)
    return ProjectSettings(pyproject, templates or here / "templates", catalog, output_models)


@functools.lru_cache(maxsize=16)
def _read(pyproject: Path) -> tuple[Path | None, Path | None, tuple[str, ...]]:
    """``[tool.promptlib]`` of one file, read (and warned about) once per process."""
    tool = read_toml(pyproject, "the project file").get("tool", {})
    table = tool.get("promptlib") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        _warn(
            pyproject,
            f"{pyproject}: tool.promptlib is {table!r}, not a table; write [tool.promptlib] "
            "with its keys under it",
            "promptlib",
        )
    table = table if isinstance(table, dict) else {}
    for key in sorted(set(table) - set(KEYS)):
        close = difflib.get_close_matches(key, KEYS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        _warn(
            pyproject,
            f"{pyproject}: [tool.promptlib] has an unknown key {key!r}; {hint}"
            f"promptlib reads {', '.join(KEYS)}",
            key,
        )
    return (
        _path(table, "templates", pyproject),
        _path(table, "models", pyproject),
        _modules(table.get("output_models", []), pyproject),
    )


def _warn(pyproject: Path, message: str, key: str) -> None:
    """Warn at the line of ``pyproject`` that sets ``key`` (where the fix goes)."""
    line = 1
    try:
        for number, text in enumerate(pyproject.read_text("utf-8").splitlines(), 1):
            stripped = text.strip()
            if stripped.startswith(("[tool.promptlib]", f"{key} ", f"{key}=")):
                line = number
                if not stripped.startswith("["):
                    break
    except (OSError, UnicodeDecodeError):
        pass
    warnings.warn_explicit(message, UnknownSettingWarning, str(pyproject), line)


def _path(table: dict[str, Any], key: str, pyproject: Path) -> Path | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, str) or not value:
        raise UsageError(f"[tool.promptlib] {key} in {pyproject} must be a path, got {value!r}")
    return pyproject.parent / value


def _modules(value: Any, pyproject: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(
            f"[tool.promptlib] output_models in {pyproject} must be a list of module names, "
            f'e.g. output_models = ["app.schemas"], got {value!r}'
        )
    return tuple(value)
