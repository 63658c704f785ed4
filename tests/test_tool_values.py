"""Tool values on the Prompt: parts, tools, messages, hashing, JSON and with_tool_results."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from promptlib import (
    DocumentPart,
    ImagePart,
    JsonOutput,
    Message,
    NativePart,
    NativeTool,
    Prompt,
    PromptFormatError,
    System,
    Template,
    TemplateError,
    TextPart,
    Tool,
    ToolArgumentsError,
    ToolCall,
    ToolResult,
    User,
    count_tokens,
)
from promptlib._tools import check_tool_choice

# Hashes computed with promptlib at commit 9dfe0ea (before tools existed), through a
# `git worktree` of that commit: prompts and templates without tools must keep them.
OLD_SIMPLE_PROMPT_HASH = "sha256:72d977651f83cdb17208f2df5e29f20a5562770cbc22fddbdabbafd46fd8d84a"
OLD_RENDERED_PROMPT_HASH = "sha256:7fb7a7e0c19304e770e82d276319d2eaf70b10a888b97e5cf70c3f8205799e18"
OLD_TEMPLATE_HASH = "sha256:bc386041972e5f7a4dcd8fe143144979ec9048076a8a3b6ff5dd512e89c779de"


class SearchDocs(BaseModel):
    """Search the documentation.

    Returns the best matching pages."""

    query: str = Field(description="what to look for")
    limit: int = 5


class Weather(BaseModel):
    temperature: float
    sky: str


class Answer(BaseModel):
    value: int


class Question(BaseModel):
    q: str


def get_weather(city: str, units: Literal["c", "f"] = "c", days: int = 1) -> str:
    """Get the weather forecast for a city.

    The forecast covers ``days`` days from today.
    """
    return city


def undocumented(x: int) -> int:
    return x


def untyped(city, days: int = 1):  # type: ignore[no-untyped-def]
    return city


def star_args(*cities: str) -> None:
    return None


def star_kwargs(**options: str) -> None:
    return None


WEATHER = Tool.from_function(get_weather)
SEARCH = Tool.from_model(SearchDocs)


def two_calls() -> Message:
    return Message.assistant(
        "Let me check.",
        tool_calls=(
            ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
            ToolCall("call_2", "get_weather", '{"city": "Rome"}'),
        ),
    )


def base_prompt(**kwargs: object) -> Prompt[str]:
    return Prompt(
        messages=(Message.user("Weather in Paris and Rome?"),),
        tools=(WEATHER,),
        model="gpt-4o",
        **kwargs,  # type: ignore[arg-type]
    )


# --- parts -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "has space", "a" * 257, "semi;colon", "slash/", 5, None])
def test_a_tool_call_id_must_be_a_provider_id(bad):
    with pytest.raises(PromptFormatError, match=r"ToolCall id .*call id"):
        ToolCall(bad, "get_weather")
    with pytest.raises(PromptFormatError, match=r"ToolResult id .*call id"):
        ToolResult(bad, "x")


@pytest.mark.parametrize(
    "good", ["call_abc", "toolu_01X9wcHKKAZD9tBC711xipPa", "a.b:c-d", "a" * 256]
)
def test_provider_call_ids_are_accepted(good):
    assert ToolCall(good, "t").id == good
    assert ToolResult(good, "x").call_id == good


def test_tool_call_name_and_arguments_are_checked():
    with pytest.raises(PromptFormatError, match="tool name ''"):
        ToolCall("call_1", "")
    with pytest.raises(PromptFormatError, match=r"JSON text of the arguments \(json.dumps"):
        ToolCall("call_1", "t", {"a": 1})  # type: ignore[arg-type]
    assert ToolCall("call_1", "t").arguments == "{}"


def test_tool_result_content_is_parts_or_text():
    result = ToolResult("call_1", "sunny")
    assert result.content == (TextPart("sunny"),)
    assert result.text == "sunny"
    single = ToolResult("call_1", ImagePart.from_url("https://x/i.png"))
    assert single.content == (ImagePart.from_url("https://x/i.png"),)
    with pytest.raises(PromptFormatError, match="not dict; turn the value into text"):
        ToolResult("call_1", {"a": 1})  # type: ignore[arg-type]
    with pytest.raises(PromptFormatError, match="not ToolCall"):
        ToolResult("call_1", (ToolCall("c", "t"),))  # type: ignore[arg-type]


def test_document_and_native_part_checks():
    with pytest.raises(PromptFormatError, match=r"exactly one of .* not none"):
        DocumentPart()
    with pytest.raises(PromptFormatError, match="not text, url"):
        DocumentPart(text="a", url="https://x")
    with pytest.raises(PromptFormatError, match="needs media_type"):
        DocumentPart(data="AAAA")
    with pytest.raises(PromptFormatError, match="use 'openai' or 'anthropic'"):
        NativePart("gemini", {"type": "x"})  # type: ignore[arg-type]
    with pytest.raises(PromptFormatError, match="with its 'type'"):
        NativePart("anthropic", {"thinking": "x"})
    native = NativePart("anthropic", {"type": "thinking", "thinking": "t", "signature": "s"})
    assert native.type == "thinking"
    with pytest.raises(TypeError):
        native.block["type"] = "other"  # type: ignore[index]  # read-only


# --- tools -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["auto", "none", "required"])
def test_tool_choice_words_cannot_name_a_tool(name):
    with pytest.raises(PromptFormatError, match=f"Tool name '{name}' is a tool_choice value"):
        Tool(name)


@pytest.mark.parametrize("name", ["", "get weather", "a" * 65, "dotted.name", "ünï"])
def test_tool_name_rules(name):
    with pytest.raises(PromptFormatError, match="use 1 to 64 letters, digits, '_' or '-'"):
        Tool(name)


def test_tool_parameters_must_be_an_object_schema():
    with pytest.raises(PromptFormatError, match="JSON schema of type 'object'"):
        Tool("t", {"type": "string"})
    with pytest.raises(PromptFormatError, match="description= must be text"):
        Tool("t", description=5)  # type: ignore[arg-type]
    assert dict(Tool("t").parameters) == {"type": "object", "properties": {}}


def test_native_tool_checks_and_name():
    with pytest.raises(PromptFormatError, match="use 'openai' or 'anthropic'"):
        NativeTool("google", {"type": "x"})  # type: ignore[arg-type]
    with pytest.raises(PromptFormatError, match="'name' or 'type'"):
        NativeTool("anthropic", {"max_uses": 3})
    search = NativeTool("anthropic", {"type": "web_search_20250305", "name": "web_search"})
    assert search.name == "web_search"
    assert NativeTool("anthropic", {"type": "bash_20250124"}).name == "bash_20250124"


def test_openai_native_function_tools_are_named_by_their_function():
    first = NativeTool(
        "openai", {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    )
    second = NativeTool(
        "openai", {"type": "function", "function": {"name": "search", "parameters": {}}}
    )
    prompt = Prompt(messages=(Message.user("x"),), tools=(first, second), tool_choice="lookup")
    assert [t.name for t in prompt.tools] == ["lookup", "search"]


def test_from_function_reads_types_defaults_and_the_docstring_summary():
    assert WEATHER.name == "get_weather"
    assert WEATHER.description == "Get the weather forecast for a city."
    assert dict(WEATHER.parameters) == {
        "type": "object",
        "properties": {
            "city": {"title": "City", "type": "string"},
            "units": {"default": "c", "enum": ["c", "f"], "title": "Units", "type": "string"},
            "days": {"default": 1, "title": "Days", "type": "integer"},
        },
        "required": ["city"],
    }
    model = WEATHER.model
    assert model is not None
    assert model(city="Oslo").model_dump() == {"city": "Oslo", "units": "c", "days": 1}


def test_from_function_overrides_and_no_docstring():
    tool = Tool.from_function(undocumented)
    assert (tool.name, tool.description) == ("undocumented", None)
    named = Tool.from_function(get_weather, name="weather", description="Weather.", strict=True)
    assert (named.name, named.description, named.strict) == ("weather", "Weather.", True)
    assert named.to_dict()["strict"] is True


def test_from_function_refuses_untyped_and_star_parameters():
    with pytest.raises(PromptFormatError, match=r"untyped\): parameter 'city' needs a type"):
        Tool.from_function(untyped)
    with pytest.raises(PromptFormatError, match=r"\*cities cannot be a tool argument"):
        Tool.from_function(star_args)
    with pytest.raises(PromptFormatError, match=r"\*options cannot be a tool argument"):
        Tool.from_function(star_kwargs)


def test_from_model_names_describes_and_keeps_the_model():
    assert SEARCH.name == "search_docs"
    assert SEARCH.description == "Search the documentation.\n\nReturns the best matching pages."
    assert SEARCH.model is SearchDocs
    assert "title" not in SEARCH.parameters
    assert "description" not in SEARCH.parameters
    assert SEARCH.parameters["required"] == ["query"]
    assert SEARCH.to_dict() == {
        "type": "function",
        "name": "search_docs",
        "parameters": dict(SEARCH.parameters),
        "description": "Search the documentation.\n\nReturns the best matching pages.",
    }
    # the model is not part of equality
    assert Tool("search_docs", SEARCH.parameters, SEARCH.description) == SEARCH


def test_from_model_with_a_description_keeps_parameters_the_same():
    described = Tool.from_model(SearchDocs, description="Find pages.")
    assert described.description == "Find pages."
    assert dict(described.parameters) == dict(SEARCH.parameters)


def test_from_model_snake_cases_acronyms_as_words():
    class HTTPFetch(BaseModel):
        url: str

    assert Tool.from_model(HTTPFetch).name == "http_fetch"


# --- messages --------------------------------------------------------------------------


def test_tool_parts_are_refused_in_the_wrong_roles():
    with pytest.raises(PromptFormatError, match="a user message cannot hold a ToolResult"):
        Message("user", (ToolResult("call_1", "x"),))
    with pytest.raises(PromptFormatError, match="user message cannot hold a ToolCall"):
        Message("user", (ToolCall("call_1", "t"),))
    with pytest.raises(PromptFormatError, match="system message cannot hold a ToolCall"):
        Message("system", (ToolCall("call_1", "t"),))
    with pytest.raises(PromptFormatError, match="cannot hold a ToolResult"):
        Message("assistant", (ToolResult("call_1", "x"),))
    with pytest.raises(PromptFormatError, match="tool message holds only ToolResult parts"):
        Message("tool", (TextPart("x"),))
    with pytest.raises(PromptFormatError, match="at least one ToolResult"):
        Message.tool()
    with pytest.raises(PromptFormatError, match="use 'system', 'user', 'assistant' or 'tool'"):
        Message("function", (TextPart("x"),))  # type: ignore[arg-type]


def test_assistant_and_tool_constructors():
    calls = two_calls()
    assert calls.content[0] == TextPart("Let me check.")
    assert [c.id for c in calls.tool_calls] == ["call_1", "call_2"]
    only_calls = Message.assistant(tool_calls=(ToolCall("call_1", "t"),))
    assert only_calls.content == (ToolCall("call_1", "t"),)  # no empty text part
    assert Message.assistant().content == (TextPart(""),)
    tool = Message.tool(ToolResult("call_1", "a"), ToolResult("call_2", "b", is_error=True))
    assert tool.role == "tool"
    assert [r.call_id for r in tool.content] == ["call_1", "call_2"]  # type: ignore[union-attr]


# --- prompt tools ----------------------------------------------------------------------


def test_tool_choice_must_name_a_tool_of_the_prompt():
    with pytest.raises(PromptFormatError, match="'get_wether' names no tool of this prompt"):
        base_prompt(tool_choice="get_wether")
    with pytest.raises(PromptFormatError, match="without tools"):
        Prompt(messages=(Message.user("x"),), tool_choice="auto")
    with pytest.raises(PromptFormatError, match="tool_choice 5"):
        base_prompt(tool_choice=5)
    with pytest.raises(PromptFormatError, match="parallel_tool_calls must be True, False"):
        base_prompt(parallel_tool_calls="yes")
    for choice in ("auto", "none", "required", "get_weather"):
        assert base_prompt(tool_choice=choice).tool_choice == choice
    assert check_tool_choice(None, ()) is None


def test_duplicate_and_foreign_tools_are_refused():
    with pytest.raises(PromptFormatError, match="two tools are named 'get_weather'"):
        Prompt(messages=(), tools=(WEATHER, Tool.from_function(get_weather)))
    clash = NativeTool("anthropic", {"type": "web_search_20250305", "name": "get_weather"})
    with pytest.raises(PromptFormatError, match="two tools are named 'get_weather'"):
        Prompt(messages=(), tools=(WEATHER, clash))
    with pytest.raises(PromptFormatError, match=r"not dict; use Tool\.from_model"):
        Prompt(messages=(), tools=({"name": "x"},))  # type: ignore[arg-type]


def test_prompt_tool_lookup():
    prompt = base_prompt()
    assert prompt.tool("get_weather") is WEATHER
    with pytest.raises(KeyError):
        prompt.tool("nope")


def test_template_tools_are_checked_at_definition_and_carried_by_prompts():
    with pytest.raises(TemplateError, match="names no tool"):
        Template(User("x"), name="t", tools=[WEATHER], tool_choice="nope")
    with pytest.raises(TemplateError, match="two tools are named"):
        Template(User("x"), name="t", tools=[WEATHER, WEATHER])
    template = Template(
        User("x"), name="t", tools=[WEATHER], tool_choice="required", parallel_tool_calls=False
    )
    prompt = template.render()
    assert (prompt.tools, prompt.tool_choice, prompt.parallel_tool_calls) == (
        (WEATHER,),
        "required",
        False,
    )
    assert template.hash != Template(User("x"), name="t").hash


# --- hashes ----------------------------------------------------------------------------


def simple_prompt() -> Prompt[str]:
    return Prompt(
        messages=(
            Message.system("Be brief."),
            Message.user("What is 2+2?"),
            Message.assistant("4"),
        ),
        model="gpt-4o-mini",
        params={"temperature": 0},
    )


def answer_template() -> Template[Question, Answer]:
    return Template(
        [System("Be brief."), User("{{ q }}"), JsonOutput()],
        name="t",
        inputs=Question,
        output=Answer,
        model="gpt-4o-mini",
    )


def test_hashes_without_tools_are_those_from_before_tools():
    assert simple_prompt().hash == OLD_SIMPLE_PROMPT_HASH
    template = answer_template()
    assert template.hash == OLD_TEMPLATE_HASH
    assert template.render(q="2+2?").hash == OLD_RENDERED_PROMPT_HASH
    data = json.loads(simple_prompt().to_json())
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(data)


def test_each_tool_setting_changes_the_hash():
    plain = Prompt(messages=(Message.user("Weather in Paris and Rome?"),), model="gpt-4o")
    hashes = {
        plain.hash,
        base_prompt().hash,
        base_prompt(tool_choice="auto").hash,
        base_prompt(tool_choice="required").hash,
        base_prompt(parallel_tool_calls=False).hash,
        base_prompt(parallel_tool_calls=True).hash,
    }
    assert len(hashes) == 6
    data = json.loads(base_prompt(parallel_tool_calls=False).to_json())
    assert data["parallel_tool_calls"] is False
    assert "tool_choice" not in data


# --- JSON ------------------------------------------------------------------------------


def every_part_prompt() -> Prompt[str]:
    thinking = NativePart("anthropic", {"type": "thinking", "thinking": "hm", "signature": "s"})
    search_result = NativePart(
        "anthropic", {"type": "search_result", "source": "s", "title": "t", "content": []}
    )
    return Prompt(
        messages=(
            Message.system("Sys"),
            Message.user(
                "Look",
                ImagePart.from_url("https://x/y.png", detail="high"),
                ImagePart.from_bytes(b"\x89PNG", "image/png"),
                DocumentPart.from_bytes(b"%PDF-1.4", filename="a.pdf", title="A"),
                DocumentPart(text="plain text", title="T"),
                DocumentPart(url="https://x/doc.pdf"),
                DocumentPart(file_id="file-abc"),
            ),
            Message.assistant("Calling", tool_calls=(ToolCall("call_1", "search_docs", "{}"),)),
            Message.tool(
                ToolResult(
                    "call_1",
                    (
                        TextPart("r"),
                        ImagePart.from_url("https://x/z.png"),
                        DocumentPart(text="d"),
                        search_result,
                    ),
                    is_error=False,
                )
            ),
            Message("assistant", (thinking, TextPart("ok"))),
            Message.user("u", name="bob"),
        ),
        tools=(
            Tool.from_model(SearchDocs, strict=True),
            NativeTool("anthropic", {"type": "web_search_20250305", "name": "web_search"}),
        ),
        tool_choice="search_docs",
        parallel_tool_calls=False,
        model="claude-sonnet-4-5",
        params={"temperature": 0},
    )


def test_json_round_trip_with_every_part_type():
    prompt = every_part_prompt()
    again = Prompt.from_json(prompt.to_json())
    assert again == prompt
    assert again.hash == prompt.hash
    assert again.to_json() == prompt.to_json()
    data = json.loads(prompt.to_json())
    kinds = [p["type"] for m in data["messages"] for p in m["content"]]
    assert {"text", "image", "document", "tool_call", "tool_result", "native"} <= set(kinds)
    assert [t["type"] for t in data["tools"]] == ["function", "native"]
    assert (data["tool_choice"], data["parallel_tool_calls"]) == ("search_docs", False)


def test_an_edited_tool_setting_is_caught():
    data = json.loads(every_part_prompt().to_json())
    data["tool_choice"] = "auto"
    with pytest.raises(PromptFormatError, match="was edited"):
        Prompt.from_dict(data)


def test_a_malformed_tool_part_in_json_names_the_field():
    data = json.loads(every_part_prompt().to_json())
    data["messages"][2]["content"][1]["arguments"] = {"query": "x"}
    with pytest.raises(PromptFormatError, match="arguments"):
        Prompt.from_dict(data)


# --- with_tool_results -----------------------------------------------------------------


def test_results_by_call_id_and_by_order_give_the_same_prompt():
    prompt = base_prompt()
    by_id = prompt.with_tool_results(two_calls(), {"call_2": "rain", "call_1": "sunny"})
    by_order = prompt.with_tool_results(two_calls(), ["sunny", "rain"])
    assert by_id == by_order
    assert by_id.messages[:2] == (prompt.messages[0], two_calls())
    assert by_id.messages[2] == Message.tool(
        ToolResult("call_1", "sunny"), ToolResult("call_2", "rain")
    )
    assert by_id.tools == prompt.tools
    assert prompt.messages == (Message.user("Weather in Paris and Rome?"),)  # unchanged


def test_missing_unknown_and_miscounted_results_are_refused():
    prompt = base_prompt()
    with pytest.raises(PromptFormatError, match=r"missing \['call_2'\], unknown \[\]"):
        prompt.with_tool_results(two_calls(), {"call_1": "x"})
    with pytest.raises(PromptFormatError, match=r"missing \[\], unknown \['call_9'\]"):
        prompt.with_tool_results(two_calls(), {"call_1": "x", "call_2": "y", "call_9": "z"})
    with pytest.raises(PromptFormatError, match="2 tool calls, 1 results"):
        prompt.with_tool_results(two_calls(), ["x"])
    with pytest.raises(PromptFormatError, match="made no tool calls"):
        prompt.with_tool_results(Message.assistant("no tools"), ["x"])
    with pytest.raises(
        PromptFormatError, match="a ToolResult for 'call_2' was given for call 'call_1'"
    ):
        prompt.with_tool_results(two_calls(), [ToolResult("call_2", "x"), "y"])


def test_result_values_models_json_and_tool_results():
    prompt = base_prompt()
    failed = ToolResult("call_2", "no such city", is_error=True)
    out = prompt.with_tool_results(two_calls(), [Weather(temperature=21, sky="clear"), failed])
    first, second = out.messages[-1].content
    assert isinstance(first, ToolResult)
    assert first.text == '{"temperature":21.0,"sky":"clear"}'
    assert second is failed
    out = prompt.with_tool_results(two_calls(), [{"t": 20, "city": "Zürich"}, None])
    texts = [r.text for r in out.messages[-1].content]  # type: ignore[union-attr]
    assert texts == ['{"t": 20, "city": "Zürich"}', "null"]


def test_a_result_that_is_not_json_is_a_clear_error():
    with pytest.raises(PromptFormatError, match="result for call 'call_1' is a object, which"):
        base_prompt().with_tool_results(two_calls(), [object(), "x"])
    with pytest.raises(PromptFormatError, match="result for call 'call_2' is a set"):
        base_prompt().with_tool_results(two_calls(), ["x", {1, 2}])


def test_a_string_is_not_a_list_of_results():
    with pytest.raises(PromptFormatError):
        base_prompt().with_tool_results(two_calls(), "ab")


def test_a_nan_result_is_not_sent_as_invalid_json():
    try:
        out = base_prompt().with_tool_results(two_calls(), [float("nan"), "x"])
    except PromptFormatError:
        return
    json.loads(out.messages[-1].content[0].text, parse_constant=_refuse)  # type: ignore[union-attr]


def _refuse(name: str) -> None:
    raise ValueError(name)


# --- ToolCall.args ---------------------------------------------------------------------


def test_args_validate_into_the_model_naming_the_field():
    call = ToolCall("call_1", "search_docs", '{"query": "pagination"}', model=SearchDocs)
    assert call.args == SearchDocs(query="pagination", limit=5)
    assert call.input == {"query": "pagination"}
    wrong = ToolCall("call_1", "search_docs", '{"query": 5}', model=SearchDocs)
    with pytest.raises(ToolArgumentsError, match="do not match SearchDocs: query:") as info:
        _ = wrong.args
    assert (info.value.tool, info.value.text) == ("search_docs", '{"query": 5}')
    with pytest.raises(ToolArgumentsError, match="query: Field required"):
        _ = ToolCall("call_1", "search_docs", "{}", model=SearchDocs).args


def test_args_that_are_not_a_json_object():
    with pytest.raises(ToolArgumentsError, match=r"'call_1' to 'search_docs': .* not JSON"):
        _ = ToolCall("call_1", "search_docs", "{query", model=SearchDocs).args
    with pytest.raises(ToolArgumentsError, match="must be a JSON object, not an array"):
        _ = ToolCall("call_1", "search_docs", "[1]").input
    assert ToolCall("call_1", "t", "  ").args == {}
    assert ToolCall("call_1", "t", '{"a": 1}').args == {"a": 1}  # no model: a dict


def test_the_model_is_not_part_of_a_calls_identity():
    with_model = ToolCall("call_1", "search_docs", "{}", model=SearchDocs)
    assert with_model == ToolCall("call_1", "search_docs", "{}")
    assert "SearchDocs" not in repr(with_model)


# --- format and counting ---------------------------------------------------------------


def test_format_shows_calls_results_and_tools():
    prompt = base_prompt(tool_choice="auto").with_tool_results(
        two_calls(), ["sunny", ToolResult("call_2", "failed", is_error=True)]
    )
    text = prompt.format()
    assert '[tool call call_1: get_weather({"city": "Paris"})]' in text
    assert "[tool result call_2 (error)]\nfailed" in text
    assert text.endswith("[tools (choice: auto)]\nget_weather")


def test_prompts_with_tools_are_counted_as_estimates():
    prompt = base_prompt().with_tool_results(two_calls(), ["sunny", "rain"])
    count = count_tokens(prompt)
    assert count.exact is False
    kinds = count.by_kind()
    assert kinds.get("tool calls", 0) > 0
    assert kinds.get("tool results", 0) > 0
    plain = count_tokens(Prompt(messages=(Message.user("hi"),), model="gpt-4o"))
    assert plain.exact is True
