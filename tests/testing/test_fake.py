"""Fake answers are valid for the schema and for the pydantic model it came from."""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import ipaddress
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AnyUrl, BaseModel, Field, IPvAnyNetwork, Json, PositiveInt, create_model

from promptlib import ConfigurationError
from promptlib._validation import schema_violations
from promptlib.testing import fake_from_schema


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(gt=0, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    bark: str = Field(pattern=r"^wo+f$")


class Node(BaseModel):
    value: int
    children: list[Node]
    parent: Node | None


class Expression(BaseModel):
    op: Literal["+", "-"]
    left: Union[int, Expression]  # noqa: UP007 - the recursion is what is tested
    right: Union[int, Expression]  # noqa: UP007


# (annotation, field) pairs covering the types and constraints users put in output models.
FIELD_TYPES: list[tuple[Any, Any]] = [
    (str, ...),
    (int, ...),
    (float, ...),
    (bool, ...),
    (datetime.datetime, ...),
    (datetime.date, ...),
    (datetime.time, ...),
    (datetime.timedelta, ...),
    (uuid.UUID, ...),
    (decimal.Decimal, ...),
    (bytes, ...),
    (AnyUrl, ...),
    (ipaddress.IPv4Address, ...),
    (ipaddress.IPv6Address, ...),
    (Path, ...),
    (Color, ...),
    (Literal["a", "b", 3], ...),
    (int, Field(gt=0)),
    (float, Field(gt=0, lt=1)),
    (int, Field(multiple_of=7, gt=10)),
    (float, Field(multiple_of=0.5, ge=2.2)),
    (decimal.Decimal, Field(gt=0, max_digits=5, decimal_places=2)),
    (str, Field(min_length=12)),
    (str, Field(max_length=3, min_length=2)),
    (str, Field(pattern=r"^[A-Z]{3}-\d{4}$")),
    (str, Field(pattern=r"^(?:foo|bar)+[^a-z]\w*$", max_length=20)),
    (tuple[int, str], ...),
    (tuple[int, ...], ...),
    (tuple[()], ...),
    (list[int], Field(min_length=3)),
    (list[str], Field(max_length=0)),
    (set[int], Field(min_length=3)),
    (frozenset[Color], ...),
    (dict[str, int], ...),
    (dict[str, float], Field(min_length=2)),
    (Optional[int], ...),  # noqa: UP045 - both spellings are in users' models
    (int | None, None),
    (Union[int, str], ...),  # noqa: UP007
    (Annotated[Union[Cat, Dog], Field(discriminator="kind")], ...),  # noqa: UP007
    (list[Annotated[Union[Cat, Dog], Field(discriminator="kind")]], Field(min_length=2)),  # noqa: UP007
    (Node, ...),
    (Expression, ...),
    (list[Node], ...),
    (Any, ...),
    (Json[list[int]], ...),
    (PositiveInt, ...),
    (IPvAnyNetwork, ...),
    (dict[int, str], ...),
    (tuple[int, tuple[str, int]], ...),
    (Annotated[str, Field(pattern=r"^\+?[1-9]\d{1,14}$")], ...),
]


def check(schema: dict[str, Any], model: type[BaseModel] | None = None) -> Any:
    value = fake_from_schema(schema)
    assert schema_violations(schema, value) == []
    assert fake_from_schema(copy.deepcopy(schema)) == value  # deterministic, not cached
    if model is not None:
        model.model_validate(value)
    return value


@pytest.mark.parametrize(("annotation", "field"), FIELD_TYPES, ids=repr)
def test_each_type_gives_a_valid_fake(annotation, field):
    model = create_model("Output", answer=(annotation, field))
    check(model.model_json_schema(), model)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(range(len(FIELD_TYPES))), min_size=1, max_size=6))
def test_models_mixing_the_types_give_valid_fakes(indexes):
    fields = {f"f{n}": FIELD_TYPES[i] for n, i in enumerate(indexes)}
    model = create_model("Mixed", **fields)
    check(model.model_json_schema(), model)
    nested = create_model("Outer", inner=(model, ...), many=(list[model], Field(min_length=2)))
    check(nested.model_json_schema(), nested)


def test_recursive_models_terminate():
    value = check(Node.model_json_schema(), Node)
    assert value["children"][0]["children"] == []
    assert value["parent"]["parent"] is None
    check(Expression.model_json_schema(), Expression)


def test_the_openai_strict_form_of_a_schema_gives_valid_fakes():
    from promptlib._providers.strict_schema import strict_problems, strict_schema

    # Only schemas strict mode can express are sent strict (the rest go as they are).
    def expressible(kind):
        return not strict_problems(create_model("One", f=kind).model_json_schema())

    fields = {f"f{i}": t for i, t in enumerate(FIELD_TYPES) if expressible(t)}
    assert len(fields) > 20
    for model in (Node, Cat, create_model("All", **fields)):
        check(strict_schema(model.model_json_schema()), model)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "number", "exclusiveMinimum": 5, "exclusiveMaximum": 5.5},
        {"type": "integer", "minimum": -20, "maximum": -10, "multipleOf": 3},
        {"type": "number", "multipleOf": 0.1, "minimum": 0.25},
        {"type": "array", "prefixItems": [{"type": "string"}, {"const": 1}], "items": False},
        {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "uniqueItems": True},
        {"type": "array", "contains": {"const": "needle"}, "items": {"type": "string"}},
        {
            "type": "object",
            "patternProperties": {"^x-[a-z]+$": {"type": "integer"}},
            "additionalProperties": False,
            "minProperties": 2,
        },
        {"type": "object", "propertyNames": {"maxLength": 3}, "minProperties": 2},
        {"type": "string", "format": "email"},
        {"type": "string", "format": "ipv6", "maxLength": 20},
        {"type": "string", "not": {"const": "example"}},
        {"if": {"type": "string"}, "then": {"minLength": 9}, "type": "string"},
        {"type": ["null", "integer"]},
        {
            "$ref": "#/$defs/A",
            "$defs": {"A": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}},
        },
        {
            "allOf": [
                {"$ref": "#/$defs/Base"},
                {"required": ["b"], "properties": {"b": {"type": "string"}}},
            ],
            "$defs": {
                "Base": {
                    "type": "object",
                    "required": ["a"],
                    "properties": {"a": {"type": "integer"}},
                }
            },
        },
        {"oneOf": [{"type": "integer"}, {"type": "number", "multipleOf": 1}, {"type": "string"}]},
    ],
    ids=lambda s: str(s)[:60],
)
def test_the_json_schema_vocabulary(schema):
    check(schema)


def test_a_schema_that_refers_to_its_root_terminates():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "next": {"$ref": "#"}}}
    assert check(schema) == {"n": 0, "next": {}}


def test_a_part_of_a_document_resolves_its_refs_in_the_root():
    root = {
        "type": "object",
        "properties": {"tag": {"$ref": "#/$defs/Tag"}},
        "$defs": {"Tag": {"type": "string", "minLength": 9}},
    }
    assert fake_from_schema(root["properties"]["tag"], root) == "examplexx"


def test_keeps_the_values_users_see_today():
    schema = {
        "type": "object",
        "properties": {"label": {"enum": ["pos", "neg"]}, "score": {"default": None}},
    }
    assert fake_from_schema(schema) == {"label": "pos", "score": None}


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        (
            {"type": "object", "required": ["n"], "properties": {"n": {"$ref": "#"}}},
            "#/properties/n",
        ),
        (
            {"type": "array", "items": {"enum": [1, 2]}, "minItems": 3, "uniqueItems": True},
            "#/items",
        ),
        ({"type": "object", "properties": {"a": False}, "required": ["a"]}, "#/properties/a"),
        ({"type": "integer", "minimum": 1, "maximum": 2, "multipleOf": 5}, "#"),
    ],
)
def test_an_impossible_schema_says_where_and_to_script_a_reply(schema, where):
    with pytest.raises(ConfigurationError, match="Script the reply") as info:
        fake_from_schema(schema)
    assert f"at {where}" in str(info.value)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "^(ab|cd)*$", "minLength": 12, "maxLength": 12},
        {
            "allOf": [
                {"anyOf": [{"type": "array", "uniqueItems": True, "maxItems": 4}]},
                {"anyOf": [{}, {"type": "boolean"}, {"type": "null"}]},
            ]
        },
        {
            "allOf": [
                {"anyOf": [{"type": "object", "properties": {"c": {"const": "x"}}}]},
                {"anyOf": [{"type": "object", "properties": {"c": {"const": 2}}}]},
            ]
        },
        {
            "type": "array",
            "items": {"type": "array", "items": {"type": "object"}},
            "minItems": 2,
            "uniqueItems": True,
        },
        {"allOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]},
    ],
    ids=["pattern-and-length", "two-any-ofs", "conflicting-optional", "unique-lists", "types"],
)
def test_constraints_that_only_hold_together(schema):
    check(schema)


_SCALARS = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("integer")},
        optional={
            "minimum": st.integers(-5, 5),
            "maximum": st.integers(-5, 5),
            "exclusiveMinimum": st.integers(-5, 5),
            "multipleOf": st.sampled_from([2, 3, 0.5]),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.just("number")},
        optional={
            "minimum": st.floats(-5, 5),
            "exclusiveMaximum": st.floats(-5, 5),
            "multipleOf": st.sampled_from([0.25, 0.1, 3]),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "minLength": st.integers(0, 12),
            "maxLength": st.integers(0, 12),
            "pattern": st.sampled_from([r"^a+$", r"\d{3}", r"^[a-f0-9]{8}-x$", r"^(ab|cd)*$"]),
            "format": st.sampled_from(["date", "email", "uuid", "uri", "date-time"]),
        },
    ),
    st.fixed_dictionaries({"enum": st.lists(st.integers() | st.text(max_size=3), min_size=1)}),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.just({}),
)


def _nested(children):
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": children},
            optional={"minItems": st.integers(0, 3), "uniqueItems": st.booleans()},
        ),
        st.fixed_dictionaries(
            {"type": st.just("array"), "prefixItems": st.lists(children, max_size=3)},
            optional={"items": st.just(False)},
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("object"),
                "properties": st.dictionaries(st.sampled_from("abcd"), children, max_size=3),
            },
            optional={
                "required": st.lists(st.sampled_from("abcd"), max_size=2, unique=True),
                "additionalProperties": st.booleans() | children,
                "minProperties": st.integers(0, 3),
            },
        ),
        st.fixed_dictionaries({"anyOf": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"allOf": st.lists(children, min_size=1, max_size=2)}),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_SCALARS, _nested, max_leaves=8))
def test_any_schema_gives_a_valid_value_or_says_to_script_one(schema):
    try:
        value = fake_from_schema(schema)
    except ConfigurationError as exc:
        message = str(exc)
    else:
        assert schema_violations(schema, value) == []
        return
    assert "Script the reply" in message
