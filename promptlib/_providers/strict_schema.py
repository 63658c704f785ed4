"""JSON schemas as OpenAI's strict structured outputs accept them.

Strict mode requires every object to list all its properties as required and to forbid
others, and it accepts only part of JSON Schema. A schema it can express is rewritten
accordingly: a property with a default becomes required (the model always gives a value;
it is not made nullable, since ``null`` would fail validation where the field's type has
no ``None``), annotations strict mode rejects are dropped, and a discriminated ``oneOf``
becomes ``anyOf`` (its branches cannot overlap). Every reply the rewritten schema allows
is valid for the original.

A schema it cannot express without changing its meaning (an open map such as
``dict[str, float]``, a value of any type, a tuple, ``uniqueItems``, string lengths, ...)
is reported by :func:`strict_problems`, and the adapter sends it non-strict, unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["strict_problems", "strict_schema"]

# Annotations strict mode refuses but whose absence changes no meaning.
_UNSUPPORTED = ("default", "discriminator", "examples", "$schema", "$comment", "deprecated")
# Everything else strict mode accepts (OpenAI's structured-outputs guide, 2026-11).
_STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const",
        "anyOf", "$ref", "$defs", "definitions", "description", "title", "pattern", "format",
        "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
        "minItems", "maxItems", "readOnly", "writeOnly",
    }
)  # fmt: skip
_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)


_CACHE: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` rewritten for strict mode (a new dict, shared by calls with that schema)."""
    cached = _CACHE.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_CACHE) > 256:
            _CACHE.clear()
        copied = copy.deepcopy(schema)
        cached = _CACHE[id(schema)] = (schema, _rewrite(copied, copied))
    return cached[1]


_PROBLEMS: dict[int, tuple[dict[str, Any], tuple[str, ...]]] = {}


def strict_problems(schema: dict[str, Any]) -> tuple[str, ...]:
    """What in ``schema`` strict mode cannot express, each with where it is (empty if
    the schema can be sent strict)."""
    cached = _PROBLEMS.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_PROBLEMS) > 256:
            _PROBLEMS.clear()
        found: list[str] = []
        root = _resolve(schema, schema)
        if root is not schema:
            root = {**root, **{k: v for k, v in schema.items() if k not in ("$ref", "$defs")}}
        if root.get("type") != "object":
            found.append("the root is not an object")
        _problems(schema, "", found)
        cached = _PROBLEMS[id(schema)] = (schema, tuple(dict.fromkeys(found)))
    return cached[1]


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        target: Any = root
        for step in reference[2:].split("/"):
            target = target.get(step, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}
    return node


def _problems(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _problems(item, f"{path}/{index}", found)
        return
    if not isinstance(node, dict):
        return
    where = path or "/"
    for keyword in node:
        if keyword in _STRICT_KEYWORDS or keyword in _UNSUPPORTED:
            continue
        if keyword == "oneOf" and "discriminator" in node:
            continue  # disjoint branches: the same as anyOf
        if keyword == "allOf" and len(node["allOf"]) == 1:
            continue  # a single branch: merged into its parent
        found.append(f"{keyword!r} at {where}")
    if "format" in node and node["format"] not in _STRICT_FORMATS:
        found.append(f"format {node['format']!r} at {where}")
    extra = node.get("additionalProperties", False)
    if extra is not False:
        found.append(f"an open map (additionalProperties) at {where}")
    elif node.get("type") == "object" and "properties" not in node:
        found.append(f"an object of any keys at {where}")
    typed = ("type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const")
    if path and not any(keyword in node for keyword in typed):
        found.append(f"a value of any type at {where}")
    for key in ("properties", "$defs", "definitions"):
        if isinstance(node.get(key), dict):
            for name, sub in node[key].items():
                _problems(sub, f"{path}/{key}/{name}", found)
    for key in ("items", "additionalProperties", "not", "contains", "additionalItems"):
        if isinstance(node.get(key), dict):
            _problems(node[key], f"{path}/{key}", found)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(node.get(key), list):
            _problems(node[key], f"{path}/{key}", found)


def _rewrite(node: Any, root: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and len(node) > 1:
        # Strict mode refuses keywords beside a $ref: inline what it points to.
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        node = {**copy.deepcopy(_resolve(node, root)), **siblings}
    if "discriminator" in node and "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        node.update(node.pop("allOf")[0])
    for keyword in _UNSUPPORTED:
        node.pop(keyword, None)
    for key in ("items", "additionalItems", "not"):
        if key in node:
            node[key] = _rewrite(node[key], root)
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        if key in node:
            node[key] = [_rewrite(branch, root) for branch in node[key]]
    for key in ("$defs", "definitions"):
        if key in node:
            node[key] = {name: _rewrite(sub, root) for name, sub in node[key].items()}
    if node.get("type") == "object" or "properties" in node:
        properties = node.get("properties", {})
        node["properties"] = {name: _rewrite(sub, root) for name, sub in properties.items()}
        given = node.get("required")
        named = [n for n in given if n in properties] if isinstance(given, list) else []
        node["required"] = named + [n for n in properties if n not in named]
        node["additionalProperties"] = False
    return node
