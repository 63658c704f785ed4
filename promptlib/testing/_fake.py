"""Schema-valid fake values, for mocked structured outputs.

A small deterministic generator over the JSON Schema vocabulary pydantic and OpenAI's
strict mode produce: ``$ref``/``$defs`` (recursion ends at the first optional way out),
``allOf``/``anyOf``/``oneOf`` (discriminated unions included), ``const``/``enum``, string
``format``s, ``pattern``s, lengths, numeric bounds and ``multipleOf``, ``prefixItems``,
``uniqueItems``, ``contains``, ``additionalProperties``/``patternProperties`` and property
counts. Every value is checked against the whole schema before it is returned.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from typing import Any

from promptlib._errors import ConfigurationError

__all__ = ["fake_from_schema"]

# Deep enough for any real model; a schema nesting further is treated as unsatisfiable.
_MAX_DEPTH = 64

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "ipvanyaddress": "192.0.2.1",
    "ipvanyinterface": "192.0.2.1/24",
    "ipvanynetwork": "192.0.2.0/24",
    "uri": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri-reference": "https://example.com/",
    "uri-template": "https://example.com/{id}",
    "json-pointer": "/example",
    "relative-json-pointer": "0",
    "regex": "^example$",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uuid1": "00000000-0000-1000-8000-000000000000",
    "uuid3": "00000000-0000-3000-8000-000000000000",
    "uuid4": "00000000-0000-4000-8000-000000000000",
    "uuid5": "00000000-0000-5000-8000-000000000000",
    "binary": "example",
    "base64": "ZXhhbXBsZQ==",
    "base64url": "ZXhhbXBsZQ==",
    "json-string": "null",
    "multi-host-uri": "https://example.com/",
    "path": "example",
    "file-path": "example",
    "directory-path": ".",
    "password": "example",
    "color": "black",
    "phone": "+12025550123",
}


class _Unsatisfiable(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path, self.reason = path, reason


def fake_from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A small value that validates against the JSON ``schema``; the same schema always
    gives the same value (enums take their first value, optional fields their default).

    ``root`` is the document ``$ref``s point into (default: ``schema`` itself).

    Raises:
        ConfigurationError: no valid value could be made; the message names where in the
            schema, so a test can script a reply instead.
    """
    from promptlib._validation import schema_violations

    too_large = _too_large(schema)
    if too_large:
        raise _unsatisfiable(too_large[0], too_large[1])
    cached = _MADE.get(id(schema))
    if root is None and cached is not None and cached[0] is schema:
        return copy.deepcopy(cached[1])
    document = root if root is not None else schema
    generator = _Generator(document)
    try:
        value = generator.first(schema, "#", ("#",) if root is None else (), 0)
    except _Unsatisfiable as exc:
        raise _unsatisfiable(exc.path, exc.reason) from None
    # The check promptlib makes on a real answer; for a part of a document, the same rules.
    problems = (
        schema_violations(schema, value) if root is None else generator.violations(schema, value)
    )
    if problems:
        raise _unsatisfiable("#", "; ".join(problems))
    if root is None:
        if len(_MADE) > 256:
            _MADE.clear()
        _MADE[id(schema)] = (schema, copy.deepcopy(value))
    return value


# A template's schema is the same object for every prompt it renders: make its fake once.
_MADE: dict[int, tuple[dict[str, Any], Any]] = {}


def _unsatisfiable(path: str, reason: str) -> ConfigurationError:
    return ConfigurationError(
        f"cannot make a fake value for the output schema at {path}: {reason}. Script the "
        "reply instead, e.g. MockProvider([{...}]) or mock_provider.replies = [...]"
    )


# The most a fake answer holds: values in all, characters in one string. A schema that
# asks for more gets an error (script a reply), not minutes of work and gigabytes.
_MAX_VALUES = 100_000
_MAX_TEXT = 100_000
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")


def _too_large(schema: Any) -> tuple[str, str] | None:
    """Where ``schema`` asks for a value too large to make up, and why (else ``None``)."""
    stack: list[tuple[Any, str, int, int]] = [(schema, "#", 1, 0)]
    while stack:
        node, path, copies, depth = stack.pop()
        if not isinstance(node, dict) or depth > 64:
            continue
        items = node.get("minItems", 0)
        properties = node.get("minProperties", 0)
        length = node.get("minLength", 0)
        pattern = node.get("pattern")
        for count in (items, properties):
            if isinstance(count, int) and count > 0:
                copies *= count
        if copies > _MAX_VALUES:
            return path, f"the schema asks for more than {_MAX_VALUES:,} values in all"
        if isinstance(length, int) and length > _MAX_TEXT:
            return path, f"minLength {length:,} is longer than a made-up answer may be"
        if isinstance(pattern, str):
            for low, _ in _REPEAT.findall(pattern):
                if int(low) > _MAX_TEXT:
                    return path, f"the pattern repeats {int(low):,} times"
        for key, value in node.items():
            if isinstance(value, dict):
                stack.append((value, f"{path}/{key}", copies, depth + 1))
            elif isinstance(value, list):
                stack.extend(
                    (item, f"{path}/{key}/{i}", copies, depth + 1) for i, item in enumerate(value)
                )
    return None


class _Generator:
    """Candidates for each subschema, smallest first; ``first`` keeps the first valid one."""

    def __init__(self, root: dict[str, Any]) -> None:
        from jsonschema import Draft202012Validator
        from referencing import Registry

        self.root = root
        # An empty registry: jsonschema's default one downloads remote $refs.
        self._validator = Draft202012Validator(root, registry=Registry())

    def violations(self, schema: Any, value: Any) -> list[str]:
        """Why ``value`` breaks ``schema``, a part of the root (its ``$ref``s resolve there)."""
        if schema is True or schema == {}:
            return []
        if schema is False:
            return ["the schema is `false`: no value is allowed"]
        errors = self._validator.evolve(schema=schema).iter_errors(value)
        return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]

    def first(self, schema: Any, path: str, refs: tuple[str, ...], variant: int) -> Any:
        """The first candidate for ``schema`` that validates against it."""
        if len(refs) > _MAX_DEPTH:
            raise _Unsatisfiable(path, "the schema nests too deeply")
        reason = "the schema is `false`: no value is allowed" if schema is False else ""
        for candidate in self.candidates(schema, path, refs, variant):
            problems = self.violations(schema, candidate)
            if not problems:
                return candidate
            reason = f"no value found that validates (last tried {candidate!r}: {problems[0]})"
        raise _Unsatisfiable(path, reason or "no value found that validates")

    # --- candidates --------------------------------------------------------------------------

    def resolve(self, ref: str, path: str) -> dict[str, Any]:
        if not ref.startswith("#"):
            raise _Unsatisfiable(path, f"$ref {ref!r} points outside the schema")
        node: Any = self.root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise _Unsatisfiable(path, f"$ref {ref!r} does not resolve")
            node = node[part]
        if not isinstance(node, (dict, bool)):
            raise _Unsatisfiable(path, f"$ref {ref!r} is not a schema")
        return node if isinstance(node, dict) else {} if node else {"not": {}}

    def candidates(
        self, schema: Any, path: str, refs: tuple[str, ...], variant: int
    ) -> Iterator[Any]:
        if schema is True:
            yield None
            return
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            ref = schema["$ref"]
            if refs.count(ref) > 2:
                raise _Unsatisfiable(path, f"{ref} contains itself with no optional way out")
            target = self.resolve(ref, path)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            merged = _merge(target, rest) if rest else target
            yield from self.candidates(merged, f"{path}/$ref", (*refs, ref), variant)
            return
        if "const" in schema:
            yield schema["const"]
            return
        if "enum" in schema:
            values = list(schema["enum"])
            shift = variant % len(values) if values else 0
            yield from values[shift:] + values[:shift]
            return
        if "default" in schema and not variant:
            yield schema["default"]
        if "if" in schema:  # the value is checked against the condition afterwards
            rest = {k: v for k, v in schema.items() if k not in ("if", "then", "else")}
            for branch in ("then", "else"):
                if isinstance(schema.get(branch), dict):
                    yield from self.candidates(_merge(rest, schema[branch]), path, refs, variant)
            yield from self.candidates(rest, path, refs, variant)
            return
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for index, part in enumerate(schema["allOf"]):
                if isinstance(part, dict) and "$ref" in part:
                    part = _merge(self.resolve(part["$ref"], f"{path}/allOf/{index}"), part)
                    part.pop("$ref")
                merged = _merge(merged, part if isinstance(part, dict) else {})
            yield from self.candidates(merged, path, refs, variant)
            return
        recursing = len(set(refs)) < len(refs)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                rest = {k: v for k, v in schema.items() if k not in (key, "default")}
                yield from self.branches(schema[key], key, rest, path, refs, variant, recursing)
                return
        kinds = schema.get("type", _implied_type(schema))
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        # Optional values take a value, except on the way back into a recursion.
        if "null" in kinds:
            kinds.remove("null")
            kinds = ["null", *kinds] if recursing else [*kinds, "null"]
        problem: _Unsatisfiable | None = None
        for kind in kinds:
            try:
                yield from self.typed(kind, schema, path, refs, variant, recursing)
            except _Unsatisfiable as exc:
                problem = exc
        if problem is not None:
            raise problem

    def branches(
        self,
        options: list[Any],
        key: str,
        rest: dict[str, Any],
        path: str,
        refs: tuple[str, ...],
        variant: int,
        recursing: bool,
    ) -> Iterator[Any]:
        indexed = list(enumerate(options))
        nulls = [(i, b) for i, b in indexed if isinstance(b, dict) and b.get("type") == "null"]
        others = [
            (i, b) for i, b in indexed if not (isinstance(b, dict) and b.get("type") == "null")
        ]
        problem: _Unsatisfiable | None = None
        found = False
        for index, branch in (nulls + others) if recursing else (others + nulls):
            branch_schema = _merge(rest, branch) if isinstance(branch, dict) and rest else branch
            where = f"{path}/{key}/{index}"
            try:
                # Every value valid for the branch: the whole schema may still refuse some.
                for value in self.candidates(branch_schema, where, refs, variant):
                    if not self.violations(branch_schema, value):
                        found = True
                        yield value
            except _Unsatisfiable as exc:
                problem = problem or exc
        if problem is not None and not found:
            raise problem

    def typed(
        self,
        kind: str,
        schema: dict[str, Any],
        path: str,
        refs: tuple[str, ...],
        variant: int,
        recursing: bool,
    ) -> Iterator[Any]:
        if kind == "null":
            yield None
        elif kind == "boolean":
            yield bool(variant % 2)
            yield not variant % 2
        elif kind in ("integer", "number"):
            yield from _numbers(schema, integer=kind == "integer", variant=variant)
        elif kind == "string":
            if schema.get("contentMediaType") == "application/json":  # pydantic's Json[X]
                inner = schema.get("contentSchema", {})
                where = f"{path}/contentSchema"
                yield json.dumps(self.first(inner, where, refs, variant), ensure_ascii=False)
            yield from _strings(schema, variant)
        elif kind == "array":
            yield from self.arrays(schema, path, refs, variant, recursing)
        elif kind == "object":
            yield from self.objects(schema, path, refs, variant, recursing)

    def arrays(
        self,
        schema: dict[str, Any],
        path: str,
        refs: tuple[str, ...],
        variant: int,
        recursing: bool,
    ) -> Iterator[list[Any]]:
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", {})
        if isinstance(items, list):  # draft 7's tuple form
            prefix, items = items, schema.get("additionalItems", {})
        minimum = schema.get("minItems", 0)
        maximum = schema.get("maxItems", math.inf)
        contains = schema.get("contains")
        needed = schema.get("minContains", 1) if contains is not None else 0
        wanted = max(minimum, needed, min(len(prefix), maximum))
        if not recursing and not prefix and items is not False and maximum >= 1:
            wanted = max(wanted, 1)  # one example item says more than an empty list
        # Variants differ in their first item, or else in their length.
        sizes = (min(wanted + variant, maximum), wanted, max(minimum, needed))
        for size in dict.fromkeys(sizes):
            value: list[Any] = []
            try:
                for index in range(size):
                    if index < needed:
                        item, where = contains, f"{path}/contains"
                    elif index < len(prefix):
                        item, where = prefix[index], f"{path}/prefixItems/{index}"
                    else:
                        item, where = items, f"{path}/items"
                    unique = schema.get("uniqueItems", False)
                    taken = value if unique else None
                    value.append(self.unique_item(item, where, refs, taken, variant * (not index)))
            except _Unsatisfiable:
                if size > max(minimum, needed):
                    continue
                raise
            yield value

    def unique_item(
        self, schema: Any, path: str, refs: tuple[str, ...], taken: list[Any] | None, variant: int
    ) -> Any:
        if taken is None:
            return self.first(schema, path, refs, variant)
        for variant in range(len(taken) + 8):
            try:
                value = self.first(schema, path, refs, variant)
            except _Unsatisfiable:
                continue
            if not any(_same(value, other) for other in taken):
                return value
        raise _Unsatisfiable(path, f"cannot make {len(taken) + 1} distinct items (uniqueItems)")

    def objects(
        self,
        schema: dict[str, Any],
        path: str,
        refs: tuple[str, ...],
        variant: int,
        recursing: bool,
    ) -> Iterator[dict[str, Any]]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = list(schema.get("required", []))
        names = [n for n in properties if n in required or not recursing]
        names += [n for n in required if n not in properties]
        extra_schema = schema.get("additionalProperties", {})
        for subset in dict.fromkeys((tuple(names), tuple(n for n in names if n in required))):
            value: dict[str, Any] = {}
            for name in subset:
                if name in properties:
                    sub, where = properties[name], f"{path}/properties/{name}"
                else:
                    sub, where = extra_schema, f"{path}/additionalProperties"
                try:  # the first field carries the variant, so variants differ
                    value[name] = self.first(sub, where, refs, 0 if value else variant)
                except _Unsatisfiable:
                    if name in required:
                        raise
            self.add_extra_keys(schema, value, path, refs)
            yield value

    def add_extra_keys(
        self, schema: dict[str, Any], value: dict[str, Any], path: str, refs: tuple[str, ...]
    ) -> None:
        """Extra keys up to ``minProperties``, from pattern or additional properties."""
        wanted = schema.get("minProperties", 0)
        patterns: dict[str, Any] = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", {})
        names = schema.get("propertyNames", {})
        for index in range(wanted + 8):
            if len(value) >= wanted:
                return
            if patterns:
                pattern, sub = next(iter(patterns.items()))
                key_schema: dict[str, Any] = {"type": "string", "pattern": pattern}
                where = f"{path}/patternProperties"
            elif extra is not False:
                sub, key_schema, where = extra, {"type": "string"}, f"{path}/additionalProperties"
            else:
                return
            if isinstance(names, dict):
                key_schema = _merge(key_schema, names)
            key = self.first(key_schema, f"{path}/propertyNames", refs, index + 1)
            if key not in value:
                value[key] = self.first(sub, where, refs, 0)


def _implied_type(schema: dict[str, Any]) -> list[str]:
    """The type a schema without ``type`` implies through its keywords (none: any)."""
    if any(k in schema for k in ("properties", "required", "additionalProperties")):
        return ["object"]
    if any(k in schema for k in ("items", "prefixItems", "minItems", "contains")):
        return ["array"]
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return ["string"]
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "multipleOf")):
        return ["number"]
    return ["null", "string"] if not schema.get("not") else ["string", "integer", "object"]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Two schemas that must both hold, as one: keywords found in both are combined."""
    merged = {**base, **extra}
    for key in base.keys() & extra.keys():
        a, b = base[key], extra[key]
        if key == "properties":
            merged[key] = {
                name: {"allOf": [a[name], b[name]]} if name in a and name in b else sub
                for name, sub in {**a, **b}.items()
            }
        elif key == "required":
            merged[key] = list(dict.fromkeys([*a, *b]))
        elif key == "type":
            kinds = [a] if isinstance(a, str) else a
            others = [b] if isinstance(b, str) else b
            both = [k for k in kinds if k in others or (k == "integer" and "number" in others)]
            both += [k for k in others if k == "integer" and "number" in kinds]
            merged[key] = both or b
        elif key == "enum":
            merged[key] = [value for value in a if value in b] or b
        elif key in ("anyOf", "oneOf") and len(a) * len(b) <= 64:
            # (a1 or a2) and (b1 or b2) = (a1 and b1) or (a1 and b2) or ...
            merged[key] = [
                _merge(x, y) if isinstance(x, dict) and isinstance(y, dict) else y
                for x in a
                for y in b
            ]
        elif key in ("items", "additionalProperties", "contains", "propertyNames") and a != b:
            merged[key] = {"allOf": [a, b]}
        elif key == "not" and a != b:
            merged[key] = {"anyOf": [a, b]}
        elif key in ("minimum", "minLength", "minItems", "minProperties", "exclusiveMinimum"):
            merged[key] = max(a, b)
        elif key in ("maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum"):
            merged[key] = min(a, b)
    return merged


def _same(a: Any, b: Any) -> bool:
    """Equality as JSON Schema's ``uniqueItems`` sees it (``True`` is not ``1``)."""
    return (
        type(a) is type(b) and a == b
        if not isinstance(a, (int, float))
        else a == b and (isinstance(a, bool) == isinstance(b, bool))
    )


# --- numbers ---------------------------------------------------------------------------------


def _numbers(schema: dict[str, Any], *, integer: bool, variant: int) -> Iterator[int | float]:
    low, high = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(ex_low, bool) or isinstance(ex_high, bool):  # draft 4's boolean form
        ex_low, ex_high = (low if ex_low else None), (high if ex_high else None)
    ex_low = -math.inf if ex_low is None else ex_low
    ex_high = math.inf if ex_high is None else ex_high

    def fits(value: float) -> bool:
        return low <= value <= high and ex_low < value < ex_high

    step = schema.get("multipleOf") or (1 if integer else None)
    lowest, highest = max(low, ex_low), min(high, ex_high)
    # Near zero where that fits, else at the bound nearest to it.
    anchor = 0.0 if lowest <= 0 <= highest else lowest if lowest > 0 else highest
    if not math.isfinite(anchor):
        return
    if step is None:
        for value in (anchor + variant, anchor + 1 + variant, (lowest + highest) / 2):
            if fits(value):
                yield float(value)
        for offset in (0.5, 0.25, 0.125):
            value = anchor + offset if anchor == lowest else anchor - offset
            if fits(value):
                yield float(value)
        return
    start = round(anchor / step)
    found = 0
    for distance in range(200):
        for k in dict.fromkeys((start + distance, start - distance)):
            value = k * step
            if integer and not float(value).is_integer():
                continue
            if fits(value):
                if found >= variant:
                    yield int(value) if integer else float(value)
                found += 1
        if found > variant + 2:
            return


# --- strings ---------------------------------------------------------------------------------


def _strings(schema: dict[str, Any], variant: int) -> Iterator[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    pattern = schema.get("pattern")
    if pattern is not None:
        for grow in dict.fromkeys((*range(9), 12, 16, low, max(low, 1) * 2)):
            matched = _from_pattern(pattern, grow, variant)
            if matched is None:
                return
            yield matched
            if high is None or len(matched) < low:
                yield matched + "x" * (low - len(matched))
        return
    if "format" in schema and schema["format"] in _FORMATS:
        yield _FORMATS[schema["format"]]
    base = "example" + (str(variant) if variant else "")
    if high is not None and high < len(base):
        base = base[:high] if not variant else str(variant)[-high:] if high else ""
    yield base + "x" * max(low - len(base), 0)
    yield chr(ord("a") + variant % 26) * max(low, 1)


def _from_pattern(pattern: str, grow: int, variant: int) -> str | None:
    """A short string that ``re.search(pattern, ...)`` matches (``None``: not understood)."""
    try:
        import re._parser as sre_parse  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python 3.10
        import sre_parse  # type: ignore[no-redef,unused-ignore]
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    groups: dict[int, str] = {}
    try:
        return _emit(parsed, grow, variant, groups, sre_parse)
    except _NotUnderstood:
        return None


class _NotUnderstood(Exception):
    pass


def _emit(items: Any, grow: int, variant: int, groups: dict[int, str], sre: Any) -> str:
    unbounded = sre.MAXREPEAT
    out: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_from_set(arg, variant))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            count = low + grow if high == unbounded else min(low + grow, high)
            out.extend(_emit(sub, grow, variant + i, groups, sre) for i in range(count))
        elif name == "SUBPATTERN":
            group, sub = arg[0], arg[-1]
            text = _emit(sub, grow, variant, groups, sre)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif name == "ATOMIC_GROUP":
            out.append(_emit(arg, grow, variant, groups, sre))
        elif name == "BRANCH":
            options = arg[1]
            out.append(_emit(options[variant % len(options)], grow, variant, groups, sre))
        elif name == "GROUPREF":
            out.append(groups.get(arg, ""))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # anchors and look-arounds add no text; the result is checked after
        else:
            raise _NotUnderstood(name)
    return "".join(out)


_CATEGORIES = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_WORD": " -.",
    "CATEGORY_WORD": "abcxyz",
}


def _from_set(items: Any, variant: int) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    allowed: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            allowed.append(chr(arg))
        elif name == "RANGE":
            allowed.extend(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 26) + 1))
        elif name == "CATEGORY":
            allowed.extend(_CATEGORIES.get(str(arg), "abcxyz"))
    if negate:
        return next(c for c in "abcxyz0123456789-_ ." if c not in allowed)
    if not allowed:
        raise _NotUnderstood("empty set")
    return allowed[variant % len(allowed)]


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.testing", fake_from_schema)
