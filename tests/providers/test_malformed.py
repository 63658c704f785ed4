"""Responses of the wrong shape, settings no request could succeed with, and credentials in
unusual places: always a promptlib error that names the problem, never a bare exception."""

from __future__ import annotations

import asyncio
import copy
import json

import anthropic
import openai
import pytest
from pydantic import AwareDatetime, BaseModel, Field, NaiveDatetime, RootModel

from promptlib import (
    AnthropicProvider,
    AuthenticationError,
    ConfigurationError,
    JsonOutput,
    ModelRefusalError,
    OpenAIProvider,
    ProviderError,
    ProviderUnavailableError,
    QuotaExceededError,
    RetryPolicy,
    Template,
    TemplateError,
    User,
)
from promptlib._errors import StreamStateError
from promptlib._providers.strict_schema import strict_problems, strict_schema
from promptlib._secrets import redact
from promptlib.testing import Failure, MockProvider
from tests.providers.conftest import EXCHANGES, Script, response
from tests.providers.test_anthropic_and_streams import (
    ANTHROPIC,
    COUNT,
    anthropic_provider,
    openai_provider,
    sse,
)
from tests.providers.test_openai import WEATHER

modes = pytest.mark.parametrize("mode", ["sync", "async"])


def run(provider, prompt, mode):
    return asyncio.run(provider.acomplete(prompt)) if mode == "async" else provider.complete(prompt)


def read(provider, prompt):
    stream = provider.stream(prompt)
    return "".join(stream), stream


def structured(**changes):
    body = copy.deepcopy(EXCHANGES["structured"])
    body.update(changes)
    return body


OPENAI_BODIES = {
    "an error sent as a 200": {"error": {"message": "Upstream overloaded", "type": "server_error"}},
    "no choices": structured(choices=[]),
    "null choices": structured(choices=None),
    "a list": [1, 2],
    "a number": 42,
    "a string": "ok",
    "no message": structured(choices=[{"index": 0, "finish_reason": "stop"}]),
}


@modes
@pytest.mark.parametrize("name", list(OPENAI_BODIES))
def test_an_openai_200_of_the_wrong_shape_is_a_provider_error(name, mode, policy):
    script = Script(openai, [response(openai, 200, OPENAI_BODIES[name])])
    with pytest.raises(ProviderError) as info:
        run(openai_provider(script, policy), WEATHER.render(), mode)
    if name == "an error sent as a 200":
        assert isinstance(info.value, ProviderUnavailableError)
        assert "Upstream overloaded" in str(info.value)
    else:
        assert "could not be read" in str(info.value)


@modes
@pytest.mark.parametrize(
    "body",
    [
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        {**ANTHROPIC["tool_use"]["body"], "content": None},
        [],
    ],
)
def test_an_anthropic_200_of_the_wrong_shape_is_a_provider_error(body, mode, policy):
    script = Script(anthropic, [response(anthropic, 200, body)])
    with pytest.raises(ProviderError):
        run(anthropic_provider(script, policy), COUNT.render(), mode)


def test_usage_a_server_leaves_out_counts_as_zero(policy):
    body = structured(usage={"prompt_tokens": None, "completion_tokens": None, "total_tokens": 0})
    script = Script(openai, [response(openai, 200, body)])
    completion = openai_provider(script, policy).complete(WEATHER.render())
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (0, 0)


STREAM_EVENTS = {
    "a number": "data: 42\n\n",
    "an empty object": "data: {}\n\n",
    "a null delta": 'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m",'
    '"choices":[{"index":0,"delta":null}]}\n\n',
}


@pytest.mark.parametrize("name", list(STREAM_EVENTS))
def test_stream_events_of_the_wrong_shape_are_provider_errors(name, policy):
    script = Script(openai, [])
    script.steps = [sse(script, STREAM_EVENTS[name])]
    with pytest.raises(ProviderError, match="the stream could not be read"):
        read(openai_provider(script, policy), WEATHER.render())


def test_a_server_that_answers_a_stream_request_with_json_says_so(policy):
    script = Script(openai, [response(openai, 200, EXCHANGES["structured"])])
    with pytest.raises(ProviderError, match="not a stream of events"):
        read(openai_provider(script, policy), WEATHER.render())


def test_a_stream_is_read_once_and_its_completion_only_at_its_end(policy):
    script = Script(openai, [])
    script.steps = [sse(script, EXCHANGES["structured_sse"])]
    stream = openai_provider(script, policy).stream(WEATHER.render())
    with pytest.raises(StreamStateError):
        _ = stream.completion
    assert "".join(stream)
    with pytest.raises(StreamStateError, match="already read"):
        list(stream)
    assert len(script.requests) == 1
    assert isinstance(StreamStateError("x"), RuntimeError)  # still a RuntimeError


# --- error families ---------------------------------------------------------------------------


@modes
@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (429, {"error": {"message": "account not active", "type": "billing_not_active"}}, {}),
        (402, {"error": {"message": "Insufficient credits", "type": "payment_required"}}, {}),
    ],
)
def test_more_quota_errors_are_never_retried(status, body, headers, mode, policy):
    script = Script(openai, [response(openai, status, body, headers)])
    with pytest.raises(QuotaExceededError):
        run(openai_provider(script, policy), WEATHER.render(), mode)
    assert len(script.requests) == 1


@pytest.mark.parametrize("value", ["False", "FALSE", " false "])
def test_x_should_retry_false_is_honoured_in_any_case(value, policy):
    failing = response(openai, 503, EXCHANGES["error_503"], {"x-should-retry": value})
    script = Script(openai, [failing])
    with pytest.raises(ProviderUnavailableError):
        openai_provider(script, policy).complete(WEATHER.render())
    assert len(script.requests) == 1


def test_errors_mid_stream_with_their_status_in_the_body_or_as_plain_text(policy):
    head = EXCHANGES["structured_sse"].split("\n\n")[:2]
    vllm = {"object": "error", "message": "internal", "type": "InternalServerError", "code": 500}
    script = Script(openai, [])
    script.steps = [sse(script, "\n\n".join([*head, f"data: {json.dumps({'error': vllm})}", ""]))]
    with pytest.raises(ProviderUnavailableError):
        read(openai_provider(script, policy), WEATHER.render())
    events = ANTHROPIC["text_stream"]["sse"].split("\n\n")[:3]
    script = Script(anthropic, [])
    script.steps = [sse(script, "\n\n".join([*events, "event: error\ndata: Overloaded", ""]))]
    prompt = Template(User("hi"), name="t", model="claude-3-haiku-20240307").render()
    with pytest.raises(ProviderUnavailableError) as info:
        read(anthropic_provider(script, policy), prompt)
    assert info.value.request_id == "req_sse"  # from the stream's own headers


@pytest.mark.parametrize(
    "stamp", ["Mon, 01 Jan 99999999999999999999 00:00:00 GMT", "99999-01-01T00:00:00Z"]
)
@pytest.mark.parametrize("header", ["retry-after", "date", "anthropic-ratelimit-requests-reset"])
def test_dates_out_of_range_are_treated_as_absent(header, stamp, policy, clock):
    limited = response(anthropic, 429, EXCHANGES["anthropic_error_429"], {header: stamp})
    script = Script(anthropic, [limited, limited, limited])
    with pytest.raises(ProviderError):
        anthropic_provider(script, policy).complete(COUNT.render())
    assert all(0 <= wait <= 60 for wait in clock.waits)


# --- settings no request could succeed with ----------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"base_url": "localhost:8000/v1"}, "needs http:// or https://"),
        ({"base_url": "ftp://host/v1"}, "needs http:// or https://"),
        ({"base_url": "http://[::1"}, "is not a URL"),
        ({"base_url": "http://host:99999/v1"}, "is not a URL"),
        ({"timeout": "5"}, "timeout='5'"),
        ({"timeout": -1}, "timeout=-1"),
        ({"timeout": float("nan")}, "timeout=nan"),
        ({"retry": 3}, "retry=3"),
        ({"server": 123}, "server=123"),
        ({"strict": "yes"}, "strict='yes'"),
    ],
)
def test_bad_provider_settings_are_refused_naming_the_setting(options, named):
    with pytest.raises(ConfigurationError, match=named.replace("[", r"\[").replace("(", r"\(")):
        OpenAIProvider(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"attempts": "3"},
        {"attempts": 2.5},
        {"attempts": float("inf")},
        {"attempts": 0},
        {"attempts": True},
        {"repairs": 1.5},
        {"repairs": -1},
        {"max_wait": "1"},
        {"jitter": float("inf")},
    ],
)
def test_bad_retry_policies_are_refused(options):
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        RetryPolicy(**options)


def test_many_attempts_never_overflow_the_backoff(clock):
    policy = RetryPolicy(attempts=100, jitter=0, sleep=clock.sleep, async_sleep=clock.async_sleep)
    script = Script(openai, [response(openai, 500, EXCHANGES["error_500"])])
    with pytest.raises(ProviderUnavailableError):
        openai_provider(script, policy).complete(WEATHER.render())
    assert len(script.requests) == 100
    assert max(clock.waits) == policy.max_wait


def test_sending_something_that_is_not_a_prompt_says_what_to_do():
    with pytest.raises(ConfigurationError, match="render a template first"):
        OpenAIProvider(api_key="sk-" + "x" * 20).complete("What is 2 + 2?")  # type: ignore[arg-type]


def test_a_header_http_cannot_carry_is_a_configuration_error(policy):
    script = Script(openai, [response(openai, 200, EXCHANGES["structured"])])
    client = openai.OpenAI(
        api_key="sk-test", http_client=script.client(), default_headers={"x-team": "équipe"}
    )
    with pytest.raises(ConfigurationError, match="cannot carry"):
        OpenAIProvider(client, retry=policy).complete(WEATHER.render())


def test_a_deeply_nested_output_schema_is_refused_when_the_template_is_defined():
    schema: dict = {"type": "string"}
    for _ in range(100):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    with pytest.raises(TemplateError, match="levels deep"):
        Template([User("x")], name="deep", output=schema)


# --- credentials ------------------------------------------------------------------------------


def test_azure_clients_signed_in_with_a_token_are_not_refused(policy):
    script = Script(openai, [response(openai, 200, EXCHANGES["structured"])])
    client = openai.AzureOpenAI(
        azure_ad_token="eyJ0eXAiOiJKV1Qi.token",
        azure_endpoint="https://example.openai.azure.com",
        api_version="2024-10-21",
        http_client=script.client(),
    )
    completion = OpenAIProvider(client, retry=policy).complete(WEATHER.render(), "deployment")
    assert completion.output.city == "San Francisco"


def test_tokens_and_auth_headers_are_checked_and_redacted(policy):
    script = Script(anthropic, [response(anthropic, 200, {})])
    client = anthropic.Anthropic(auth_token="tok-abcdefghij\n", http_client=script.client())
    with pytest.raises(AuthenticationError, match="auth_token"):
        AnthropicProvider(client, retry=policy).complete(COUNT.render())
    assert script.requests == []
    secret = "azurekey0123456789"
    echoed = {"error": {"message": f"bad key {secret}", "type": "invalid_request_error"}}
    script = Script(openai, [response(openai, 400, echoed)])
    client = openai.OpenAI(
        api_key="sk-test", http_client=script.client(), default_headers={"api-key": secret}
    )
    with pytest.raises(ProviderError) as info:
        OpenAIProvider(client, retry=policy).complete(WEATHER.render())
    assert secret not in str(info.value)
    assert "dXNlcjpwYXNzd29yZA" not in redact("authorization: Basic dXNlcjpwYXNzd29yZA==")


# --- schemas ----------------------------------------------------------------------------------


def test_free_form_objects_and_refs_with_siblings_keep_their_meaning():
    raw = {"type": "object", "properties": {"meta": {"type": "object"}}, "required": ["meta"]}
    assert strict_problems(raw) == ("an object of any keys at /properties/meta",)

    class Address(BaseModel):
        street: str

    class Person(BaseModel):
        home: Address = Field(description="where they live")

    schema = Person.model_json_schema()
    home = strict_schema(schema)["properties"]["home"]
    assert "$ref" not in home
    assert home["description"] == "where they live"
    assert home["additionalProperties"] is False


def test_anthropic_tools_carry_object_schemas_only():
    numbers = Template([User("x"), JsonOutput()], name="n", output=RootModel[list[int]])
    request = AnthropicProvider().build_request(numbers.render(), "claude-haiku-4-5")
    assert "tools" not in request  # the answer is asked for in the text instead


# --- the mock ---------------------------------------------------------------------------------


def test_a_fake_answer_the_output_model_refuses_is_a_configuration_error():
    class Meeting(BaseModel):
        at: NaiveDatetime

    class Call(BaseModel):
        at: AwareDatetime

    template = Template([User("x"), JsonOutput()], name="meeting", output=Meeting)
    with pytest.raises(ConfigurationError, match="script a reply for template 'meeting'"):
        MockProvider().complete(template.render())
    other = Template([User("x"), JsonOutput()], name="call", output=Call)
    assert MockProvider().complete(other.render()).output.at.tzinfo is not None


def test_one_reply_alone_answers_every_request_and_bad_replies_are_refused():
    prompt = Template(User("x"), name="t").render()
    assert [MockProvider("Paris").complete(prompt).text for _ in range(2)] == ["Paris", "Paris"]
    with pytest.raises(ProviderError):
        MockProvider(Failure("server_error")).complete(prompt)
    with pytest.raises(ConfigurationError, match="returned int"):
        MockProvider(lambda p: 42).complete(prompt)
    with pytest.raises(ConfigurationError, match="retry_after"):
        Failure("rate_limit", retry_after="2")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="text is for"):
        Failure("timeout", text="ignored")


@pytest.mark.parametrize("model", ["claude-3-5-sonnet-20241022", "claude-opus-4-1-20250805"])
def test_dated_claude_models_are_answered_on_the_anthropic_wire(model):
    mock = MockProvider([Failure("overloaded")], retry=RetryPolicy(attempts=1))
    with pytest.raises(ProviderUnavailableError) as info:
        mock.complete(WEATHER.render(), model)
    assert info.value.status == 529


@modes
def test_a_content_filter_stop_is_a_refusal_not_a_repair(mode):
    mock = MockProvider([Failure("content_filter")])
    with pytest.raises(ModelRefusalError, match="content filter"):
        run(mock, WEATHER.render(), mode)
    mock.assert_called(times=1)


def test_a_reply_without_usage_has_an_unknown_cost_not_a_free_one(policy):
    body = structured(usage=None)
    script = Script(openai, [response(openai, 200, body)])
    completion = openai_provider(script, policy).complete(WEATHER.render())
    assert completion.cost.known is False
    assert completion.cost.total is None
    assert "no usage" in completion.cost.source
