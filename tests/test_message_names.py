"""Message names: carried by the Prompt, sent by OpenAI, refused by Anthropic, counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptlib import ConfigurationError, PromptFormatError, count_tokens
from promptlib._messages import Message, Prompt, TextPart
from promptlib._providers.anthropic import AnthropicProvider
from promptlib._providers.openai import OpenAIProvider

DATA = Path(__file__).parent / "data" / "openai_prompt_tokens.jsonl"
NAMED = [
    r
    for r in map(json.loads, DATA.read_text().splitlines())
    if any("name" in m for m in r["messages"])
]


def named(role: str, text: str, name: str | None) -> Message:
    return Message(role, (TextPart(text),), name)  # type: ignore[arg-type]


def test_recorded_requests_with_names_count_exactly_as_the_api_reported():
    assert NAMED
    for record in NAMED:
        prompt = Prompt(
            tuple(named(m["role"], m["content"], m.get("name")) for m in record["messages"])
        )
        count = count_tokens(prompt, record["model"])
        assert count.total == record["reported_input_tokens"], record["id"]


def test_openai_sends_the_name_and_anthropic_refuses_it():
    prompt = Prompt((named("system", "Be brief.", None), named("user", "Hi", "example_user")))
    request = OpenAIProvider(api_key="sk-test").build_request(prompt, "gpt-4o-mini")
    assert request["messages"][1] == {"role": "user", "content": "Hi", "name": "example_user"}
    assert "name" not in request["messages"][0]
    with pytest.raises(ConfigurationError, match="no message names \\(example_user\\)"):
        AnthropicProvider(api_key="sk-ant-test").build_request(prompt, "claude-haiku-4-5")


def test_names_survive_json_and_change_the_hash_only_when_given():
    plain = Prompt((Message.user("Hi"),))
    with_name = Prompt((named("user", "Hi", "ada"),))
    assert plain.hash != with_name.hash
    assert Prompt.from_json(with_name.to_json()) == with_name
    assert "name" not in plain.to_json()


@pytest.mark.parametrize("bad", ["", "with space", "x" * 65, "émile"])
def test_a_name_openai_would_refuse_is_refused_here(bad):
    with pytest.raises(PromptFormatError, match="message name"):
        named("user", "Hi", bad)


def test_a_name_must_be_text_and_shows_in_format():
    with pytest.raises(PromptFormatError, match="message name 5"):
        Message("user", (TextPart("x"),), 5)  # type: ignore[arg-type]
    prompt = Prompt((Message.user("Hi", name="alice"), Message.user("Hello", name="bob")))
    assert prompt.format() == "[user alice]\nHi\n\n[user bob]\nHello"
    assert Message.assistant("ok", name="helper").name == "helper"
