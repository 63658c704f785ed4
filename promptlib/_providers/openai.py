"""The OpenAI adapter: Chat Completions through the official ``openai`` SDK.

It also serves OpenAI-compatible servers (Ollama, vLLM, llama.cpp, Azure OpenAI): pass
``base_url=`` or your own configured client, and ``server=`` for what the server accepts.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, Literal

from promptlib._errors import ConfigurationError, UnsupportedFeatureError
from promptlib._messages import Prompt
from promptlib._output import schema_name
from promptlib._parts import (
    ToolCall,
)
from promptlib._providers.base import SDKProvider, _StreamState
from promptlib._providers.completion import Exchange, reported_tokens
from promptlib._providers.openai_format import openai_fields
from promptlib._providers.retry import RetryPolicy
from promptlib._providers.servers import ServerProfile, server_profile
from promptlib._providers.strict_schema import strict_problems, strict_schema
from promptlib._tokens.catalog import Catalog
from promptlib._tokens.cost import Usage

__all__ = ["OpenAIProvider"]

_PARAMS = ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty")
_log = logging.getLogger("promptlib.providers")
# How a server says it does not take a response format (it may answer 400, 422 or 500).
_REFUSED_FORMAT = re.compile(
    r"response_format|json_schema|json_object|guided[ _]decoding|structured output",
    re.IGNORECASE,
)
REPAIR = (
    "Your previous answer could not be used: {problem}\n"
    "Answer again, following the required format exactly."
)


def _calls_of(message: Any) -> tuple[ToolCall, ...]:
    """Function calls (arguments as JSON text) and custom-tool calls (their free-form
    input as the arguments)."""
    found = []
    for call in getattr(message, "tool_calls", None) or ():
        function = getattr(call, "function", None)
        custom = getattr(call, "custom", None)
        if function is not None:
            found.append(ToolCall(call.id, function.name, function.arguments or "{}"))
        elif custom is not None:
            found.append(ToolCall(call.id, custom.name, custom.input or ""))
    return tuple(found)


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage(0, 0)
    details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        input_tokens=reported_tokens(getattr(usage, "prompt_tokens", 0)),
        output_tokens=reported_tokens(getattr(usage, "completion_tokens", 0)),
        cached_input_tokens=reported_tokens(getattr(details, "cached_tokens", 0)),
    )


def _refusal(refusal: str | None, finish_reason: str | None) -> str | None:
    if refusal:
        return refusal
    if finish_reason == "content_filter":
        return "the provider's content filter stopped the reply (finish_reason content_filter)"
    return None


class OpenAIProvider(SDKProvider):
    """Send prompts to OpenAI's Chat Completions API (or a compatible server).

    Args:
        client: your own ``openai.OpenAI`` client (its retries are switched off: the
            retry policy owns retries). Without one, a client is made on first use from
            ``api_key``/``base_url`` or the ``OPENAI_API_KEY`` environment variable.
        async_client: your own ``openai.AsyncOpenAI`` client, for ``acomplete``/``astream``
            (bound to one event loop; without it, one is made per event loop).
        api_key, base_url, timeout: for the clients promptlib makes.
        retry: how to retry and repair (see :class:`~promptlib.RetryPolicy`).
        catalog: the model catalog, for costs.
        native_schema: send the output schema as structured output (``response_format``).
            Chain-of-thought prompts never do: their answer follows the reasoning in
            plain text.
        server: what the server accepts: a name from ``SERVER_PROFILES`` (``"openai"``,
            ``"compatible"``, ``"vllm"``, ``"ollama"``, ``"llama.cpp"``,
            ``"llama-cpp-python"``) or a :class:`~promptlib.ServerProfile`. By default
            ``"openai"``, or ``"compatible"`` when ``base_url`` points elsewhere.
        strict: ``"auto"`` (default) sends a schema strict when strict mode can express
            it and non-strict, unchanged, when it cannot (an open map such as
            ``dict[str, float]``, a tuple, ...; logged on the ``promptlib.providers``
            logger); ``True`` refuses such schemas; ``False`` never asks for strict.
    """

    name: ClassVar[str] = "openai"
    sdk_module: ClassVar[str] = "openai"
    key_variable: ClassVar[str] = "OPENAI_API_KEY"
    resource: ClassVar[tuple[str, ...]] = ("chat", "completions")
    request_id_header: ClassVar[str] = "x-request-id"
    official_host: ClassVar[str] = "api.openai.com"
    stream_end_marker: ClassVar[str] = "a finish_reason"

    def __init__(
        self,
        client: Any = None,
        *,
        async_client: Any = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        catalog: Catalog | None = None,
        native_schema: bool = True,
        server: str | ServerProfile | None = None,
        strict: bool | Literal["auto"] = "auto",
    ) -> None:
        super().__init__(
            client,
            async_client=async_client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            catalog=catalog,
            native_schema=native_schema,
        )
        given = str(self._client.base_url) if self._client is not None else None
        self.server: ServerProfile = server_profile(server, base_url or given)
        if strict not in (True, False, "auto"):
            raise ConfigurationError(
                f"OpenAIProvider(strict={strict!r}): use 'auto', True or False"
            )
        self.strict = strict

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
            **openai_fields(prompt),
        }
        params = prompt.params
        for key in _PARAMS:
            if key in params:
                request[key] = params[key]
        if "max_tokens" in params:
            request[self.server.token_limit] = params["max_tokens"]
        if prompt.output is not None and prompt.reasoning is None and self.native_schema:
            response_format = self._response_format(prompt)
            if response_format is not None:
                request["response_format"] = response_format
        request.update(params.get("extra", {}))
        return request

    def _response_format(self, prompt: Prompt[Any]) -> dict[str, Any] | None:
        assert prompt.output is not None
        mode, schema = self.server.structured_output, prompt.output.schema
        if mode == "prompted":
            if not any(section.kind == "output" for section in prompt.sections):
                raise ConfigurationError(
                    f"the {self.server.name!r} server profile asks for JSON in the prompt, "
                    f"and template {prompt.meta.template or '(unnamed)'!r} does not state its "
                    "schema: add a JsonOutput() block (or [output] in a template file)"
                )
            return None
        if mode == "json_object":
            if self.server.schema_in_json_object:
                return {"type": "json_object", "schema": schema}
            return {"type": "json_object"}
        strict = (
            self.server.strict
            and self.strict is not False
            and prompt.output.strict
            and self._strict_ok(prompt)
        )
        return {
            "type": "json_schema",
            "json_schema": {
                "name": schema_name(prompt.output.name),
                "schema": strict_schema(schema) if strict else schema,
                "strict": strict,
            },
        }

    def _strict_ok(self, prompt: Prompt[Any]) -> bool:
        assert prompt.output is not None
        problems = strict_problems(prompt.output.schema)
        if not problems:
            return True
        where = ", ".join(problems)
        if self.strict is True:
            raise ConfigurationError(
                f"the output schema {prompt.output.name!r} cannot be sent in OpenAI strict "
                f"mode without changing its meaning ({where}); use OpenAIProvider(strict='auto') "
                "to send it non-strict, or change the output model"
            )
        _log.info(
            "output schema %r sent non-strict: strict mode cannot express %s",
            prompt.output.name,
            where,
        )
        return False

    def max_tokens(self, request: dict[str, Any]) -> int | None:
        limit = request.get("max_completion_tokens", request.get("max_tokens"))
        return limit if isinstance(limit, int) else None

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
            refusal=_refusal(choice.message.refusal, choice.finish_reason),
            tool_calls=_calls_of(choice.message),
        )

    def _stream_exchange(self, state: _StreamState, raw: Any) -> Exchange:
        text = "".join(state.parts)
        refusal = _refusal(state.refusal, state.finish_reason)
        return Exchange(
            text,
            state.usage,
            state.request_id,
            state.finish_reason,
            raw,
            refusal,
            state.tool_calls(),
        )

    def _sync_client_class(self) -> Any:
        return self._sdk().OpenAI

    def _async_client_class(self) -> Any:
        return self._sdk().AsyncOpenAI

    def _create(self, client: Any, request: dict[str, Any]) -> Any:
        if request.get("stream") and self.server.stream_usage:
            request = {**request, "stream_options": {"include_usage": True}}
        if "response_format" not in request:
            return client.chat.completions.create(**request)
        try:
            sent = client.chat.completions.create(**request)
        except self._sdk().APIStatusError as exc:
            refused = self._refused_format(exc, request)
            if refused is None:
                raise
            raise refused from exc
        return self._awaited(sent, request) if inspect.iscoroutine(sent) else sent

    async def _awaited(self, sent: Any, request: dict[str, Any]) -> Any:
        try:
            return await sent
        except self._sdk().APIStatusError as exc:
            refused = self._refused_format(exc, request)
            if refused is None:
                raise
            raise refused from exc

    def _refused_format(self, exc: Any, request: dict[str, Any]) -> Exception | None:
        """A server's refusal of the response format, as a clear error (never retried)."""
        if self.server.name == "openai":
            return None  # OpenAI's own API: a refused schema is the request's fault
        if exc.status_code not in (400, 415, 422, 500, 501) or not _REFUSED_FORMAT.search(
            str(exc.message)
        ):
            return None
        mode = request["response_format"].get("type", "?")
        return UnsupportedFeatureError(
            f"the server refused response_format {mode!r} ({exc.message[:300]}); choose "
            "what it accepts: OpenAIProvider(server='llama-cpp-python' | 'compatible' | ...) "
            "or server=ServerProfile(name=..., structured_output='json_object' or "
            "'prompted'), or native_schema=False",
            feature=f"response_format {mode}",
            provider=self.name,
            status=exc.status_code,
            request_id=getattr(exc, "request_id", None),
        )

    def _stream_events(self, events: Iterable[Any], state: _StreamState) -> Iterator[str]:
        for chunk in events:
            if chunk.usage is not None:
                state.usage = _usage(chunk.usage)
            for choice in chunk.choices:
                if choice.finish_reason:
                    state.finish_reason = choice.finish_reason
                    state.ended = True
                refusal = getattr(choice.delta, "refusal", None)
                if refusal:
                    state.refusal = (state.refusal or "") + refusal
                for call in getattr(choice.delta, "tool_calls", None) or ():
                    entry = state.calls.setdefault(call.index, ["", ""])
                    entry[0] = call.id or entry[0]
                    if call.function is not None:
                        entry[1] = call.function.name or entry[1]
                        entry.append(call.function.arguments or "")
                if choice.delta.content:
                    state.parts.append(choice.delta.content)
                    yield choice.delta.content


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", OpenAIProvider)
