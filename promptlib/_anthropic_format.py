"""A Prompt as Anthropic Messages API fields: ``system`` apart, same-role turns merged,
tool results in user turns, tools and tool choice in Anthropic's shapes, the output schema
as an answer tool.

Shared by the adapter (which adds ``max_tokens`` and sampling) and token counting (which
sends these fields to the count-tokens endpoint), so both see the same request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promptlib._errors import ConfigurationError, ToolArgumentsError
from promptlib._output import schema_name
from promptlib._parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    TextPart,
    ToolCall,
    ToolResult,
    refused_part,
)
from promptlib._tools import NativeTool, Tool

if TYPE_CHECKING:
    from promptlib._messages import Message, Prompt

__all__ = [
    "ANSWER_TOOL_DESCRIPTION",
    "answer_tool",
    "anthropic_fields",
    "anthropic_messages",
    "thinking_enabled",
]

_CHOICES = {"auto": "auto", "none": "none", "required": "any"}
ANSWER_TOOL_DESCRIPTION = "Give the answer in exactly this structure."
FILES_BETA = "files-api-2025-04-14"


def answer_tool(prompt: Prompt[Any], native_schema: bool = True) -> str | None:
    """The name of the tool the output schema travels as (its input is the answer), or
    ``None`` when the answer is asked for in text (chain of thought, a non-object schema,
    ``native_schema=False``)."""
    output = prompt.output
    if output is None or prompt.reasoning is not None or not native_schema:
        return None
    if output.schema.get("type") != "object":
        return None
    return schema_name(output.name)


def anthropic_fields(
    prompt: Prompt[Any], native_schema: bool = True, inline_system: bool = False
) -> dict[str, Any]:
    """``system``, ``messages``, ``tools`` and ``tool_choice`` of the Messages request."""
    fields = anthropic_messages(prompt, inline_system)
    tools = [_tool(t) for t in prompt.tools]
    choice = _tool_choice(prompt.tool_choice, prompt.parallel_tool_calls)
    answer = answer_tool(prompt, native_schema)
    if answer is not None:
        assert prompt.output is not None
        if any(t.name == answer for t in prompt.tools):
            raise ConfigurationError(
                f"a tool is named {answer!r}, the name the output schema's answer tool takes "
                "on Anthropic; rename the tool or the output model"
            )
        tools.append(
            {
                "name": answer,
                "description": ANSWER_TOOL_DESCRIPTION,
                "input_schema": prompt.output.schema,
            }
        )
        # Alone, the answer tool is forced; beside the prompt's own tools, or with extended
        # thinking (which refuses a forced tool), the model chooses: it answers through
        # the answer tool, or in text.
        if not prompt.tools and not thinking_enabled(prompt):
            choice = {"type": "tool", "name": answer}
    if tools:
        fields["tools"] = tools
    elif _has_tool_turns(prompt):
        raise ConfigurationError(
            "the conversation holds tool calls or results, and Anthropic refuses them in a "
            "request without tools: give the template the tools the history used (tools=)"
        )
    if choice is not None:
        fields["tool_choice"] = choice
    if _uses_files(prompt):  # documents by file id need the Files API beta
        fields["extra_headers"] = {"anthropic-beta": FILES_BETA}
    return fields


def _has_tool_turns(prompt: Prompt[Any]) -> bool:
    return any(isinstance(p, (ToolCall, ToolResult)) for m in prompt.messages for p in m.content)


def _uses_files(prompt: Prompt[Any]) -> bool:
    for message in prompt.messages:
        for part in message.content:
            inner = part.content if isinstance(part, ToolResult) else (part,)
            if any(isinstance(p, DocumentPart) and p.file_id is not None for p in inner):
                return True
    return False


def _part(part: Part, where: str) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        if part.url is not None:
            return {"type": "image", "source": {"type": "url", "url": part.url}}
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": part.media_type, "data": part.data},
        }
    if isinstance(part, DocumentPart):
        return _document(part)
    if isinstance(part, ToolCall):
        try:
            arguments = part.input
        except ToolArgumentsError as exc:  # Anthropic sends the arguments as an object
            raise ConfigurationError(f"{where}: {exc}; Anthropic needs a JSON object") from exc
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": arguments}
    if isinstance(part, ToolResult):
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.call_id}
        content = part.content
        if len(content) == 1 and type(content[0]) is TextPart:
            result["content"] = content[0].text
        else:
            result["content"] = [_part(p, where) for p in content]
        if part.is_error is not None:
            result["is_error"] = part.is_error
        return result
    if isinstance(part, NativePart) and part.provider == "anthropic":
        return dict(part.block)
    raise ConfigurationError(f"{where}: {refused_part(part, 'Anthropic')}")


def _document(part: DocumentPart) -> dict[str, Any]:
    if part.data is not None:
        source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    elif part.text is not None:
        source = {"type": "text", "media_type": "text/plain", "data": part.text}
    elif part.url is not None:
        source = {"type": "url", "url": part.url}
    else:
        source = {"type": "file", "file_id": part.file_id}
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.title is not None:
        block["title"] = part.title
    return block


def anthropic_messages(prompt: Prompt[Any], inline_system: bool = False) -> dict[str, Any]:
    """``{"system": ..., "messages": [...]}`` for the Messages API.

    The leading system messages become the ``system`` field (a string, or a list of blocks
    when one holds a provider-native block); later ones stay in place as system turns on
    models that take them (``inline_system``) and join the ``system`` field elsewhere. Tool
    results go in user turns; consecutive turns of the same role are merged, as the API
    would; a turn with a single text part is sent as a string.
    """
    named = [m.name for m in prompt.messages if m.name is not None]
    if named:
        raise ConfigurationError(
            f"Anthropic's Messages API has no message names ({', '.join(named[:3])}); "
            "put the speaker into the message text, or send this prompt to OpenAI"
        )
    system: list[tuple[int, Message]] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(prompt.messages):
        content = message.content
        if message.role == "system" and not (turns and inline_system):
            system.append((index, message))
            continue
        role = "user" if message.role == "tool" else message.role
        where = f"message {index} ({message.role})"
        if turns and turns[-1]["role"] == role and role != "system":
            previous = turns[-1]["content"]
            if isinstance(previous, str):
                previous = turns[-1]["content"] = [{"type": "text", "text": previous}]
            previous.extend(_part(p, where) for p in content)
        elif len(content) == 1 and type(content[0]) is TextPart:
            turns.append({"role": role, "content": content[0].text})
        else:
            turns.append({"role": role, "content": [_part(p, where) for p in content]})
    request: dict[str, Any] = {"messages": turns}
    if any(type(p) is not TextPart for _, m in system for p in m.content):
        request["system"] = [
            _system_part(p, f"message {i} (system)") for i, m in system for p in m.content
        ]
    else:
        joined = "\n\n".join(m.text for _, m in system)
        if joined:
            request["system"] = joined
    return request


def _system_part(part: Part, where: str) -> dict[str, Any]:
    if isinstance(part, (TextPart, NativePart)):
        return _part(part, where)
    raise ConfigurationError(
        f"{where}: a system message holds text (and Anthropic-native blocks), not "
        f"{type(part).__name__}; put images and documents in a user message"
    )


def thinking_enabled(prompt: Prompt[Any]) -> bool:
    """Whether ``params.extra`` turns Anthropic's extended thinking on."""
    thinking = (prompt.params.get("extra") or {}).get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _tool(tool: Tool | NativeTool) -> dict[str, Any]:
    """A tool in the Messages API's ``tools`` shape."""
    if isinstance(tool, NativeTool):
        return tool.sent_to("anthropic", "Anthropic")
    sent: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        sent["description"] = tool.description
    sent["input_schema"] = dict(tool.parameters)
    if tool.strict is not None:
        sent["strict"] = tool.strict
    return sent


def _tool_choice(choice: str | None, parallel: bool | None) -> dict[str, Any] | None:
    """``tool_choice`` for the Messages API (``parallel=False`` disables parallel calls)."""
    if choice is None and parallel is None:
        return None
    sent: dict[str, Any]
    if choice is None or choice in _CHOICES:
        sent = {"type": _CHOICES[choice or "auto"]}
    else:
        sent = {"type": "tool", "name": choice}
    if parallel is not None and sent["type"] != "none":
        sent["disable_parallel_tool_use"] = not parallel
    return sent
