"""Reading a serialized Prompt back, with errors that point at the bad field.

Loaded only by ``Prompt.from_dict``/``from_json``: the schema below costs import time
that rendering never needs.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from promptlib._errors import PromptFormatError
from promptlib._messages import (
    FORMAT,
    DocumentPart,
    ImagePart,
    Message,
    NativePart,
    Part,
    Prompt,
    PromptMeta,
    Section,
    TextPart,
    ToolCall,
    ToolResult,
    output_spec_for_model,
)
from promptlib._output import OutputSpec, ReasoningSpec
from promptlib._tools import NativeTool, Tool
from promptlib._validation import summary


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Text(_Strict):
    type: Literal["text"]
    text: str


class _Image(_Strict):
    type: Literal["image"]
    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class _Document(_Strict):
    type: Literal["document"]
    data: str | None = None
    media_type: str | None = None
    text: str | None = None
    url: str | None = None
    file_id: str | None = None
    title: str | None = None
    filename: str | None = None


class _Native(_Strict):
    type: Literal["native"]
    provider: Literal["openai", "anthropic"]
    block: dict[str, Any]


class _ToolCall(_Strict):
    type: Literal["tool_call"]
    id: str
    name: str
    arguments: str


_ResultPart = Annotated[_Text | _Image | _Document | _Native, Field(discriminator="type")]


class _ToolResult(_Strict):
    type: Literal["tool_result"]
    call_id: str
    content: list[_ResultPart]
    is_error: bool | None = None


_Part = Annotated[
    _Text | _Image | _Document | _Native | _ToolCall | _ToolResult, Field(discriminator="type")
]


class _Message(_Strict):
    role: Literal["system", "user", "assistant", "tool"]
    content: list[_Part]
    name: str | None = None


class _Tool(_Strict):
    type: Literal["function"]
    name: str
    parameters: dict[str, Any]
    description: str | None = None
    strict: bool | None = None


class _NativeTool(_Strict):
    type: Literal["native"]
    provider: Literal["openai", "anthropic"]
    definition: dict[str, Any]


class _Output(_Strict):
    name: str
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool


class _Reasoning(_Strict):
    style: Literal["tags", "prefix"]
    reasoning_tag: str
    answer_tag: str
    answer_prefix: str


class _Meta(_Strict):
    template: str | None
    version: str | None
    template_hash: str | None
    source: str | None
    inputs: dict[str, Any]


class _Section(_Strict):
    kind: str
    label: str
    message: int
    part: int
    start: int
    end: int
    priority: int = 0


class _PromptDoc(_Strict):
    format: Literal["promptlib.prompt/1"]
    messages: list[_Message]
    output: _Output | None
    reasoning: _Reasoning | None
    model: str | None
    params: dict[str, Any]
    meta: _Meta
    sections: list[_Section]
    hash: str
    tools: list[Annotated[_Tool | _NativeTool, Field(discriminator="type")]] = []
    tool_choice: str | None = None
    parallel_tool_calls: bool | None = None


def _part(doc: Any) -> Part:
    if isinstance(doc, _Text):
        return TextPart(doc.text)
    if isinstance(doc, _Image):
        return ImagePart(url=doc.url, data=doc.data, media_type=doc.media_type, detail=doc.detail)
    if isinstance(doc, _Document):
        return DocumentPart(**doc.model_dump(exclude={"type"}))
    if isinstance(doc, _Native):
        return NativePart(doc.provider, doc.block)
    if isinstance(doc, _ToolCall):
        return ToolCall(doc.id, doc.name, doc.arguments)
    assert isinstance(doc, _ToolResult)
    content = tuple(_part(p) for p in doc.content)
    return ToolResult(doc.call_id, content, doc.is_error)  # type: ignore[arg-type]


def _tool(doc: _Tool | _NativeTool) -> Tool | NativeTool:
    if isinstance(doc, _NativeTool):
        return NativeTool(doc.provider, doc.definition)
    return Tool(doc.name, doc.parameters, doc.description, doc.strict)


def message_from_dict(data: Any) -> Message:
    """A :class:`Message` from its ``to_dict()`` form.

    Raises:
        PromptFormatError: the data is not a message, naming the field.
    """
    try:
        doc = _Message.model_validate(data)
    except ValidationError as exc:
        raise PromptFormatError(f"not a message: {summary(exc)}") from exc
    return Message(doc.role, tuple(_part(p) for p in doc.content), doc.name)


def tool_call_from_dict(data: Any) -> ToolCall:
    """A :class:`ToolCall` from its ``to_dict()`` form, read strictly.

    Raises:
        PromptFormatError: the data is not a tool call, naming the field.
    """
    try:
        doc = _ToolCall.model_validate(data)
    except ValidationError as exc:
        raise PromptFormatError(f"not a tool call: {summary(exc)}") from exc
    return ToolCall(doc.id, doc.name, doc.arguments)


def tool_from_dict(data: Any, *, native: bool) -> Tool | NativeTool:
    """A :class:`Tool` (or :class:`NativeTool`) from its ``to_dict()`` form, read strictly.

    Raises:
        PromptFormatError: the data is not such a tool, naming the field.
    """
    kind: type[_Tool] | type[_NativeTool] = _NativeTool if native else _Tool
    try:
        doc = kind.model_validate(data)
    except ValidationError as exc:
        raise PromptFormatError(f"not a tool: {summary(exc)}") from exc
    return _tool(doc)


def _check_sections(prompt: Prompt[Any]) -> None:
    """Sections are not part of the hash: each must still point at text that exists."""
    for index, section in enumerate(prompt.sections):
        where = f"sections.{index}"
        if not 0 <= section.message < len(prompt.messages):
            raise PromptFormatError(f"{where}: message {section.message} does not exist")
        message = prompt.messages[section.message]
        if section.kind == "history" and message.role == "system":
            raise PromptFormatError(f"{where}: a system message is not a history turn")
        content = message.content
        if not 0 <= section.part < max(len(content), 1):
            raise PromptFormatError(f"{where}: part {section.part} does not exist")
        part = content[section.part] if content else None
        length = len(part.text) if isinstance(part, TextPart) else 0
        if not 0 <= section.start <= section.end <= length:
            raise PromptFormatError(
                f"{where}: characters {section.start} to {section.end} are not in the text"
            )


def prompt_from_dict(data: Any, output_model: type[Any] | None) -> Prompt[Any]:
    if isinstance(data, dict) and data.get("format") not in (None, FORMAT):
        raise PromptFormatError(
            f"unsupported Prompt format {data.get('format')!r}; this promptlib reads {FORMAT!r}"
        )
    try:
        doc = _PromptDoc.model_validate(data)
    except ValidationError as exc:
        raise PromptFormatError(f"not a serialized Prompt ({FORMAT}): {summary(exc)}") from exc

    output = (
        OutputSpec(name=doc.output.name, schema=doc.output.schema_, strict=doc.output.strict)
        if doc.output
        else None
    )
    if output_model is not None:
        expected = output_spec_for_model(output_model)
        if output is None or output.schema != expected.schema:
            raise PromptFormatError(
                f"output={output_model.__name__} does not match the serialized output schema "
                f"{output.name if output else None!r}; pass the model the prompt was rendered with"
            )
    prompt: Prompt[Any] = Prompt(
        messages=tuple(
            Message(m.role, tuple(_part(p) for p in m.content), m.name) for m in doc.messages
        ),
        output=output,
        reasoning=ReasoningSpec(**doc.reasoning.model_dump()) if doc.reasoning else None,
        model=doc.model,
        params=MappingProxyType(doc.params),
        meta=PromptMeta(
            template=doc.meta.template,
            version=doc.meta.version,
            template_hash=doc.meta.template_hash,
            source=doc.meta.source,
            inputs=MappingProxyType(doc.meta.inputs),
        ),
        sections=tuple(Section(**s.model_dump()) for s in doc.sections),
        output_model=output_model,
        tools=tuple(_tool(t) for t in doc.tools),
        tool_choice=doc.tool_choice,
        parallel_tool_calls=doc.parallel_tool_calls,
    )
    if prompt.hash != doc.hash:
        raise PromptFormatError(
            f"the serialized Prompt was edited: its content hashes to {prompt.hash}, not the "
            f"recorded {doc.hash}. Re-render it from its template instead of editing the JSON."
        )
    _check_sections(prompt)
    if not isinstance(prompt.params.get("extra", {}), dict):
        raise PromptFormatError("params.extra: the request's extra fields, a JSON object")
    return prompt
