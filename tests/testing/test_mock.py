from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from promptlib import (
    ConfigurationError,
    JsonOutput,
    OutputValidationError,
    ProviderUnavailableError,
    RateLimitError,
    RetryPolicy,
    Template,
    User,
    count_tokens,
)
from promptlib.testing import Failure, MockProvider
from tests.conftest import Triage


class Label(BaseModel):
    label: str
    score: float | None = None


def label_template():
    from pydantic import BaseModel as _Base

    class Inputs(_Base):
        text: str

    return Template(
        [User("Label {{ text }}."), JsonOutput()],
        name="label",
        version="2.0.0",
        inputs=Inputs,
        output=Label,
        model="gpt-4o-mini",
    )


def test_default_replies_are_schema_valid_fakes():
    prompt = label_template().render(text="great")
    completion = MockProvider().complete(prompt)
    assert completion.output == Label(label="example", score=None)
    assert completion.provider == "mock"
    assert completion.usage.input_tokens == count_tokens(prompt, "gpt-4o-mini").total
    assert completion.usage.output_tokens > 0
    assert completion.cost.known
    assert (completion.template, completion.version) == ("label", "2.0.0")


def test_scripted_list_in_order_then_the_last_repeats():
    mock = MockProvider(["first", "second"])
    prompt = Template(User("hi"), name="t").render()
    assert [mock.complete(prompt).text for _ in range(3)] == ["first", "second", "second"]


def test_replies_by_template_name_and_by_function(triage):
    mock = MockProvider(
        {
            "label": {"label": "pos"},
            "triage": ['<answer>{"priority": "high", "category": "bug", "summary": "s"}</answer>'],
        }
    )
    assert mock.complete(label_template().render(text="x")).output == Label(label="pos")
    assert mock.complete(triage.render(company="A", ticket="t")).output == Triage(
        priority="high", category="bug", summary="s"
    )
    with pytest.raises(ConfigurationError, match="no reply for template 'other'"):
        mock.complete(Template(User("x"), name="other").render())
    echo = MockProvider(lambda prompt: prompt.messages[-1].text.upper())
    assert echo.complete(Template(User("shout"), name="t").render()).output == "SHOUT"


def test_chain_of_thought_fakes_are_in_the_asked_form(triage):
    completion = MockProvider().complete(triage.render(company="A", ticket="t"))
    assert completion.reasoning == "mock reasoning"
    assert isinstance(completion.output, Triage)


def test_calls_are_recorded_with_the_real_request_and_can_be_asserted():
    mock = MockProvider()
    prompt = label_template().render(text="great")
    mock.complete(prompt)
    mock.assert_called(times=1)
    call = mock.assert_called_with("label", version="2.0.0", text="great")
    assert call.request["response_format"]["json_schema"]["strict"] is True
    assert call.request["messages"][0] == {"role": "user", "content": "Label great."}
    with pytest.raises(AssertionError, match=r"no call matched label@\* \{'text': 'bad'\}"):
        mock.assert_called_with("label", text="bad")
    with pytest.raises(AssertionError, match="called 1 times, not 2"):
        mock.assert_called(times=2)


def test_simulated_failures_go_through_the_real_retry_policy():
    prompt = label_template().render(text="x")
    mock = MockProvider([Failure("rate_limit", retry_after=2), {"label": "ok"}])
    completion = mock.complete(prompt)
    assert (completion.output, completion.attempts) == (Label(label="ok"), 2)
    assert mock.waits == [2.0]
    with pytest.raises(RateLimitError, match=r"simulated.*after 3 attempts"):
        MockProvider([Failure("rate_limit")]).complete(prompt)
    once = MockProvider([Failure("server_error"), "never"], retry=RetryPolicy(attempts=1))
    with pytest.raises(ProviderUnavailableError):
        once.complete(prompt)
    once.assert_called(times=1)
    repaired = MockProvider([Failure("invalid_output"), {"label": "ok"}]).complete(prompt)
    assert (repaired.output, repaired.repairs, repaired.attempts) == (Label(label="ok"), 1, 2)
    with pytest.raises(OutputValidationError) as info:
        MockProvider([Failure("invalid_output")]).complete(prompt)
    assert len(info.value.attempts) == 3
    with pytest.raises(ConfigurationError, match="use one of 'authentication'"):
        Failure("meteor")


def test_async_and_streaming_behave_like_the_real_adapters():
    prompt = label_template().render(text="x")
    mock = MockProvider([{"label": "streamed"}])
    assert asyncio.run(mock.acomplete(prompt)).output == Label(label="streamed")
    stream = mock.stream(prompt)
    with pytest.raises(RuntimeError):
        _ = stream.completion
    pieces = list(stream)
    assert "".join(pieces) == '{"label": "streamed"}'
    assert len(pieces) > 1
    assert stream.completion.output == Label(label="streamed")

    async def read():
        astream = mock.astream(prompt)
        return [piece async for piece in astream], astream.completion

    pieces, completion = asyncio.run(read())
    assert completion.output.label == "streamed"


def test_the_mock_is_a_registered_provider():
    from promptlib import get_provider

    provider, model = get_provider("mock:gpt-4o")
    assert isinstance(provider, MockProvider)
    assert model == "gpt-4o"


def test_recorded_requests_are_those_of_the_models_own_adapter():
    mock = MockProvider()
    prompt = label_template().render(text="x")
    mock.complete(prompt, "claude-haiku-4-5")
    assert mock.calls[-1].request["tool_choice"] == {"type": "tool", "name": "Label"}
    mock.complete(prompt, "gpt-4o")
    assert "response_format" in mock.calls[-1].request
