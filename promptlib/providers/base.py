"""What every SDK-backed provider shares: clients, retries, the drivers, streaming.

A subclass says how to build a request, read a response, and talk to its SDK; this class
runs the one send-parse-repair flow over it, synchronously or not, or streams it.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar, Generic

from typing_extensions import TypeVar

from promptlib.errors import AuthenticationError, ProviderConnectionError, ProviderError
from promptlib.messages import Prompt
from promptlib.providers.completion import (
    Completion,
    Exchange,
    adrive,
    completion_flow,
    completion_of,
    drive,
)
from promptlib.providers.retry import (
    RetryPolicy,
    acall_with_retries,
    call_with_retries,
    is_transport_error,
    translate,
)
from promptlib.tokens.catalog import Catalog
from promptlib.tokens.cost import Usage

__all__ = ["CompletionStream", "SDKProvider", "set_request_guard"]

OutputT = TypeVar("OutputT")

# Installed by promptlib's pytest plugin: called with (provider, client) before any send.
_request_guard: Callable[[SDKProvider, Any], None] | None = None


def set_request_guard(
    guard: Callable[[SDKProvider, Any], None] | None,
) -> Callable[[SDKProvider, Any], None] | None:
    """Install ``guard`` (or none); return the one it replaces."""
    global _request_guard
    previous, _request_guard = _request_guard, guard
    return previous


def _checked(provider: SDKProvider, client: Any) -> Any:
    if _request_guard is not None:
        _request_guard(provider, client)
    return client


class SDKProvider:
    """Base of the adapters over an official SDK (see :class:`~promptlib.OpenAIProvider`)."""

    name: ClassVar[str]
    sdk_module: ClassVar[str]
    key_variable: ClassVar[str]
    request_id_header: ClassVar[str]

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
    ) -> None:
        # The retry policy owns retries: the SDKs' own are switched off.
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
        return f"{type(self).__name__}(base_url={base!r})"

    # --- for subclasses --------------------------------------------------------------------

    def build_request(self, prompt: Prompt[Any], model: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def parse_response(self, response: Any) -> Exchange:
        raise NotImplementedError

    def repair_request(
        self, request: dict[str, Any], exchange: Exchange, problem: str
    ) -> dict[str, Any]:
        raise NotImplementedError

    def parse_output(self, prompt: Prompt[Any], exchange: Exchange) -> Any:
        return prompt.parse(exchange.text)

    def _create(self, client: Any, request: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _stream_events(self, events: Any, state: _StreamState) -> Iterator[str]:
        raise NotImplementedError

    # --- clients ---------------------------------------------------------------------------

    def _sdk(self) -> Any:
        return sys.modules.get(self.sdk_module) or importlib.import_module(self.sdk_module)

    def _key(self) -> str:
        key = self._api_key or os.environ.get(self.key_variable)
        if key:
            return key
        if self._base_url:
            return "unused"  # local compatible servers usually need none
        raise AuthenticationError(
            f"no API key: set the {self.key_variable} environment variable, or pass "
            f"{type(self).__name__}(api_key=...) or your own client=",
            provider=self.name,
        )

    def _client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"api_key": self._key(), "max_retries": 0}
        if self._base_url:
            options["base_url"] = self._base_url
        if self._timeout is not None:
            options["timeout"] = self._timeout
        return options

    def _sync(self) -> Any:
        if self._client is None:
            self._client = self._sync_client_class()(**self._client_options())
        return self._client

    def _async(self) -> Any:
        if self._async_client is None:
            self._async_client = self._async_client_class()(**self._client_options())
        return self._async_client

    def _sync_client_class(self) -> Any:
        raise NotImplementedError

    def _async_client_class(self) -> Any:
        raise NotImplementedError

    # --- sending ---------------------------------------------------------------------------

    def complete(self, prompt: Prompt[OutputT], model: str | None = None) -> Completion[OutputT]:
        """Send ``prompt``; return the parsed reply (retrying and repairing per policy).

        Raises:
            ProviderError: the provider failed (after the retries the policy allows).
            AuthenticationError: no API key, or the provider refused it.
            OutputValidationError: the reply stayed invalid after every repair.
        """
        client, sdk = _checked(self, self._sync()), self._sdk()

        def send(request: dict[str, Any]) -> tuple[Any, int]:
            return call_with_retries(
                lambda: self._create(client, request),
                policy=self.retry,
                sdk=sdk,
                provider=self.name,
            )

        request = self.build_request(prompt, model)
        return drive(completion_flow(self, prompt, request, self.retry, self.catalog), send)

    async def acomplete(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> Completion[OutputT]:
        """The async twin of :meth:`complete`."""
        client, sdk = _checked(self, self._async()), self._sdk()

        async def send(request: dict[str, Any]) -> tuple[Any, int]:
            async def attempt() -> Any:
                return await self._create(client, request)

            return await acall_with_retries(attempt, policy=self.retry, sdk=sdk, provider=self.name)

        request = self.build_request(prompt, model)
        return await adrive(completion_flow(self, prompt, request, self.retry, self.catalog), send)

    def stream(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> CompletionStream[OutputT]:
        """Send ``prompt`` and stream the reply: iterate for text deltas, then read
        ``.completion`` (usage included). Opening the stream is retried per policy; a stream
        cut off midway raises :class:`~promptlib.ProviderConnectionError`. Streams are not
        repaired: an invalid reply raises when the completion is built."""
        return CompletionStream(self, prompt, self.build_request(prompt, model))

    def astream(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> AsyncCompletionStream[OutputT]:
        """The async twin of :meth:`stream`: ``async for`` the deltas."""
        return AsyncCompletionStream(self, prompt, self.build_request(prompt, model))


class _StreamState:
    """What a stream accumulates as it goes."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.usage = Usage(0, 0)
        self.finish_reason: str | None = None
        self.request_id: str | None = None
        self.refusal: str | None = None


class _StreamBase(Generic[OutputT]):
    def __init__(
        self, provider: SDKProvider, prompt: Prompt[OutputT], request: dict[str, Any]
    ) -> None:
        self._provider = provider
        self._prompt = prompt
        self.request = request
        self._state = _StreamState()
        self._attempts = 0
        self._started = 0.0
        self._completion: Completion[OutputT] | None = None

    @property
    def completion(self) -> Completion[OutputT]:
        """The full completion, once the stream has been read to its end."""
        if self._completion is None:
            raise RuntimeError("read the stream to its end before asking for its completion")
        return self._completion

    def _cut_off(self, exc: BaseException) -> ProviderError:
        text = "".join(self._state.parts)
        return ProviderConnectionError(
            f"the stream was cut off after {len(text)} characters: {exc}",
            provider=self._provider.name,
            attempts=self._attempts,
        )

    def _stream_error(self, exc: Exception, sdk: Any) -> Exception:
        """What to raise for an error while reading a stream (the original, if not ours)."""
        if isinstance(exc, sdk.APIConnectionError) or is_transport_error(exc):
            return self._cut_off(exc)  # the connection broke mid-stream
        if isinstance(exc, sdk.APIError):
            return translate(exc, sdk, self._provider.name, self._attempts)
        return exc

    def _opened(self, events: Any) -> None:
        headers = getattr(getattr(events, "response", None), "headers", None)
        if headers is not None:
            self._state.request_id = headers.get(self._provider.request_id_header)

    def _finish(self, raw: Any) -> None:
        state, provider = self._state, self._provider
        text = "".join(state.parts)
        exchange = Exchange(
            text, state.usage, state.request_id, state.finish_reason, raw, state.refusal
        )
        self._completion = completion_of(
            self._prompt,
            text=text,
            output=provider.parse_output(self._prompt, exchange),
            provider=provider.name,
            model=str(self.request["model"]),
            usage=state.usage,
            catalog=provider.catalog,
            started=self._started,
            attempts=self._attempts,
            request_id=state.request_id,
            finish_reason=state.finish_reason,
            raw=raw,
        )


class CompletionStream(_StreamBase[OutputT]):
    """A reply arriving in pieces: iterate for text deltas, then read ``.completion``."""

    def __iter__(self) -> Iterator[str]:
        provider, sdk = self._provider, self._provider._sdk()
        client = _checked(provider, provider._sync())
        self._started = time.perf_counter()
        request = {**self.request, "stream": True}
        events, self._attempts = call_with_retries(
            lambda: provider._create(client, request),
            policy=provider.retry,
            sdk=sdk,
            provider=provider.name,
        )
        self._opened(events)
        try:
            yield from provider._stream_events(events, self._state)
        except Exception as exc:
            raise self._stream_error(exc, sdk) from exc
        self._finish(events)


class AsyncCompletionStream(_StreamBase[OutputT]):
    """The async twin of :class:`CompletionStream`: ``async for`` the deltas."""

    async def __aiter__(self) -> AsyncIterator[str]:
        provider, sdk = self._provider, self._provider._sdk()
        client = _checked(provider, provider._async())
        self._started = time.perf_counter()
        request = {**self.request, "stream": True}

        async def attempt() -> Any:
            return await provider._create(client, request)

        events, self._attempts = await acall_with_retries(
            attempt, policy=provider.retry, sdk=sdk, provider=provider.name
        )
        self._opened(events)
        try:
            async for event in events:
                for delta in provider._stream_events([event], self._state):
                    yield delta
        except Exception as exc:
            raise self._stream_error(exc, sdk) from exc
        self._finish(events)
