"""``registry.get(ref, inputs=..., output=...)``: checked against the file, typed for you."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, field_validator

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
    assert "input extra is in Wrong but not in the file" in message
    assert "input ticket is integer in Wrong, string in the file" in message
    assert "output field priority is in the file but not in WrongOut" in message
    assert "output field level is required by WrongOut but not in the file" in message


class OptionalTicket(BaseModel):
    ticket: str | None = None


def test_an_optional_input_the_file_requires_is_refused():
    with pytest.raises(
        TemplateError, match="input ticket is required by the file, optional in OptionalTicket"
    ):
        Registry(ROOT).get("ticket-priority@production", inputs=OptionalTicket)


def test_a_text_template_cannot_be_typed_with_an_output_model():
    with pytest.raises(TemplateError, match="its output is text"):
        Registry(ROOT).get("sentiment@production", output=Priority)


def test_non_model_classes_are_refused():
    with pytest.raises(TemplateError, match="inputs= must be a pydantic model class"):
        Registry(ROOT).get("ticket-priority@production", inputs=dict)  # type: ignore[type-var]


class NarrowEnum(BaseModel):
    priority: Literal["low", "medium", "high"]


class Nested(BaseModel):
    level: str


class NestedPriority(BaseModel):
    priority: Nested


class Articles(BaseModel):
    ticket: str
    articles: list[int]


def test_answers_the_file_allows_must_parse_into_the_class():
    registry = Registry(ROOT)
    with pytest.raises(TemplateError, match="may be 'urgent' in the file, which NarrowEnum"):
        registry.get("ticket-priority@production", output=NarrowEnum)
    with pytest.raises(TemplateError, match="priority is string in the file, object in"):
        registry.get("ticket-priority@production", output=NestedPriority)


def test_typed_inputs_are_checked_through_lists_and_report_the_class():
    registry = Registry(ROOT)
    with pytest.raises(TemplateError, match=r"input articles\[\] is integer in Articles, string"):
        registry.get("support-reply@production", inputs=Articles)
    typed = registry.get("ticket-priority@production", inputs=TicketIn)
    assert typed.inputs is TicketIn


class LoosePriority(BaseModel):
    priority: str  # wider than the file's enum, and extra fields ignored


@pytest.mark.parametrize(
    "answer",
    ['{"priority": "low", "note": "x"}', '{"priority": "someday"}', '{"note": "no priority"}'],
)
def test_a_looser_class_accepts_nothing_the_files_schema_refuses(answer):
    """The file's schema is the contract sent to the model: a typed view keeps checking it."""
    from promptlib import OutputParseError

    registry = Registry(ROOT)
    plain = registry.get("ticket-priority@production").render(ticket="x")
    typed = registry.get("ticket-priority@production", output=LoosePriority).render(ticket="x")
    with pytest.raises(OutputParseError):
        plain.parse(answer)
    with pytest.raises(OutputParseError, match="TicketPriority"):
        typed.parse(answer)
    assert typed.parse('{"priority": "low"}') == LoosePriority(priority="low")
    assert typed.hash == plain.hash


def test_a_class_given_to_get_may_be_named_by_the_file(tmp_path):
    import sys
    import types

    module = types.ModuleType("typed_get_app")

    class Verdict(BaseModel):
        ok: bool

    Verdict.__module__, Verdict.__qualname__ = module.__name__, "Verdict"  # as if at top level
    module.Verdict = Verdict  # type: ignore[attr-defined]
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "1.0.0.prompt").write_text(
        '---\nname: v\nversion: "1.0.0"\noutput:\n  model: typed_get_app:Verdict\n---\n'
        "[user]\nIs it ok?\n"
    )
    sys.modules[module.__name__] = module
    try:
        registry = Registry(tmp_path)
        with pytest.raises(TemplateError, match="may not be imported"):
            registry.get("v@1.0.0")  # nothing allowed yet: the file cannot import it
        typed = registry.get("v@1.0.0", output=Verdict)
        assert typed.render().parse('{"ok": true}') == Verdict(ok=True)
        import promptlib._repository.registry as module

        real = module.load_file
        module.load_file = None  # type: ignore[assignment]  # read again: it would fail
        try:
            assert registry.get("v@1.0.0", output=Verdict) is typed
        finally:
            module.load_file = real
        with pytest.raises(TemplateError, match="may not be imported"):
            registry.get("v@1.0.0")  # the exemption was for that call, not the registry

        class Other(BaseModel):
            ok: bool

        with pytest.raises(TemplateError, match="may not be imported"):
            registry.get("v@1.0.0", output=Other)  # only the class the file names
    finally:
        del sys.modules[module.__name__]


def test_a_looser_class_cannot_widen_a_file_that_names_its_model(tmp_path):
    import sys
    import types

    from promptlib import OutputParseError

    module = types.ModuleType("typed_get_strict")

    class Strict(BaseModel):
        priority: Literal["low", "high"]
        score: int

        @field_validator("score")
        @classmethod
        def even(cls, value: int) -> int:
            if value % 2:
                raise ValueError("score must be even")
            return value

    class Loose(BaseModel):
        priority: str
        score: int

    Strict.__module__, Strict.__qualname__ = module.__name__, "Strict"
    module.Strict = Strict  # type: ignore[attr-defined]
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "1.0.0.prompt").write_text(
        '---\nname: p\nversion: "1.0.0"\noutput:\n  model: typed_get_strict:Strict\n---\n'
        "[user]\nHow urgent?\n"
    )
    sys.modules[module.__name__] = module
    try:
        registry = Registry(tmp_path, model_modules=["typed_get_strict"])
        prompt = registry.get("p@1.0.0", output=Loose).render()
        with pytest.raises(OutputParseError):
            prompt.parse('{"priority": "bogus", "score": 8}')  # the schema refuses it
        with pytest.raises(OutputParseError, match="score must be even"):
            prompt.parse('{"priority": "low", "score": 9}')  # the file's model refuses it
        assert prompt.parse('{"priority": "low", "score": 8}') == Loose(priority="low", score=8)
    finally:
        del sys.modules[module.__name__]


def test_an_input_class_allowing_extra_fields_is_refused_and_errors_name_the_class():
    from pydantic import ConfigDict

    from promptlib import InputError

    class Extra(BaseModel):
        model_config = ConfigDict(extra="allow")
        ticket: str

    registry = Registry(ROOT)
    with pytest.raises(TemplateError, match="Extra allows extra fields"):
        registry.get("ticket-priority@production", inputs=Extra)
    typed = registry.get("ticket-priority@production", inputs=TicketIn)
    with pytest.raises(InputError, match="render\\(\\) takes a TicketIn instance"):
        typed.render(42)  # type: ignore[arg-type]
