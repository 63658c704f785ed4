"""Inputs are checked beyond their types: what validation lets through, a prompt cannot carry."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, create_model

from promptlib import InputError, System, Template, TemplateError, User
from promptlib._templates.environment import RESERVED_NAMES, environment


class Inputs(BaseModel):
    text: str = "x"
    count: int = 1
    data: Any = None
    tags: set[str] = set()
    ratio: float = 0.5


TEMPLATE = Template(
    User("{{ text }} {{ count }} {{ data }} {{ tags }} {{ ratio }}"), name="t", inputs=Inputs
)


def _problem(**values: Any) -> tuple[str, str]:
    with pytest.raises(InputError) as info:
        TEMPLATE.render(**values)
    assert len(info.value.errors) == 1
    return info.value.errors[0]


surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


@given(st.text(), surrogates, st.text())
def test_a_lone_surrogate_is_refused_naming_the_field(before, surrogate, after):
    field, problem = _problem(text=before + surrogate + after)
    assert field == "text"
    assert "lone surrogate" in problem
    assert f"index {len(before)}" in problem


# Nested values: the surrogate sits somewhere inside; the error gives the path to it.
nested = st.recursive(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=5) | st.integers(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet="abc", min_size=1, max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


def _plant(value: Any, bad: str) -> tuple[Any, str]:
    """``value`` with ``bad`` put in its first string-or-leaf slot, and the path to it."""
    if isinstance(value, list) and value:
        inner, path = _plant(value[0], bad)
        return [inner, *value[1:]], f".0{path}"
    if isinstance(value, dict) and value:
        key = next(iter(value))
        inner, path = _plant(value[key], bad)
        return {**value, key: inner}, f".{key}{path}"
    return bad, ""


@given(nested, surrogates)
def test_a_lone_surrogate_anywhere_in_nested_data_is_refused_with_its_path(value, surrogate):
    planted, path = _plant(value, f"a{surrogate}")
    field, problem = _problem(data=planted)
    assert field == f"data{path}"
    assert "lone surrogate" in problem


def test_a_lone_surrogate_in_a_key_is_refused():
    field, problem = _problem(data={"a\udc80": 1})
    assert field.startswith("data (key")
    assert "lone surrogate" in problem


@pytest.mark.parametrize("key", [1, 2.5, None, (1, 2), True])
def test_mapping_keys_must_be_text(key):
    field, problem = _problem(data={"outer": {key: "v"}})
    assert field == "data.outer"
    assert repr(key) in problem
    assert "must be text" in problem


@pytest.mark.parametrize("count", [10**5000, -(10**5000)], ids=["huge", "negative"])
def test_integers_too_large_to_print_are_refused_naming_the_field(count):
    field, problem = _problem(count=count)
    assert field == "count"
    assert "4,300 digits" in problem
    field, _ = _problem(data=[1, {"n": count}])
    assert field == "data.1.n"


def test_integers_up_to_the_limit_render():
    assert TEMPLATE.render(count=10**4000).messages[0].text.count("0") >= 4000


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_unless_the_model_allows_them(value):
    field, problem = _problem(ratio=value)
    assert field == "ratio"
    assert "allow_inf_nan=True" in problem
    assert _problem(data={"x": [value]})[0] == "data.x.0"

    class Allowed(BaseModel):
        model_config = ConfigDict(allow_inf_nan=True)
        ratio: float

    class FieldAllowed(BaseModel):
        ratio: float = Field(allow_inf_nan=True)

    for model in (Allowed, FieldAllowed):
        template = Template(User("{{ ratio }}"), name="t", inputs=model)
        assert template.render(ratio=value).messages[0].text == str(value)


def test_sets_render_sorted_so_the_prompt_is_the_same_in_every_process():
    prompt = TEMPLATE.render(tags={"pear", "apple", "fig"}, data={"s": frozenset({3, 1, 2})})
    assert "['apple', 'fig', 'pear']" in prompt.messages[0].text
    assert "{'s': [1, 2, 3]}" in prompt.messages[0].text
    assert prompt.meta.inputs["tags"] == ["apple", "fig", "pear"]
    code = (
        "from tests.templates.test_hostile_inputs import TEMPLATE;"
        "print(TEMPLATE.render(tags={'pear', 'apple', 'fig', 'kiwi', 'lime'}).hash)"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PYTHONPATH": "."},
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(hashes) == 1


def test_unsortable_sets_are_refused():
    field, problem = _problem(data={1, "a"})
    assert field == "data"
    assert "cannot be sorted" in problem


def test_deeply_nested_inputs_are_refused_not_crashing():
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InputError):
        TEMPLATE.render(data=deep)


def test_checked_values_survive_to_json():
    prompt = TEMPLATE.render(text="héllo ✓", data={"k": [1.5, "v"]}, tags={"b", "a"})
    assert prompt.to_json()


NAMES = sorted(RESERVED_NAMES | set(environment().globals))


@pytest.mark.parametrize("name", [n for n in NAMES if n.isidentifier() and n.islower()])
@pytest.mark.filterwarnings("ignore:Field name .* shadows")
def test_inputs_named_like_jinja_globals_are_refused(name):
    model = create_model("Bad", **{name: (str, "x")})  # type: ignore[call-overload]
    with pytest.raises(TemplateError, match=rf"input '{name}' .* means something else"):
        Template(System("Hi."), name="t", inputs=model)


def test_every_environment_global_is_reserved():
    assert set(environment().globals) <= RESERVED_NAMES


@pytest.mark.parametrize(
    "blocks",
    [
        [User("a\ud800b")],
        [System("ok"), User("{{ text }} \udfff")],
    ],
)
def test_a_lone_surrogate_in_the_template_itself_is_refused(blocks):
    with pytest.raises(TemplateError, match="lone surrogate"):
        Template(blocks, name="t", inputs=Inputs, unused_inputs="ignore")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"\xff\xfe", "cannot be recorded as JSON"),
        (object(), "cannot be recorded as JSON"),
        (range(3), "cannot be recorded as JSON"),
        ((x for x in "ab"), "generator, which prints as its memory address"),
        (iter([1]), "prints as its memory address"),
        (__import__("decimal").Decimal("NaN"), "is NaN"),
    ],
    ids=["bytes", "object", "range", "generator", "iterator", "decimal-nan"],
)
def test_values_a_prompt_cannot_record_are_refused_naming_the_field(value, problem):
    field, message = _problem(data=value)
    assert field == "data"
    assert problem in message


HUGE = 10**5000


class Broken:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize(
    "data",
    [
        {HUGE: 1},
        [{HUGE: 1}],
        {(HUGE,): 1},
        {-HUGE: 1},
        {"a": {HUGE: 1}},
        {("k" * 100_000,): 1},
        {b"k" * 100_000: 1},
        {Broken(): 1},
        {"k" * 100_000: {1.5: 2}},
    ],
    ids=[
        "int",
        "in-list",
        "in-tuple",
        "negative",
        "nested",
        "long-tuple",
        "long-bytes",
        "broken-repr",
        "long-path",
    ],
)
def test_messages_about_keys_are_short_and_never_print_huge_ints(data):
    with pytest.raises(InputError, match="keys of a mapping in a prompt must be text") as info:
        TEMPLATE.render(data=data)
    assert len(str(info.value)) < 600


def test_a_huge_unknown_input_name_is_shown_short():
    with pytest.raises(InputError, match="not an input of this template") as info:
        TEMPLATE.render(**{"w" * 100_000: 1})
    assert len(str(info.value)) < 600


@pytest.mark.parametrize(
    "make",
    [
        lambda: Template([HUGE], name="t"),
        lambda: Template(User(HUGE), name="t"),
        lambda: Template(User("x"), name="t", output=HUGE),
        lambda: Template(User("x"), name="t", inputs=HUGE),
        lambda: Template(User("x"), name="t", params={"max_tokens": HUGE}),
    ],
)
def test_definition_errors_about_a_huge_value_are_short(make):
    with pytest.raises(TemplateError) as info:
        make()
    assert len(str(info.value)) < 600
    assert "digits" in str(info.value)
