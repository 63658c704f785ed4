"""A template's input model: which fields it declares, which are untrusted, and validation."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from promptlib._errors import InputError, TemplateError
from promptlib._shown import short_repr
from promptlib._templates.delimiters import is_untrusted_annotation
from promptlib._templates.environment import RESERVED_NAMES
from promptlib._templates.input_values import ValueProblems, check_values
from promptlib._templates.limits import Limits
from promptlib._validation import problems

if TYPE_CHECKING:
    from pydantic import BaseModel

    class NoInputs(BaseModel):
        """The input model of a template that takes no inputs."""


__all__ = ["InputSchema", "NoInputs", "no_inputs"]

ModelT = TypeVar("ModelT", bound="BaseModel")


@cache
def no_inputs() -> type[NoInputs]:
    """The ``NoInputs`` model, created on first use so that importing promptlib stays light."""
    from pydantic import create_model

    model: Any = create_model("NoInputs", __module__="promptlib")
    model.__doc__ = "The input model of a template that takes no inputs."
    return cast("type[NoInputs]", model)


def __getattr__(name: str) -> Any:
    if name == "NoInputs":
        return no_inputs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class InputSchema(Generic[ModelT]):
    """What a template knows about its input model, computed once at definition time."""

    model: type[ModelT]
    fields: frozenset[str]
    untrusted: frozenset[str]
    allow_inf_nan: frozenset[str] = frozenset()

    @classmethod
    def of(cls, model: type[ModelT], template: str) -> InputSchema[ModelT]:
        from pydantic import BaseModel

        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TemplateError(
                f"inputs= must be a pydantic model class, got {short_repr(model)}. Declare "
                "the inputs as "
                "'class Inputs(BaseModel): ...' and pass inputs=Inputs.",
                template=template,
            )
        fields = model.model_fields
        for name in fields:
            if name in RESERVED_NAMES:
                raise TemplateError(
                    f"input {name!r} of {model.__name__} has a name that means something else "
                    f"in a template ({name!r} is Jinja's), so the text could never read the "
                    f"input. Rename the field (e.g. {name + '_'!r}, or one that says what it "
                    "holds).",
                    template=template,
                )
        untrusted = frozenset(
            name
            for name, info in fields.items()
            if is_untrusted_annotation(info.annotation, info.metadata)
        )
        everywhere = model.model_config.get("allow_inf_nan") is True
        allow_inf_nan = frozenset(
            name
            for name, info in fields.items()
            if everywhere or any(getattr(m, "allow_inf_nan", None) is True for m in info.metadata)
        )
        return cls(model, frozenset(fields), untrusted, allow_inf_nan)

    def values(self, validated: ModelT, template: str, limits: Limits) -> Mapping[str, Any]:
        """The validated inputs as the text reads them, checked beyond their types.

        Raises:
            InputError: a value a prompt cannot carry (a lone surrogate, an integer too large
                to print, NaN, a non-text key, an unsortable set), naming the field.
        """
        try:
            return check_values(validated.__dict__, limits, self.allow_inf_nan)
        except ValueProblems as exc:
            raise _input_error(template, exc.problems, self.fields) from None

    def validate(self, values: Mapping[str, Any], template: str) -> ModelT:
        """Validate keyword inputs into the model, or raise :class:`InputError` naming fields."""
        if not self.fields.issuperset(values):
            unknown = []
            for key in (key for key in values if key not in self.fields):
                hint = difflib.get_close_matches(key, list(self.fields), n=1)
                shown = key if len(key) <= 60 else short_repr(key)
                unknown.append((shown, f"not an input of this template{_did_you_mean(hint)}"))
            raise _input_error(template, unknown, self.fields)
        from pydantic import ValidationError

        try:
            return self.model.model_validate(values)
        except ValidationError as exc:
            raise _input_error(template, problems(exc, "(inputs)"), self.fields) from exc

    def as_json(
        self, validated: ModelT, values: Mapping[str, Any], template: str
    ) -> dict[str, Any]:
        """The inputs as JSON data (``prompt.meta.inputs``), sets as the sorted lists rendered.

        Raises:
            InputError: a value JSON cannot hold (undecodable bytes, an object of unknown
                type), naming the field.
        """
        try:
            dumped = validated.model_dump(mode="json")
            if values is not validated.__dict__:  # sets became sorted lists: record those
                from pydantic_core import to_jsonable_python

                for name, value in values.items():
                    if value is not validated.__dict__[name]:
                        dumped[name] = to_jsonable_python(value)
        except (ValueError, TypeError):  # pydantic's serialization errors are ValueErrors
            from pydantic_core import to_jsonable_python

            problems = []
            for name, value in values.items():
                try:
                    to_jsonable_python(value)
                except (ValueError, TypeError) as exc:
                    problems.append(
                        (
                            name,
                            f"cannot be recorded as JSON ({type(value).__name__}: {exc}). Pass "
                            "text, numbers, lists, mappings or models of them.",
                        )
                    )
            errors = problems or [("(inputs)", "cannot be recorded as JSON")]
            raise _input_error(template, errors, self.fields) from None
        return dumped

    def check_instance(self, inputs: object, template: str, shown: type | None = None) -> ModelT:
        """``inputs`` as the input model: an instance, or a mapping validated into one;
        errors name ``shown`` (the class the caller knows) or the model."""
        if isinstance(inputs, self.model):
            return inputs
        if isinstance(inputs, Mapping):
            return self.validate(inputs, template)
        name = (shown or self.model).__name__
        raise InputError(
            f"template {template!r}: render() takes a {name} instance or keyword inputs, "
            f"got {type(inputs).__name__}",
            template=template,
            errors=[("(inputs)", f"expected {name}")],
        )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _did_you_mean(hint: list[str]) -> str:
    return f"; did you mean {hint[0]!r}?" if hint else ""


def _input_error(
    template: str, errors: list[tuple[str, str]], fields: frozenset[str]
) -> InputError:
    lines = "\n".join(f"  - {_cut(field, 120)}: {_cut(msg, 400)}" for field, msg in errors[:20])
    if len(errors) > 20:
        lines += f"\n  - ... and {len(errors) - 20} more"
    declared = ", ".join(sorted(fields)) or "none"
    noun = "input" if len(errors) == 1 else "inputs"
    return InputError(
        f"template {template!r}: invalid {noun}:\n{lines}\n"
        f"Pass each declared input with a value of its type (declared: {declared}).",
        template=template,
        errors=errors,
    )
