"""Test helper: a provider's wire request (the JSON body an application sent) -> a Prompt.

Uses only promptlib's public API. The mapping is meant to be faithful, never tuned to a
record:

- each wire field goes to the Prompt field that models it (messages and their parts,
  ``name``, tools, ``tool_choice``, parallel tool calls, an OpenAI ``json_schema``
  response format that is exactly an output schema -> ``Prompt.output``);
- generation settings promptlib models go to ``Prompt.params`` (temperature, top_p, stop,
  seed, presence/frequency penalty, max_tokens); every other request field (``thinking``,
  ``output_config``, ``reasoning_effort``, other response formats, ``stream``, ...) goes to
  ``params["extra"]``, passed through as is;
- a content block or tool promptlib does not model, or one that carries a field its typed
  part does not have (``cache_control``, ``defer_loading``, ``prompt_cache_breakpoint``,
  ...), becomes a ``NativePart`` / ``NativeTool`` of that provider, verbatim;
- message fields no Prompt field can hold (OpenAI response-only fields echoed back, such
  as ``refusal``, ``annotations``, ``tool_calls[].index``) are left out, so that the
  comparison with the rebuilt request shows them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from promptlib import (
    DocumentPart,
    ImagePart,
    Message,
    NativePart,
    NativeTool,
    OutputSpec,
    Part,
    Prompt,
    TextPart,
    Tool,
    ToolCall,
    ToolResult,
)

__all__ = ["anthropic_prompt", "openai_prompt"]

_DATA_URL = re.compile(r"data:([^;,]+);base64,(.*)", re.DOTALL)
_NUMBER_PARAMS = ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty")


def _only(block: Mapping[str, Any], *keys: str) -> bool:
    """The block holds no key beyond ``keys`` (a null value counts as absent)."""
    return all(k in keys for k, v in block.items() if v is not None)


def _params(known: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    params = dict(known)
    if extra:
        params["extra"] = extra
    return params


# --------------------------------------------------------------------------- OpenAI

_OPENAI_PROMPT_FIELDS = frozenset(
    {"model", "messages", "tools", "tool_choice", "parallel_tool_calls"}
)


def openai_prompt(request: Mapping[str, Any]) -> Prompt[Any]:
    """The Prompt for a Chat Completions request body."""
    tools = tuple(_openai_tool(t) for t in request.get("tools") or ())
    choice = request.get("tool_choice")
    if isinstance(choice, Mapping):  # {"type": "function", "function": {"name": ...}}
        choice = choice["function"]["name"]
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    output = None
    for key, value in request.items():
        if key in _OPENAI_PROMPT_FIELDS or value is None:
            continue
        if key in _NUMBER_PARAMS:
            known[key] = value
        elif key == "stop" and isinstance(value, list):
            known["stop"] = value
        elif key in ("max_tokens", "max_completion_tokens"):
            known["max_tokens"] = value
        elif key == "response_format" and _own_output_schema(value):
            spec = value["json_schema"]
            output = OutputSpec(spec["name"], spec["schema"], spec.get("strict", True))
        else:
            extra[key] = value
    return Prompt(
        messages=_openai_messages(request["messages"]),
        model=request["model"],
        params=_params(known, extra),
        output=output,
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=request.get("parallel_tool_calls"),
    )


def _own_output_schema(value: Any) -> bool:
    """A ``json_schema`` response format that is exactly an output schema (name, schema,
    strict); one with more (a description) or another type is a pass-through field."""
    return (
        isinstance(value, Mapping)
        and value.get("type") == "json_schema"
        and _only(value, "type", "json_schema")
        and _only(value["json_schema"], "name", "schema", "strict")
    )


def _openai_messages(messages: list[Mapping[str, Any]]) -> tuple[Message, ...]:
    out: list[Message] = []
    for message in messages:
        role, content = message["role"], message.get("content")
        if role == "tool":
            result = ToolResult(message["tool_call_id"], _openai_result(content))
            out.append(Message("tool", (result,)))
            continue
        if role == "developer":  # OpenAI's newer name for system instructions
            role = "system"
        parts: list[Part] = []
        if isinstance(content, str):
            parts.append(TextPart(content))
        elif content is not None:
            parts.extend(_openai_part(p) for p in content)
        for call in message.get("tool_calls") or ():
            function = call["function"]
            parts.append(ToolCall(call["id"], function["name"], function["arguments"]))
        out.append(Message(role, tuple(parts), message.get("name")))
    return tuple(out)


def _openai_result(content: Any) -> str | tuple[TextPart | NativePart, ...]:
    if isinstance(content, str):
        return content
    return tuple(
        TextPart(p["text"]) if p.get("type") == "text" and _only(p, "type", "text")
        else NativePart("openai", p)
        for p in content
    )  # fmt: skip


def _openai_part(part: Mapping[str, Any]) -> Part:
    kind = part.get("type")
    if kind == "text" and _only(part, "type", "text"):
        return TextPart(part["text"])
    if kind == "image_url" and _only(part, "type", "image_url"):
        image = part["image_url"]
        if _only(image, "url", "detail"):
            url, detail = image["url"], image.get("detail")
            inline = _DATA_URL.fullmatch(url)
            if inline:
                return ImagePart(data=inline[2], media_type=inline[1], detail=detail)
            return ImagePart(url=url, detail=detail)
    if kind == "file" and _only(part, "type", "file"):
        file = part["file"]
        if file.get("file_id") is not None and _only(file, "file_id"):
            return DocumentPart(file_id=file["file_id"])
        inline = _DATA_URL.fullmatch(file.get("file_data") or "")
        if inline and _only(file, "file_data", "filename"):
            return DocumentPart(data=inline[2], media_type=inline[1], filename=file.get("filename"))
    return NativePart("openai", part)


def _openai_tool(tool: Mapping[str, Any]) -> Tool | NativeTool:
    function = tool.get("function")
    if (
        tool.get("type") == "function"
        and _only(tool, "type", "function")
        and isinstance(function, Mapping)
        and _only(function, "name", "description", "parameters", "strict")
    ):
        return Tool(
            name=function["name"],
            parameters=function.get("parameters", {"type": "object", "properties": {}}),
            description=function.get("description"),
            strict=function.get("strict"),
        )
    return NativeTool("openai", tool)


# ------------------------------------------------------------------------ Anthropic

_ANTHROPIC_PROMPT_FIELDS = frozenset({"model", "messages", "system", "tools", "tool_choice"})
_ANTHROPIC_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def anthropic_prompt(request: Mapping[str, Any]) -> Prompt[Any]:
    """The Prompt for a Messages API request body."""
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in request.items():
        if key in _ANTHROPIC_PROMPT_FIELDS or value is None:
            continue
        if key in ("temperature", "top_p", "max_tokens"):
            known[key] = value
        elif key == "stop_sequences":
            known["stop"] = value
        else:
            extra[key] = value
    choice, parallel = _anthropic_choice(request.get("tool_choice"))
    messages: list[Message] = []
    system = request.get("system")
    if isinstance(system, str):
        messages.append(Message.system(system))
    elif system:
        messages.append(Message("system", tuple(_anthropic_part(b) for b in system)))
    for message in request["messages"]:
        messages.extend(_anthropic_turn(message))
    return Prompt(
        messages=tuple(messages),
        model=request["model"],
        params=_params(known, extra),
        tools=tuple(_anthropic_tool(t) for t in request.get("tools") or ()),
        tool_choice=choice,
        parallel_tool_calls=parallel,
    )


def _anthropic_choice(choice: Mapping[str, Any] | None) -> tuple[str | None, bool | None]:
    if choice is None:
        return None, None
    kind = choice["type"]
    name = choice["name"] if kind == "tool" else _ANTHROPIC_CHOICES[kind]
    disabled = choice.get("disable_parallel_tool_use")
    return name, None if disabled is None else not disabled


def _anthropic_turn(message: Mapping[str, Any]) -> list[Message]:
    """One wire turn as messages: a user turn's ``tool_result`` blocks become ``tool``
    messages, its other blocks user messages, in their order."""
    role, content = message["role"], message["content"]
    if isinstance(content, str):
        return [Message(role, (TextPart(content),))]
    if role != "user":
        return [Message(role, tuple(_anthropic_part(b) for b in content))]
    runs: list[tuple[str, list[Any]]] = []
    for block in content:
        result = _tool_result(block)
        kind = "tool" if result is not None else "user"
        if not runs or runs[-1][0] != kind:
            runs.append((kind, []))
        runs[-1][1].append(result if result is not None else _anthropic_part(block))
    return [Message(kind, tuple(parts)) for kind, parts in runs] or [Message("user", ())]


def _tool_result(block: Mapping[str, Any]) -> ToolResult | None:
    if block.get("type") != "tool_result" or not _only(
        block, "type", "tool_use_id", "content", "is_error"
    ):
        return None
    content = block.get("content", ())
    if not isinstance(content, str):
        content = tuple(_result_part(p) for p in content)
    return ToolResult(block["tool_use_id"], content, block.get("is_error"))


def _result_part(block: Mapping[str, Any]) -> TextPart | ImagePart | DocumentPart | NativePart:
    part = _anthropic_part(block)
    if isinstance(part, ToolCall):  # not a result's content: keep the block as it is
        return NativePart("anthropic", block)
    return part


def _anthropic_part(
    block: Mapping[str, Any],
) -> TextPart | ImagePart | DocumentPart | ToolCall | NativePart:
    kind = block.get("type")
    if kind == "text" and _only(block, "type", "text"):
        return TextPart(block["text"])
    tool_use = kind == "tool_use" and _only(block, "type", "id", "name", "input")
    if tool_use and isinstance(block["input"], Mapping):
        return ToolCall(block["id"], block["name"], json.dumps(block["input"]))
    if kind == "image" and _only(block, "type", "source"):
        source = block["source"]
        if source.get("type") == "base64" and _only(source, "type", "media_type", "data"):
            return ImagePart(data=source["data"], media_type=source["media_type"])
        if source.get("type") == "url" and _only(source, "type", "url"):
            return ImagePart(url=source["url"])
    if kind == "document" and _only(block, "type", "source", "title"):
        document = _document(block["source"], block.get("title"))
        if document is not None:
            return document
    return NativePart("anthropic", block)


def _document(source: Mapping[str, Any], title: str | None) -> DocumentPart | None:
    kind = source.get("type")
    if kind == "base64" and _only(source, "type", "media_type", "data"):
        return DocumentPart(data=source["data"], media_type=source["media_type"], title=title)
    plain = source.get("media_type", "text/plain") == "text/plain"
    if kind == "text" and plain and _only(source, "type", "media_type", "data"):
        return DocumentPart(text=source["data"], title=title)
    if kind == "url" and _only(source, "type", "url"):
        return DocumentPart(url=source["url"], title=title)
    if kind == "file" and _only(source, "type", "file_id"):
        return DocumentPart(file_id=source["file_id"], title=title)
    return None


def _anthropic_tool(tool: Mapping[str, Any]) -> Tool | NativeTool:
    # A tool with a "type" is a server tool (web_search_..., code_execution_...) or an
    # explicit "custom" one; extra fields (defer_loading, cache_control) are not modelled.
    if "type" not in tool and _only(tool, "name", "description", "input_schema", "strict"):
        return Tool(
            name=tool["name"],
            parameters=tool["input_schema"],
            description=tool.get("description"),
            strict=tool.get("strict"),
        )
    return NativeTool("anthropic", tool)
