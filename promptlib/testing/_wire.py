"""Provider replies as they arrive on the wire, for the mock's transport.

Each function returns what OpenAI's Chat Completions or Anthropic's Messages API would
send: a JSON body, a server-sent event stream, or an error body with its status and
headers. The real SDK reads them, so the mock exercises exactly the code a real reply does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ErrorReply", "Reply", "error_reply", "reply_body", "reply_events"]

_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class Reply:
    """One successful reply, provider-neutral: the wire functions shape it."""

    family: str  # "openai" or "anthropic"
    model: str
    text: str
    input_tokens: int
    output_tokens: int
    finish: str  # "stop", "length" or "refusal"
    request_id: str
    tool: str | None = None  # Anthropic: the forced tool whose input is the answer
    # Tool calls the model makes: (id, name, arguments as JSON text).
    tool_calls: tuple[tuple[str, str, str], ...] = ()
    # Anthropic: the whole content in order, when a script gave provider-native blocks.
    blocks: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ErrorReply:
    """An error response: status, headers and body."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


_FINISH = {
    "openai": {
        "stop": "stop",
        "length": "length",
        "refusal": "stop",
        "content_filter": "content_filter",
    },
    "anthropic": {
        "stop": "end_turn",
        "length": "max_tokens",
        "refusal": "refusal",
        "content_filter": "refusal",
    },
}


def _tool_input(reply: Reply) -> dict[str, Any] | None:
    if reply.tool is None or reply.finish != "stop":
        return None
    try:
        value = json.loads(reply.text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def reply_body(reply: Reply) -> dict[str, Any]:
    """The JSON body of a non-streamed reply."""
    finish = _FINISH[reply.family][reply.finish]
    if reply.blocks:  # Anthropic content scripted block by block (thinking, server tools)
        calls = any(b["type"] == "tool_use" for b in reply.blocks)
        return {
            "id": f"msg_{reply.request_id}",
            "type": "message",
            "role": "assistant",
            "model": reply.model,
            "content": list(reply.blocks),
            "stop_reason": "tool_use" if calls else finish,
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }
    if reply.tool_calls:
        return _tool_call_body(reply)
    if reply.family == "openai":
        refused = reply.finish == "refusal"
        return {
            "id": f"chatcmpl-{reply.request_id}",
            "object": "chat.completion",
            "created": 0,
            "model": reply.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None if refused else reply.text,
                        "refusal": reply.text if refused else None,
                    },
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": reply.output_tokens,
                "total_tokens": reply.input_tokens + reply.output_tokens,
            },
        }
    tool_input = _tool_input(reply)
    content: dict[str, Any] = (
        {
            "type": "tool_use",
            "id": f"toolu_{reply.request_id}",
            "name": reply.tool,
            "input": tool_input,
        }
        if tool_input is not None
        else {"type": "text", "text": reply.text}
    )
    return {
        "id": f"msg_{reply.request_id}",
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": [content],
        "stop_reason": "tool_use" if tool_input is not None else finish,
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }


def _tool_call_body(reply: Reply) -> dict[str, Any]:
    usage = (reply.input_tokens, reply.output_tokens)
    if reply.family == "openai":
        calls = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in reply.tool_calls
        ]
        message = {"role": "assistant", "content": reply.text or None, "tool_calls": calls}
        return {
            "id": f"chatcmpl-{reply.request_id}",
            "object": "chat.completion",
            "created": 0,
            "model": reply.model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls", "logprobs": None}
            ],
            "usage": {
                "prompt_tokens": usage[0],
                "completion_tokens": usage[1],
                "total_tokens": sum(usage),
            },
        }
    blocks: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    blocks += [
        {"type": "tool_use", "id": i, "name": n, "input": json.loads(a or "{}")}
        for i, n, a in reply.tool_calls
    ]
    return {
        "id": f"msg_{reply.request_id}",
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": blocks,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def _pieces(text: str) -> list[str]:
    size = max(1, -(-len(text) // 4))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def reply_events(reply: Reply, include_usage: bool) -> list[bytes]:
    """The server-sent events of a streamed reply, one encoded event per item."""
    return list(
        _openai_events(reply, include_usage)
        if reply.family == "openai"
        else _anthropic_events(reply)
    )


def unfinished(events: list[bytes], family: str) -> list[bytes]:
    """``events`` without their end marker: a stream that stops as if complete, but isn't."""
    if family == "openai":
        return [e for e in events if b'"finish_reason":"' not in e and b"[DONE]" not in e]
    return [e for e in events if not e.startswith(b"event: message_stop")]


def error_event(family: str, request_id: str) -> bytes:
    """An error event in the middle of a stream: the provider is overloaded."""
    if family == "openai":
        error = {"message": "The server is overloaded (simulated).", "type": "server_error"}
        return _sse({"error": error})
    body = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded (simulated)"},
        "request_id": request_id,
    }
    return _sse(body, "error")


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else _to_json(data)
    return f"{head}data: {payload}\n\n".encode()


def _openai_events(reply: Reply, include_usage: bool) -> Iterator[bytes]:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return _sse(
            {
                "id": f"chatcmpl-{reply.request_id}",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": reply.model,
                "choices": choices,
                **extra,
            }
        )

    field_name = "refusal" if reply.finish == "refusal" else "content"
    yield chunk(
        [{"index": 0, "delta": {"role": "assistant", field_name: ""}, "finish_reason": None}]
    )
    for piece in _pieces(reply.text) if reply.text or not reply.tool_calls else ():
        yield chunk([{"index": 0, "delta": {field_name: piece}, "finish_reason": None}])
    for index, (call_id, name, arguments) in enumerate(reply.tool_calls):
        for number, piece in enumerate(_pieces(arguments)):
            function = {"arguments": piece, **({"name": name} if number == 0 else {})}
            call: dict[str, Any] = {"index": index, "function": function}
            if number == 0:
                call.update(id=call_id, type="function")
            yield chunk([{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}])
    finish = "tool_calls" if reply.tool_calls else _FINISH["openai"][reply.finish]
    yield chunk([{"index": 0, "delta": {}, "finish_reason": finish}])
    if include_usage:
        usage = {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        }
        yield chunk([], usage=usage)
    yield _sse("[DONE]")


def _anthropic_events(reply: Reply) -> Iterator[bytes]:
    body = reply_body(reply)
    start = {**body, "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": reply.input_tokens, "output_tokens": 1}
    yield _sse({"type": "message_start", "message": start}, "message_start")
    for index, block in enumerate(body["content"]):
        yield from _anthropic_block(index, block)
    yield _sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens},
        },
        "message_delta",
    )
    yield _sse({"type": "message_stop"}, "message_stop")


def _anthropic_block(index: int, block: dict[str, Any]) -> Iterator[bytes]:
    kind = block["type"]
    deltas: list[dict[str, Any]] = []
    if kind == "thinking":
        opening: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block.get("signature", "")})
    elif kind in ("server_tool_use", "mcp_tool_use"):
        opening = {**block, "input": {}}
        text = json.dumps(block.get("input", {}), ensure_ascii=False)
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in _pieces(text)]
    elif kind not in ("text", "tool_use"):  # results, redacted thinking: arrive whole
        opening = block
    if kind not in ("text", "tool_use"):
        yield _sse(
            {"type": "content_block_start", "index": index, "content_block": opening},
            "content_block_start",
        )
        for delta in deltas:
            event = {"type": "content_block_delta", "index": index, "delta": delta}
            yield _sse(event, "content_block_delta")
        yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
        return
    if kind == "tool_use":
        opening = {**block, "input": {}}
        # The input as the adapter re-encodes a non-streamed one: a call's arguments are
        # then the same text whether the reply was streamed or not.
        text = json.dumps(block["input"], ensure_ascii=False)
        delta_type, key = "input_json_delta", "partial_json"
    else:
        opening = {"type": "text", "text": ""}
        text, delta_type, key = block["text"], "text_delta", "text"
    yield _sse(
        {"type": "content_block_start", "index": index, "content_block": opening},
        "content_block_start",
    )
    for piece in _pieces(text):
        delta = {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": delta_type, key: piece},
        }
        yield _sse(delta, "content_block_delta")
    yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")


# kind -> (status, OpenAI type, OpenAI code, Anthropic status, Anthropic type, message)
_ERRORS: dict[str, tuple[int, str, str | None, int, str, str]] = {
    "rate_limit": (
        429, "requests", "rate_limit_exceeded", 429, "rate_limit_error",
        "Rate limit reached for requests (simulated).",
    ),
    "quota": (
        429, "insufficient_quota", "insufficient_quota", 400, "invalid_request_error",
        "You exceeded your current quota, please check your plan and billing details. "
        "Your credit balance is too low to access the API (simulated).",
    ),
    "authentication": (
        401, "invalid_request_error", "invalid_api_key", 401, "authentication_error",
        "Incorrect API key provided (simulated).",
    ),
    "overloaded": (
        503, "server_error", None, 529, "overloaded_error",
        "That model is currently overloaded with other requests (simulated).",
    ),
    "server_error": (
        500, "server_error", None, 500, "api_error",
        "The server had an error processing your request (simulated).",
    ),
    "rejected": (
        400, "invalid_request_error", None, 400, "invalid_request_error",
        "The request was refused as sent (simulated).",
    ),
    "not_found": (
        404, "invalid_request_error", "model_not_found", 404, "not_found_error",
        "The model does not exist or you do not have access to it (simulated).",
    ),
    "permission": (
        403, "invalid_request_error", "permission_denied", 403, "permission_error",
        "Your API key does not have permission to use this resource (simulated).",
    ),
    "too_large": (
        429, "tokens", "rate_limit_exceeded", 413, "request_too_large",
        "Request too large for this model on tokens per min: the input or output tokens "
        "must be reduced (simulated).",
    ),
}  # fmt: skip

ERROR_KINDS = frozenset(_ERRORS)


def error_reply(
    kind: str, family: str, request_id: str, retry_after: float | None = None
) -> ErrorReply:
    """The error response a provider sends for ``kind`` (one of :data:`ERROR_KINDS`)."""
    status, kind_type, code, anthropic_status, anthropic_type, message = _ERRORS[kind]
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    if family == "openai":
        error = {"message": message, "type": kind_type, "param": None, "code": code}
        return ErrorReply(status, {"error": error}, headers)
    body = {
        "type": "error",
        "error": {"type": anthropic_type, "message": message},
        "request_id": request_id,
    }
    return ErrorReply(anthropic_status, body, headers)
