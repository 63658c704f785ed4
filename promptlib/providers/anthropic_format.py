"""A Prompt as Anthropic Messages API fields: ``system`` apart, same-role turns merged,
tool results in user turns, tools and tool choice in Anthropic's shapes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promptlib.errors import ConfigurationError
from promptlib.parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    TextPart,
    ToolCall,
    ToolResult,
    refused_part,
)
from promptlib.tools import NativeTool, Tool

if TYPE_CHECKING:
    from promptlib.messages import Prompt

__all__ = ["anthropic_messages", "anthropic_tool", "anthropic_tool_choice"]

_CHOICES = {"auto": "auto", "none": "none", "required": "any"}


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
        except ValueError as exc:  # ToolArgumentsError: Anthropic sends an object
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


def anthropic_messages(prompt: Prompt[Any]) -> dict[str, Any]:
    """``{"system": ..., "messages": [...]}`` for the Messages API.

    The system messages become the ``system`` field; tool results go in user turns;
    consecutive turns of the same role are merged, as the API requires; a turn with a
    single text part is sent as a string.
    """
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(prompt.messages):
        content = message.content
        if message.role == "system":
            system.append(message.text)
            continue
        role = "user" if message.role == "tool" else message.role
        where = f"message {index} ({message.role})"
        if turns and turns[-1]["role"] == role:
            previous = turns[-1]["content"]
            if isinstance(previous, str):
                previous = turns[-1]["content"] = [{"type": "text", "text": previous}]
            previous.extend(_part(p, where) for p in content)
        elif len(content) == 1 and type(content[0]) is TextPart:
            turns.append({"role": role, "content": content[0].text})
        else:
            turns.append({"role": role, "content": [_part(p, where) for p in content]})
    request: dict[str, Any] = {"messages": turns}
    joined = "\n\n".join(system)
    if joined:
        request["system"] = joined
    return request


def anthropic_tool(tool: Tool | NativeTool) -> dict[str, Any]:
    """A tool in the Messages API's ``tools`` shape."""
    if isinstance(tool, NativeTool):
        if tool.provider != "anthropic":
            raise ConfigurationError(
                f"tool {tool.name!r} is an {tool.provider} tool; Anthropic cannot run it: "
                "offer it only to that provider, or declare a function Tool"
            )
        return dict(tool.definition)
    sent: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        sent["description"] = tool.description
    sent["input_schema"] = dict(tool.parameters)
    if tool.strict is not None:
        sent["strict"] = tool.strict
    return sent


def anthropic_tool_choice(choice: str | None, parallel: bool | None) -> dict[str, Any] | None:
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
