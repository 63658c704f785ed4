"""The OpenAI adapter through the real SDK, HTTP mocked at the transport."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from typing import Literal

import openai
import pytest
from pydantic import BaseModel

from promptlib import (
    AuthenticationError,
    ChainOfThought,
    Completion,
    ConfigurationError,
    ImagePart,
    JsonOutput,
    Message,
    ModelOutputError,
    OpenAIProvider,
    OutputTruncatedError,
    OutputValidationError,
    Prompt,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RequestRejectedError,
    Template,
    User,
)
from tests.providers.conftest import EXCHANGES, Script, response


class Location(BaseModel):
    city: str
    temperature: float
    units: Literal["c", "f"]


WEATHER = Template(
    [User("What's the weather like in SF?"), JsonOutput()],
    name="weather",
    version="1.0.0",
    output=Location,
    model="gpt-4o-2024-08-06",
)


def ok(body=None, **headers):
    return response(openai, 200, body or EXCHANGES["structured"], headers)


def provider(script, policy, **kwargs):
    client = openai.OpenAI(api_key="sk-test-secret", http_client=script.client())
    async_client = openai.AsyncOpenAI(api_key="sk-test-secret", http_client=script.async_client())
    return OpenAIProvider(client, async_client=async_client, retry=policy, **kwargs)


def complete(p, prompt, mode):
    return asyncio.run(p.acomplete(prompt)) if mode == "async" else p.complete(prompt)


modes = pytest.mark.parametrize("mode", ["sync", "async"])


@modes
def test_structured_output_end_to_end(mode, policy):
    script = Script(openai, [ok()])
    completion = complete(provider(script, policy), WEATHER.render(), mode)
    assert completion.output == Location(city="San Francisco", temperature=65, units="f")
    assert completion.text == '{"city":"San Francisco","temperature":65,"units":"f"}'
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (79, 14)
    assert completion.cost.known
    assert str(completion.cost.total) == "0.0003375"  # 79 x $2.50 + 14 x $10 per million
    assert completion.attempts == 1
    assert completion.request_id == "req_123"
    assert completion.finish_reason == "stop"
    assert (completion.template, completion.version) == ("weather", "1.0.0")
    assert completion.template_hash == WEATHER.hash
    assert completion.latency >= 0
    assert set(vars(completion)) == {f.name for f in dataclasses.fields(Completion)}
    assert completion == dataclasses.replace(completion)  # a whole, ordinary dataclass
    (body,) = script.bodies()
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["city", "temperature", "units"]


def test_the_request_is_inspectable_without_sending():
    prompt = Prompt(
        messages=(
            Message.system("Be brief."),
            Message.user("What is it?", ImagePart.from_bytes(b"png", "image/png", detail="low")),
        ),
        model="gpt-4o-mini",
        params={"temperature": 0, "max_tokens": 50, "stop": ["END"], "extra": {"user": "u1"}},
    )
    request = OpenAIProvider().build_request(prompt)
    assert request == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is it?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,cG5n", "detail": "low"},
                    },
                ],
            },
        ],
        "temperature": 0,
        "stop": ["END"],
        "max_completion_tokens": 50,
        "user": "u1",
    }


def test_the_inspected_request_is_what_is_sent(policy):
    script = Script(openai, [ok()])
    p = provider(script, policy)
    prompt = WEATHER.render()
    p.complete(prompt)
    assert script.bodies()[0] == json.loads(json.dumps(p.build_request(prompt)))


def test_fields_with_defaults_become_required_in_strict_mode_keeping_their_type():
    class Ticket(BaseModel):
        title: str
        tags: list[str] = []
        owner: str | None = None

    template = Template([User("x"), JsonOutput()], name="t", output=Ticket, model="gpt-4o")
    schema = OpenAIProvider().build_request(template.render())["response_format"]["json_schema"][
        "schema"
    ]
    assert schema["required"] == ["title", "tags", "owner"]
    assert schema["properties"]["tags"]["type"] == "array"  # null would fail validation
    assert {"type": "null"} in schema["properties"]["owner"]["anyOf"]
    assert "default" not in json.dumps(schema)


def test_chain_of_thought_prompts_do_not_use_native_structured_output():
    template = Template(
        [ChainOfThought(), User("x"), JsonOutput()], name="t", output=Location, model="gpt-4o"
    )
    assert "response_format" not in OpenAIProvider().build_request(template.render())


@modes
def test_invalid_output_is_repaired_then_accepted(mode, policy):
    bad = copy.deepcopy(EXCHANGES["structured"])
    bad["choices"][0]["message"]["content"] = '{"city": "SF"}'
    script = Script(openai, [ok(bad), ok(bad), ok()])
    completion = complete(provider(script, policy), WEATHER.render(), mode)
    assert completion.output.city == "San Francisco"
    assert (completion.attempts, completion.repairs) == (3, 2)
    assert completion.usage.input_tokens == 3 * 79
    repair = script.bodies()[2]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"city": "SF"}'}
    assert "temperature: Field required" in repair[-1]["content"]


@modes
def test_output_still_invalid_after_repairs_keeps_every_attempt(mode, policy):
    bad = copy.deepcopy(EXCHANGES["structured"])
    bad["choices"][0]["message"]["content"] = '{"city": "SF"}'
    script = Script(openai, [ok(bad)])
    with pytest.raises(OutputValidationError) as info:
        complete(provider(script, policy), WEATHER.render(), mode)
    error = info.value
    assert len(error.attempts) == 3
    assert error.usage.input_tokens == 3 * 79
    assert error.text == '{"city": "SF"}'
    assert error.last_response.choices[0].finish_reason == "stop"
    assert len(script.requests) == 3


@modes
def test_a_reply_cut_off_at_max_tokens_is_named_and_not_repaired(mode, policy):
    truncated = EXCHANGES["length"]  # cut off at max_tokens: '{"'
    script = Script(openai, [ok(truncated)])
    capped = Template(
        [User("What's the weather like in SF?"), JsonOutput()],
        name="weather",
        output=Location,
        model="gpt-4o-2024-08-06",
        params={"max_tokens": 1},
    )
    with pytest.raises(OutputTruncatedError) as info:
        complete(provider(script, policy), capped.render(), mode)
    error = info.value
    assert error.max_tokens == 1
    assert error.usage.output_tokens == 1
    assert error.text == '{"'
    assert "cut off at max_tokens=1" in str(error)
    assert len(script.requests) == 1


@modes
def test_rate_limit_waits_as_asked_then_succeeds(mode, policy, clock):
    limited = response(openai, 429, EXCHANGES["error_rate_limit"], {"retry-after": "2"})
    script = Script(openai, [limited, ok()])
    completion = complete(provider(script, policy), WEATHER.render(), mode)
    assert completion.attempts == 2
    assert clock.waits == [2.0]


@modes
def test_try_again_in_the_message_is_honoured(mode, policy, clock):
    limited = response(openai, 429, EXCHANGES["error_rate_limit"])  # "try again in 26.604s"
    script = Script(openai, [limited, ok()])
    complete(provider(script, policy), WEATHER.render(), mode)
    assert clock.waits == [26.604]


@modes
@pytest.mark.parametrize(("status", "body"), [(500, "error_500"), (503, "error_503")])
def test_server_errors_back_off_exponentially_then_fail(mode, policy, clock, status, body):
    script = Script(openai, [response(openai, status, EXCHANGES[body])])
    with pytest.raises(ProviderUnavailableError) as info:
        complete(provider(script, policy), WEATHER.render(), mode)
    assert len(script.requests) == 3  # attempts=3 means exactly 3 HTTP requests
    assert info.value.attempts == 3
    assert info.value.status == status
    assert info.value.request_id == "req_123"
    assert clock.waits == [0.5, 1.0]


@modes
@pytest.mark.parametrize("attempts", [1, 2, 5])
def test_n_attempts_make_exactly_n_requests(mode, clock, attempts):
    from promptlib import RetryPolicy

    policy = RetryPolicy(
        attempts=attempts, jitter=0, sleep=clock.sleep, async_sleep=clock.async_sleep
    )
    script = Script(openai, [response(openai, 500, EXCHANGES["error_500"])])
    with pytest.raises(ProviderUnavailableError):
        complete(provider(script, policy), WEATHER.render(), mode)
    assert len(script.requests) == attempts


@modes
def test_quota_exhausted_is_not_retried(mode, policy, clock):
    script = Script(openai, [response(openai, 429, EXCHANGES["error_quota"])])
    with pytest.raises(QuotaExceededError, match="out of credit"):
        complete(provider(script, policy), WEATHER.render(), mode)
    assert len(script.requests) == 1
    assert clock.waits == []


@modes
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, RequestRejectedError),
        (404, RequestRejectedError),
        (401, AuthenticationError),
        (403, AuthenticationError),
    ],
)
def test_client_errors_fail_at_once(mode, policy, status, error):
    body = {
        "error": {"message": "The model `gpt-9` does not exist", "type": "invalid_request_error"}
    }
    script = Script(openai, [response(openai, status, body)])
    with pytest.raises(error) as info:
        complete(provider(script, policy), WEATHER.render(), mode)
    assert len(script.requests) == 1
    assert info.value.status == status
    assert "sk-test-secret" not in str(info.value)
    assert isinstance(info.value.__cause__, openai.APIStatusError)


@modes
def test_timeouts_and_connection_resets_are_retried(mode, policy):
    http = Script(openai, [ok()]).http
    script = Script(
        openai, [http.ReadTimeout("timed out"), http.ConnectError("connection reset"), ok()]
    )
    assert complete(provider(script, policy), WEATHER.render(), mode).attempts == 3
    timeouts = Script(openai, [http.ReadTimeout("timed out")])
    with pytest.raises(ProviderTimeoutError):
        complete(provider(timeouts, policy), WEATHER.render(), mode)
    resets = Script(openai, [http.ConnectError("connection reset")])
    with pytest.raises(ProviderConnectionError):
        complete(provider(resets, policy), WEATHER.render(), mode)


@modes
def test_a_malformed_body_is_a_provider_error(mode, policy):
    http = Script(openai, [ok()]).http
    broken = http.Response(
        200,
        content=b'{"id": "chatcmpl-1", "choices": [',
        headers={"content-type": "application/json"},
    )
    script = Script(openai, [broken])
    with pytest.raises(ProviderError, match="the response could not be read"):
        complete(provider(script, policy), WEATHER.render(), mode)
    assert len(script.requests) == 1  # a 200 was processed (and billed): not sent again


def test_missing_api_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="set the OPENAI_API_KEY environment variable"):
        OpenAIProvider().complete(WEATHER.render())


def test_api_keys_never_appear_in_reprs(policy):
    p = OpenAIProvider(api_key="sk-test-secret")
    assert "sk-test" not in repr(p)
    assert "sk-test" not in repr(provider(Script(openai, [ok()]), policy))


def test_a_model_is_required():
    with pytest.raises(ConfigurationError, match="no model to send to"):
        OpenAIProvider().build_request(Prompt(messages=(Message.user("hi"),)))
    assert (
        OpenAIProvider().build_request(Prompt(messages=(Message.user("hi"),)), "openai:gpt-4o")[
            "model"
        ]
        == "gpt-4o"
    )


def test_refusals_are_output_errors_and_not_repaired(policy):
    script = Script(openai, [ok(EXCHANGES["refusal"])])
    with pytest.raises(ModelOutputError, match="the model refused: I'm very sorry"):
        provider(script, policy).complete(WEATHER.render())
    assert len(script.requests) == 1


@modes
def test_unwrapped_transport_errors_are_connection_errors(mode, policy):
    import httpcore

    script = Script(openai, [httpcore.ConnectError("refused")])
    with pytest.raises(ProviderConnectionError, match="could not connect"):
        complete(provider(script, policy), WEATHER.render(), mode)
    assert len(script.requests) == 3  # retried like any connection error
