"""A sweep over pydantic's types: strict mode is used only where it keeps the schema's meaning."""

from __future__ import annotations

import datetime
import decimal
import enum
import ipaddress
import uuid
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import AnyUrl, BaseModel, Field, ValidationError, create_model

from promptlib import JsonOutput, OpenAIProvider, Template, User
from promptlib._providers.strict_schema import strict_problems, strict_schema


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Node(BaseModel):
    name: str
    children: list[Node] = []


TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "optional int": int | None,
    "list[str]": list[str],
    "list of models": list[Cat],
    "literal": Literal["a", "b"],
    "enum": Color,
    "union": int | str,
    "discriminated union": Annotated[Cat | Dog, Field(discriminator="kind")],
    "recursive model": Node,
    "datetime": datetime.datetime,
    "date": datetime.date,
    "time": datetime.time,
    "timedelta": datetime.timedelta,
    "uuid": uuid.UUID,
    "decimal": decimal.Decimal,
    "bytes": bytes,
    "ipv4": ipaddress.IPv4Address,
    "url": AnyUrl,
    "positive int": Annotated[int, Field(gt=0)],
    "bounded float": Annotated[float, Field(ge=0, le=1)],
    "multiple of": Annotated[int, Field(multiple_of=5)],
    "min-length list": Annotated[list[int], Field(min_length=1, max_length=3)],
    "pattern": Annotated[str, Field(pattern=r"^[a-z]+$")],
    "constrained str": Annotated[str, Field(min_length=2, max_length=5)],
    "dict[str, float]": dict[str, float],
    "dict[str, model]": dict[str, Cat],
    "Any": Any,
    "tuple": tuple[int, str],
    "set": set[int],
    "frozenset": frozenset[str],
    "nested optional model": Cat | None,
}


def model_with(kind: Any) -> type[BaseModel]:
    return create_model("Answer", value=(kind, ...), note=(str, "none"), count=(int, 0))


def request_for(model: type[BaseModel]) -> dict[str, Any]:
    template = Template([User("x"), JsonOutput()], name="t", output=model, model="gpt-4o")
    return OpenAIProvider().build_request(template.render())["response_format"]["json_schema"]


@pytest.mark.parametrize("name", list(TYPES))
def test_every_type_is_sent_strict_only_when_strict_keeps_its_meaning(name):
    model = model_with(TYPES[name])
    schema = model.model_json_schema()
    sent = request_for(model)
    if strict_problems(schema):
        assert sent["strict"] is False
        assert sent["schema"] == schema  # sent as pydantic wrote it
    else:
        assert sent["strict"] is True
        assert sent["schema"]["required"] == ["value", "note", "count"]
        jsonschema.Draft202012Validator.check_schema(sent["schema"])


EXPECTED_NON_STRICT = {
    "bytes",
    "dict[str, float]",
    "dict[str, model]",
    "Any",
    "tuple",
    "set",
    "frozenset",
    "constrained str",
    "url",
}


def test_what_strict_mode_cannot_express_is_named():
    non_strict = {
        name
        for name, kind in TYPES.items()
        if strict_problems(model_with(kind).model_json_schema())
    }
    assert non_strict == EXPECTED_NON_STRICT
    problems = strict_problems(model_with(dict[str, float]).model_json_schema())
    assert problems == ("an open map (additionalProperties) at /properties/value",)


def test_a_default_never_becomes_null_which_validation_would_refuse():
    sent = request_for(model_with(int))["schema"]
    assert sent["properties"]["count"] == {"title": "Count", "type": "integer"}
    assert "count" in sent["required"]


STRICT_TYPES = [name for name in TYPES if name not in EXPECTED_NON_STRICT]
leaf = st.builds(Node, name=st.text(max_size=5), children=st.just([]))
VALUES = {  # where the type alone does not say how to make valid values
    "recursive model": st.builds(
        Node, name=st.text(max_size=5), children=st.lists(leaf, max_size=2)
    ),
    "bounded float": st.floats(0, 1),
    "positive int": st.integers(min_value=1),
    "multiple of": st.integers(-100, 100).map(lambda n: n * 5),
    "min-length list": st.lists(st.integers(), min_size=1, max_size=3),
    "pattern": st.from_regex(r"[a-z]+", fullmatch=True),
}


@pytest.mark.parametrize("name", STRICT_TYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_valid_answer_is_allowed_by_the_strict_schema(name, data):
    model = model_with(TYPES[name])
    try:
        values = VALUES[name] if name in VALUES else st.from_type(TYPES[name])
        instance = data.draw(st.builds(model, value=values))
    except (ValidationError, TypeError, ValueError):
        assume(False)
    answer = instance.model_dump(mode="json")
    strict = strict_schema(model.model_json_schema())
    jsonschema.Draft202012Validator(strict).validate(answer)
    assert model.model_validate(answer) == instance
