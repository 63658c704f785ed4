"""Reading TOML files (tomllib, or its backport on Python 3.10), with errors of our own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from promptlib._errors import UsageError
from promptlib._files import FileProblem, read_bounded_text

__all__ = ["read_toml"]


# Settings and catalogs are small; a larger file is a mistake (or /dev/zero).
MAX_TOML_BYTES = 10_000_000


def read_toml(path: Path, what: str, error: type[UsageError] = UsageError) -> dict[str, Any]:
    """The TOML document at ``path``; ``error`` (naming ``what``) if unreadable or invalid.

    Only a regular file of at most 10 MB is read: a FIFO or a device is refused at once.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        text = read_bounded_text(Path(path), MAX_TOML_BYTES)
    except FileProblem as problem:
        raise error(f"cannot read {what} {path}: {problem.message}") from problem
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise error(f"{what} {path} nests too deeply to be read") from exc
    return data
