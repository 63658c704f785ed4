"""Tools, tool calls, tool results and documents on the wire, through the real SDKs with
HTTP mocked at the transport (sync, async and streaming)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import anthropic
import openai
import pytest
from pydantic import BaseModel

from promptlib import (
    AnthropicProvider,
    ConfigurationError,
    DocumentPart,
    ImagePart,
    Message,
    NativePart,
    NativeTool,
    OpenAIProvider,
    OutputSpec,
    Prompt,
    TextPart,
    Tool,
    ToolCall,
    ToolResult,
)
from tests.providers.conftest import Script, response
from tests.providers.test_anthropic_and_streams import anthropic_provider, openai_provider, sse


class GetWeather(BaseModel):
    """Get the current weather in a city."""

    city: str


class Answer(BaseModel):
    summary: str


WEATHER = Tool.from_model(GetWeather)
WEATHER_SCHEMA = {
    "properties": {"city": {"title": "City", "type": "string"}},
    "required": ["city"],
    "type": "object",
}
WEB_SEARCH = NativeTool("anthropic", {"type": "web_search_20250305", "name": "web_search"})
OPENAI_AUDIO = NativePart(
    "openai", {"type": "input_audio", "input_audio": {"data": "AA", "format": "wav"}}
)
THINKING = NativePart("anthropic", {"type": "thinking", "thinking": "hm", "signature": "sig"})

modes = pytest.mark.parametrize("mode", ["sync", "async"])


def prompt_with(*messages: Message, **kwargs: Any) -> Prompt[Any]:
    kwargs.setdefault("tools", (WEATHER,))
    return Prompt(messages=messages or (Message.user("Weather in Paris?"),), **kwargs)


def run(provider: Any, prompt: Prompt[Any], mode: str) -> Any:
    if mode == "async":
        return asyncio.run(provider.acomplete(prompt))
    return provider.complete(prompt)


def read_stream(provider: Any, prompt: Prompt[Any], mode: str) -> tuple[list[str], Any]:
    if mode == "sync":
        stream = provider.stream(prompt)
        deltas = list(stream)
    else:
        stream = provider.astream(prompt)

        async def read() -> list[str]:
            return [delta async for delta in stream]

        deltas = asyncio.run(read())
    return deltas, stream.completion


def build_openai(prompt: Prompt[Any]) -> dict[str, Any]:
    return OpenAIProvider().build_request(prompt, "gpt-4o")


def build_anthropic(prompt: Prompt[Any]) -> dict[str, Any]:
    return AnthropicProvider().build_request(prompt, "claude-sonnet-4-6")


# --- replies ---------------------------------------------------------------------------


def openai_reply(message: dict[str, Any], finish: str, prompt_tokens: int = 50) -> dict[str, Any]:
    return {
        "id": "chatcmpl-tools",
        "object": "chat.completion",
        "created": 1727346143,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "refusal": None, **message},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": 12,
            "total_tokens": prompt_tokens + 12,
        },
    }


OPENAI_CALLS = openai_reply(
    {
        "content": None,
        "tool_calls": [
            {
                "id": "call_paris",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "call_rome",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
            },
        ],
    },
    "tool_calls",
)
OPENAI_FINAL = openai_reply({"content": "Sunny in Paris, rain in Rome."}, "stop", 90)


def anthropic_reply(content: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {
        "id": "msg_tools",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 400, "output_tokens": 30},
    }


ANTHROPIC_CALL = anthropic_reply(
    [
        {"type": "text", "text": "Let me check."},
        {
            "type": "tool_use",
            "id": "toolu_paris",
            "name": "get_weather",
            "input": {"city": "Paris"},
        },
    ],
    "tool_use",
)
ANTHROPIC_FINAL = anthropic_reply([{"type": "text", "text": "Sunny in Paris."}], "end_turn")


# --- tools and tool choice -------------------------------------------------------------


def test_tools_in_each_providers_shape():
    prompt = prompt_with(Message.system("Be brief."), Message.user("Weather in Paris?"))
    assert build_openai(prompt) == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get the current weather in a city.",
                    "parameters": WEATHER_SCHEMA,
                },
            }
        ],
    }
    assert build_anthropic(prompt) == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 16_384,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [
            {
                "name": "get_weather",
                "description": "Get the current weather in a city.",
                "input_schema": WEATHER_SCHEMA,
            }
        ],
    }


CHOICES = [
    # tool_choice, parallel, OpenAI tool_choice, Anthropic tool_choice
    (None, None, None, None),
    (None, False, None, {"type": "auto", "disable_parallel_tool_use": True}),
    ("auto", None, "auto", {"type": "auto"}),
    ("auto", True, "auto", {"type": "auto", "disable_parallel_tool_use": False}),
    ("none", None, "none", {"type": "none"}),
    ("none", False, "none", {"type": "none"}),
    ("required", None, "required", {"type": "any"}),
    ("required", False, "required", {"type": "any", "disable_parallel_tool_use": True}),
    (
        "get_weather",
        None,
        {"type": "function", "function": {"name": "get_weather"}},
        {"type": "tool", "name": "get_weather"},
    ),
    (
        "get_weather",
        True,
        {"type": "function", "function": {"name": "get_weather"}},
        {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": False},
    ),
]


@pytest.mark.parametrize(("choice", "parallel", "sent_openai", "sent_anthropic"), CHOICES)
def test_tool_choice_and_parallel_calls(choice, parallel, sent_openai, sent_anthropic):
    prompt = prompt_with(tool_choice=choice, parallel_tool_calls=parallel)
    to_openai, to_anthropic = build_openai(prompt), build_anthropic(prompt)
    assert to_openai.get("tool_choice") == sent_openai
    assert to_openai.get("parallel_tool_calls") == parallel
    assert to_anthropic.get("tool_choice") == sent_anthropic
    assert "parallel_tool_calls" not in to_anthropic


@modes
@pytest.mark.parametrize("choice", [None, "auto", "none", "required", "get_weather"])
def test_the_sdks_send_the_built_requests(choice, mode, policy):
    prompt = prompt_with(tool_choice=choice, parallel_tool_calls=False)
    script = Script(openai, [response(openai, 200, OPENAI_FINAL)])
    provider = openai_provider(script, policy)
    run(provider, replace(prompt, model="gpt-4o"), mode)
    (body,) = script.bodies()
    assert body == json.loads(json.dumps(provider.build_request(prompt, "gpt-4o")))
    script = Script(anthropic, [response(anthropic, 200, ANTHROPIC_FINAL)])
    provider = anthropic_provider(script, policy)
    run(provider, replace(prompt, model="claude-sonnet-4-6"), mode)
    (body,) = script.bodies()
    assert body == json.loads(json.dumps(provider.build_request(prompt, "claude-sonnet-4-6")))


def test_strict_tools():
    tool = Tool(
        "lookup",
        {"type": "object", "properties": {"a": {"type": "integer", "default": 3}}},
        strict=True,
    )
    prompt = prompt_with(tools=(tool,))
    (sent,) = build_openai(prompt)["tools"]
    assert sent["function"]["strict"] is True
    assert sent["function"]["parameters"]["additionalProperties"] is False
    assert sent["function"]["parameters"]["required"] == ["a"]
    (sent,) = build_anthropic(prompt)["tools"]
    assert sent["strict"] is True
    assert sent["input_schema"] == dict(tool.parameters)
    open_map = Tool("lookup", {"type": "object", "additionalProperties": {}}, strict=True)
    with pytest.raises(ConfigurationError, match="strict=True, and OpenAI's strict mode"):
        build_openai(prompt_with(tools=(open_map,)))


# --- tool history turns ----------------------------------------------------------------


HISTORY = (
    Message.system("Be brief."),
    Message.user("Weather in Paris and Rome?"),
    Message.assistant(
        "Looking.",
        tool_calls=(
            ToolCall("call_1", "get_weather", '{"city":"Paris"}'),
            ToolCall("call_2", "get_weather", '{"city":"Rome"}'),
        ),
    ),
    Message.tool(
        ToolResult("call_1", "sunny"), ToolResult("call_2", "unknown city", is_error=True)
    ),
    Message.assistant(tool_calls=(ToolCall("call_3", "get_weather", '{"city":"Roma"}'),)),
    Message.tool(ToolResult("call_3", "rain")),
    Message.user("Thanks. And tomorrow?"),
)


def test_tool_turns_on_openai():
    assert build_openai(prompt_with(*HISTORY))["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Looking.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "unknown city"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_3",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Roma"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_3", "content": "rain"},
        {"role": "user", "content": "Thanks. And tomorrow?"},
    ]


def test_tool_turns_on_anthropic():
    request = build_anthropic(prompt_with(*HISTORY))
    assert request["system"] == "Be brief."
    assert request["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking."},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "call_2",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "content": "unknown city",
                    "is_error": True,
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_3",
                    "name": "get_weather",
                    "input": {"city": "Roma"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_3", "content": "rain"},
                {"type": "text", "text": "Thanks. And tomorrow?"},
            ],
        },
    ]


def test_rich_tool_results():
    image = ImagePart.from_url("https://example.com/map.png")
    prompt = prompt_with(
        Message.user("Map?"),
        Message.assistant(tool_calls=(ToolCall("call_1", "get_weather", "{}"),)),
        Message.tool(ToolResult("call_1", (TextPart("here"), image, DocumentPart(text="notes")))),
    )
    with pytest.raises(
        ConfigurationError, match="message 2 \\(tool\\): OpenAI's tool messages take text only"
    ):
        build_openai(prompt)
    result = build_anthropic(prompt)["messages"][2]["content"][0]
    assert result == {
        "type": "tool_result",
        "tool_use_id": "call_1",
        "content": [
            {"type": "text", "text": "here"},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/map.png"}},
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
            },
        ],
    }
    two_texts = prompt_with(
        Message.user("x"),
        Message.assistant(tool_calls=(ToolCall("call_1", "get_weather", "{}"),)),
        Message.tool(ToolResult("call_1", (TextPart("a"), TextPart("b")))),
    )
    assert build_openai(two_texts)["messages"][2]["content"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]


def test_unsendable_tool_call_arguments_are_a_configuration_error_on_anthropic():
    prompt = prompt_with(
        Message.user("x"),
        Message.assistant(tool_calls=(ToolCall("call_1", "get_weather", "not json"),)),
        Message.tool(ToolResult("call_1", "x")),
    )
    assert build_openai(prompt)["messages"][1]["tool_calls"][0]["function"]["arguments"] == (
        "not json"
    )
    with pytest.raises(ConfigurationError, match="Anthropic needs a JSON object"):
        build_anthropic(prompt)


# --- documents -------------------------------------------------------------------------

PDF = DocumentPart.from_bytes(b"%PDF-1.4", filename="report.pdf", title="Report")


@pytest.mark.parametrize(
    ("document", "sent_openai", "sent_anthropic"),
    [
        (
            PDF,
            {
                "type": "file",
                "file": {
                    "file_data": "data:application/pdf;base64,JVBERi0xLjQ=",
                    "filename": "report.pdf",
                },
            },
            {
                "type": "document",
                "source": {
                    "type": "base64",
                    "media_type": "application/pdf",
                    "data": "JVBERi0xLjQ=",
                },
                "title": "Report",
            },
        ),
        (
            DocumentPart(file_id="file-abc123"),
            {"type": "file", "file": {"file_id": "file-abc123"}},
            {"type": "document", "source": {"type": "file", "file_id": "file-abc123"}},
        ),
        (
            DocumentPart(text="Plain notes.", title="Notes"),
            "as text or a URL",
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "Plain notes."},
                "title": "Notes",
            },
        ),
        (
            DocumentPart(url="https://example.com/a.pdf"),
            "as text or a URL",
            {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        ),
    ],
)
def test_documents_of_each_kind(document, sent_openai, sent_anthropic):
    prompt = Prompt(messages=(Message.user("Summarize.", document),))
    if isinstance(sent_openai, str):
        with pytest.raises(ConfigurationError, match=f"message 0 \\(user\\): .*{sent_openai}"):
            build_openai(prompt)
    else:
        assert build_openai(prompt)["messages"][0]["content"] == [
            {"type": "text", "text": "Summarize."},
            sent_openai,
        ]
    assert build_anthropic(prompt)["messages"][0]["content"] == [
        {"type": "text", "text": "Summarize."},
        sent_anthropic,
    ]


@modes
def test_documents_are_accepted_by_the_sdks(mode, policy):
    prompt = Prompt(messages=(Message.user("Summarize.", PDF),))
    script = Script(openai, [response(openai, 200, OPENAI_FINAL)])
    run(openai_provider(script, policy), Prompt(prompt.messages, model="gpt-4o"), mode)
    assert script.bodies()[0]["messages"][0]["content"][1]["type"] == "file"
    script = Script(anthropic, [response(anthropic, 200, ANTHROPIC_FINAL)])
    run(
        anthropic_provider(script, policy), Prompt(prompt.messages, model="claude-sonnet-4-6"), mode
    )
    assert script.bodies()[0]["messages"][0]["content"][1]["type"] == "document"


def test_documents_in_system_messages_are_refused_by_both():
    prompt = Prompt(messages=(Message("system", (TextPart("x"), PDF)), Message.user("y")))
    with pytest.raises(ConfigurationError, match=r"message 0 \(system\): .* not DocumentPart"):
        build_openai(prompt)
    with pytest.raises(ConfigurationError, match=r"message 0 \(system\): .* not DocumentPart"):
        build_anthropic(prompt)


# --- provider-native parts and tools ---------------------------------------------------


def test_native_parts_go_to_their_provider_only():
    anthropic_native = prompt_with(
        Message.user("x"), Message("assistant", (THINKING, TextPart("ok")))
    )
    assert build_anthropic(anthropic_native)["messages"][1]["content"][0] == dict(THINKING.block)
    with pytest.raises(ConfigurationError, match="'thinking' block cannot be sent to OpenAI"):
        build_openai(anthropic_native)
    openai_native = prompt_with(Message("user", (TextPart("listen"), OPENAI_AUDIO)))
    assert build_openai(openai_native)["messages"][0]["content"][1] == dict(OPENAI_AUDIO.block)
    with pytest.raises(ConfigurationError, match="'input_audio' block cannot be sent to Anthropic"):
        build_anthropic(openai_native)


def test_native_tools_go_to_their_provider_only():
    prompt = prompt_with(tools=(WEATHER, WEB_SEARCH))
    assert build_anthropic(prompt)["tools"][1] == {
        "type": "web_search_20250305",
        "name": "web_search",
    }
    with pytest.raises(
        ConfigurationError, match="'web_search' is an anthropic tool; OpenAI cannot"
    ):
        build_openai(prompt)
    custom = NativeTool("openai", {"type": "custom", "name": "grammar", "custom": {}})
    assert build_openai(prompt_with(tools=(custom,)))["tools"] == [dict(custom.definition)]
    with pytest.raises(ConfigurationError, match="'grammar' is an openai tool; Anthropic cannot"):
        build_anthropic(prompt_with(tools=(custom,)))


def test_openai_native_parts_in_an_assistant_turn_go_to_openai():
    refusal = NativePart("openai", {"type": "refusal", "refusal": "no"})
    prompt = prompt_with(Message.user("x"), Message("assistant", (TextPart("hm"), refusal)))
    assert build_openai(prompt)["messages"][1]["content"][1] == dict(refusal.block)


# --- the output schema next to tools ---------------------------------------------------


def answer_prompt(**kwargs: Any) -> Prompt[Any]:
    return prompt_with(
        output=OutputSpec("Answer", Answer.model_json_schema()), output_model=Answer, **kwargs
    )


def test_anthropic_answer_tool_beside_the_prompts_tools():
    request = build_anthropic(answer_prompt())
    assert [t["name"] for t in request["tools"]] == ["get_weather", "Answer"]
    assert request["tools"][1]["input_schema"] == Answer.model_json_schema()
    assert "tool_choice" not in request  # the model chooses: a tool, or the answer
    forced = build_anthropic(answer_prompt(tools=()))
    assert forced["tool_choice"] == {"type": "tool", "name": "Answer"}
    assert build_anthropic(answer_prompt(tool_choice="required"))["tool_choice"] == {"type": "any"}
    clash = Tool("Answer", WEATHER_SCHEMA)
    with pytest.raises(ConfigurationError, match="a tool is named 'Answer'"):
        build_anthropic(answer_prompt(tools=(clash,)))
    to_openai = build_openai(answer_prompt())
    assert [t["function"]["name"] for t in to_openai["tools"]] == ["get_weather"]
    assert to_openai["response_format"]["json_schema"]["name"] == "Answer"


@modes
def test_anthropic_reply_through_the_answer_tool_is_the_output(mode, policy):
    reply = anthropic_reply(
        [{"type": "tool_use", "id": "toolu_a", "name": "Answer", "input": {"summary": "Sunny"}}],
        "tool_use",
    )
    script = Script(anthropic, [response(anthropic, 200, reply)])
    completion = run(
        anthropic_provider(script, policy), answer_prompt(model="claude-sonnet-4-6"), mode
    )
    assert completion.output == Answer(summary="Sunny")
    assert completion.tool_calls == ()


@modes
def test_anthropic_reply_calling_a_tool_beside_the_answer_tool(mode, policy):
    script = Script(anthropic, [response(anthropic, 200, ANTHROPIC_CALL)])
    completion = run(
        anthropic_provider(script, policy), answer_prompt(model="claude-sonnet-4-6"), mode
    )
    assert completion.output is None
    assert [c.args for c in completion.tool_calls] == [GetWeather(city="Paris")]


# --- replies with tool calls -----------------------------------------------------------


@modes
def test_openai_tool_calls_are_parsed_into_the_tools_model(mode, policy):
    script = Script(openai, [response(openai, 200, OPENAI_CALLS)])
    completion = run(openai_provider(script, policy), prompt_with(model="gpt-4o"), mode)
    assert completion.output is None
    assert completion.text == ""
    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.name) for c in completion.tool_calls] == [
        ("call_paris", "get_weather"),
        ("call_rome", "get_weather"),
    ]
    assert [c.args for c in completion.tool_calls] == [
        GetWeather(city="Paris"),
        GetWeather(city="Rome"),
    ]
    assert completion.message == Message.assistant(tool_calls=completion.tool_calls)


@modes
def test_anthropic_tool_calls_are_parsed_into_the_tools_model(mode, policy):
    script = Script(anthropic, [response(anthropic, 200, ANTHROPIC_CALL)])
    completion = run(
        anthropic_provider(script, policy), prompt_with(model="claude-sonnet-4-6"), mode
    )
    assert completion.output is None
    assert completion.text == "Let me check."
    assert completion.finish_reason == "tool_use"
    (call,) = completion.tool_calls
    assert (call.id, call.name, json.loads(call.arguments)) == (
        "toolu_paris",
        "get_weather",
        {"city": "Paris"},
    )
    assert call.args == GetWeather(city="Paris")


@modes
def test_a_tool_declared_by_schema_gives_a_dict(mode, policy):
    schema_only = Tool("get_weather", WEATHER_SCHEMA)
    script = Script(openai, [response(openai, 200, OPENAI_CALLS)])
    completion = run(
        openai_provider(script, policy), prompt_with(tools=(schema_only,), model="gpt-4o"), mode
    )
    assert completion.tool_calls[0].args == {"city": "Paris"}


# --- streaming -------------------------------------------------------------------------


def openai_chunk(delta: dict[str, Any] | None, finish: str | None = None, usage=None) -> str:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1727346169,
        "model": "gpt-4o-2024-08-06",
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not None:
        chunk["usage"] = usage
    return f"data: {json.dumps(chunk)}\n\n"


def function_delta(index: int, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = "get_weather"
    return {"tool_calls": [call]}


OPENAI_TOOL_SSE = "".join(
    [
        openai_chunk({"role": "assistant", "content": None}),
        openai_chunk(function_delta(0, "", "call_paris")),
        openai_chunk(function_delta(0, '{"city":')),
        openai_chunk(function_delta(0, '"Paris"}')),
        openai_chunk(function_delta(1, '{"city":"Rome"}', "call_rome")),
        openai_chunk({}, "tool_calls"),
        openai_chunk(
            None, usage={"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}
        ),
        "data: [DONE]\n\n",
    ]
)


def event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def block_delta(index: int, delta: dict[str, Any]) -> str:
    return event(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )


def anthropic_sse(*blocks: str, stop: str = "tool_use") -> str:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_s",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 300, "output_tokens": 1},
        },
    }
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": 40},
    }
    return "".join(
        [
            event("message_start", start),
            *blocks,
            event("message_delta", end),
            event("message_stop", {"type": "message_stop"}),
        ]
    )


def text_block(index: int, text: str) -> str:
    return "".join(
        [
            event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            block_delta(index, {"type": "text_delta", "text": text}),
            event("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]
    )


def tool_block(index: int, kind: str, block_id: str, name: str, *pieces: str) -> str:
    opened = {"type": kind, "id": block_id, "name": name, "input": {}}
    return "".join(
        [
            event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opened},
            ),
            *(block_delta(index, {"type": "input_json_delta", "partial_json": p}) for p in pieces),
            event("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]
    )


ANTHROPIC_TOOL_SSE = anthropic_sse(
    text_block(0, "Let me check."),
    tool_block(1, "tool_use", "toolu_paris", "get_weather", "", '{"city": "Pa', 'ris"}'),
    tool_block(2, "tool_use", "toolu_rome", "get_weather", '{"city": "Rome"}'),
)


@modes
def test_openai_stream_collects_tool_calls(mode, policy):
    script = Script(openai, [])
    script.steps = [sse(script, OPENAI_TOOL_SSE)]
    deltas, completion = read_stream(
        openai_provider(script, policy), prompt_with(model="gpt-4o"), mode
    )
    assert deltas == []
    assert completion.output is None
    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.arguments) for c in completion.tool_calls] == [
        ("call_paris", '{"city":"Paris"}'),
        ("call_rome", '{"city":"Rome"}'),
    ]
    assert [c.args for c in completion.tool_calls] == [
        GetWeather(city="Paris"),
        GetWeather(city="Rome"),
    ]
    assert completion.usage.input_tokens == 50
    assert script.bodies()[0]["tools"][0]["function"]["name"] == "get_weather"


@modes
def test_anthropic_stream_collects_tool_calls(mode, policy):
    script = Script(anthropic, [])
    script.steps = [sse(script, ANTHROPIC_TOOL_SSE)]
    provider = anthropic_provider(script, policy)
    deltas, completion = read_stream(provider, prompt_with(model="claude-sonnet-4-6"), mode)
    assert deltas == ["Let me check."]
    assert completion.text == "Let me check."
    assert completion.output is None
    assert completion.finish_reason == "tool_use"
    assert [c.id for c in completion.tool_calls] == ["toolu_paris", "toolu_rome"]
    assert [c.args for c in completion.tool_calls] == [
        GetWeather(city="Paris"),
        GetWeather(city="Rome"),
    ]
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (300, 40)


@modes
def test_anthropic_stream_of_the_answer_tool_beside_tools_is_the_output(mode, policy):
    script = Script(anthropic, [])
    script.steps = [
        sse(
            script,
            anthropic_sse(tool_block(0, "tool_use", "toolu_a", "Answer", '{"summary": "Sunny"}')),
        )
    ]
    provider = anthropic_provider(script, policy)
    deltas, completion = read_stream(provider, answer_prompt(model="claude-sonnet-4-6"), mode)
    assert "".join(deltas) == '{"summary": "Sunny"}'
    assert completion.output == Answer(summary="Sunny")
    assert completion.tool_calls == ()


def test_anthropic_stream_keeps_server_tool_input_out_of_the_text(policy):
    stream_sse = anthropic_sse(
        tool_block(0, "server_tool_use", "srvtoolu_1", "web_search", '{"query": "paris"}'),
        text_block(1, "Sunny."),
        stop="end_turn",
    )
    script = Script(anthropic, [])
    script.steps = [sse(script, stream_sse)]
    prompt = prompt_with(tools=(WEB_SEARCH,), model="claude-sonnet-4-6")
    _, completion = read_stream(anthropic_provider(script, policy), prompt, "sync")
    assert completion.text == "Sunny."


def test_anthropic_complete_leaves_server_tool_blocks_out_of_the_text(policy):
    reply = anthropic_reply(
        [
            {
                "type": "server_tool_use",
                "id": "srvtoolu_1",
                "name": "web_search",
                "input": {"query": "paris"},
            },
            {"type": "text", "text": "Sunny."},
        ],
        "end_turn",
    )
    script = Script(anthropic, [response(anthropic, 200, reply)])
    prompt = prompt_with(tools=(WEB_SEARCH,), model="claude-sonnet-4-6")
    completion = anthropic_provider(script, policy).complete(prompt)
    assert (completion.text, completion.output, completion.tool_calls) == ("Sunny.", "Sunny.", ())


# --- a full round ----------------------------------------------------------------------


@modes
def test_openai_full_round(mode, policy):
    script = Script(
        openai, [response(openai, 200, OPENAI_CALLS), response(openai, 200, OPENAI_FINAL)]
    )
    provider = openai_provider(script, policy)
    prompt = prompt_with(
        Message.system("Be brief."), Message.user("Paris and Rome?"), model="gpt-4o"
    )
    first = run(provider, prompt, mode)
    results = {
        c.id: {"sky": "sunny" if c.args.city == "Paris" else "rain"} for c in first.tool_calls
    }
    final = run(provider, prompt.with_tool_results(first, results), mode)
    assert final.output == "Sunny in Paris, rain in Rome."
    assert final.tool_calls == ()
    second = script.bodies()[1]
    assert second["messages"][2:] == [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_paris",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_rome",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_paris", "content": '{"sky": "sunny"}'},
        {"role": "tool", "tool_call_id": "call_rome", "content": '{"sky": "rain"}'},
    ]
    assert second["tools"] == script.bodies()[0]["tools"]


@modes
def test_anthropic_full_round(mode, policy):
    script = Script(
        anthropic,
        [response(anthropic, 200, ANTHROPIC_CALL), response(anthropic, 200, ANTHROPIC_FINAL)],
    )
    provider = anthropic_provider(script, policy)
    prompt = prompt_with(
        Message.system("Be brief."), Message.user("Paris?"), model="claude-sonnet-4-6"
    )
    first = run(provider, prompt, mode)
    final = run(provider, prompt.with_tool_results(first, ["sunny"]), mode)
    assert final.output == "Sunny in Paris."
    second = script.bodies()[1]
    assert second["system"] == "Be brief."
    assert second["messages"] == [
        {"role": "user", "content": "Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_paris",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_paris", "content": "sunny"}],
        },
    ]


def test_a_streamed_round_continues_with_complete(policy):
    script = Script(openai, [])
    script.steps = [sse(script, OPENAI_TOOL_SSE), response(openai, 200, OPENAI_FINAL)]
    provider = openai_provider(script, policy)
    prompt = prompt_with(model="gpt-4o")
    _, first = read_stream(provider, prompt, "sync")
    final = provider.complete(prompt.with_tool_results(first, ["sunny", "rain"]))
    assert final.output == "Sunny in Paris, rain in Rome."
    tool_messages = [m for m in script.bodies()[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_paris", "call_rome"]


def test_anthropic_thinking_blocks_survive_a_round(policy):
    reply = anthropic_reply(
        [
            {"type": "thinking", "thinking": "Check the weather.", "signature": "sig=="},
            *ANTHROPIC_CALL["content"][1:],
        ],
        "tool_use",
    )
    script = Script(
        anthropic, [response(anthropic, 200, reply), response(anthropic, 200, ANTHROPIC_FINAL)]
    )
    provider = anthropic_provider(script, policy)
    prompt = prompt_with(
        model="claude-sonnet-4-6",
        params={"extra": {"thinking": {"type": "enabled", "budget_tokens": 2048}}},
    )
    first = provider.complete(prompt)
    provider.complete(prompt.with_tool_results(first, ["sunny"]))
    assistant = script.bodies()[1]["messages"][1]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "Check the weather.",
        "signature": "sig==",
    }
