"""Public values as fields of your pydantic models: validated, dumped as their JSON form,
read back from it, and described in JSON schemas."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

import promptlib
from promptlib import Message, NativeTool, Prompt, Registry, Tool, ToolCall
from promptlib.testing import MockProvider
from tests.repository.conftest import SHIPPED


class Row(BaseModel):
    prompt: Prompt
    call: ToolCall
    tool: Tool
    native: NativeTool | None = None
    message: Message | None = None


def test_values_round_trip_through_json_and_have_a_schema():
    prompt = Registry(SHIPPED).render("ticket-priority@production", ticket="Site down")
    row = Row(
        prompt=prompt,
        call=ToolCall("c1", "lookup", '{"id": 1}'),
        tool=Tool(name="lookup", description="Find an order."),
        native=NativeTool("anthropic", {"type": "web_search_20250305", "name": "web_search"}),
        message=Message.assistant(tool_calls=(ToolCall("c2", "lookup", "{}"),)),
    )
    again = Row.model_validate_json(row.model_dump_json())
    assert again == row
    assert again.prompt.hash == prompt.hash
    assert row.model_dump()["prompt"]["format"] == "promptlib.prompt/1"
    schema = Row.model_json_schema()
    assert set(schema["properties"]) == {"prompt", "call", "tool", "native", "message"}


def test_a_completion_dumps_what_it_says_and_cost():
    class Logged(BaseModel):
        completion: promptlib.Completion

    prompt = Registry(SHIPPED).render("ticket-priority@production", ticket="Site down")
    dumped = Logged(completion=MockProvider().complete(prompt)).model_dump(mode="json")
    assert dumped["completion"]["output"] == {"priority": "low"}
    assert dumped["completion"]["usage"]["input_tokens"] > 0
    assert dumped["completion"]["prompt_hash"] == prompt.hash
    assert Logged.model_json_schema()["properties"]["completion"]["type"] == "object"


def test_anything_else_is_refused_with_the_type_named():
    with pytest.raises(ValidationError, match=r"expected a promptlib\.Prompt or its JSON form"):
        Row.model_validate({"prompt": 3, "call": {}, "tool": {}})


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("call", {"type": "tool_call", "name": "f", "arguments": "{}"}, "not a tool call: id"),
        ("call", {"type": "tool_call", "id": "c", "name": "f", "arguments": {"x": 1}}, "arguments"),
        ("call", {"type": "tool_call", "id": "c", "name": "f", "arguments": "{}", "x": 1}, "x"),
        ("tool", {"type": "function", "name": "f"}, "not a tool: parameters"),
        ("tool", {"type": "native", "name": "f", "parameters": {}}, "not a tool: type"),
    ],
)
def test_json_forms_are_read_strictly(field, value, problem):
    good = {
        "prompt": Prompt((Message.user("hi"),)).to_dict(),
        "call": ToolCall("c", "f", "{}").to_dict(),
        "tool": Tool(name="f").to_dict(),
    }
    with pytest.raises(ValidationError, match=problem):
        Row.model_validate({**good, field: value})


def test_generic_public_classes_stay_subclassable_and_plain_aliases():
    from typing import TypeVar, get_args, get_origin

    T = TypeVar("T")

    class Logged(promptlib.Completion[T]):
        pass

    class Kept(Prompt[T]):
        pass

    assert issubclass(Logged, promptlib.Completion)
    assert issubclass(Kept, Prompt)
    assert get_origin(Prompt[int]) is Prompt
    assert get_args(promptlib.Completion[int]) == (int,)
