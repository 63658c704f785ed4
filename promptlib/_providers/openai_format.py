"""A Prompt as OpenAI Chat Completions fields: messages (tool calls on assistant turns, a
``tool`` message per result, files), tools and tool choice."""

from __future__ import annotations

from typing import Any

from promptlib._errors import ConfigurationError
from promptlib._messages import Prompt, tool_pairing_problem
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
from promptlib._providers.strict_schema import strict_problems, strict_schema
from promptlib._tools import CHOICES, NativeTool, Tool

__all__ = ["openai_fields"]


def openai_fields(prompt: Prompt[Any]) -> dict[str, Any]:
    """``messages``, ``tools``, ``tool_choice`` and ``parallel_tool_calls``."""
    problem = tool_pairing_problem(prompt.messages)
    if problem is not None:
        raise ConfigurationError(f"OpenAI would refuse this prompt: {problem}")
    fields: dict[str, Any] = {"messages": _messages(prompt)}
    if prompt.tools:
        fields["tools"] = [_tool(t) for t in prompt.tools]
    if prompt.tool_choice is not None:
        fields["tool_choice"] = _tool_choice(prompt, prompt.tool_choice)
    if prompt.parallel_tool_calls is not None:
        fields["parallel_tool_calls"] = prompt.parallel_tool_calls
    return fields


def _part(part: Part, where: str) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        url = part.url or f"data:{part.media_type};base64,{part.data}"
        image: dict[str, Any] = {"url": url}
        if part.detail:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(part, DocumentPart):
        return _file(part, where)
    if isinstance(part, NativePart) and part.provider == "openai":
        return dict(part.block)
    raise ConfigurationError(f"{where}: {refused_part(part, 'OpenAI')}")


def _system_part(part: Part, where: str) -> dict[str, Any]:
    if isinstance(part, (TextPart, NativePart)):
        return _part(part, where)
    raise ConfigurationError(
        f"{where}: a system message holds text (and OpenAI-native parts), not "
        f"{type(part).__name__}; put images and documents in a user message"
    )


def _file(part: DocumentPart, where: str) -> dict[str, Any]:
    if part.file_id is not None:
        return {"type": "file", "file": {"file_id": part.file_id}}
    if part.data is None:
        raise ConfigurationError(
            f"{where}: OpenAI's Chat Completions takes documents as inline data or an "
            "uploaded file id, not as text or a URL: pass the text as a TextPart, or upload "
            "the file and use DocumentPart(file_id=...)"
        )
    if part.filename is None:
        raise ConfigurationError(
            f"{where}: OpenAI needs a filename for an inline document: "
            "DocumentPart.from_bytes(data, media_type, filename='invoice.pdf')"
        )
    file = {"file_data": f"data:{part.media_type};base64,{part.data}", "filename": part.filename}
    return {"type": "file", "file": file}


def _content(parts: tuple[Any, ...], where: str) -> str | list[dict[str, Any]]:
    if len(parts) == 1 and type(parts[0]) is TextPart:
        return str(parts[0].text)
    return [_part(p, where) for p in parts]


def _messages(prompt: Prompt[Any]) -> list[dict[str, Any]]:
    custom = {
        t.name
        for t in prompt.tools
        if isinstance(t, NativeTool) and t.definition.get("type") == "custom"
    }
    sent: list[dict[str, Any]] = []
    for index, message in enumerate(prompt.messages):
        where = f"message {index} ({message.role})"
        if message.role == "tool":
            for result in message.content:
                assert isinstance(result, ToolResult)
                sent.append(_tool_message(result, where))
            continue
        calls = message.tool_calls
        if message.role == "assistant" and (calls or len(message.content) != 1):
            out: dict[str, Any] = {"role": "assistant"}
            said = [p for p in message.content if not isinstance(p, ToolCall)]
            if any(not isinstance(p, TextPart) for p in said):  # OpenAI-native parts
                out["content"] = [_system_part(p, where) for p in said]
            elif message.text or not calls:
                out["content"] = message.text
            if calls:
                out["tool_calls"] = [_call(c, custom) for c in calls]
            previous = sent[-1] if sent else None
            if (
                previous is not None
                and previous["role"] == "assistant"
                and "tool_calls" in previous
            ):
                # OpenAI wants a turn's calls followed by their results: an assistant
                # message after one that called tools joins it (one turn, as Anthropic).
                _join(previous, out, where)
                continue
        elif len(message.content) == 1 and type(message.content[0]) is TextPart:
            out = {"role": message.role, "content": message.content[0].text}
        elif message.role == "system":
            if all(type(p) is TextPart for p in message.content):
                out = {"role": "system", "content": message.text}
            else:
                out = {
                    "role": "system",
                    "content": [_system_part(p, where) for p in message.content],
                }
        else:
            out = {"role": message.role, "content": [_part(p, where) for p in message.content]}
        if message.name is not None:
            out["name"] = message.name
        sent.append(out)
    return sent


def _tool_message(result: ToolResult, where: str) -> dict[str, Any]:
    if any(not isinstance(p, TextPart) for p in result.content):
        raise ConfigurationError(
            f"{where}: OpenAI's tool messages take text only, and the result of call "
            f"{result.call_id!r} holds an image or document: describe it in text, or send it "
            "in a user message after the tool message"
        )
    return {
        "role": "tool",
        "tool_call_id": result.call_id,
        "content": _content(result.content, where),
    }


def _join(turn: dict[str, Any], more: dict[str, Any], where: str) -> None:
    text = more.get("content")
    if text is not None and not isinstance(text, str):
        raise ConfigurationError(
            f"{where}: an assistant message with provider-native parts cannot follow one that "
            "called tools on OpenAI; merge the two turns"
        )
    if text:
        before = turn.get("content")
        turn["content"] = f"{before}\n\n{text}" if isinstance(before, str) and before else text
    turn["tool_calls"] = [*turn["tool_calls"], *more.get("tool_calls", [])]


def _call(call: ToolCall, custom: set[str]) -> dict[str, Any]:
    if call.name in custom:  # a custom tool's call: free-form input, not JSON arguments
        return {
            "id": call.id,
            "type": "custom",
            "custom": {"name": call.name, "input": call.arguments},
        }
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def _tool(tool: Tool | NativeTool) -> dict[str, Any]:
    if isinstance(tool, NativeTool):
        return tool.sent_to("openai", "OpenAI")
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    parameters = dict(tool.parameters)
    if tool.strict:
        problems = strict_problems(parameters)
        if problems:
            raise ConfigurationError(
                f"tool {tool.name!r}: strict=True, and OpenAI's strict mode cannot express "
                f"its parameters ({', '.join(problems)}); use strict=None or change the model"
            )
        parameters = strict_schema(parameters)
    function["parameters"] = parameters
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _tool_choice(prompt: Prompt[Any], choice: str) -> Any:
    if choice in CHOICES:
        return choice
    chosen = next(t for t in prompt.tools if t.name == choice)
    if isinstance(chosen, NativeTool) and chosen.definition.get("type") == "custom":
        return {"type": "custom", "custom": {"name": choice}}
    return {"type": "function", "function": {"name": choice}}
