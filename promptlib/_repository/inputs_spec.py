"""Input fields declared in a template file's front matter, turned into a pydantic model.

```yaml
inputs:
  ticket: {type: string, untrusted: true, description: The customer's ticket.}
  product: {type: string, default: ACME Cloud}
  priority_levels: {type: array, items: string, default: [low, medium, high]}
  tone: {type: string, enum: [formal, friendly]}
  question: string            # shorthand for {type: string}
```
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from promptlib._errors import PromptFormatError
from promptlib._messages import ImagePart
from promptlib._templates.delimiters import UNTRUSTED
from promptlib._templates.environment import RESERVED_NAMES
from promptlib._templates.history import Conversation, turns_from_data

if TYPE_CHECKING:
    from pydantic import BaseModel

    from promptlib._repository.frontmatter import SourceFile

__all__ = ["build_input_model"]

_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "object": dict[str, Any],
    "image": ImagePart | str,
    "conversation": Conversation,
}
_KEYS = ("type", "description", "default", "untrusted", "enum", "items")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def build_input_model(source: SourceFile, template_name: str) -> type[BaseModel]:
    """The pydantic model of the inputs declared under ``inputs:``.

    Raises:
        TemplateError: an input is malformed (names the file, line and the fix).
    """
    from pydantic import ConfigDict, Field, create_model

    declared = source.meta.get("inputs") or {}
    if not isinstance(declared, dict):
        raise source.error("'inputs' must be a mapping of input names to types", "inputs")
    fields: dict[str, Any] = {}
    for name, spec in declared.items():
        if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
            raise source.error(
                f"input name {name!r} must be an identifier (letters, digits, '_', starting "
                "with a letter), so templates can use it as {{ name }}",
                "inputs",
                name,
            )
        if name in RESERVED_NAMES:
            raise source.error(
                f"input name {name!r} means something else in a template (it is Jinja's), so "
                f"the text could never read the input; rename it (e.g. {name + '_'!r}, or a "
                "name that says what it holds)",
                "inputs",
                name,
            )
        annotation = _annotation(source, name, spec)
        raw = spec if isinstance(spec, dict) else {}
        default = raw.get("default", ...)
        if default is not ... and annotation is Conversation:
            try:
                default = turns_from_data(default)
            except PromptFormatError as exc:
                raise source.error(f"input {name!r}: default: {exc}", "inputs", name) from exc
        fields[name] = (
            Annotated[annotation, Field(description=raw.get("description"))],
            default,
        )
    model_name = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", template_name))
    model: type[BaseModel] = create_model(
        f"{model_name}Inputs", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def _annotation(source: SourceFile, name: str, spec: Any) -> Any:
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise source.error(
            f"input {name!r} must be a type name (e.g. 'string') or a mapping with 'type'",
            "inputs",
            name,
        )
    for key in spec:
        if key not in _KEYS:
            hint = difflib.get_close_matches(str(key), _KEYS, n=1)
            fix = f"; did you mean {hint[0]!r}?" if hint else ""
            raise source.error(
                f"input {name!r} has an unknown key {key!r}{fix} (known: {', '.join(_KEYS)})",
                "inputs",
                name,
                key,
            )
    kind = spec.get("type", "string")
    untrusted = spec.get("untrusted", False)
    if not isinstance(untrusted, bool):
        raise source.error(f"input {name!r}: 'untrusted' must be true or false", "inputs", name)
    if "enum" in spec:
        values = spec["enum"]
        if not isinstance(values, list) or not values:
            raise source.error(f"input {name!r}: 'enum' must be a non-empty list", "inputs", name)
        return Literal[tuple(values)]
    if kind == "array":
        items = spec.get("items", "string")
        item_spec = items if isinstance(items, dict) else {"type": items}
        if untrusted:
            item_spec = {**item_spec, "untrusted": True}
        return list[_annotation(source, name, item_spec)]  # type: ignore[misc]
    if kind not in _TYPES:
        hint = difflib.get_close_matches(str(kind), [*_TYPES, "array"], n=1)
        fix = f"; did you mean {hint[0]!r}?" if hint else ""
        raise source.error(
            f"input {name!r} has unknown type {kind!r}{fix} (types: {', '.join(_TYPES)}, array)",
            "inputs",
            name,
        )
    if untrusted:
        if kind not in ("string", "object", "conversation"):
            raise source.error(
                f"input {name!r}: only text and data (string, object or conversation "
                "inputs, or arrays of them) can be untrusted",
                "inputs",
                name,
            )
        return Annotated[_TYPES[kind], UNTRUSTED]
    return _TYPES[kind]
