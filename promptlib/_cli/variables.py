"""``--var`` arguments: ``key=text``, ``key:=JSON`` and ``key=@file``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptlib._errors import UsageError
from promptlib._files import FileProblem, read_bounded_text

__all__ = ["MAX_VARIABLE_FILE_BYTES", "parse_variables"]

# An input read from a file: far more text than any prompt holds is a mistake.
MAX_VARIABLE_FILE_BYTES = 10_000_000


def parse_variables(items: Sequence[str]) -> dict[str, Any]:
    """Turn ``--var`` arguments into template inputs.

    ``key=text`` passes text (pydantic converts it for number and boolean inputs),
    ``key:=JSON`` passes a JSON value (lists, objects, numbers), and ``key=@path`` passes
    a file's contents.
    """
    values: dict[str, Any] = {}
    for item in items:
        key, value = _split(item)
        if key in values:
            raise UsageError(f"--var {key} is given twice")
        values[key] = value
    return values


def _split(item: str) -> tuple[str, Any]:
    json_key, is_json, json_text = item.partition(":=")
    text_key, is_text, text = item.partition("=")
    if is_json and len(json_key) < len(text_key):
        try:
            return json_key, json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--var {json_key}:= needs JSON after ':=' ({exc.msg})") from exc
        except (RecursionError, ValueError) as exc:
            raise UsageError(
                f"--var {json_key}:= holds JSON that cannot be read ({type(exc).__name__}): "
                "it nests too deeply or holds a number too long"
            ) from exc
    if not is_text or not text_key:
        raise UsageError(
            f"--var {item!r} must be key=text, key:=JSON or key=@file, e.g. --var ticket='It broke'"
        )
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            return text_key, read_bounded_text(path, MAX_VARIABLE_FILE_BYTES)
        except FileProblem as problem:
            raise UsageError(f"--var {text_key}=@{path}: {problem.message}") from problem
    return text_key, text
