"""Few-shot examples: typed data, formatted once into turns or inline text."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from promptlib._errors import TemplateError
from promptlib._messages import Role
from promptlib._shown import short_repr
from promptlib._templates.blocks import Block
from promptlib._templates.environment import JinjaText, Origin, compile_text
from promptlib._templates.segments import BuildContext, Segment
from promptlib._validation import summary

__all__ = ["Example", "FewShot"]

InT = TypeVar("InT")
OutT = TypeVar("OutT")

Formatter = str | Callable[[Any], str]


@dataclass(frozen=True)
class Example(Generic[InT, OutT]):
    """One worked example: an input, the expected output, and optionally the reasoning.

    ``input`` and ``output`` may be text, a dict, or a pydantic model. With a
    :class:`~promptlib.ChainOfThought` block, give ``reasoning`` so the examples show the
    model how to reason as well as what to answer. When a prompt must be shortened to fit
    a token budget, examples with a lower ``priority`` are dropped first (then the later
    ones first, among equals).
    """

    input: InT
    output: OutT
    reasoning: str | None = None
    priority: int = 0


def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)


def _fields(value: Any) -> dict[str, Any] | None:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return dict(value)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(_jsonable(value), ensure_ascii=False)


def _default_input(value: Any) -> str:
    fields = _fields(value)
    if fields is None:
        return str(value)
    if len(fields) == 1:
        return _as_text(next(iter(fields.values())))
    return "\n".join(f"{key}: {_as_text(item)}" for key, item in fields.items())


def _default_output(value: Any) -> str:
    return value if isinstance(value, str) else _as_text(value)


class FewShot(Block, Generic[InT, OutT]):
    """Worked examples, given as data and formatted into the prompt.

    Args:
        examples: the examples, in the order they are shown.
        input_format: how to show an example's input: Jinja text (reading the input's
            fields, or ``input`` for the whole value) or a function returning text.
            By default: the text itself, a single field's value, or ``key: value`` lines.
        output_format: the same for outputs. By default: the text itself, or JSON.
        style: ``"turns"`` (default) shows each example as a user turn and an assistant
            turn; ``"inline"`` shows them inside one message, each in ``<example>`` tags.
        role: for ``"inline"``, the message the examples go in (``"user"`` or ``"system"``).
        heading: for ``"inline"``, a line shown before the examples.
        input_label, output_label: for ``"inline"``, the labels before input and output.

    When the template has an output model, each example's output is validated against it
    at definition time, so stale examples fail fast.
    """

    kind = "examples"

    def __init__(
        self,
        examples: Iterable[Example[InT, OutT]],
        *,
        input_format: str | Callable[[InT], str] | None = None,
        output_format: str | Callable[[OutT], str] | None = None,
        style: Literal["turns", "inline"] = "turns",
        role: Literal["user", "system"] = "user",
        heading: str | None = None,
        input_label: str = "Input",
        output_label: str = "Output",
    ) -> None:
        self.examples: tuple[Example[InT, OutT], ...] = tuple(examples)
        for i, example in enumerate(self.examples, start=1):
            if not isinstance(example, Example):
                raise TemplateError(
                    f"FewShot example {i} must be an Example(input=…, output=…), got "
                    f"{short_repr(example)}"
                )
        if style not in ("turns", "inline"):
            raise TemplateError(f"FewShot(style={short_repr(style)}): use 'turns' or 'inline'")
        self.input_format = input_format
        self.output_format = output_format
        self.style = style
        self.role: Role = role
        self.heading = heading
        self.input_label = input_label
        self.output_label = output_label

    def __repr__(self) -> str:
        return f"FewShot({len(self.examples)} examples, style={self.style!r})"

    def _spec(self) -> dict[str, Any]:
        def fmt(f: object) -> object:
            if f is None or isinstance(f, str):
                return f
            return f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', repr(f))}"

        return {
            "kind": self.kind,
            "style": self.style,
            "role": self.role,
            "heading": self.heading,
            "labels": [self.input_label, self.output_label],
            "input_format": fmt(self.input_format),
            "output_format": fmt(self.output_format),
            "examples": [
                {
                    "input": _jsonable(e.input),
                    "output": _jsonable(e.output),
                    "reasoning": e.reasoning,
                    # Only when set, so that hashes of templates without priorities are stable.
                    **({"priority": e.priority} if e.priority else {}),
                }
                for e in self.examples
            ],
        }

    def _segments(self, ctx: BuildContext, origin: Origin) -> list[Segment]:
        format_in = self._formatter(self.input_format, "input", origin, ctx, _default_input)
        format_out = self._formatter(self.output_format, "output", origin, ctx, _default_output)
        segments: list[Segment] = []
        if self.style == "inline" and self.heading:
            segments.append(Segment(self.role, self.kind, "heading", self.heading.strip()))
        for i, example in enumerate(self.examples, start=1):
            where = Origin(origin.template, f"{origin.block}, example {i}", origin.file)
            self._check_output(example.output, ctx, where)
            shown_in = format_in(example.input, where)
            shown_out = self._with_reasoning(format_out(example.output, where), example, ctx)
            label, priority = str(i), example.priority
            if self.style == "turns":
                segments.append(
                    Segment("user", self.kind, label, shown_in, atomic=True, priority=priority)
                )
                segments.append(
                    Segment(
                        "assistant", self.kind, label, shown_out, atomic=True, priority=priority
                    )
                )
            else:
                text = (
                    f"<example>\n{self.input_label}: {shown_in}\n"
                    f"{self.output_label}: {shown_out}\n</example>"
                )
                segments.append(Segment(self.role, self.kind, label, text, priority=priority))
        return segments

    def _formatter(
        self,
        spec: Formatter | None,
        side: str,
        origin: Origin,
        ctx: BuildContext,
        default: Callable[[Any], str],
    ) -> Callable[[Any, Origin], str]:
        if spec is None:
            return lambda value, _where: default(value)
        if callable(spec):
            function = spec

            def call(value: Any, where: Origin) -> str:
                text = function(value)
                if not isinstance(text, str):
                    raise where.error(
                        f"the {side} formatter returned {type(text).__name__}, not str"
                    )
                return text

            return call
        names = {side} | {key for e in self.examples for key in (_fields(getattr(e, side)) or {})}
        compiled: JinjaText = compile_text(
            spec,
            Origin(origin.template, f"{origin.block} {side}_format", origin.file),
            declared=(),
            extra_names=names,
            limits=ctx.limits,
        )

        def render(value: Any, where: Origin) -> str:
            values = {**(_fields(value) or {}), side: value}
            try:
                return compiled.render(values).strip()
            except TemplateError as exc:
                raise where.error(f"{side}_format: {exc.reason}", exc.line, type(exc)) from exc

        return render

    @staticmethod
    def _check_output(value: Any, ctx: BuildContext, where: Origin) -> None:
        from pydantic import ValidationError

        model = ctx.output_model
        if model is None and ctx.output is not None:
            FewShot._check_output_against_schema(value, ctx.output.schema, ctx.output.name, where)
            return
        if model is None or isinstance(value, model):
            return
        try:
            if isinstance(value, str):
                model.model_validate_json(value)
            else:
                model.model_validate(_jsonable(value))
        except ValidationError as exc:
            raise where.error(
                f"the example's output does not match the output model {model.__name__}: "
                f"{summary(exc)}. Update the example to the current schema."
            ) from exc

    @staticmethod
    def _check_output_against_schema(
        value: Any, schema: dict[str, Any], name: str, where: Origin
    ) -> None:
        import json

        from promptlib._validation import schema_violations

        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise where.error(
                    f"the example's output must be JSON for the output schema {name!r}: {exc.msg}"
                ) from exc
        violations = schema_violations(schema, _jsonable(value))
        if violations:
            raise where.error(
                f"the example's output does not match the output schema {name!r}: "
                f"{'; '.join(violations)}. Update the example to the current schema."
            )

    @staticmethod
    def _with_reasoning(shown: str, example: Example[Any, Any], ctx: BuildContext) -> str:
        spec = ctx.reasoning
        if spec is None:
            return shown
        if spec.style == "tags":
            answer = f"<{spec.answer_tag}>{shown}</{spec.answer_tag}>"
            if not example.reasoning:
                return answer
            tag = spec.reasoning_tag
            return f"<{tag}>{example.reasoning.strip()}</{tag}>\n{answer}"
        answer = f"{spec.answer_prefix} {shown}"
        return f"{example.reasoning.strip()}\n{answer}" if example.reasoning else answer


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Example, FewShot)
