"""Against a real OpenAI-compatible server: llama.cpp (llama-cpp-python) with SmolLM2-135M.

`.ci/llama-server start` starts it on 127.0.0.1 and prints its URL; CI sets
PROMPTLIB_LLAMA_URL to it. Elsewhere these tests are skipped unless that variable is set.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from pydantic import BaseModel

from promptlib import (
    JsonOutput,
    OpenAIProvider,
    RetryPolicy,
    System,
    Template,
    UnsupportedFeatureError,
    User,
)

URL = os.environ.get("PROMPTLIB_LLAMA_URL")

if not URL and os.environ.get("CI") == "true":
    pytest.fail("CI must start the llama.cpp server (.ci/llama-server) and set PROMPTLIB_LLAMA_URL")

pytestmark = [
    pytest.mark.skipif(not URL, reason="no llama.cpp server: run .ci/llama-server start"),
    pytest.mark.allow_provider_requests,  # 127.0.0.1 only
]


class City(BaseModel):
    city: str


SAY = Template(
    [System("You are terse."), User("Write a long story about a dragon.")],
    name="story",
    model="smollm2",
    params={"max_tokens": 8, "temperature": 0, "seed": 1},
)
CITY = Template(
    [User("Name one city in France."), JsonOutput()],
    name="city",
    output=City,
    model="smollm2",
    params={"max_tokens": 40, "temperature": 0, "seed": 1},
)


def provider(**kwargs):
    return OpenAIProvider(base_url=URL, retry=RetryPolicy(attempts=2, initial_wait=0.1), **kwargs)


@pytest.mark.parametrize("server", [None, "llama-cpp-python"])
def test_the_token_limit_is_honoured(server):
    completion = provider(server=server).complete(SAY.render())
    assert completion.usage.output_tokens <= 8
    assert completion.finish_reason == "length"
    assert completion.attempts == 1


def test_a_stream_is_capped_and_ends_with_its_finish_reason():
    stream = provider(server="llama-cpp-python").stream(SAY.render())
    text = "".join(stream)
    assert stream.completion.text == text
    assert stream.completion.finish_reason == "length"


def test_a_refused_structured_output_mode_is_a_clear_error_not_an_outage():
    with pytest.raises(UnsupportedFeatureError, match="llama-cpp-python") as info:
        provider().complete(CITY.render())
    assert info.value.attempts == 1
    assert info.value.feature == "response_format json_schema"


def test_structured_output_through_the_servers_own_mode():
    completion = provider(server="llama-cpp-python").complete(CITY.render())
    assert isinstance(completion.output, City)
    assert completion.output.city


def test_one_provider_serves_several_event_loops():
    sender = provider(server="llama-cpp-python")
    first = asyncio.run(sender.acomplete(SAY.render()))
    second = asyncio.run(sender.acomplete(SAY.render()))
    assert first.text == second.text  # temperature 0, same seed
