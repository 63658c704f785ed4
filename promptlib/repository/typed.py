"""Typed file templates: ``registry.get(ref, inputs=TicketIn, output=Triage)``.

The file is checked against the classes when it loads (input names, which are required,
simple types; the output's fields), and the template you get back takes an instance of
your input class and parses answers into your output class. What is sent is unchanged:
the file's own input checks, untrusted markings and output schema still apply, and the
template's hash is the file's.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel

from promptlib.errors import TemplateError
from promptlib.templates.template import Template

__all__ = ["typed_template"]


def typed_template(
    template: Template[Any, Any], inputs: type[Any] | None, output: type[Any] | None
) -> Template[Any, Any]:
    """A view of ``template`` typed with ``inputs`` and ``output`` (see the module)."""
    problems: list[str] = []
    if inputs is not None:
        problems += _input_problems(template, _model(inputs, "inputs"))
    if output is not None:
        problems += _output_problems(template, _model(output, "output"))
    if problems:
        where = f" ({template.source})" if template.source else ""
        raise TemplateError(
            f"template {template.label!r}{where} does not match the classes given to "
            "registry.get: " + "; ".join(problems) + ". Change the classes or the file "
            "(as a new version)."
        )
    view = copy.copy(template)
    if inputs is not None:
        view.input_schema = cast(Any, _Accepting(template.input_schema, inputs))
    if output is not None:
        view.output_model = output
    return view


def _model(cls: Any, role: str) -> type[BaseModel]:
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise TemplateError(f"registry.get: {role}= must be a pydantic model class, got {cls!r}")
    return cls


def _properties(schema: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    props = schema.get("properties")
    required = schema.get("required")
    return (
        dict(props) if isinstance(props, Mapping) else {},
        set(required) if isinstance(required, list) else set(),
    )


def _kind(prop: Any) -> str | None:
    """A property's JSON type when it is one plain type (else ``None``: not compared)."""
    kind = prop.get("type") if isinstance(prop, Mapping) else None
    return kind if isinstance(kind, str) else None


def _compare(what: str, ours: Mapping[str, Any], theirs: Mapping[str, Any], name: str) -> list[str]:
    mine, mine_required = _properties(ours)
    file, file_required = _properties(theirs)
    problems = []
    if missing := sorted(file.keys() - mine.keys()):
        problems.append(f"{what} {', '.join(missing)} in the file but not in {name}")
    if extra := sorted(mine.keys() - file.keys()):
        problems.append(f"{what} {', '.join(extra)} in {name} but not in the file")
    if optional := sorted((file_required - mine_required) & mine.keys()):
        problems.append(f"{what} {', '.join(optional)} required by the file, optional in {name}")
    for key in sorted(mine.keys() & file.keys()):
        a, b = _kind(mine[key]), _kind(file[key])
        if a and b and a != b and {a, b} != {"integer", "number"}:
            problems.append(f"{what} {key} is {b} in the file, {a} in {name}")
    return problems


def _input_problems(template: Template[Any, Any], model: type[BaseModel]) -> list[str]:
    file_schema = template.input_schema.model.model_json_schema()
    return _compare("input", model.model_json_schema(), file_schema, model.__name__)


def _output_problems(template: Template[Any, Any], model: type[BaseModel]) -> list[str]:
    if template.output_model is not None and isinstance(template.output_model, type):
        if issubclass(model, template.output_model):
            return []
        return [f"its output is {template.output_model.__name__}, not {model.__name__}"]
    if template.output is None:
        return ["its output is text, not a JSON object"]
    return _compare(
        "output field", model.model_json_schema(), template.output.schema, model.__name__
    )


class _Accepting:
    """The file's input checks, also taking an instance of the caller's input class."""

    def __init__(self, inner: Any, model: type[BaseModel]) -> None:
        self._inner, self._model = inner, model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def check_instance(self, inputs: object, template: str) -> Any:
        if isinstance(inputs, self._model):
            return self._inner.validate(inputs.model_dump(), template)
        return self._inner.check_instance(inputs, template)
