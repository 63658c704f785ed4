"""Public values and errors survive pickle and deepcopy (process pools, caches, copies)."""

from __future__ import annotations

import copy
import inspect
import pickle

import pytest

import promptlib
from promptlib import Registry
from promptlib.evals import load_dataset
from promptlib.testing import Failure, MockProvider
from tests.repository.conftest import SHIPPED


def _round_trips(value):
    for again in (pickle.loads(pickle.dumps(value)), copy.deepcopy(value)):
        assert type(again) is type(value)
        yield again


def test_a_rendered_prompt_and_its_completion():
    prompt = Registry(SHIPPED).render("ticket-priority@production", ticket="Site down")
    for again in _round_trips(prompt):
        assert again == prompt
        assert again.hash == prompt.hash
        assert type(again.params) is type(prompt.params)  # still read-only
        with pytest.raises(TypeError):
            again.meta.inputs["ticket"] = "changed"  # type: ignore[index]
    completion = MockProvider().complete(prompt)
    for again in _round_trips(completion):
        assert again.output == completion.output
        assert again.prompt == prompt


def test_tools_native_parts_cases_and_datasets():
    tool = promptlib.Tool(name="lookup", parameters={"type": "object", "properties": {}})
    part = promptlib.NativePart("anthropic", {"type": "thinking", "thinking": "hm"})
    dataset = load_dataset(SHIPPED.parent / "evals" / "datasets" / "insurance_tickets.jsonl")
    for value in (tool, part, dataset, next(iter(dataset))):
        for again in _round_trips(value):
            assert again == value


@pytest.mark.parametrize(
    "failure", ["rate_limit", "server_error", "quota", "authentication", "refusal", "truncation"]
)
def test_errors_raised_by_a_provider(failure):
    prompt = Registry(SHIPPED).render("ticket-priority@production", ticket="Site down")
    mock = MockProvider([Failure(failure)] * 3, retry=promptlib.RetryPolicy(sleep=lambda s: None))
    with pytest.raises(promptlib.PromptlibError) as raised:
        mock.complete(prompt)
    for again in _round_trips(raised.value):
        assert str(again) == str(raised.value)
        assert vars(again).keys() == vars(raised.value).keys()


def test_every_public_error_class_rebuilds():
    classes = [
        value
        for name in promptlib.__all__
        if inspect.isclass(value := getattr(promptlib, name))
        and issubclass(value, promptlib.PromptlibError)
    ]
    assert len(classes) > 20
    for cls in classes:
        error = cls.__new__(cls, "message")
        error.args = ("message",)
        error.detail = 1  # type: ignore[attr-defined]
        for again in _round_trips(error):
            assert (str(again), again.detail) == ("message", 1)  # type: ignore[attr-defined]
    invalid = promptlib.OutputValidationError(
        "bad", text="t", attempts=[("t", "bad")], usage=None, last_response=None
    )
    for again in _round_trips(invalid):
        assert again.attempts == [("t", "bad")]


def test_tools_from_functions_travel_without_their_run_time_model():
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    tool = promptlib.Tool.from_function(get_weather)
    prompt = promptlib.Template(
        [promptlib.User("Weather in Paris?")], name="w", tools=[tool], model="gpt-4o-mini"
    ).render()
    call = promptlib.ToolCall("c1", "get_weather", '{"city": "Paris"}')
    completion = MockProvider([call]).complete(prompt)
    assert completion.tool_calls[0].args.city == "Paris"
    pickled = pickle.loads(pickle.dumps(completion))
    assert pickled.prompt == prompt  # same schema, same hash
    assert pickled.tool_calls[0].args == {"city": "Paris"}  # arguments as a dict now
    copied = copy.deepcopy(completion)  # a copy keeps every class
    assert copied.tool_calls[0].args.city == "Paris"


def test_copies_keep_classes_pickle_cannot_find():
    from pydantic import BaseModel

    def local_model() -> type[BaseModel]:
        class Local(BaseModel):
            x: int

        return Local

    model = local_model()
    prompt = promptlib.Template([promptlib.User("hi")], name="t", output=model).render()
    for again in (copy.copy(prompt), copy.deepcopy(prompt)):
        assert again.output_model is model
        assert isinstance(again.parse('{"x": 1}'), model)
    tool = promptlib.Tool.from_model(model)
    assert copy.deepcopy(tool).model is model
