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
from collections.abc import Callable
from typing import Any

from promptlib._anthropic_format import thinking_enabled
from promptlib._messages import Prompt
from promptlib._parts import (
    DocumentPart,
    ImagePart,
    NativePart,
    Part,
    TextPart,
    ToolCall,
    ToolResult,
)
from promptlib._tokens.encodings import token_counter
from promptlib._tools import NativeTool, Tool

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
# Fitted on the recorded requests in tests/data/token_ground_truth (benchmarks/count_error.py
# measures the error they leave; docs/tokens.md has the figures):
# - a tool call's framing beyond its name and arguments, with its result's (49 OpenAI
#   records); Anthropic's tool_use/tool_result pair costs 13 more (21 records);
_CALL_FRAME = {"openai": 4, "anthropic": 17}
# - Anthropic's tool-use system prompt, added once when a request offers tools: 496 tokens,
#   590 when a tool is forced (37 records; 7 older ones sit near 300, which this misses);
_ANTHROPIC_TOOL_PROMPT = {"auto": 496, "forced": 590}
# - OpenAI: a forced function (tool_choice naming one) adds 11 tokens (11 records);
_OPENAI_NAMED_CHOICE = 11
# - Anthropic: extended thinking adds 29 tokens of instructions (11 records); a JSON-schema
#   output_config adds its compact schema and 143 more (5 records).
_THINKING, _OUTPUT_CONFIG = 29, 143
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
        return count(part.name) + count(part.arguments) + _CALL_FRAME.get(provider, 4)
    if isinstance(part, ToolResult):
        return sum(
            count(p.text)
            if isinstance(p, TextPart)
            else _IMAGE
            if isinstance(p, ImagePart)
            else part_tokens(p, encoding, provider)
            for p in part.content
        )
    if isinstance(part, DocumentPart):
        return _document_tokens(part, encoding, provider)
    if isinstance(part, NativePart):
        if part.type == "thinking":  # its text counts, not its signature
            return count(str(part.block.get("thinking", "")))
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


def openai_tools_tokens(prompt: Prompt[Any], encoding: str, overhead: int = 0) -> int:
    """The prompt's tools: function definitions by the formula in OpenAI's cookbook ("How
    to count tokens with tiktoken"), a provider-native tool as its JSON, plus a forced
    function's and the model's own fitted overhead (``tools_overhead`` in the catalog)."""
    tokens = function_tools_tokens([_openai_shape(t) for t in prompt.tools], encoding)
    if prompt.tool_choice not in (None, "auto", "none", "required"):
        tokens += _OPENAI_NAMED_CHOICE
    return tokens + overhead


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
            total += _nested_tokens(prop, count)
        if isinstance(parameters, dict):
            total += _nested_tokens(parameters, count, keys=("$defs", "definitions"))
    return total


# What the cookbook's formula leaves out: the names and descriptions inside nested objects,
# arrays of objects, unions and definitions (it covers top-level properties only).
_NESTED = ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties")


def _nested_tokens(
    schema: dict[str, Any], count: Callable[[str], int], keys: tuple[str, ...] = _NESTED
) -> int:
    words: list[str] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 64:
            return
        if isinstance(node, dict):
            description = node.get("description")
            if isinstance(description, str):
                words.append(description)
            properties = node.get("properties")
            if isinstance(properties, dict):
                words.extend(str(k) for k in properties)
            for value in node.values():
                walk(value, depth + 1)
        elif isinstance(node, list):
            for value in node:
                walk(value, depth + 1)

    for key in keys:
        if isinstance(schema, dict) and key in schema:
            walk(schema[key], 0)
    return int(count(" ".join(words))) if words else 0


def anthropic_request_options(prompt: Prompt[Any], ratio: float) -> list[tuple[str, str, int]]:
    """What ``thinking`` and ``output_config`` (passed in ``params.extra``) add, as
    ``(kind, label, tokens)``."""
    extra = prompt.params.get("extra") or {}
    found = []
    if thinking_enabled(prompt):
        found.append(("thinking", "instructions", _THINKING))
    config = extra.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = json.dumps(fmt.get("schema"), separators=(",", ":"), ensure_ascii=False)
        tokens = round(token_counter("o200k_base")(schema) * ratio) + _OUTPUT_CONFIG
        found.append(("output schema", "output_config", tokens))
    return found


def anthropic_tools_tokens(
    prompt: Prompt[Any], ratio: float, tool_prompt: tuple[int, int] | None = None
) -> int:
    """The prompt's tools on Anthropic: their JSON scaled by the model's ratio, plus the
    tool-use system prompt the API adds (``tool_prompt``: the model's own, auto and
    forced, from the catalog; else the fitted figures)."""
    count = token_counter("o200k_base")
    body = sum(count(json.dumps(t.to_dict(), ensure_ascii=False)) for t in prompt.tools)
    forced = prompt.tool_choice not in (None, "auto", "none")
    auto, forcing = tool_prompt or (
        _ANTHROPIC_TOOL_PROMPT["auto"],
        _ANTHROPIC_TOOL_PROMPT["forced"],
    )
    return round(body * ratio) + (forcing if forced else auto)
