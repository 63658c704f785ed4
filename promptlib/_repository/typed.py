"""Typed file templates: ``registry.get(ref, inputs=TicketIn, output=Triage)``.

The file is checked against the classes when it loads (input names, which are required,
simple types; the output's fields), and the template you get back takes an instance of
your input class and parses answers into your output class. What is sent is unchanged:
the file's own input checks, untrusted markings and output schema still apply, and the
template's hash is the file's.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel

from promptlib._errors import TemplateError
from promptlib._templates.template import Template

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
        view._input_schema = cast(Any, _Accepting(template._input_schema, inputs))
    if output is not None:
        view.output_model = output
        if template.output is not None:
            # The file's schema stays the contract: answers are checked against it first
            # (also when the file names a model: a looser class must not widen it).
            view.output = dataclasses.replace(
                template.output, schema_first=True, contract_model=template.output_model
            )
    return view


def _model(cls: Any, role: str) -> type[BaseModel]:
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise TemplateError(f"registry.get: {role}= must be a pydantic model class, got {cls!r}")
    return cls


class _Schemas:
    """Compares two JSON schemas: is every value valid under ``source`` also valid under
    ``target``? Inputs flow from your class to the file, answers from the file to your
    class; ``$ref`` into ``$defs``, optional (``anyOf`` with null), enums, nested objects
    and array items are followed. A difference the check cannot judge is let through."""

    def __init__(
        self, source: Mapping[str, Any], target: Mapping[str, Any], names: tuple[str, str]
    ):
        self.roots = (source, target)
        self.names = names  # how to call each side in a message
        self.problems: list[str] = []

    def node(self, schema: Any, side: int) -> Mapping[str, Any]:
        for _ in range(32):  # $ref chains are short; a cycle is not followed forever
            if not isinstance(schema, Mapping):
                return {}
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                found: Any = self.roots[side]
                for part in ref[2:].split("/"):
                    found = found.get(part, {}) if isinstance(found, Mapping) else {}
                schema = found
                continue
            options = schema.get("anyOf")
            if isinstance(options, list):
                real = [
                    o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")
                ]
                if len(real) == 1:
                    schema = real[0]
                    continue
            return schema
        return {}

    def check(self, source: Any, target: Any, path: str) -> None:
        src, dst = self.node(source, 0), self.node(target, 1)
        a, b = src.get("type"), dst.get("type")
        widening = a == "integer" and b == "number"
        if isinstance(a, str) and isinstance(b, str) and a != b and not widening:
            self.problems.append(f"{path} is {a} in {self.names[0]}, {b} in {self.names[1]}")
            return
        self.enums(src, dst, path)
        if "properties" in src or "properties" in dst:
            self.objects(src, dst, path)
        if isinstance(src.get("items"), Mapping) and isinstance(dst.get("items"), Mapping):
            self.check(src["items"], dst["items"], f"{path}[]")

    def enums(self, src: Mapping[str, Any], dst: Mapping[str, Any], path: str) -> None:
        allowed = dst.get("enum", [dst["const"]] if "const" in dst else None)
        given = src.get("enum", [src["const"]] if "const" in src else None)
        if not isinstance(allowed, list):
            return
        if not isinstance(given, list):
            self.problems.append(
                f"{path} is any value in {self.names[0]}, one of {allowed} in {self.names[1]}"
            )
        elif extra := [v for v in given if v not in allowed]:
            self.problems.append(
                f"{path} may be {', '.join(map(repr, extra))} in {self.names[0]}, which "
                f"{self.names[1]} does not allow"
            )

    def objects(self, src: Mapping[str, Any], dst: Mapping[str, Any], path: str) -> None:
        sp, dp = src.get("properties") or {}, dst.get("properties") or {}
        sr, dr = set(src.get("required") or []), set(dst.get("required") or [])
        prefix = f"{path}." if path else ""
        for key in sorted(sp.keys() - dp.keys()):
            self.problems.append(f"{prefix}{key} is in {self.names[0]} but not in {self.names[1]}")
        for key in sorted(dp.keys() - sp.keys()):
            if key in dr:
                self.problems.append(
                    f"{prefix}{key} is required by {self.names[1]} but not in {self.names[0]}"
                )
        for key in sorted(sp.keys() & dp.keys()):
            if key in dr and key not in sr:
                self.problems.append(
                    f"{prefix}{key} is required by {self.names[1]}, optional in {self.names[0]}"
                )
            a, b = self.node(sp[key], 0), self.node(dp[key], 1)
            if "default" in a and "default" in b and a["default"] != b["default"]:
                self.problems.append(
                    f"{prefix}{key} defaults to {a['default']!r} in {self.names[0]}, "
                    f"{b['default']!r} in {self.names[1]}"
                )
            self.check(sp[key], dp[key], f"{prefix}{key}")


def _input_problems(template: Template[Any, Any], model: type[BaseModel]) -> list[str]:
    # Your instances go to the file: each must be valid for the file's inputs.
    if model.model_config.get("extra") == "allow":
        return [
            f"inputs: {model.__name__} allows extra fields (extra='allow'), which the file "
            "refuses; use extra='ignore' or 'forbid'"
        ]
    schemas = _Schemas(
        model.model_json_schema(),
        template._input_schema.model.model_json_schema(),
        (model.__name__, "the file"),
    )
    schemas.check(schemas.roots[0], schemas.roots[1], "")
    return [f"input {p}" for p in schemas.problems]


def _output_problems(template: Template[Any, Any], model: type[BaseModel]) -> list[str]:
    # The file's answers come to your class: each must be valid for it.
    if isinstance(template.output_model, type) and issubclass(template.output_model, BaseModel):
        theirs: Mapping[str, Any] = template.output_model.model_json_schema()
    elif template.output is not None:
        theirs = template.output.schema
    else:
        return ["its output is text, not a JSON object"]
    schemas = _Schemas(theirs, model.model_json_schema(), ("the file", model.__name__))
    schemas.check(schemas.roots[0], schemas.roots[1], "")
    return [f"output field {p}" for p in schemas.problems]


class _Accepting:
    """The file's input checks, also taking an instance of the caller's input class (which
    is what ``template.inputs`` then is)."""

    def __init__(self, inner: Any, model: type[BaseModel]) -> None:
        self._inner, self._model = inner, model
        self.model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def check_instance(self, inputs: object, template: str) -> Any:
        if isinstance(inputs, self._model):
            return self._inner.validate(inputs.model_dump(), template)
        return self._inner.check_instance(inputs, template, shown=self._model)
