"""Real requests, imported into a Prompt and built again by the adapters, match the wire.

Every record of ``tests/data/token_ground_truth/`` (see its ``SOURCES.md``) is a request an
application sent to OpenAI's Chat Completions or Anthropic's Messages API. For each one:

(a) ``wire_import`` turns the request into a :class:`~promptlib.Prompt` (public API only);
(b) the adapter builds the request again (``build_request``);
(c) both are compared after normalizing encodings that are equal on the wire:

    - a key whose value is ``null`` equals an absent key (in the request, its messages,
      content blocks, tool calls, tools and tool choice; not inside JSON values the
      application owns: schemas, tool inputs, where ``null`` is data);
    - a ``content`` string equals a list holding one text block (message content, and an
      Anthropic ``tool_result``'s content);
    - Anthropic: consecutive user (or assistant) turns equal one turn holding their blocks
      in order: the API combines them into a single turn;
    - Anthropic: a ``system`` string equals a list of one text block without other keys;
      ``extra_body`` fields are body fields (the SDK merges them into the JSON body);
      ``extra_headers`` are headers, not part of the body;
      ``max_tokens``, which the adapter always sets, is left out when the record has none;
    - key order is ignored (dicts compare as mappings).

(d) the imported Prompt survives ``to_json()`` / ``from_json()`` equal, with the same hash,
    and builds the same request.

At least 95% of each provider's records without server tools must match. Records with
Anthropic server tools must import and build. Every record that does not match is listed
in ``MISMATCHES`` with the reason; a listed record that starts matching fails too, so the
list stays true. Today: OpenAI 169 of 173 (the four others echo SDK response objects),
Anthropic 212 of 212 without server tools and all 80 with them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from promptlib import AnthropicProvider, NativePart, NativeTool, OpenAIProvider, Prompt
from tests.providers.wire_import import anthropic_prompt, openai_prompt

DATA = Path(__file__).parents[1] / "data" / "token_ground_truth"


def _records(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


OPENAI = _records("openai_chat_prompt_tokens.jsonl")
ANTHROPIC = _records("anthropic_input_tokens.jsonl")
RECORDS = {r["id"]: r for r in (*OPENAI, *ANTHROPIC)}

# ------------------------------------------------------------- records that differ

# Not expressible: the request holds something no Prompt field can carry.
ECHOED_RESPONSE = (
    "SDK response object echoed back as the assistant turn: response-only field "
    "tool_calls[].index (its other response-only fields refusal/annotations/audio/"
    "function_call/parsed/parsed_arguments are null); a Prompt has no place for it"
)
MISMATCHES: dict[str, str] = dict.fromkeys(
    ["openai-0141", "openai-0148", "openai-0165", "openai-0166"], ECHOED_RESPONSE
)


# ----------------------------------------------------------------------- normalization

# Values the application owns: compared exactly (null is data there).
_OPAQUE = frozenset({"parameters", "input_schema", "schema", "input", "arguments"})


def _without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: (v if k in _OPAQUE else _without_nulls(v)) for k, v in value.items() if v is not None
        }
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _text_blocks(content: Any) -> Any:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def normalize_openai(request: Mapping[str, Any]) -> dict[str, Any]:
    out = _without_nulls(dict(request))
    for message in out.get("messages", ()):
        if "content" in message:
            message["content"] = _text_blocks(message["content"])
    return out


def normalize_anthropic(request: Mapping[str, Any], *, sent_max_tokens: bool) -> dict[str, Any]:
    out = _without_nulls(dict(request))
    out.update(out.pop("extra_body", {}))
    out.pop("extra_headers", None)  # HTTP headers (the Files API beta), not the body
    if not sent_max_tokens:
        out.pop("max_tokens", None)
    if "system" in out:
        out["system"] = _text_blocks(out["system"])
    merged: list[dict[str, Any]] = []
    for message in out.get("messages", ()):
        message["content"] = _text_blocks(message["content"])
        for block in message["content"]:
            if block.get("type") == "tool_result" and "content" in block:
                block["content"] = _text_blocks(block["content"])
        if merged and merged[-1]["role"] == message["role"] != "system":
            merged[-1]["content"] = merged[-1]["content"] + message["content"]
        else:
            merged.append(message)
    if "messages" in out:
        out["messages"] = merged
    return out


def differences(expected: Any, got: Any, path: str = "") -> list[str]:
    """Where two normalized requests differ, as ``path: expected ... got ...`` lines."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out: list[str] = []
        for key in sorted(expected.keys() | got.keys()):
            where = f"{path}.{key}" if path else key
            if key not in got:
                out.append(f"{where}: expected {_short(expected[key])}, got (absent)")
            elif key not in expected:
                out.append(f"{where}: expected (absent), got {_short(got[key])}")
            else:
                out.extend(differences(expected[key], got[key], where))
        return out
    if isinstance(expected, list) and isinstance(got, list):
        out = [
            d
            for i, (e, g) in enumerate(zip(expected, got, strict=False))
            for d in differences(e, g, f"{path}[{i}]")
        ]
        for i in range(len(got), len(expected)):
            out.append(f"{path}[{i}]: expected {_short(expected[i])}, got (absent)")
        for i in range(len(expected), len(got)):
            out.append(f"{path}[{i}]: expected (absent), got {_short(got[i])}")
        return out
    if expected == got and type(expected) is type(got):
        return []
    return [f"{path}: expected {_short(expected)}, got {_short(got)}"]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


# ------------------------------------------------------------------------ one record


def _importer(record: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Prompt[Any]]:
    return openai_prompt if record["provider"] == "openai" else anthropic_prompt


def _build(record: Mapping[str, Any], prompt: Prompt[Any]) -> dict[str, Any]:
    provider = OpenAIProvider() if record["provider"] == "openai" else AnthropicProvider()
    return provider.build_request(prompt, record["request"]["model"])


def wire_differences(record: Mapping[str, Any]) -> list[str]:
    """Import the record's request, build it again, and list the differences."""
    request = record["request"]
    built = _build(record, _importer(record)(request))
    if record["provider"] == "openai":
        return differences(normalize_openai(request), normalize_openai(built))
    sent = "max_tokens" in request
    return differences(
        normalize_anthropic(request, sent_max_tokens=sent),
        normalize_anthropic(built, sent_max_tokens=sent),
    )


# ----------------------------------------------------------------------------- tests


def test_the_data_is_complete() -> None:
    assert len(OPENAI) == 173
    assert len(ANTHROPIC) == 292
    assert sum(r["uses_server_tools"] for r in ANTHROPIC) == 80
    assert not any(r["uses_server_tools"] for r in OPENAI)
    assert len(RECORDS) == len(OPENAI) + len(ANTHROPIC)  # ids are unique
    assert set(MISMATCHES) <= set(RECORDS)


@pytest.mark.parametrize("record_id", sorted(RECORDS))
def test_request_imports_builds_and_matches_the_wire(record_id: str) -> None:
    record = RECORDS[record_id]
    prompt = _importer(record)(record["request"])
    built = _build(record, prompt)

    # (d) the imported prompt survives JSON, equal, with the same hash and request
    again = Prompt.from_json(prompt.to_json())
    assert again == prompt
    assert again.hash == prompt.hash
    assert _build(record, again) == built

    if record["uses_server_tools"]:
        _check_server_tools(record, prompt)

    found = wire_differences(record)
    if record_id in MISMATCHES:
        assert found, (
            f"{record_id} now matches the wire; remove it from MISMATCHES "
            f"(was: {MISMATCHES[record_id]})"
        )
    else:
        assert not found, f"{record_id} differs from the wire:\n" + "\n".join(found)


def _check_server_tools(record: Mapping[str, Any], prompt: Prompt[Any]) -> None:
    """Server tools are NativeTools and their calls and results NativeParts, verbatim."""
    request = record["request"]
    # (Some records carry only MCP blocks: their mcp_servers field was not recorded.)
    server_tools = [t for t in request.get("tools", ()) if "type" in t]
    natives = [t for t in prompt.tools if isinstance(t, NativeTool)]
    assert all(t.provider == "anthropic" for t in natives)
    assert [dict(t.definition) for t in natives if "type" in t.definition] == server_tools
    wire_blocks = [
        block
        for message in request["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block["type"] in _SERVER_BLOCKS or block["type"].endswith("_tool_result")
    ]
    native_blocks = [
        dict(part.block)
        for message in prompt.messages
        for part in message.content
        if isinstance(part, NativePart)
        and (part.type in _SERVER_BLOCKS or part.type.endswith("_tool_result"))
    ]
    assert native_blocks == wire_blocks


_SERVER_BLOCKS = frozenset({"server_tool_use", "mcp_tool_use", "container_upload"})


@functools.cache
def _matched(provider: str) -> tuple[int, int]:
    """How many of ``provider``'s records without server tools match, of how many."""
    plain = [
        r for r in RECORDS.values() if r["provider"] == provider and not r["uses_server_tools"]
    ]
    return sum(not wire_differences(r) for r in plain), len(plain)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_at_least_95_percent_of_requests_without_server_tools_match(provider: str) -> None:
    matched, total = _matched(provider)
    assert matched >= 0.95 * total, f"{provider}: {matched}/{total} requests match the wire"


def test_the_listed_mismatches_are_the_only_ones() -> None:
    differing = {rid for rid, r in RECORDS.items() if wire_differences(r)}
    assert sorted(differing - set(MISMATCHES)) == [], "records that differ, not listed"
    assert sorted(set(MISMATCHES) - differing) == [], "listed records that now match"
