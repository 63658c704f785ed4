from __future__ import annotations

import pytest
from pydantic import BaseModel

from promptlib import (
    BudgetExceededError,
    Context,
    Example,
    FewShot,
    System,
    Template,
    Untrusted,
    User,
    count_tokens,
    fit,
)


class Inputs(BaseModel):
    document: Untrusted
    question: str


def template(priorities=(0, 0, 0, 0)) -> Template[Inputs, str]:
    examples = [
        Example(
            f"Question {i}: what does the document say about topic {i}?",
            f"It says {i}.",
            priority=p,
        )
        for i, p in enumerate(priorities, start=1)
    ]
    return Template(
        [
            System("Answer from the document."),
            FewShot(examples),
            Context("document"),
            User("{{ question }}"),
        ],
        name="qa",
        inputs=Inputs,
        model="gpt-4o-mini",
    )


DOCUMENT = "Refunds are possible within 30 days of purchase. " * 40


def test_a_prompt_that_fits_is_returned_as_is():
    prompt = template().render(document="short", question="Q?")
    fitted = fit(prompt)
    assert fitted.prompt is prompt
    assert fitted.dropped == ()
    assert fitted.budget == 128_000 - 16_384  # the window minus the model's max output


def test_examples_are_dropped_latest_first_and_the_prefix_stays_byte_stable():
    prompt = template().render(document="short", question="Q?")
    total = count_tokens(prompt).total
    fitted = fit(prompt, budget=total - 20)
    assert fitted.dropped == ("example 4",)
    assert fitted.tokens.total <= total - 20
    assert fitted.prompt.messages[:7] == prompt.messages[:7]  # system + examples 1-3
    assert fitted.prompt.messages[-1] == prompt.messages[-1]


def test_examples_are_dropped_by_priority():
    prompt = template(priorities=(0, 5, 1, 9)).render(document="short", question="Q?")
    fitted = fit(prompt, budget=count_tokens(prompt).total - 50)
    assert fitted.dropped[:2] == ("example 1", "example 3")


def test_context_is_truncated_with_a_visible_marker_inside_its_delimiters():
    prompt = template().render(document=DOCUMENT, question="What about refunds?")
    total = count_tokens(prompt).total
    fitted = fit(prompt, budget=total - 300)
    assert fitted.dropped[:4] == ("example 4", "example 3", "example 2", "example 1")
    assert fitted.dropped[4].startswith("context 'document': ")
    assert fitted.tokens.total <= total - 300
    last = fitted.prompt.messages[-1].text
    assert last.startswith("<document>\nRefunds are possible")
    assert "\n[... truncated: " in last
    assert last.endswith("tokens omitted ...]\n</document>\n\nWhat about refunds?")
    assert fitted.prompt.messages[0] is prompt.messages[0]  # system untouched
    assert fitted.prompt.sections[-1].kind == "user"
    assert count_tokens(fitted.prompt).total == fitted.tokens.total


def test_reserving_output_tokens():
    prompt = template().render(document="short", question="Q?")
    assert fit(prompt, reserve_output=1000).budget == 127_000


def test_nothing_left_to_drop_is_a_clear_error():
    prompt = template().render(document="short", question="Q?")
    with pytest.raises(BudgetExceededError) as info:
        fit(prompt, budget=20)
    error = info.value
    assert error.budget == 20
    assert error.tokens > 20
    assert "needs" in str(error)
    assert "but the budget is 20" in str(error)
    assert "system" in str(error)
