"""The Anthropic adapter, streaming on both providers, and the provider registry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import anthropic
import openai
import pytest
from pydantic import BaseModel

from promptlib import (
    AnthropicProvider,
    Assistant,
    ConfigurationError,
    JsonOutput,
    Message,
    OpenAIProvider,
    Prompt,
    ProviderConnectionError,
    ProviderUnavailableError,
    System,
    Template,
    User,
    get_provider,
    register_provider,
)
from tests.providers.conftest import EXCHANGES, Script, response

ANTHROPIC = json.loads(
    (Path(__file__).parents[1] / "data" / "anthropic_exchanges.json").read_text()
)


class Numbers(BaseModel):
    value: list[int]


COUNT = Template(
    [User("Count to 5"), JsonOutput()],
    name="count",
    output=Numbers,
    model="claude-3-haiku-20240307",
)


def anthropic_provider(script, policy, **kwargs):
    client = anthropic.Anthropic(api_key="sk-ant-secret", http_client=script.client())
    async_client = anthropic.AsyncAnthropic(
        api_key="sk-ant-secret", http_client=script.async_client()
    )
    return AnthropicProvider(client, async_client=async_client, retry=policy, **kwargs)


def openai_provider(script, policy):
    client = openai.OpenAI(api_key="sk-test", http_client=script.client())
    async_client = openai.AsyncOpenAI(api_key="sk-test", http_client=script.async_client())
    return OpenAIProvider(client, async_client=async_client, retry=policy)


def sse(script, text, request_id="req_sse"):
    return script.http.Response(
        200,
        content=text.encode(),
        headers={
            "content-type": "text/event-stream",
            "request-id": request_id,
            "x-request-id": request_id,
        },
    )


modes = pytest.mark.parametrize("mode", ["sync", "async"])


def run(provider, prompt, mode):
    return asyncio.run(provider.acomplete(prompt)) if mode == "async" else provider.complete(prompt)


def test_anthropic_request_conversion():
    prompt = Prompt(
        messages=(
            Message.system("Be brief."),
            Message.user("Hi"),
            Message.user("Again"),
            Message.assistant("Sure:"),
        ),
        model="anthropic:claude-sonnet-4-5",
        params={"temperature": 0.2, "stop": ["END"]},
    )
    assert AnthropicProvider().build_request(prompt) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 16_384,
        "system": "Be brief.",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "Again"}],
            },
            {"role": "assistant", "content": "Sure:"},
        ],
        "extra_body": {"temperature": 0.2},
        "stop_sequences": ["END"],
    }
    with pytest.raises(ConfigurationError, match="Anthropic's API has no seed"):
        AnthropicProvider().build_request(
            Template(User("x"), name="t", params={"seed": 1}).render(), "claude-haiku-4-5"
        )


def test_anthropic_structured_output_is_a_forced_tool_call():
    request = AnthropicProvider().build_request(COUNT.render())
    assert request["tool_choice"] == {"type": "tool", "name": "Numbers"}
    assert request["tools"][0]["input_schema"] == Numbers.model_json_schema()


@modes
def test_anthropic_reply_with_cache_usage(mode, policy):
    template = Template(
        [System("Answer in one sentence."), User("What is Python?")],
        name="py",
        model="claude-sonnet-4-6",
    )
    script = Script(
        anthropic,
        [response(anthropic, 200, ANTHROPIC["cached_text"]["body"], {"request-id": "req_a1"})],
    )
    completion = run(anthropic_provider(script, policy), template.render(), mode)
    assert completion.text.startswith("Python is a beginner-friendly")
    usage = completion.usage
    assert (
        usage.input_tokens,
        usage.cached_input_tokens,
        usage.cache_write_tokens,
        usage.output_tokens,
    ) == (1532, 1111, 418, 33)
    # $3/M input, $0.30/M cache read, $3.75/M cache write, $15/M output
    assert str(completion.cost.total) == "0.0024048"  # 3 plain + 1111 read + 418 written + 33 out
    assert completion.request_id == "req_a1"
    assert completion.finish_reason == "end_turn"
    body = json.loads(script.requests[0].content)
    assert body["system"] == "Answer in one sentence."
    assert body["max_tokens"] == 16_384


@modes
def test_anthropic_tool_call_parses_into_the_model(mode, policy):
    body = json.loads(json.dumps(ANTHROPIC["tool_use"]["body"]))
    body["content"][0]["input"] = {"value": [1, 2, 3, 4, 5]}
    script = Script(anthropic, [response(anthropic, 200, body)])
    assert run(anthropic_provider(script, policy), COUNT.render(), mode).output == Numbers(
        value=[1, 2, 3, 4, 5]
    )


@modes
def test_anthropic_overloaded_529_is_retried(mode, policy, clock):
    overloaded = response(anthropic, 529, EXCHANGES["anthropic_error_529"])
    script = Script(anthropic, [overloaded, overloaded, overloaded])
    with pytest.raises(ProviderUnavailableError, match="anthropic"):
        run(anthropic_provider(script, policy), COUNT.render(), mode)
    assert len(script.requests) == 3
    assert clock.waits == [0.5, 1.0]


def test_anthropic_stream_of_a_tool_call(policy):
    script = Script(anthropic, [])
    script.steps = [sse(script, ANTHROPIC["tool_stream"]["sse"])]
    stream = anthropic_provider(script, policy).stream(COUNT.render())
    deltas = list(stream)
    assert "".join(deltas) == '{"value": [1, 2, 3, 4, 5]}'
    completion = stream.completion
    assert completion.output == Numbers(value=[1, 2, 3, 4, 5])
    assert completion.usage.input_tokens == 438
    assert completion.finish_reason == "tool_use"
    assert json.loads(script.requests[0].content)["stream"] is True


def test_anthropic_async_stream_of_text(policy):
    script = Script(anthropic, [])
    script.steps = [sse(script, ANTHROPIC["text_stream"]["sse"], "req_s")]
    template = Template(User("Say hi"), name="hi", model="claude-haiku-4-5")
    stream = anthropic_provider(script, policy).astream(template.render())

    async def read():
        return [delta async for delta in stream]

    deltas = asyncio.run(read())
    assert deltas
    assert stream.completion.text == "".join(deltas)
    assert stream.completion.usage.input_tokens == 10
    assert stream.completion.request_id == "req_s"


@modes
def test_openai_stream_yields_deltas_then_the_completion(mode, policy):
    script = Script(openai, [])
    script.steps = [sse(script, EXCHANGES["structured_sse"])]
    from tests.providers.test_openai import WEATHER, Location

    provider = openai_provider(script, policy)
    if mode == "sync":
        stream = provider.stream(WEATHER.render())
        deltas = list(stream)
    else:
        stream = provider.astream(WEATHER.render())

        async def read():
            return [delta async for delta in stream]

        deltas = asyncio.run(read())
    assert len(deltas) > 3
    assert stream.completion.output == Location(city="San Francisco", temperature=61, units="f")
    assert stream.completion.usage.input_tokens == 79
    body = json.loads(script.requests[0].content)
    assert body["stream_options"] == {"include_usage": True}


def test_a_stream_cut_off_midway_is_a_connection_error(policy):
    script = Script(openai, [])
    head = EXCHANGES["structured_sse"][:700]

    def cut():
        yield head.encode()
        raise script.http.ReadError("connection reset by peer")

    script.steps = [
        script.http.Response(200, content=cut(), headers={"content-type": "text/event-stream"})
    ]
    from tests.providers.test_openai import WEATHER

    stream = openai_provider(script, policy).stream(WEATHER.render())
    received: list[str] = []
    with pytest.raises(ProviderConnectionError, match="the stream was cut off after"):
        received.extend(stream)
    assert received  # what arrived was delivered
    with pytest.raises(RuntimeError, match="read the stream to its end"):
        _ = stream.completion


def test_completion_before_the_end_of_the_stream_is_refused(policy):
    script = Script(openai, [])
    script.steps = [sse(script, EXCHANGES["structured_sse"])]
    from tests.providers.test_openai import WEATHER

    with pytest.raises(RuntimeError):
        _ = openai_provider(script, policy).stream(WEATHER.render()).completion


def test_provider_registry():
    provider, model = get_provider("openai:gpt-4o-mini")
    assert isinstance(provider, OpenAIProvider)
    assert model == "gpt-4o-mini"
    provider, model = get_provider("claude-sonnet-4-5")
    assert isinstance(provider, AnthropicProvider)
    with pytest.raises(ConfigurationError, match="no provider 'opnai'; did you mean 'openai'"):
        get_provider("opnai:gpt-4o")

    class Echo:
        pass

    register_provider("echo", Echo)
    assert isinstance(get_provider("echo:any")[0], Echo)


def test_prefill_is_sent_as_the_last_assistant_turn():
    prompt = Template(
        [User("Name a color."), Assistant("The color is")], name="c", model="claude-haiku-4-5"
    ).render()
    assert AnthropicProvider().build_request(prompt)["messages"][-1] == {
        "role": "assistant",
        "content": "The color is",
    }
