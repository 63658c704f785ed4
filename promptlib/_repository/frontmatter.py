"""Splitting a template file into its YAML front matter and its Jinja body.

The front matter is read with YAML's safe loader (no tags that build Python objects, so
loading a file never runs code from it), strictly: no duplicate keys, bounded nesting and
aliases (see :mod:`promptlib._repository.strict_yaml`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptlib._errors import TemplateError
from promptlib._repository.strict_yaml import YamlProblem, load_yaml
from promptlib._templates.limits import DEFAULT_LIMITS, Limits
from promptlib._templates.textfile import read_text_file

if TYPE_CHECKING:
    import yaml

__all__ = ["SourceFile", "read_source"]

_FENCE = "---"


@dataclass(frozen=True)
class SourceFile:
    """A template file, split.

    Attributes:
        path: the file.
        meta: the front matter, as plain data.
        body: the text after the closing ``---``.
        body_line: the file line (1-based) on which the body starts.
        text: the whole file, as read.
    """

    path: Path
    meta: dict[str, Any]
    body: str
    body_line: int
    _tree: yaml.Node | None
    text: str = ""

    def line_of(self, *keys: str | int) -> int | None:
        """The file line of the front-matter entry at ``keys`` (or of its closest parent)."""
        import yaml

        node, line = self._tree, None
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                found = next((kv for kv in node.value if kv[0].value == key), None)
                if found is None:
                    break
                line = found[0].start_mark.line + 2
                node = found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    break
                node = node.value[key]
                line = node.start_mark.line + 2
            else:
                break
        return line

    def error(self, message: str, *keys: str | int, line: int | None = None) -> TemplateError:
        """A :class:`TemplateError` located at the front-matter entry ``keys`` or ``line``."""
        where = line if line is not None else self.line_of(*keys)
        location = f"{self.path}:{where}" if where else str(self.path)
        template = self.meta.get("name") if isinstance(self.meta.get("name"), str) else None
        version = self.meta.get("version")
        label = f"{template}@{version}" if template and isinstance(version, str) else template
        return TemplateError(message, template=label, location=location, line=where)


def read_source(path: Path, limits: Limits = DEFAULT_LIMITS) -> SourceFile:
    """Read and split a template file.

    Raises:
        TemplateError: the file is not a regular UTF-8 file within the size limit, is
            empty, has no front matter, or its YAML is invalid, has a duplicate key, or
            nests or expands beyond the limits.
    """
    text = read_text_file(path, limits.file_bytes)
    if not text.strip():
        raise TemplateError(
            "the file is empty: a template file starts with YAML front matter between two "
            "'---' lines (name, version, inputs, ...), followed by the body",
            location=f"{path}:1",
            line=1,
        )
    lines = text.splitlines(keepends=True)
    if lines[0].strip() != _FENCE:
        raise TemplateError(
            "a template file starts with YAML front matter between two '---' lines "
            "(name, version, inputs, ...), followed by the body",
            location=f"{path}:1",
            line=1,
        )
    end = _closing_fence(lines)
    if end is None:
        raise TemplateError(
            "the front matter is not closed: add a line with only '---' after it",
            location=f"{path}:1",
            line=1,
        )
    try:
        meta, tree = load_yaml("".join(lines[1:end]), limits, first_line=2)
    except YamlProblem as exc:
        line = exc.line
        message = exc.message.replace("invalid YAML", "invalid YAML front matter", 1)
        raise TemplateError(
            message if message != exc.message else f"front matter: {message}",
            location=f"{path}:{line}" if line else str(path),
            line=line,
        ) from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise TemplateError(
            "the front matter must be a YAML mapping (key: value lines)",
            location=f"{path}:2",
            line=2,
        )
    return SourceFile(path, meta, "".join(lines[end + 1 :]), end + 2, tree, text)


def _closing_fence(lines: Sequence[str]) -> int | None:
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == _FENCE:
            return index
    return None
