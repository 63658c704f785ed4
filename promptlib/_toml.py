"""Reading TOML files (tomllib, or its backport on Python 3.10), with errors of our own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from promptlib.errors import UsageError

__all__ = ["read_toml"]


def read_toml(path: Path, what: str, error: type[UsageError] = UsageError) -> dict[str, Any]:
    """The TOML document at ``path``; ``error`` (naming ``what``) if unreadable or invalid."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from exc
    return data
