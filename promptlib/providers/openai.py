"""The OpenAI adapter: Chat Completions through the official ``openai`` SDK.

It also serves OpenAI-compatible servers (Ollama, vLLM, llama.cpp, Azure OpenAI): pass
``base_url=`` or your own configured client.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from typing_extensions import TypeVar

from promptlib.errors import AuthenticationError, ConfigurationError, ModelOutputError
from promptlib.messages import ImagePart, Message, Part, Prompt, TextPart
from promptlib.providers.completion import (
    Completion,
    Exchange,
    adrive,
    completion_flow,
    drive,
)
from promptlib.providers.retry import RetryPolicy, acall_with_retries, call_with_retries
from promptlib.providers.strict_schema import schema_name, strict_schema
from promptlib.tokens.catalog import Catalog
from promptlib.tokens.cost import Usage

if TYPE_CHECKING:
    import openai

__all__ = ["OpenAIProvider"]

OutputT = TypeVar("OutputT")

_PARAMS = ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty")
_REPAIR = (
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


class OpenAIProvider:
    """Send prompts to OpenAI's Chat Completions API (or a compatible server).

    Args:
        client: your own ``openai.OpenAI`` client (its retries are switched off: the
            retry policy owns retries). Without one, a client is made on first use from
            ``api_key``/``base_url`` or the ``OPENAI_API_KEY`` environment variable.
        async_client: your own ``openai.AsyncOpenAI`` client, for ``acomplete``.
        api_key, base_url, timeout: for the clients promptlib makes.
        retry: how to retry and repair (see :class:`~promptlib.RetryPolicy`).
        catalog: the model catalog, for costs.
        native_schema: send the output schema as strict structured output
            (``response_format``). Chain-of-thought prompts never do: their answer
            follows the reasoning in plain text.
    """

    name = "openai"

    def __init__(
        self,
        client: openai.OpenAI | None = None,
        *,
        async_client: openai.AsyncOpenAI | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        catalog: Catalog | None = None,
        native_schema: bool = True,
    ) -> None:
        self._client = client.with_options(max_retries=0) if client is not None else None
        self._async_client = (
            async_client.with_options(max_retries=0) if async_client is not None else None
        )
        self._api_key = api_key
        self._base_url = base_url
        self._timeout = timeout
        self.retry = retry or RetryPolicy()
        self.catalog = catalog
        self.native_schema = native_schema

    def __repr__(self) -> str:  # never the key
        base = self._base_url or (str(self._client.base_url) if self._client else "default")
        return f"OpenAIProvider(base_url={base!r})"

    # --- requests --------------------------------------------------------------------------

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
        params = dict(prompt.params)
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
            {"role": "user", "content": _REPAIR.format(problem=problem)},
        ]
        return {**request, "messages": messages}

    # --- responses -------------------------------------------------------------------------

    def parse_response(self, response: Any) -> Exchange:
        choice = response.choices[0]
        usage = response.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        return Exchange(
            text=choice.message.content or choice.message.refusal or "",
            usage=Usage(
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
                cached_input_tokens=(getattr(details, "cached_tokens", 0) or 0),
            ),
            request_id=getattr(response, "_request_id", None),
            finish_reason=choice.finish_reason,
            raw=response,
            refusal=choice.message.refusal,
        )

    def parse_output(self, prompt: Prompt[Any], exchange: Exchange) -> Any:
        if exchange.refusal:  # not repaired: asking again would not change the answer
            raise ModelOutputError(f"the model refused: {exchange.refusal}", text=exchange.refusal)
        return prompt.parse(exchange.text)

    # --- sending ---------------------------------------------------------------------------

    def _sync(self) -> openai.OpenAI:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                api_key=self._key(), base_url=self._base_url, timeout=self._timeout, max_retries=0
            )
        return self._client

    def _async(self) -> openai.AsyncOpenAI:
        if self._async_client is None:
            import openai

            self._async_client = openai.AsyncOpenAI(
                api_key=self._key(), base_url=self._base_url, timeout=self._timeout, max_retries=0
            )
        return self._async_client

    def _key(self) -> str:
        key = self._api_key or os.environ.get("OPENAI_API_KEY")
        if key:
            return key
        if self._base_url:
            return "unused"  # local OpenAI-compatible servers usually need none
        raise AuthenticationError(
            "no API key: set the OPENAI_API_KEY environment variable, or pass "
            "OpenAIProvider(api_key=...) or your own client=",
            provider=self.name,
        )

    def complete(self, prompt: Prompt[OutputT], model: str | None = None) -> Completion[OutputT]:
        """Send ``prompt`` and return the parsed reply (retrying and repairing per policy)."""
        import openai

        client = self._sync()

        def send(request: dict[str, Any]) -> tuple[Any, int]:
            return call_with_retries(
                lambda: client.chat.completions.create(**request),
                policy=self.retry,
                sdk=openai,
                provider=self.name,
            )

        flow = completion_flow(
            self, prompt, self.build_request(prompt, model), self.retry, self.catalog
        )
        return drive(flow, send)

    async def acomplete(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> Completion[OutputT]:
        """The async twin of :meth:`complete`."""
        import openai

        client = self._async()

        async def send(request: dict[str, Any]) -> tuple[Any, int]:
            async def attempt() -> Any:
                return await client.chat.completions.create(**request)

            return await acall_with_retries(
                attempt,
                policy=self.retry,
                sdk=openai,
                provider=self.name,
            )

        flow = completion_flow(
            self, prompt, self.build_request(prompt, model), self.retry, self.catalog
        )
        return await adrive(flow, send)
