"""The Anthropic adapter: the Messages API through the official ``anthropic`` SDK."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any, ClassVar

from promptlib._anthropic_format import answer_tool, anthropic_fields
from promptlib._errors import ConfigurationError
from promptlib._messages import Prompt, tool_pairing_problem
from promptlib._parts import NativePart, Part, TextPart, ToolCall
from promptlib._providers.base import SDKProvider, _StreamState
from promptlib._providers.completion import Exchange, reported_tokens
from promptlib._providers.openai import REPAIR
from promptlib._providers.retry import acall_with_retries, call_with_retries
from promptlib._tokens.catalog import Catalog, ModelInfo
from promptlib._tokens.cost import Usage
from promptlib._tokens.counting import TokenCount, anthropic_count_request, anthropic_exact

__all__ = ["AnthropicProvider"]

# Non-streaming requests above ~21k max_tokens are refused by the SDK as likely to exceed
# its 10-minute limit; the default stays below, raise params max_tokens to go further.
_DEFAULT_MAX_TOKENS = 16_384
_UNSUPPORTED = ("seed", "presence_penalty", "frequency_penalty")
# Request fields that add no input tokens: a count without them is still exact.
_NO_INPUT_TOKENS = frozenset(
    {"max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "metadata", "stream",
     "service_tier", "extra_headers", "extra_query", "extra_body", "container",
     "inference_geo", "speed"}
)  # fmt: skip
# One encoder: json.dumps builds a new one per call when given any option.
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage(0, 0)
    read = reported_tokens(getattr(usage, "cache_read_input_tokens", 0))
    written = reported_tokens(getattr(usage, "cache_creation_input_tokens", 0))
    creation = getattr(usage, "cache_creation", None)  # writes by cache lifetime
    hour = reported_tokens(getattr(creation, "ephemeral_1h_input_tokens", 0))
    return Usage(
        input_tokens=reported_tokens(getattr(usage, "input_tokens", 0)) + read + written,
        output_tokens=reported_tokens(getattr(usage, "output_tokens", 0)),
        cached_input_tokens=read,
        cache_write_tokens=written,
        cache_write_1h_tokens=min(hour, written),
    )


def _object_schema(schema: Mapping[str, Any]) -> bool:
    """A tool's input must be an object: other answers are asked for in the text."""
    return schema.get("type") == "object"


def _native(block: Any) -> NativePart:
    """A reply block promptlib does not model, as the provider sent it."""
    data = (
        block.model_dump(mode="json", exclude_none=True) if hasattr(block, "model_dump") else block
    )
    return NativePart("anthropic", data)


def _refusal(text: str, stop_reason: str | None) -> str | None:
    return (text or "refused") if stop_reason == "refusal" else None


class AnthropicProvider(SDKProvider):
    """Send prompts to Anthropic's Messages API.

    System messages become the ``system`` field and consecutive same-role turns are
    merged; ``max_tokens`` (required by the API) defaults to the model's maximum output
    from the catalog, capped at 16,384. An output schema is sent as a forced tool call,
    whose input is the answer.

    Args:
        client: your own ``anthropic.Anthropic`` client (its retries are switched off).
            Without one, a client is made on first use from ``api_key``/``base_url`` or
            the ``ANTHROPIC_API_KEY`` environment variable.
        async_client: your own ``anthropic.AsyncAnthropic``, for ``acomplete``/``astream``.
        api_key, base_url, timeout, retry, catalog, native_schema: as for
            :class:`~promptlib.OpenAIProvider`.
    """

    name: ClassVar[str] = "anthropic"
    sdk_module: ClassVar[str] = "anthropic"
    key_variable: ClassVar[str] = "ANTHROPIC_API_KEY"
    resource: ClassVar[tuple[str, ...]] = ("messages",)
    request_id_header: ClassVar[str] = "request-id"
    official_host: ClassVar[str] = "api.anthropic.com"
    stream_end_marker: ClassVar[str] = "message_stop"

    def build_request(self, prompt: Prompt[Any], model: str | None = None) -> dict[str, Any]:
        """The exact keyword arguments ``messages.create`` receives for ``prompt``."""
        name = model or prompt.model
        if not name:
            raise ConfigurationError(
                "no model to send to: pass model='claude-sonnet-4-5', or set model= on the template"
            )
        name = name.split(":", 1)[1] if name.startswith("anthropic:") else name
        params = prompt.params
        unsupported = [key for key in _UNSUPPORTED if key in params] if params else []
        if unsupported:
            raise ConfigurationError(
                f"Anthropic's API has no {', '.join(unsupported)}; remove it from the "
                "template's params for this provider"
            )
        request: dict[str, Any] = {"model": name, "max_tokens": self._max_tokens(name, params)}
        info = self._info(name)
        inline = info is not None and info.inline_system
        problem = tool_pairing_problem(prompt.messages)
        if problem is not None:
            raise ConfigurationError(f"Anthropic would refuse this prompt: {problem}")
        request.update(anthropic_fields(prompt, self.native_schema, inline))
        # Sampling settings go in the body as extra fields: recent SDKs no longer take them
        # as arguments, and the wire format is the same either way.
        sampling = {key: params[key] for key in ("temperature", "top_p") if key in params}
        if sampling:
            request["extra_body"] = sampling
        if "stop" in params:
            request["stop_sequences"] = params["stop"]
        request.update(params.get("extra", {}))
        return request

    def answer_tool(self, prompt: Prompt[Any]) -> str | None:
        """The output schema travels as a tool whose input is the answer."""
        return answer_tool(prompt, self.native_schema)

    def count_tokens(self, prompt: Prompt[Any], model: str | None = None) -> TokenCount:
        """The prompt's input tokens as Anthropic counts them: the request this adapter
        sends (``thinking``, ``output_config``, tools and the output schema's tool
        included) goes to the count-tokens endpoint. Exact; works for models the catalog
        does not list.

        Raises:
            ProviderError: the endpoint failed (after the retry policy's attempts).
            ConfigurationError: no model, or an unusable request.
        """
        body, unsent, name = self._count_body(prompt, model)
        try:
            client, sdk = self._checked_client(self._sync()), self._sdk()
            response, _ = call_with_retries(
                lambda: client.messages.count_tokens(**body),
                policy=self.retry,
                sdk=sdk,
                provider=self.name,
            )
        except Exception as exc:
            self._redacted(exc)
            raise
        return anthropic_exact(name, response.input_tokens, unsent)

    async def acount_tokens(self, prompt: Prompt[Any], model: str | None = None) -> TokenCount:
        """The async twin of :meth:`count_tokens`."""
        body, unsent, name = self._count_body(prompt, model)
        try:
            client, sdk = self._checked_client(await self._async()), self._sdk()

            async def attempt() -> Any:
                return await client.messages.count_tokens(**body)

            response, _ = await acall_with_retries(
                attempt, policy=self.retry, sdk=sdk, provider=self.name
            )
        except Exception as exc:
            self._redacted(exc)
            raise
        return anthropic_exact(name, response.input_tokens, unsent)

    def _count_body(
        self, prompt: Prompt[Any], model: str | None
    ) -> tuple[dict[str, Any], list[str], str]:
        request = self.build_request(prompt, model)
        body = anthropic_count_request(request)
        extra = prompt.params.get("extra") or {}
        unsent = sorted(k for k in extra if k not in body and k not in _NO_INPUT_TOKENS)
        return body, unsent, str(request["model"])

    def _info(self, model: str) -> ModelInfo | None:
        try:
            return (self.catalog or Catalog.default()).get(model)
        except ConfigurationError:
            return None

    def _max_tokens(self, model: str, params: Mapping[str, Any]) -> int:
        if isinstance(params.get("max_tokens"), int):
            return int(params["max_tokens"])
        info = self._info(model)
        known = info.max_output_tokens if info is not None else None
        return min(known or _DEFAULT_MAX_TOKENS, _DEFAULT_MAX_TOKENS)

    def repair_request(
        self, request: dict[str, Any], exchange: Exchange, problem: str
    ) -> dict[str, Any]:
        messages = [
            *request["messages"],
            {"role": "assistant", "content": exchange.text or "(no answer)"},
            {"role": "user", "content": REPAIR.format(problem=problem)},
        ]
        return {**request, "messages": messages}

    def parse_response(self, response: Any) -> Exchange:
        texts: list[str] = []
        calls: list[ToolCall] = []
        content: list[Part] = []
        for block in response.content:
            if block.type == "text":
                texts.append(block.text)
                content.append(TextPart(block.text))
            elif block.type == "tool_use":
                calls.append(ToolCall(block.id, block.name, _to_json(block.input)))
                content.append(calls[-1])
            else:  # thinking, server tools and their results: sent back as they came
                content.append(_native(block))
        text = "".join(texts)
        return Exchange(
            text=text,
            usage=_usage(response.usage),
            request_id=getattr(response, "_request_id", None),
            finish_reason=response.stop_reason,
            raw=response,
            refusal=_refusal(text, response.stop_reason),
            tool_calls=tuple(calls),
            content=tuple(content),
        )

    def max_tokens(self, request: dict[str, Any]) -> int | None:
        limit = request.get("max_tokens")
        return limit if isinstance(limit, int) else None

    def _stream_exchange(self, state: _StreamState, raw: Any) -> Exchange:
        answers = [b for b in state.blocks.values() if b.get("answer")]
        text = "".join(p for b in answers for p in b["pieces"]) if answers else "".join(state.parts)
        refusal = _refusal(text, state.finish_reason)
        calls = state.tool_calls()
        by_id = {c.id: c for c in calls}
        content: list[Any] = []
        for index in sorted({*state.blocks, *state.calls}):
            if index in state.calls:
                content.append(by_id[state.calls[index][0]])
                continue
            block = state.blocks[index]
            if block["type"] == "text":
                block.pop("answer", None)
                content.append(TextPart("".join(block.pop("pieces"))))
            else:
                pieces = block.pop("pieces", None)
                if pieces is not None:  # a server tool's input, streamed as JSON text
                    block["input"] = json.loads("".join(pieces) or "{}")
                content.append(NativePart("anthropic", block))
        return Exchange(
            text,
            state.usage,
            state.request_id,
            state.finish_reason,
            raw,
            refusal,
            calls,
            tuple(content),
        )

    def _delta(self, state: _StreamState, index: int, delta: Any) -> Iterator[str]:
        piece = getattr(delta, "text", None) or getattr(delta, "partial_json", None)
        if index in state.calls:
            state.calls[index].append(piece or "")
            return
        block = state.blocks.setdefault(index, {"type": "text", "pieces": []})
        if block["type"] == "text":
            if piece:
                block["pieces"].append(piece)
                state.parts.append(piece)
                yield piece
        elif delta.type == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.thinking
        elif delta.type == "signature_delta":
            block["signature"] = delta.signature
        elif piece is not None:  # a server tool's input
            block.setdefault("pieces", []).append(piece)

    def _sync_client_class(self) -> Any:
        return self._sdk().Anthropic

    def _async_client_class(self) -> Any:
        return self._sdk().AsyncAnthropic

    def _create(self, client: Any, request: dict[str, Any]) -> Any:
        return client.messages.create(**request)

    def _stream_events(self, events: Iterable[Any], state: _StreamState) -> Iterator[str]:
        for event in events:
            kind = event.type
            if kind == "message_start":
                state.usage = _usage(event.message.usage)
            elif kind == "content_block_start":
                block = event.content_block
                if block.type == "tool_use" and state.own_tools and block.name != state.answer_tool:
                    state.calls[event.index] = [block.id, block.name]
                elif block.type == "text":
                    state.blocks[event.index] = {"type": "text", "pieces": []}
                elif block.type == "tool_use":  # the answer tool: its input is the answer
                    state.blocks[event.index] = {"type": "text", "pieces": [], "answer": True}
                else:  # thinking, server tools: kept whole, never shown as the reply
                    state.blocks[event.index] = _native(block).to_dict()["block"]
            elif kind == "content_block_delta":
                yield from self._delta(state, event.index, event.delta)
            elif kind == "message_stop":
                state.ended = True
            elif kind == "message_delta":
                state.finish_reason = event.delta.stop_reason
                if event.usage is not None and event.usage.output_tokens is not None:
                    state.usage = replace(
                        state.usage, output_tokens=reported_tokens(event.usage.output_tokens)
                    )


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", AnthropicProvider)
