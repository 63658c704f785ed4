"""Validation problems as the ``field: problem`` lines our messages use: from pydantic's
errors, and from checking a value against a raw JSON schema."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from promptlib._regex_safety import MAX_MATCHED_LENGTH, backtracking_problem

if TYPE_CHECKING:
    from pydantic import ValidationError


def problems(exc: ValidationError, root: str = "(root)") -> list[tuple[str, str]]:
    """One ``(dotted field path, message)`` pair per error."""
    return [
        (".".join(str(part) for part in err["loc"]) or root, err["msg"]) for err in exc.errors()
    ]


def summary(exc: ValidationError) -> str:
    """The problems on one line: ``a.b: Field required; c: Input should be …``."""
    return "; ".join(f"{field}: {message}" for field, message in problems(exc))


# Keywords that mean the same in draft 2020-12 (promptlib's schemas) and in fastjsonschema's
# draft-07 code generator, which validates ~15x faster than jsonschema. A schema made only
# of these is checked by fastjsonschema first; jsonschema reports the problems (and has
# the last word) when that check fails, and checks every other schema alone.
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
     "$comment", "format"}  # format: an annotation in both, as promptlib runs them
)  # fmt: skip
_SUBSCHEMA = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"}
)
_SUBSCHEMA_MAP = frozenset({"properties", "$defs", "definitions"})
_SUBSCHEMA_LIST = frozenset({"anyOf", "allOf", "oneOf"})
_PLAIN = frozenset(
    {"type", "enum", "const", "required", "minimum", "maximum", "exclusiveMinimum",
     "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems", "maxItems",
     "uniqueItems", "minProperties", "maxProperties"}
)  # fmt: skip


def _fast_compatible(schema: Any) -> bool:
    """Whether fastjsonschema judges ``schema`` exactly as draft 2020-12 does."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    if "$ref" in schema:  # draft 7 ignores a $ref's siblings; 2020-12 applies them
        ref = schema["$ref"]
        return (
            isinstance(ref, str) and ref.startswith("#") and set(schema) - {"$ref"} <= _ANNOTATIONS
        )
    for key, value in schema.items():
        if key in _SUBSCHEMA:
            ok = _fast_compatible(value)  # (a list of items is draft 7's tuple form)
        elif key in _SUBSCHEMA_MAP:
            ok = isinstance(value, dict) and all(_fast_compatible(v) for v in value.values())
        elif key in _SUBSCHEMA_LIST:
            ok = isinstance(value, list) and all(_fast_compatible(v) for v in value)
        else:
            ok = key in _PLAIN or key in _ANNOTATIONS
        if not ok:
            return False
    return True


def remote_refs(schema: Any) -> list[str]:
    """The ``$ref`` values in ``schema`` that point outside it (promptlib never fetches them)."""
    found: list[str] = []
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            found.append(ref)
        for value in schema.values():
            found += remote_refs(value)
    elif isinstance(schema, list):
        for item in schema:
            found += remote_refs(item)
    return found


# JSON nesting (objects and arrays) an output schema may have; checking deeper schemas
# recursively would exhaust the stack, and no model answers such a structure well.
MAX_SCHEMA_DEPTH = 64


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_SCHEMA_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def schema_problem(schema: dict[str, Any]) -> tuple[str, tuple[str | int, ...]] | None:
    """Why ``schema`` cannot serve as an output schema, and where in it; ``None`` if it can.

    The message reads after the schema's name, e.g. ``'output' is not a valid JSON schema``.
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    depth = _depth(schema)
    if depth > MAX_SCHEMA_DEPTH:
        return (
            f"nests {depth} levels deep, more than the {MAX_SCHEMA_DEPTH} an output schema "
            "may: flatten it, or move parts under '$defs'",
            (),
        )
    try:
        Draft202012Validator.check_schema(schema)
    except RecursionError:
        return "nests too deeply to be checked: flatten it, or move parts under '$defs'", ()
    except SchemaError as exc:
        path = tuple(exc.absolute_path)
        at = f" at {'/'.join(map(str, path))}" if path else ""
        return f"is not a valid JSON schema{at}: {exc.message}", path
    found = _unsafe_pattern(schema)
    if found is not None:
        problem, path = found
        at = f" at {'/'.join(map(str, path))}" if path else ""
        return f"has an unsafe pattern{at}: {problem}", path
    refs = remote_refs(schema)
    if refs:
        return (
            f"refers to {refs[0]!r}, outside the schema; promptlib does not fetch schemas: "
            "put the definition under '$defs' and refer to it as '#/$defs/Name'",
            (),
        )
    return None


# Keywords whose values are data, not schemas: a "pattern" key inside them is not a regex.
_DATA_KEYWORDS = frozenset({"const", "default", "enum", "examples"})


def _patterns(schema: Any) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Every regex in ``schema`` (``pattern`` values, ``patternProperties`` names), with
    where it is; without recursion (the depth is checked before)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        for name, value in node.items():
            if name in _DATA_KEYWORDS:
                continue
            if name == "pattern" and isinstance(value, str):
                yield value, (*path, name)
            elif name == "patternProperties" and isinstance(value, dict):
                yield from ((regex, (*path, name, regex)) for regex in value)
            if isinstance(value, dict | list):
                stack.append((value, (*path, name)))


def _unsafe_pattern(schema: Any) -> tuple[str, tuple[str | int, ...]] | None:
    for regex, path in _patterns(schema):
        problem = backtracking_problem(regex)
        if problem:
            return problem, path
    return None


def _too_long_for_patterns(value: Any) -> list[str]:
    """``path: message`` for strings (and object keys) longer than a pattern is matched
    against; checked without recursion."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack and len(found) < 10:
        node, path = stack.pop()
        if isinstance(node, str) and len(node) > MAX_MATCHED_LENGTH:
            found.append(
                f"{path or '(root)'}: a string of {len(node)} characters, longer than the "
                f"{MAX_MATCHED_LENGTH} the schema's patterns are matched against"
            )
        elif isinstance(node, dict):
            for name, item in node.items():
                stack.append((item, f"{path}.{name}" if path else str(name)))
                stack.append((name, path))
        elif isinstance(node, list):
            stack.extend((item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(node))
    return found


# The longest one schema pattern may run on one value. Patterns known to backtrack are
# refused when a template is defined; this bounds the ones no check can foresee.
PATTERN_SECONDS = 0.25


@functools.cache
def _bounded_validator() -> Any:
    """Draft 2020-12, with ``pattern`` matched by the ``regex`` module under a time limit."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError as SchemaViolation

    def pattern(validator: Any, wanted: str, instance: Any, schema: Any) -> Any:
        if not validator.is_type(instance, "string"):
            return
        try:
            matched = bounded_pattern(wanted).search(instance, timeout=PATTERN_SECONDS)
        except TimeoutError:
            yield SchemaViolation(
                f"the pattern {wanted!r} took longer than {PATTERN_SECONDS} s on this value: "
                "simplify the pattern"
            )
            return
        if matched is None:
            shown = repr(instance) if len(instance) <= 60 else repr(instance[:57]) + "..."
            yield SchemaViolation(f"{shown} does not match {wanted!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=512)
def bounded_pattern(source: str) -> Any:
    """``source`` compiled by the ``regex`` module, whose searches take a ``timeout``."""
    import regex

    return regex.compile(source)


class _Validators:
    """jsonschema's validator for one schema, and fastjsonschema's where it agrees."""

    def __init__(self, schema: dict[str, Any]) -> None:
        from jsonschema import Draft202012Validator
        from referencing import Registry

        self.schema = schema
        self.has_patterns = next(_patterns(schema), None) is not None
        # An empty registry: jsonschema's default one downloads remote $refs.
        kind = _bounded_validator() if self.has_patterns else Draft202012Validator
        self.full = kind(schema, registry=Registry())
        self.fast: Callable[[Any], Any] | None = None
        self.fast_rejection: type[Exception] = Exception
        if _fast_compatible(schema):
            import fastjsonschema

            self.fast_rejection = fastjsonschema.JsonSchemaValueException
            try:
                self.fast = fastjsonschema.compile(schema, use_default=False, use_formats=False)
            except Exception:  # any schema it cannot compile: jsonschema alone
                self.fast = None


# Building validators costs far more than validating: keep them per schema object (a
# template's schema is the same object for every prompt it renders).
_VALIDATORS: dict[int, _Validators] = {}


def schema_violations(schema: dict[str, Any], value: Any) -> list[str]:
    """``path: message`` for every way ``value`` breaks the JSON ``schema`` (none: valid)."""
    validators = _VALIDATORS.get(id(schema))
    if validators is None or validators.schema is not schema:
        if len(_VALIDATORS) > 256:
            _VALIDATORS.clear()
        validators = _VALIDATORS[id(schema)] = _Validators(schema)
    if validators.has_patterns:
        # re has no timeout: a pattern is never run on text longer than this.
        too_long = _too_long_for_patterns(value)
        if too_long:
            return too_long
    if validators.fast is not None:
        try:
            validators.fast(value)
            return []
        except validators.fast_rejection:
            pass  # jsonschema lists every problem, with its own messages
    errors = sorted(
        validators.full.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))
    )
    return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
