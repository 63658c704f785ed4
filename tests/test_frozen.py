"""Values built on hot paths without their __init__ still hold exactly their fields."""

from __future__ import annotations

import dataclasses

from pydantic import BaseModel

from promptlib import Template, TokenCount, User, count_tokens
from promptlib.messages import Prompt, PromptMeta


def fields_of(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_rendered_prompts_and_counts_are_whole_dataclasses():
    class Inputs(BaseModel):
        name: str

    prompt = Template([User("Hello {{ name }}")], name="hello", inputs=Inputs).render(name="Ada")
    count = count_tokens(prompt, "gpt-4o")
    for value, cls in ((prompt, Prompt), (prompt.meta, PromptMeta), (count, TokenCount)):
        assert set(vars(value)) == fields_of(cls)
        assert dataclasses.replace(value) == value
