"""The typed template: blocks plus an input model, rendered into a :class:`~promptlib.Prompt`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, Literal, overload

from typing_extensions import TypeVar

from promptlib._errors import InputError, PromptFormatError, TemplateError, UnusedInputWarning
from promptlib._hashing import content_hash
from promptlib._messages import (
    ImagePart,
    Message,
    Part,
    Prompt,
    PromptMeta,
    Role,
    Section,
    TextPart,
    output_spec_for_model,
)
from promptlib._output import OutputSpec, ReasoningSpec
from promptlib._params import Params, check_params
from promptlib._shown import short_repr
from promptlib._templates.blocks import Block, Blocks, ChainOfThought
from promptlib._templates.inputs import InputSchema, no_inputs
from promptlib._templates.limits import Limits, current_limits
from promptlib._templates.partials import partials_environment
from promptlib._templates.segments import BuildContext, Segment
from promptlib._tools import NativeTool, Tool
from promptlib._warnings import warn

if TYPE_CHECKING:
    from pydantic import BaseModel

    from promptlib._templates.inputs import NoInputs

__all__ = ["Template"]

InputT = TypeVar("InputT", bound="BaseModel", default="NoInputs")
OutputT = TypeVar("OutputT", default=str)
ModelT = TypeVar("ModelT", bound="BaseModel")

_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class _MessagePlan:
    """One message of the rendered prompt, rendered anew each time."""

    role: Role
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class _TurnsStep:
    """Messages taken whole from an input (conversation history)."""

    segment: Segment


@dataclass(frozen=True)
class _StaticRun:
    """Consecutive messages that read no inputs, prebuilt once.

    ``index`` is where they land when no dynamic message before them renders empty.
    """

    index: int
    messages: tuple[Message, ...]
    sections: tuple[Section, ...]


class Template(Generic[InputT, OutputT]):
    """A typed prompt template: an input model, blocks, and optionally an output type.

    The template is checked when it is defined: Jinja syntax, variables that the input
    model does not declare, access to private attributes, untrusted inputs printed outside
    a delimited block. Text that reads no inputs is rendered once, here.

    Args:
        blocks: the blocks, as a list or composed with ``+``.
        name: the template's name, carried by every prompt it renders.
        inputs: the pydantic model of the inputs (default: no inputs).
        output: a pydantic model (answers parse into it) or a raw JSON schema (answers
            parse into a ``dict``). Without it, answers are text.
        version: the template's version.
        model: the default model to send to, e.g. ``"gpt-4o-mini"``.
        params: default generation parameters.
        description: what the template is for.
        unused_inputs: what to do about an input field no block uses: ``"warn"``
            (default, :class:`~promptlib.UnusedInputWarning`), ``"error"`` or ``"ignore"``.
        source: the file the template was loaded from, if any.
        partials: the folder ``{% include %}`` reads partials from (a templates root);
            includes cannot leave it. Without it, includes are refused.
        tools: the tools the model may call (:class:`~promptlib.Tool`), carried by every
            prompt; ``tool_choice`` and ``parallel_tool_calls`` as on
            :class:`~promptlib.Prompt`.

    Example::

        class Inputs(BaseModel):
            ticket: Untrusted

        triage = Template(
            [System("Classify the ticket."), Context("ticket"), JsonOutput()],
            name="triage", inputs=Inputs, output=Triage,
        )
        prompt = triage.render(ticket="My invoice is wrong")
    """

    @overload
    def __init__(
        self: Template[InputT, str],
        blocks: Block | Iterable[Block],
        *,
        name: str,
        inputs: type[InputT] = ...,
        output: None = None,
        version: str = ...,
        model: str | None = ...,
        params: Params | None = ...,
        description: str = ...,
        unused_inputs: Literal["warn", "error", "ignore"] = ...,
        source: str | None = ...,
        partials: str | PathLike[str] | None = ...,
        tools: Iterable[Tool | NativeTool] = ...,
        tool_choice: str | None = ...,
        parallel_tool_calls: bool | None = ...,
    ) -> None: ...
    @overload
    def __init__(
        self: Template[InputT, ModelT],
        blocks: Block | Iterable[Block],
        *,
        name: str,
        inputs: type[InputT] = ...,
        output: type[ModelT],
        version: str = ...,
        model: str | None = ...,
        params: Params | None = ...,
        description: str = ...,
        unused_inputs: Literal["warn", "error", "ignore"] = ...,
        source: str | None = ...,
        partials: str | PathLike[str] | None = ...,
        tools: Iterable[Tool | NativeTool] = ...,
        tool_choice: str | None = ...,
        parallel_tool_calls: bool | None = ...,
    ) -> None: ...
    @overload
    def __init__(
        self: Template[InputT, dict[str, Any]],
        blocks: Block | Iterable[Block],
        *,
        name: str,
        inputs: type[InputT] = ...,
        output: Mapping[str, Any],
        version: str = ...,
        model: str | None = ...,
        params: Params | None = ...,
        description: str = ...,
        unused_inputs: Literal["warn", "error", "ignore"] = ...,
        source: str | None = ...,
        partials: str | PathLike[str] | None = ...,
        tools: Iterable[Tool | NativeTool] = ...,
        tool_choice: str | None = ...,
        parallel_tool_calls: bool | None = ...,
    ) -> None: ...
    def __init__(
        self,
        blocks: Block | Iterable[Block],
        *,
        name: str,
        inputs: type[Any] | None = None,
        output: type[Any] | Mapping[str, Any] | None = None,
        version: str = "0.0.0",
        model: str | None = None,
        params: Params | None = None,
        description: str = "",
        unused_inputs: Literal["warn", "error", "ignore"] = "warn",
        source: str | None = None,
        partials: str | PathLike[str] | None = None,
        tools: Iterable[Tool | NativeTool] = (),
        tool_choice: str | None = None,
        parallel_tool_calls: bool | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise TemplateError("a template needs a non-empty name=")
        if not isinstance(version, str) or not version.strip():
            raise TemplateError("version= must be a non-empty string such as '1.0.0'")
        self.name = name
        self.version = version
        self.label: str = f"{name}@{version}"
        self.description = description
        self.model = model
        self.params: Mapping[str, Any] = MappingProxyType(check_params(params, self.label))
        self.source = source
        # The bounds its definition and renders run under: those in force where it is defined.
        self.limits: Limits = current_limits()
        self._input_schema: InputSchema[Any] = InputSchema.of(inputs or no_inputs(), self.label)
        self.output_model: type[Any] | None
        self.output: OutputSpec | None
        self.output_model, self.output = _output(output, self.label)
        self.blocks: Blocks = Blocks([blocks] if isinstance(blocks, Block) else blocks)
        self.reasoning: ReasoningSpec | None = _reasoning(self.blocks, self.label)
        if isinstance(tools, (Tool, NativeTool, str, bytes, Mapping)) or not isinstance(
            tools, Iterable
        ):
            raise TemplateError(
                f"tools= is a list of tools: tools=[tool], not {short_repr(tools)}",
                template=self.label,
            )
        self.tools: tuple[Tool | NativeTool, ...] = tuple(tools)
        self.tool_choice = tool_choice
        self.parallel_tool_calls = parallel_tool_calls
        if self.tools or tool_choice is not None or parallel_tool_calls is not None:
            try:  # checked as every prompt will be
                Prompt(
                    messages=(),
                    tools=self.tools,
                    tool_choice=tool_choice,
                    parallel_tool_calls=parallel_tool_calls,
                )
            except PromptFormatError as exc:
                raise TemplateError(str(exc), template=self.label) from exc

        ctx = BuildContext(
            template=self.label,
            inputs=self._input_schema,
            output=self.output,
            output_model=self.output_model,
            reasoning=self.reasoning,
            file=source,
            env=partials_environment(partials) if partials is not None else None,
            limits=self.limits,
        )
        segments = [
            segment
            for i, block in enumerate(self.blocks)
            for segment in block._segments(ctx, ctx.origin(i, block))
        ]
        self.variables: frozenset[str] = frozenset(ctx.used)
        self.includes: Mapping[str, str] = MappingProxyType(dict(sorted(ctx.includes.items())))
        self._check_unused(unused_inputs)
        self._steps = _plan(segments)
        self.hash: str = _hash(self._spec(), self.label)

    @property
    def inputs(self) -> type[InputT]:
        """The pydantic model of the inputs."""
        return self._input_schema.model

    def __repr__(self) -> str:
        return f"Template({self.label!r}, blocks={len(self.blocks)}, hash={self.hash[:15]}…)"

    def _unused(self) -> list[str]:
        """The declared inputs no block uses, sorted."""
        return sorted(self._input_schema.fields - self.variables)

    def _check_unused(self, policy: str) -> None:
        unused = self._unused()
        if not unused or policy == "ignore":
            return
        message = (
            f"template {self.label!r}: input {', '.join(map(repr, unused))} is declared by "
            f"{self._input_schema.model.__name__} but used by no block. Use it, remove it, or "
            "pass unused_inputs='ignore'."
        )
        if policy == "error":
            raise TemplateError(message)
        warn(message, UnusedInputWarning)

    def _spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "inputs": self._input_schema.model.model_json_schema(),
            "untrusted": sorted(self._input_schema.untrusted),
            "output": self.output.to_dict() if self.output else None,
            "blocks": [block._spec() for block in self.blocks],
            "model": self.model,
            "params": dict(self.params),
            "includes": dict(self.includes),
            **self._tools_spec(),
        }

    def _tools_spec(self) -> dict[str, Any]:
        # Present only when used: templates without tools keep the hashes they had.
        spec: dict[str, Any] = {}
        if self.tools:
            spec["tools"] = [t.to_dict() for t in self.tools]
        if self.tool_choice is not None:
            spec["tool_choice"] = self.tool_choice
        if self.parallel_tool_calls is not None:
            spec["parallel_tool_calls"] = self.parallel_tool_calls
        return spec

    def _declare_inputs(self, declared: Any) -> None:
        """Hash the inputs as declared in a file rather than as pydantic's generated schema,
        so that released hashes survive pydantic upgrades."""
        spec = self._spec()
        spec["inputs"] = declared
        self.hash = _hash(spec, self.label)

    @overload
    def render(self, inputs: InputT, /) -> Prompt[OutputT]: ...
    @overload
    def render(self, /, **values: Any) -> Prompt[OutputT]: ...
    def render(self, inputs: Any = None, /, **values: Any) -> Prompt[OutputT]:
        """Validate the inputs, then render the prompt.

        Pass an instance of the input model, or the inputs as keyword arguments.

        Raises:
            InputError: the inputs do not validate (the message names each field).
            TemplateRenderError: a block failed to render (names the block and line).
        """
        if inputs is None:
            validated = self._input_schema.validate(values, self.label)
        elif values:
            raise InputError(
                f"template {self.label!r}: pass either an input model instance or keyword "
                "inputs, not both",
                template=self.label,
                errors=[("(inputs)", "both given")],
            )
        else:
            validated = self._input_schema.check_instance(inputs, self.label)
        checked = self._input_schema.values(validated, self.label, self.limits)
        messages, sections = self._render_messages(checked)
        return Prompt(
            messages=messages,
            output=self.output,
            reasoning=self.reasoning,
            model=self.model,
            params=self.params,
            meta=PromptMeta(
                template=self.name,
                version=self.version,
                template_hash=self.hash,
                source=self.source,
                inputs=MappingProxyType(self._input_schema.as_json(validated, checked, self.label)),
            ),
            sections=sections,
            output_model=self.output_model,
            tools=self.tools,
            tool_choice=self.tool_choice,
            parallel_tool_calls=self.parallel_tool_calls,
        )

    def _render_messages(
        self, values: Mapping[str, Any]
    ) -> tuple[tuple[Message, ...], tuple[Section, ...]]:
        messages: list[Message] = []
        sections: list[Section] = []
        for step in self._steps:
            index = len(messages)
            if isinstance(step, _StaticRun):
                messages.extend(step.messages)
                if index == step.index:
                    sections.extend(step.sections)
                else:
                    shift = index - step.index
                    sections.extend(s._replace(message=s.message + shift) for s in step.sections)
                continue
            if isinstance(step, _TurnsStep):
                assert step.segment.turns is not None
                turns = step.segment.turns(values)
                messages.extend(turns)
                sections.extend(_history_sections(step.segment.label, turns, index))
                continue
            message, spans = _render_plan(step, values, index)
            if message is not None:
                messages.append(message)
                sections.extend(spans)
        return tuple(messages), tuple(sections)


def _history_sections(label: str, turns: tuple[Message, ...], first: int) -> list[Section]:
    """One section per turn of a history, its priority the turn's group (a user turn and
    the assistant and tool messages after it): budgets drop the oldest group first. A
    turn without text (tool calls only) gets an empty section."""
    sections = []
    group = 0
    for offset, message in enumerate(turns):
        if message.role == "user" and offset:
            group += 1
        sections.append(Section.of_turn(label, message, first + offset, group))
    return sections


def _hash(spec: dict[str, Any], label: str) -> str:
    try:
        return content_hash(spec)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise TemplateError(
            f"the template contains a lone surrogate {bad!a}, which is not valid Unicode text "
            "and could not be sent; remove it or decode the text with errors='replace'",
            template=label,
        ) from exc


def _output(
    output: type[Any] | Mapping[str, Any] | None, label: str
) -> tuple[type[BaseModel] | None, OutputSpec | None]:
    if output is None:
        return None, None
    from pydantic import BaseModel

    if isinstance(output, type) and issubclass(output, BaseModel):
        return output, output_spec_for_model(output)
    if isinstance(output, Mapping):
        schema = dict(output)
        try:
            json.dumps(schema)
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"output= schema is not JSON: {exc}", template=label) from exc
        from promptlib._validation import schema_problem

        problem = schema_problem(schema)
        if problem is not None:
            raise TemplateError(f"output= {problem[0]}", template=label)
        if schema.get("type") != "object":
            raise TemplateError(
                "output= JSON schema must describe an object ('type': 'object' at the root), "
                "as providers' structured output requires; wrap other values in a property",
                template=label,
            )
        title = schema.get("title")
        name = title if isinstance(title, str) and title else "output"
        return None, OutputSpec(name=name, schema=schema)
    raise TemplateError(
        f"output= must be a pydantic model class or a JSON schema dict, got {short_repr(output)}",
        template=label,
    )


def _reasoning(blocks: Blocks, label: str) -> ReasoningSpec | None:
    found = [b for b in blocks if isinstance(b, ChainOfThought)]
    if len(found) > 1:
        raise TemplateError(
            "a template can have one ChainOfThought block; remove the others", template=label
        )
    return found[0].spec if found else None


def _plan(segments: list[Segment]) -> tuple[_MessagePlan | _StaticRun | _TurnsStep, ...]:
    groups: list[list[Segment]] = []
    for seg in segments:
        last = groups[-1][-1] if groups else None
        if last and last.role == seg.role and not last.atomic and not seg.atomic:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    steps: list[_MessagePlan | _StaticRun | _TurnsStep] = []
    count = 0  # messages before this group, when no dynamic message renders empty
    for group in groups:
        if group[0].turns is not None:
            steps.append(_TurnsStep(group[0]))
            continue
        plan = _MessagePlan(role=group[0].role, segments=tuple(group))
        if not all(seg.is_static for seg in group):
            steps.append(plan)
            count += 1
            continue
        message, spans = _render_plan(plan, {}, count)
        if message is None:
            continue
        last_step = steps[-1] if steps else None
        if isinstance(last_step, _StaticRun):
            steps[-1] = _StaticRun(
                last_step.index, (*last_step.messages, message), last_step.sections + spans
            )
        else:
            steps.append(_StaticRun(count, (message,), spans))
        count += 1
    return tuple(steps)


def _render_plan(
    plan: _MessagePlan, values: Mapping[str, Any], index: int
) -> tuple[Message | None, tuple[Section, ...]]:
    texts: list[str] = []
    spans: list[Section] = []
    images: list[Part] = []
    position = 0
    for seg in plan.segments:
        text = seg.text if isinstance(seg.text, str) else seg.text(values)
        if text:
            if texts:
                position += len(_SEPARATOR)
            end = position + len(text)
            spans.append(Section(seg.kind, seg.label, index, 0, position, end, seg.priority))
            position += len(text)
            texts.append(text)
        for source in seg.images:
            image = source if isinstance(source, ImagePart) else source(values)
            if image is not None:
                images.append(image)
    if not texts and not images:
        return None, ()
    content: tuple[Part, ...] = (
        (TextPart(_SEPARATOR.join(texts)), *images) if texts else tuple(images)
    )
    return Message(plan.role, content), tuple(spans)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Template)
