"""Type-checked by `mypy --strict tests/typing` in CI: the user-facing types work.

Lines marked `# type: ignore[...]` must stay errors: mypy's warn_unused_ignores fails the
check if one of them stops being an error.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from typing_extensions import assert_type

from promptlib import (
    AnthropicProvider,
    Completion,
    Context,
    JsonOutput,
    OpenAIProvider,
    Prompt,
    Provider,
    System,
    Template,
    Untrusted,
    User,
)
from promptlib.testing import Cassette, MockProvider


class Inputs(BaseModel):
    ticket: Untrusted


class Other(BaseModel):
    ticket: str


class Triage(BaseModel):
    priority: str


typed = Template(
    [System("Triage."), Context("ticket"), JsonOutput()], name="t", inputs=Inputs, output=Triage
)
assert_type(typed, Template[Inputs, Triage])
assert_type(typed.render(Inputs(ticket="x")), Prompt[Triage])
assert_type(typed.render(ticket="x"), Prompt[Triage])
assert_type(typed.render(ticket="x").parse("{}"), Triage)

text = Template(User("{{ ticket | delimit('t') }}"), name="t", inputs=Inputs)
assert_type(text, Template[Inputs, str])
assert_type(text.render(ticket="x").parse("hi"), str)

raw = Template(User("x"), name="t", output={"type": "object"})
assert_type(raw.render().parse("{}"), dict[str, Any])

typed.render(Other(ticket="x"))  # type: ignore[call-overload]
typed.render(Inputs(ticket="x")).parse(42)  # type: ignore[arg-type]

# Providers carry the output type through: Completion[Triage].
provider = OpenAIProvider()
completion = provider.complete(typed.render(ticket="x"))
assert_type(completion, Completion[Triage])
assert_type(completion.output, Triage)
assert_type(provider.complete(text.render(ticket="x")).output, str)


async def send_async() -> None:
    done = await AnthropicProvider().acomplete(typed.render(ticket="x"))
    assert_type(done.output, Triage)
    for delta in provider.stream(typed.render(ticket="x")):
        assert_type(delta, str)


# Adapters, the mock and cassette providers are all a Provider; code written against the
# protocol keeps the output type.
def answer(provider: Provider, prompt: Prompt[Triage]) -> Triage:
    stream = provider.stream(prompt)
    assert_type(stream.completion, Completion[Triage])
    return provider.complete(prompt).output


answer(OpenAIProvider(), typed.render(ticket="x"))
answer(AnthropicProvider(), typed.render(ticket="x"))
answer(MockProvider(), typed.render(ticket="x"))
answer(Cassette("c.json").openai(), typed.render(ticket="x"))
answer("not a provider", typed.render(ticket="x"))  # type: ignore[arg-type]


# --- typed file templates and providers -------------------------------------------------------


def typed_registry() -> None:
    from typing import Literal

    from promptlib import Registry
    from promptlib._providers.registry import get_provider

    class TicketIn(BaseModel):
        ticket: str

    class Priority(BaseModel):
        priority: Literal["low", "medium", "high", "urgent"]

    template = Registry("templates").get(
        "ticket-priority@production", inputs=TicketIn, output=Priority
    )
    assert_type(template, Template[TicketIn, Priority])
    prompt = template.render(TicketIn(ticket="Site is down"))
    assert_type(prompt.parse('{"priority": "low"}'), Priority)
    provider, _model = get_provider("mock:gpt-4o-mini")
    assert_type(provider, Provider)
