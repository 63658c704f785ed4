"""Schema-valid fake values, for mocked structured outputs."""

from __future__ import annotations

from typing import Any

__all__ = ["fake_from_schema"]


def fake_from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A small value that validates against ``schema`` (enums take their first value)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        definitions = root.get("$defs", root.get("definitions", {}))
        return fake_from_schema(definitions[name], root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            branches = [b for b in schema[key] if b.get("type") != "null"] or schema[key]
            return fake_from_schema(branches[0], root)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: fake_from_schema(sub, root) for name, sub in properties.items()}
    if kind == "array":
        minimum = schema.get("minItems", 0)
        return [fake_from_schema(schema.get("items", {}), root) for _ in range(max(minimum, 1))]
    if kind == "string":
        return "x" * max(schema.get("minLength", 0), 1) if schema.get("minLength") else "example"
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None
