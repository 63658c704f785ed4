"""Estimates for what no published counting method covers: tools, tool calls and results,
documents, provider-native blocks.

A prompt using any of them is counted as an estimate (``TokenCount.exact`` is false), with
these figures in place of what the provider adds. Their error on recorded requests is in
``docs/tokens.md``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Any

from promptlib.messages import Prompt
from promptlib.parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    TextPart,
    ToolCall,
    ToolResult,
)
from promptlib.tokens.encodings import token_counter
from promptlib.tools import NativeTool, Tool

__all__ = [
    "anthropic_tools_tokens",
    "openai_tools_tokens",
    "part_tokens",
    "prompt_features",
]

# A PDF page as the providers read it (text, and for Anthropic an image of the page),
# from recorded one-page requests: Anthropic about 1,600 tokens, OpenAI about 250.
_PDF_PAGE = {"anthropic": 1_600, "openai": 250}
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
# A tool call's framing (id, type, function wrapper) beyond its name and arguments.
_CALL_FRAME = 8
# Anthropic's tool-use system prompt (its docs, Claude 4 and 3.7 models): added once when a
# request offers tools; fewer tokens when a tool is forced.
_ANTHROPIC_TOOL_PROMPT = {"auto": 346, "forced": 313}
_IMAGE = 255  # an image in a tool result: the 512x512 high-detail figure


def prompt_features(prompt: Prompt[Any]) -> list[str]:
    """What ``prompt`` uses that no published counting method covers."""
    found: set[str] = set()
    if prompt.tools:
        found.add("tools")
    if prompt.tool_choice is not None:
        found.add("tool_choice")
    for message in prompt.messages:
        for part in message.content:
            kind = _FEATURE.get(type(part))
            if kind:
                found.add(kind)
    return sorted(found)


_FEATURE: dict[type, str] = {
    ToolCall: "tool calls",
    ToolResult: "tool results",
    DocumentPart: "documents",
    NativePart: "native blocks",
}


def part_tokens(part: Part, encoding: str, provider: str) -> int:
    """An estimate of one non-text, non-image part (a tool call, result, document or
    provider-native block)."""
    count = token_counter(encoding)
    if isinstance(part, ToolCall):
        return count(part.name) + count(part.arguments) + _CALL_FRAME
    if isinstance(part, ToolResult):
        inner = sum(
            count(p.text)
            if isinstance(p, TextPart)
            else _IMAGE
            if isinstance(p, ImagePart)
            else part_tokens(p, encoding, provider)
            for p in part.content
        )
        return inner + count(part.call_id) + 3
    if isinstance(part, DocumentPart):
        return _document_tokens(part, encoding, provider)
    if isinstance(part, NativePart):
        return count(json.dumps(dict(part.block), ensure_ascii=False))
    return 0


def _document_tokens(part: DocumentPart, encoding: str, provider: str) -> int:
    count = token_counter(encoding)
    title = count(part.title or part.filename or "")
    if part.text is not None:
        return count(part.text) + title + 10
    page = _PDF_PAGE.get(provider, _PDF_PAGE["openai"])
    if part.data is None:
        return page + title  # a URL or an uploaded file: its size is unknown here
    try:
        raw = base64.b64decode(part.data, validate=False)
    except (binascii.Error, ValueError):
        return page + title
    if part.media_type == "application/pdf":
        return max(1, len(_PAGE.findall(raw))) * page + title
    return len(raw) // 4 + title


def openai_tools_tokens(tools: Iterable[Tool | NativeTool], encoding: str) -> int:
    """Function definitions by the formula in OpenAI's cookbook ("How to count tokens with
    tiktoken"); a provider-native tool as its JSON."""
    return function_tools_tokens([_openai_shape(t) for t in tools], encoding)


def _openai_shape(tool: Tool | NativeTool) -> dict[str, Any]:
    if isinstance(tool, NativeTool):
        return dict(tool.definition)
    return {
        "name": tool.name,
        "description": tool.description or "",
        "parameters": dict(tool.parameters),
    }


def function_tools_tokens(tools: list[Any], encoding: str) -> int:
    """OpenAI's cookbook formula over wire-shaped function definitions: each function's
    name and description, each parameter's name, type, description and enum values, and
    fixed overheads."""
    count = token_counter(encoding)
    function_start = 7 if encoding == "o200k_base" else 10
    total = 12
    for tool in tools:
        function = tool.get("function", tool) if isinstance(tool, dict) else {}
        if not isinstance(function, dict):
            continue
        description = str(function.get("description") or "").rstrip(".")
        total += function_start + count(f"{function.get('name', '')}:{description}")
        parameters = function.get("parameters")
        properties = parameters.get("properties") if isinstance(parameters, dict) else None
        if not isinstance(properties, dict) or not properties:
            continue
        total += 3
        for key, prop in properties.items():
            prop = prop if isinstance(prop, dict) else {}
            total += 3
            values = prop.get("enum")
            if isinstance(values, list):
                total += -3 + sum(3 + count(str(v)) for v in values)
            text = str(prop.get("description") or "").rstrip(".")
            total += count(f"{key}:{prop.get('type', '')}:{text}")
    return total


def anthropic_tools_tokens(prompt: Prompt[Any], ratio: float) -> int:
    """The prompt's tools on Anthropic: their JSON scaled by the model's ratio, plus the
    tool-use system prompt the API adds."""
    count = token_counter("o200k_base")
    body = sum(count(json.dumps(t.to_dict(), ensure_ascii=False)) for t in prompt.tools)
    forced = prompt.tool_choice not in (None, "auto", "none")
    system = _ANTHROPIC_TOOL_PROMPT["forced" if forced else "auto"]
    return round(body * ratio) + system
