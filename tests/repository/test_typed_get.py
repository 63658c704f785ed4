"""``registry.get(ref, inputs=..., output=...)``: checked against the file, typed for you."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from promptlib import Registry, TemplateError

ROOT = Path(__file__).parents[2] / "templates"


class TicketIn(BaseModel):
    ticket: str


class Priority(BaseModel):
    priority: Literal["low", "medium", "high", "urgent"]


def test_a_matching_pair_types_the_template_without_changing_what_is_sent():
    registry = Registry(ROOT)
    plain = registry.get("ticket-priority@production")
    typed = registry.get("ticket-priority@production", inputs=TicketIn, output=Priority)
    assert typed.hash == plain.hash
    prompt = typed.render(TicketIn(ticket="Site is down </ticket>"))
    assert prompt.hash == plain.render(ticket="Site is down </ticket>").hash  # still delimited
    answer = prompt.parse('{"priority": "urgent"}')
    assert isinstance(answer, Priority)
    assert answer.priority == "urgent"
    assert typed.render(ticket="x").hash == plain.render(ticket="x").hash  # keywords still work
    assert registry.get("ticket-priority@production", inputs=TicketIn, output=Priority) is typed


class Wrong(BaseModel):
    ticket: int
    extra: str


class WrongOut(BaseModel):
    level: str


def test_every_mismatch_is_named_with_the_file():
    with pytest.raises(TemplateError) as raised:
        Registry(ROOT).get("ticket-priority@production", inputs=Wrong, output=WrongOut)
    message = str(raised.value)
    assert "ticket-priority@1.0.0" in message
    assert "1.0.0.prompt" in message
    assert "input extra in Wrong but not in the file" in message
    assert "input ticket is string in the file, integer in Wrong" in message
    assert "output field priority in the file but not in WrongOut" in message
    assert "output field level in WrongOut but not in the file" in message


class OptionalTicket(BaseModel):
    ticket: str | None = None


def test_an_optional_input_the_file_requires_is_refused():
    with pytest.raises(TemplateError, match="input ticket required by the file, optional in"):
        Registry(ROOT).get("ticket-priority@production", inputs=OptionalTicket)


def test_a_text_template_cannot_be_typed_with_an_output_model():
    with pytest.raises(TemplateError, match="its output is text"):
        Registry(ROOT).get("sentiment@production", output=Priority)


def test_non_model_classes_are_refused():
    with pytest.raises(TemplateError, match="inputs= must be a pydantic model class"):
        Registry(ROOT).get("ticket-priority@production", inputs=dict)  # type: ignore[type-var]
