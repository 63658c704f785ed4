"""JSON-schema validation: the fast compiled check must judge exactly as jsonschema does."""

from __future__ import annotations

import re
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from promptlib import Template, TemplateError, User
from promptlib._validation import _fast_compatible, _Validators, schema_violations


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=5)
    tags: list[str] = Field(default_factory=list, max_length=2)


class Order(BaseModel):
    priority: Literal["low", "high"]
    count: int = Field(ge=0, le=3)
    ratio: float | None = None
    items: list[Item] = Field(min_length=1)
    rush: bool = False


SCHEMAS = {
    "ticket": {
        "title": "TicketPriority",
        "type": "object",
        "properties": {"priority": {"type": "string", "enum": ["low", "urgent"]}},
        "required": ["priority"],
        "additionalProperties": False,
    },
    "pydantic": Order.model_json_schema(),
    "numbers and equality": {
        "type": "object",
        "properties": {
            "a": {"enum": [1, True, "1", None, 1.5, [1], {"k": 0}]},
            "b": {"const": 0},
            "c": {"type": "integer", "multipleOf": 0.5, "exclusiveMaximum": 3},
            "d": {"type": ["number", "null"], "minimum": -1},
            "e": {"type": "array", "uniqueItems": True, "maxItems": 3},
        },
        "minProperties": 1,
    },
    "combinators": {
        "type": "object",
        "if": {"properties": {"kind": {"const": "x"}}, "required": ["kind"]},
        "then": {"required": ["x"]},
        "else": {"not": {"required": ["x"]}},
        "properties": {
            "list": {"type": "array", "contains": {"type": "boolean"}},
            "one": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 2}]},
            "all": {"allOf": [{"type": "string"}, {"minLength": 2}]},
        },
        "propertyNames": {"maxLength": 4},
        "maxProperties": 4,
    },
}

keys = st.sampled_from(["priority", "count", "ratio", "items", "rush", "name", "tags"])
keys |= st.sampled_from(["a", "b", "c", "d", "e", "kind", "x", "list", "one", "all", "other"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 5)
    | st.sampled_from([0.0, 1.0, 1.5, 2.5, -1.0, 2.0, 1e300])
    | st.sampled_from(["low", "high", "urgent", "x", "1", "", "abcdef"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=12,
)


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_fast_check_is_used_for_these_schemas(name):
    assert _fast_compatible(SCHEMAS[name])
    assert _Validators(SCHEMAS[name]).fast is not None


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(SCHEMAS)), value=values)
def test_the_fast_check_agrees_with_jsonschema(name, value):
    schema = SCHEMAS[name]
    fast = _Validators(schema).fast
    assert fast is not None
    try:
        fast(value)
        fast_valid = True
    except Exception:
        fast_valid = False
    assert fast_valid == Draft202012Validator(schema).is_valid(value)
    assert (schema_violations(schema, value) == []) == fast_valid


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": "array", "items": [{"type": "string"}]},  # draft 7's tuple form
        {"type": "object", "unevaluatedProperties": False},
        {"type": "object", "dependentRequired": {"a": ["b"]}},
        {"type": "string", "pattern": "^[0-9]+$"},
        {"$ref": "https://example.com/schema.json"},
        {"$ref": "#/$defs/A", "required": ["a"], "$defs": {"A": {"type": "object"}}},
        {"type": "string", "contentEncoding": "base64"},
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"},
    ],
)
def test_other_schemas_are_checked_by_jsonschema_alone(schema):
    assert not _fast_compatible(schema)
    assert _Validators(schema).fast is None


def test_violations_are_listed_by_jsonschema():
    problems = schema_violations(SCHEMAS["ticket"], {"priority": "soon", "extra": 1})
    assert problems == [
        "(root): Additional properties are not allowed ('extra' was unexpected)",
        "priority: 'soon' is not one of ['low', 'urgent']",
    ]


PAYLOAD = "__import__('builtins').__dict__.__setitem__('PROMPTLIB_PWNED', 1)"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "required": [PAYLOAD + "'"]},
        {"type": "object", "properties": {f"a') or {PAYLOAD} or ('": {"type": "string"}}},
        {"enum": [PAYLOAD, f"'{PAYLOAD}'"]},
        {"const": f'"{PAYLOAD}"'},
    ],
)
def test_schema_values_never_become_code(schema):
    # Template files are written by many hands, and their output schemas are compiled.
    import builtins

    assert _Validators(schema).fast is not None
    for value in ({"a": "x"}, "xx", [1], 5, None):
        schema_violations(schema, value)
    assert not hasattr(builtins, "PROMPTLIB_PWNED")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"maxLength": f"1 or {PAYLOAD}"}}},
        {"type": "object", "properties": {"a": {"type": f"string') or {PAYLOAD} or ('"}}},
    ],
)
def test_invalid_schemas_are_refused_when_the_template_is_defined(schema):
    with pytest.raises(TemplateError, match="output= is not a valid JSON schema at properties/a"):
        Template([User("Hi")], name="t", output=schema)


def test_remote_refs_are_refused_when_the_template_is_defined():
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}
    with pytest.raises(TemplateError, match=re.escape("refers to 'https://example.com/a.json'")):
        Template([User("Hi")], name="t", output=schema)


def test_remote_refs_are_never_fetched(monkeypatch):
    import urllib.request

    fetched = []

    def fetch(*args, **kwargs):
        fetched.append(args)
        raise OSError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", fetch)
    schema = {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/a.json"}}}
    assert not _fast_compatible(schema)
    with pytest.raises(Exception, match="Unresolvable"):
        schema_violations(schema, {"a": 1})
    assert fetched == []


@pytest.mark.parametrize("pattern", ["^(a|aa)*$", "^(x+x+)+y$"])
def test_a_pattern_no_check_foresaw_is_stopped_by_its_time_limit(pattern):
    import time

    from promptlib._validation import PATTERN_SECONDS, schema_violations

    schema = {"type": "object", "properties": {"v": {"type": "string", "pattern": pattern}}}
    started = time.monotonic()
    problems = schema_violations(schema, {"v": "a" * 40 + "x" * 40 + "!"})
    assert time.monotonic() - started < PATTERN_SECONDS * 4
    assert problems  # a value the pattern cannot be checked on in time is not accepted
