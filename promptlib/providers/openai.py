"""The OpenAI adapter: Chat Completions through the official ``openai`` SDK.

It also serves OpenAI-compatible servers (Ollama, vLLM, llama.cpp, Azure OpenAI): pass
``base_url=`` or your own configured client.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from promptlib.errors import ConfigurationError, ModelOutputError
from promptlib.messages import ImagePart, Message, Part, Prompt, TextPart
from promptlib.providers.base import SDKProvider, _StreamState
from promptlib.providers.completion import Exchange
from promptlib.providers.strict_schema import schema_name, strict_schema
from promptlib.tokens.cost import Usage

__all__ = ["OpenAIProvider"]

_PARAMS = ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty")
REPAIR = (
    "Your previous answer could not be used: {problem}\n"
    "Answer again, following the required format exactly."
)


def _part(part: Part) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    assert isinstance(part, ImagePart)
    url = part.url or f"data:{part.media_type};base64,{part.data}"
    image: dict[str, Any] = {"url": url}
    if part.detail:
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}


def _message(message: Message) -> dict[str, Any]:
    if len(message.content) == 1 and isinstance(message.content[0], TextPart):
        return {"role": message.role, "content": message.content[0].text}
    if message.role != "user":
        return {"role": message.role, "content": message.text}
    return {"role": message.role, "content": [_part(p) for p in message.content]}


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage(0, 0)
    details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cached_input_tokens=getattr(details, "cached_tokens", 0) or 0,
    )


class OpenAIProvider(SDKProvider):
    """Send prompts to OpenAI's Chat Completions API (or a compatible server).

    Args:
        client: your own ``openai.OpenAI`` client (its retries are switched off: the
            retry policy owns retries). Without one, a client is made on first use from
            ``api_key``/``base_url`` or the ``OPENAI_API_KEY`` environment variable.
        async_client: your own ``openai.AsyncOpenAI`` client, for ``acomplete``/``astream``.
        api_key, base_url, timeout: for the clients promptlib makes.
        retry: how to retry and repair (see :class:`~promptlib.RetryPolicy`).
        catalog: the model catalog, for costs.
        native_schema: send the output schema as strict structured output
            (``response_format``). Chain-of-thought prompts never do: their answer
            follows the reasoning in plain text.
    """

    name: ClassVar[str] = "openai"
    sdk_module: ClassVar[str] = "openai"
    key_variable: ClassVar[str] = "OPENAI_API_KEY"
    request_id_header: ClassVar[str] = "x-request-id"

    def build_request(self, prompt: Prompt[Any], model: str | None = None) -> dict[str, Any]:
        """The exact keyword arguments ``chat.completions.create`` receives for ``prompt``."""
        name = model or prompt.model
        if not name:
            raise ConfigurationError(
                "no model to send to: pass model='gpt-4o-mini', or set model= on the template"
            )
        name = name.split(":", 1)[1] if name.startswith("openai:") else name
        request: dict[str, Any] = {
            "model": name,
            "messages": [_message(m) for m in prompt.messages],
        }
        params = prompt.params
        for key in _PARAMS:
            if key in params:
                request[key] = params[key]
        if "max_tokens" in params:
            request["max_completion_tokens"] = params["max_tokens"]
        if prompt.output is not None and prompt.reasoning is None and self.native_schema:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name(prompt.output.name),
                    "schema": strict_schema(prompt.output.schema),
                    "strict": True,
                },
            }
        request.update(params.get("extra", {}))
        return request

    def repair_request(
        self, request: dict[str, Any], exchange: Exchange, problem: str
    ) -> dict[str, Any]:
        messages = [
            *request["messages"],
            {"role": "assistant", "content": exchange.text},
            {"role": "user", "content": REPAIR.format(problem=problem)},
        ]
        return {**request, "messages": messages}

    def parse_response(self, response: Any) -> Exchange:
        choice = response.choices[0]
        return Exchange(
            text=choice.message.content or choice.message.refusal or "",
            usage=_usage(response.usage),
            request_id=getattr(response, "_request_id", None),
            finish_reason=choice.finish_reason,
            raw=response,
            refusal=choice.message.refusal,
        )

    def parse_output(self, prompt: Prompt[Any], exchange: Exchange) -> Any:
        if exchange.refusal:  # not repaired: asking again would not change the answer
            raise ModelOutputError(f"the model refused: {exchange.refusal}", text=exchange.refusal)
        return prompt.parse(exchange.text)

    def _sync_client_class(self) -> Any:
        return self._sdk().OpenAI

    def _async_client_class(self) -> Any:
        return self._sdk().AsyncOpenAI

    def _create(self, client: Any, request: dict[str, Any]) -> Any:
        if request.get("stream"):
            request = {**request, "stream_options": {"include_usage": True}}
        return client.chat.completions.create(**request)

    def _stream_events(self, events: Iterable[Any], state: _StreamState) -> Iterator[str]:
        for chunk in events:
            if chunk.usage is not None:
                state.usage = _usage(chunk.usage)
            for choice in chunk.choices:
                if choice.finish_reason:
                    state.finish_reason = choice.finish_reason
                refusal = getattr(choice.delta, "refusal", None)
                if refusal:
                    state.refusal = (state.refusal or "") + refusal
                if choice.delta.content:
                    state.parts.append(choice.delta.content)
                    yield choice.delta.content
