"""JSON schemas as OpenAI's strict structured outputs accept them.

Strict mode requires every object to list all its properties as required and to forbid
others, and it rejects some keywords. A pydantic schema is rewritten accordingly: an
optional property becomes required but nullable (the model sends ``null``, and pydantic
applies the default), and unsupported keywords are dropped.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

__all__ = ["schema_name", "strict_schema"]

_UNSUPPORTED = ("default", "discriminator")


@lru_cache(maxsize=256)
def schema_name(name: str) -> str:
    """A name OpenAI accepts for a schema: letters, digits, '_' and '-', at most 64."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "output"


_CACHE: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` rewritten for strict mode (a new dict, shared by calls with that schema)."""
    cached = _CACHE.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_CACHE) > 256:
            _CACHE.clear()
        cached = _CACHE[id(schema)] = (schema, _rewrite(copy.deepcopy(schema)))
    return cached[1]


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    kind = node.get("type")
    if isinstance(kind, str) and "enum" not in node:
        return {**node, "type": [kind, "null"]}
    if isinstance(kind, list) and "null" not in kind:
        return {**node, "type": [*kind, "null"]}
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return node
    if any(branch.get("type") == "null" for branch in node.get("anyOf", [])):
        return node
    return {"anyOf": [node, {"type": "null"}]}


def _rewrite(node: Any) -> Any:
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    if not isinstance(node, dict):
        return node
    for keyword in _UNSUPPORTED:
        node.pop(keyword, None)
    for key in ("items", "additionalItems", "not"):
        if key in node:
            node[key] = _rewrite(node[key])
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        if key in node:
            node[key] = [_rewrite(branch) for branch in node[key]]
    for key in ("$defs", "definitions"):
        if key in node:
            node[key] = {name: _rewrite(sub) for name, sub in node[key].items()}
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties", {})
        required = set(node.get("required", []))
        node["properties"] = {
            name: _rewrite(sub) if name in required else _nullable(_rewrite(sub))
            for name, sub in properties.items()
        }
        node["required"] = list(properties)
        node["additionalProperties"] = False
    return node
