"""Readable differences between two template versions: source, and rendered prompt."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptlib._repository.registry import Registry

__all__ = ["diff_versions"]


def _unified(a: str, b: str, name_a: str, name_b: str) -> str:
    lines = difflib.unified_diff(
        a.splitlines(keepends=True), b.splitlines(keepends=True), name_a, name_b
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text or "(no differences)\n"


def diff_versions(
    registry: Registry, ref_a: str, ref_b: str, inputs: Mapping[str, Any] | None = None
) -> str:
    """A unified diff of two versions' files and, given inputs, of their rendered prompts.

    Raises:
        TemplateError: a reference does not resolve or a file does not load.
        InputError: the inputs do not validate for one of the versions.
    """
    file_a, file_b = registry.file(ref_a), registry.file(ref_b)
    a, b = file_a.template.label, file_b.template.label
    parts = [f"=== source: {a} -> {b}\n", _unified(file_a.text, file_b.text, a, b)]
    if inputs is not None:
        prompt_a = file_a.template.render(**inputs)
        prompt_b = file_b.template.render(**inputs)
        parts += [
            f"=== rendered prompt: {a} -> {b}\n",
            _unified(prompt_a.format(), prompt_b.format(), a, b),
        ]
        if prompt_a.output != prompt_b.output:
            schema_a = prompt_a.output.schema if prompt_a.output else None
            schema_b = prompt_b.output.schema if prompt_b.output else None
            import json

            parts += [
                f"=== output schema: {a} -> {b}\n",
                _unified(
                    json.dumps(schema_a, indent=2, sort_keys=True),
                    json.dumps(schema_b, indent=2, sort_keys=True),
                    a,
                    b,
                ),
            ]
    return "".join(parts)
