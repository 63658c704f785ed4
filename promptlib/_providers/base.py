"""What every SDK-backed provider shares: clients, retries, the drivers, streaming.

A subclass says how to build a request, read a response, and talk to its SDK; this class
runs the one send-parse-repair flow over it, synchronously or not, or streams it.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import os
import sys
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import replace
from typing import Any, ClassVar, Generic
from urllib.parse import urlsplit

from typing_extensions import TypeVar

from promptlib._errors import (
    AuthenticationError,
    ConfigurationError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    StreamStateError,
)
from promptlib._messages import Prompt
from promptlib._parts import TextPart, ToolCall
from promptlib._providers.completion import (
    Completion,
    Exchange,
    adrive,
    checked_output,
    completion_flow,
    completion_of,
    drive,
)
from promptlib._providers.retry import (
    RetryPolicy,
    acall_with_retries,
    call_with_retries,
    is_transport_error,
    translate,
)
from promptlib._secrets import check_key, redact_exception, redact_url, remember, url_secrets
from promptlib._tokens.catalog import Catalog
from promptlib._tokens.cost import Usage

__all__ = ["CompletionStream", "SDKProvider"]

OutputT = TypeVar("OutputT")


class SDKProvider:
    """Base of the adapters over an official SDK (see :class:`~promptlib.OpenAIProvider`)."""

    name: ClassVar[str]
    sdk_module: ClassVar[str]
    key_variable: ClassVar[str]
    request_id_header: ClassVar[str]
    stream_end_marker: ClassVar[str]
    official_host: ClassVar[str]
    # The client attributes a request goes through: the SDKs import them on first use,
    # which is touched before the clock starts so a first call's latency is the call's.
    resource: ClassVar[tuple[str, ...]] = ()

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
        _check_settings(type(self).__name__, base_url, timeout, retry)
        # The retry policy owns retries: the SDKs' own are switched off.
        self._client = client.with_options(max_retries=0) if client is not None else None
        self._given_async_client = (
            async_client.with_options(max_retries=0) if async_client is not None else None
        )
        # Clients promptlib makes are bound to the event loop they were first used in.
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[Any, AsyncIterator[None]]
        ] = weakref.WeakKeyDictionary()
        self._api_key = api_key
        self._checked_key: str | None = None
        self._remembered: tuple[Any, str | None] | None = None
        self._base_url = base_url
        self._timeout = timeout
        self.retry: RetryPolicy = retry or RetryPolicy()
        self.catalog = catalog
        self.native_schema = native_schema

    def __repr__(self) -> str:  # never the key, nor a password in the URL
        base = self._base_url or (str(self._client.base_url) if self._client else "default")
        return f"{type(self).__name__}(base_url={redact_url(base)!r})"

    # --- for subclasses --------------------------------------------------------------------

    def build_request(self, prompt: Prompt[Any], model: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def parse_response(self, response: Any) -> Exchange:
        raise NotImplementedError

    def repair_request(
        self, request: dict[str, Any], exchange: Exchange, problem: str
    ) -> dict[str, Any]:
        raise NotImplementedError

    def answer_tool(self, prompt: Prompt[Any]) -> str | None:
        """The tool whose input is the answer, for adapters that send the output schema
        as a tool (``None``: the answer is the reply's text)."""
        return None

    def answered(self, prompt: Prompt[Any], exchange: Exchange) -> Exchange:
        """The exchange as the prompt reads it: a call to the answer tool is the answer
        (its input as JSON text), not a tool call."""
        name = self.answer_tool(prompt) if exchange.tool_calls else None
        if name is None:
            return exchange
        # Offered no tool of its own, the model can only have called the answer tool.
        ours = [c for c in exchange.tool_calls if c.name == name or not prompt.tools]
        if not ours:
            return exchange
        calls = tuple(c for c in exchange.tool_calls if c not in ours)
        content = tuple(TextPart(p.arguments) if p in ours else p for p in exchange.content)
        # The answer is the tool's input; text the model wrote before it is not part of it.
        text = "".join(c.arguments for c in ours)
        return replace(exchange, text=text, tool_calls=calls, content=content)

    def parse_output(self, prompt: Prompt[Any], exchange: Exchange) -> Any:
        return prompt.parse(exchange.text)

    def max_tokens(self, request: dict[str, Any]) -> int | None:
        """The output-token limit ``request`` sets (``None``: the provider's default)."""
        raise NotImplementedError

    def _create(self, client: Any, request: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _stream_events(self, events: Any, state: _StreamState) -> Iterator[str]:
        raise NotImplementedError

    def _stream_exchange(self, state: _StreamState, raw: Any) -> Exchange:
        """What a stream read to its end amounts to (the twin of :meth:`parse_response`)."""
        return Exchange(
            "".join(state.parts),
            state.usage,
            state.request_id,
            state.finish_reason,
            raw,
            state.refusal,
        )

    # --- clients ---------------------------------------------------------------------------

    def _sdk(self) -> Any:
        return sys.modules.get(self.sdk_module) or importlib.import_module(self.sdk_module)

    def _key(self) -> str:
        if self._api_key is not None:
            key, source = self._api_key, f"the api_key given to {type(self).__name__}"
        elif self._base_url and not _is_host(self._base_url, self.official_host):
            # The key in the environment is the provider's own: it never goes to another
            # server. A server that wants a key gets it as api_key=.
            return "unused"
        else:
            key, source = os.environ.get(self.key_variable, ""), self.key_variable
        if not key:
            raise AuthenticationError(
                f"no API key: set the {self.key_variable} environment variable, or pass "
                f"{type(self).__name__}(api_key=...) or your own client=",
                provider=self.name,
            )
        self._check_key(key, source)
        return key

    def _check_key(self, key: str, source: str) -> None:
        try:
            check_key(key, source)
        except ValueError as problem:
            raise AuthenticationError(
                f"{problem}. The key was not sent.", provider=self.name
            ) from None

    def _checked_client(self, client: Any) -> Any:
        """``client``, once its credentials are known to be ones the provider can accept."""
        for attribute in ("api_key", "auth_token"):
            key = getattr(client, attribute, None)
            # AzureOpenAI signed in with a token keeps this placeholder as its key.
            if not isinstance(key, str) or not key or key == "<missing API key>":
                continue
            if key is not self._checked_key:
                self._check_key(key, f"the {attribute} of the {type(client).__name__} client given")
                self._checked_key = key
        part = client
        for name in self.resource:
            part = getattr(part, name, None)
        if (client, self._checked_key) != self._remembered:  # logs are redacted with them too
            remember(self._secrets())
            self._remembered = (client, self._checked_key)
        return client

    def _secrets(self) -> tuple[str, ...]:
        keys = [self._api_key or os.environ.get(self.key_variable) or ""]
        for client in (self._client, self._given_async_client, *self._async_clients_made()):
            keys.extend(client_secrets(client))
        base = self._base_url or (str(self._client.base_url) if self._client else None)
        return (*(k for k in keys if k), *url_secrets(base))

    def _client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"api_key": self._key(), "max_retries": 0}
        if self._base_url:
            options["base_url"] = self._base_url
        if self._timeout is not None:
            options["timeout"] = self._timeout
        return options

    def _sync(self) -> Any:
        if self._client is None:
            options = self._client_options()
            http_client = self._sync_http_client()
            if http_client is not None:
                options["http_client"] = http_client
            self._client = self._sync_client_class()(**options)
        return self._client

    def _sync_http_client(self) -> Any:
        """The HTTP client a sync SDK client made here uses: one that keeps the policy's
        deadline (see :mod:`promptlib._providers.deadline`), or the SDK's own."""
        if self.retry.deadline is None:
            return None
        from promptlib._providers.deadline import deadline_client
        from promptlib._providers.sdk_http import http_module

        sdk = self._sdk()
        return deadline_client(sdk, http_module(sdk), self.retry.deadline)

    async def _async(self) -> Any:
        if self._given_async_client is not None:
            return self._given_async_client
        loop = asyncio.get_running_loop()
        kept = self._async_clients.get(loop)
        if kept is None:
            client = self._async_client_class()(**self._client_options())
            # An async generator the loop finalizes when it shuts down (asyncio.run does):
            # the client's connections are closed while their loop still runs.
            keeper = _closed_with_the_loop(client)
            await keeper.__anext__()
            kept = self._async_clients[loop] = (client, keeper)
        return kept[0]

    def _sync_client_class(self) -> Any:
        raise NotImplementedError

    def _async_client_class(self) -> Any:
        raise NotImplementedError

    def _closed_loop(self, exc: RuntimeError) -> Exception:
        if "Event loop is closed" not in str(exc) or self._given_async_client is None:
            return self._redacted(exc)  # type: ignore[return-value]
        return ConfigurationError(
            f"the async_client given to {type(self).__name__} belongs to an event loop that "
            "has closed: give each event loop its own client, or let promptlib make them "
            "(one per loop) by passing no async_client"
        )

    def _async_clients_made(self) -> list[Any]:
        return [client for client, _ in list(self._async_clients.values())]

    def _redacted(self, exc: BaseException) -> BaseException:
        """``exc``, with every key this provider knows removed from it and its causes."""
        redact_exception(exc, self._secrets())
        return exc

    # --- sending ---------------------------------------------------------------------------

    def complete(self, prompt: Prompt[OutputT], model: str | None = None) -> Completion[OutputT]:
        """Send ``prompt``; return the parsed reply (retrying and repairing per policy).

        Raises:
            ProviderError: the provider failed (after the retries the policy allows).
            AuthenticationError: no API key, or the provider refused it.
            OutputValidationError: the reply stayed invalid after every repair.
        """
        _check_prompt(prompt, "complete")
        try:
            client, sdk = self._checked_client(self._sync()), self._sdk()

            def send(request: dict[str, Any]) -> tuple[Any, int]:
                return call_with_retries(
                    lambda: self._create(client, request),
                    policy=self.retry,
                    sdk=sdk,
                    provider=self.name,
                )

            request = self.build_request(prompt, model)
            return drive(completion_flow(self, prompt, request, self.retry, self.catalog), send)
        except Exception as exc:
            self._redacted(exc)
            raise

    async def acomplete(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> Completion[OutputT]:
        """The async twin of :meth:`complete`."""
        _check_prompt(prompt, "acomplete")
        try:
            client, sdk = self._checked_client(await self._async()), self._sdk()

            async def send(request: dict[str, Any]) -> tuple[Any, int]:
                async def attempt() -> Any:
                    return await within(self.retry.deadline, self._create(client, request))

                return await acall_with_retries(
                    attempt, policy=self.retry, sdk=sdk, provider=self.name
                )

            request = self.build_request(prompt, model)
            flow = completion_flow(self, prompt, request, self.retry, self.catalog)
            return await adrive(flow, send)
        except RuntimeError as exc:
            raise self._closed_loop(exc) from exc
        except Exception as exc:
            self._redacted(exc)
            raise

    def stream(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> CompletionStream[OutputT]:
        """Send ``prompt`` and stream the reply: iterate for text deltas, then read
        ``.completion`` (usage included). Opening the stream is retried per policy; a stream
        cut off midway raises :class:`~promptlib.ProviderConnectionError`. Streams are not
        repaired: an invalid reply raises when the completion is built."""
        _check_prompt(prompt, "stream")
        return CompletionStream(self, prompt, self.build_request(prompt, model))

    def astream(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> AsyncCompletionStream[OutputT]:
        """The async twin of :meth:`stream`: ``async for`` the deltas."""
        _check_prompt(prompt, "astream")
        return AsyncCompletionStream(self, prompt, self.build_request(prompt, model))


async def _closed_with_the_loop(client: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await client.close()


class _StreamState:
    """What a stream accumulates as it goes; ``ended`` once its end marker arrived."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.usage: Usage = Usage(0, 0)
        self.finish_reason: str | None = None
        self.request_id: str | None = None
        self.refusal: str | None = None
        self.ended = False
        # Tool calls as they arrive, by index: [id, name, argument pieces...].
        self.calls: dict[int, list[str]] = {}
        self.answer_tool: str | None = None  # its input streams as the reply's text
        self.own_tools = False  # the prompt offers tools: calls to them are tool calls
        self.blocks: dict[int, dict[str, Any]] = {}  # other content blocks, by index

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(call[0], call[1], "".join(call[2:]) or "{}")
            for _, call in sorted(self.calls.items())
        )


class _StreamBase(Generic[OutputT]):
    def __init__(
        self, provider: SDKProvider, prompt: Prompt[OutputT], request: dict[str, Any]
    ) -> None:
        self._provider = provider
        self._prompt = prompt
        self.request = request
        self._state = _StreamState()
        self._state.answer_tool = provider.answer_tool(prompt)
        self._state.own_tools = bool(prompt.tools)
        self._attempts = 0
        self._started = 0.0
        self._read = False
        self._completion: Completion[OutputT] | None = None

    def __repr__(self) -> str:
        model = self.request.get("model")
        return f"{type(self).__name__}({self._provider.name}, model={model!r}, {self._progress()})"

    def _progress(self) -> str:
        return "done" if self._completion is not None else "read" if self._read else "unread"

    @property
    def completion(self) -> Completion[OutputT]:
        """The full completion, once the stream has been read to its end."""
        if self._completion is None:
            raise StreamStateError("read the stream to its end before asking for its completion")
        return self._completion

    def _start(self) -> None:
        if self._read:
            raise StreamStateError(
                "this stream was already read; call stream() again for a new request"
            )
        self._read = True

    def _cut_off(self, reason: str) -> ProviderError:
        text = "".join(self._state.parts)
        return ProviderConnectionError(
            f"the stream was cut off after {len(text)} characters ({reason}); the reply is "
            "incomplete: retry the request",
            provider=self._provider.name,
            attempts=self._attempts,
        )

    def _stream_error(self, exc: Exception, sdk: Any) -> Exception:
        """What to raise for an error while reading a stream (the original, if not ours)."""
        if isinstance(exc, sdk.APIConnectionError) or is_transport_error(exc):
            return self._cut_off(f"{type(exc).__name__}: {exc}")  # the connection broke
        if isinstance(exc, sdk.APIError):  # an error event inside the stream
            error = translate(exc, sdk, self._provider.name, self._attempts)
            if isinstance(error, ProviderError) and error.request_id is None:
                error.request_id = self._state.request_id
            return error
        if isinstance(exc, ValueError | TypeError | AttributeError | KeyError | IndexError):
            # an event that is not the JSON it should be, or not of the shape it should be
            return ProviderError(
                f"the stream could not be read: {type(exc).__name__}: {exc}",
                provider=self._provider.name,
                attempts=self._attempts,
            )
        return exc

    def _opened(self, events: Any) -> None:
        headers = getattr(getattr(events, "response", None), "headers", None)
        if headers is None:
            return
        self._state.request_id = headers.get(self._provider.request_id_header)
        kind = str(headers.get("content-type", "text/event-stream"))
        if "event-stream" not in kind:
            raise ProviderError(
                f"the server answered a stream request with {kind}, not a stream of events; "
                "it may not support streaming: use complete() instead",
                provider=self._provider.name,
                request_id=self._state.request_id,
                attempts=self._attempts,
            )

    def _finish(self, raw: Any) -> None:
        state, provider = self._state, self._provider
        if not state.ended:
            raise self._cut_off(f"it ended without {provider.stream_end_marker}")
        exchange = provider.answered(self._prompt, provider._stream_exchange(state, raw))
        output = checked_output(provider, self._prompt, exchange, self.request, state.usage)
        self._completion = completion_of(
            self._prompt,
            text=exchange.text,
            output=output,
            provider=provider.name,
            model=str(self.request["model"]),
            usage=state.usage,
            catalog=provider.catalog,
            started=self._started,
            attempts=self._attempts,
            request_id=state.request_id,
            finish_reason=state.finish_reason,
            raw=raw,
            tool_calls=exchange.tool_calls,
            content=exchange.content,
        )


class CompletionStream(_StreamBase[OutputT]):
    """A reply arriving in pieces: iterate for text deltas, then read ``.completion``."""

    def __iter__(self) -> Iterator[str]:
        provider = self._provider
        self._start()
        try:
            sdk = provider._sdk()
            client = provider._checked_client(provider._sync())
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
        except Exception as exc:
            provider._redacted(exc)
            raise


class AsyncCompletionStream(_StreamBase[OutputT]):
    """The async twin of :class:`CompletionStream`: ``async for`` the deltas."""

    async def __aiter__(self) -> AsyncIterator[str]:
        provider = self._provider
        self._start()
        try:
            sdk = provider._sdk()
            client = provider._checked_client(await provider._async())
            self._started = time.perf_counter()
            request = {**self.request, "stream": True}

            async def attempt() -> Any:
                return await provider._create(client, request)

            events, self._attempts = await acall_with_retries(
                attempt, policy=provider.retry, sdk=sdk, provider=provider.name
            )
            self._opened(events)
            pending = events.__aiter__()
            try:
                while True:
                    # The deadline bounds the wait for each event: a server that keeps the
                    # connection alive with pings but sends nothing ends here.
                    try:
                        event = await within(provider.retry.deadline, pending.__anext__())
                    except StopAsyncIteration:
                        break
                    for delta in provider._stream_events([event], self._state):
                        yield delta
            except TimeoutError as exc:
                raise ProviderTimeoutError(
                    f"no event arrived in the stream for RetryPolicy(deadline="
                    f"{provider.retry.deadline!r}) seconds",
                    provider=provider.name,
                    attempts=self._attempts,
                ) from exc
            except Exception as exc:
                raise self._stream_error(exc, sdk) from exc
            self._finish(events)
        except Exception as exc:
            provider._redacted(exc)
            raise


async def within(seconds: float | None, awaitable: Awaitable[Any]) -> Any:
    """``awaitable``'s result, or :class:`TimeoutError` after ``seconds`` (``None``: none)."""
    if seconds is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):  # no task of its own: cheap per request
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10


def _is_host(url: str, host: str) -> bool:
    try:
        name = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return name == host or name.endswith("." + host)


def _check_prompt(prompt: Any, method: str) -> None:
    if not isinstance(prompt, Prompt):
        raise ConfigurationError(
            f"{method}() takes a Prompt, not {type(prompt).__name__}: render a template first "
            "(template.render(...) or Registry(...).render('name@label', ...))"
        )


def _check_settings(
    provider: str, base_url: str | None, timeout: float | None, retry: RetryPolicy | None
) -> None:
    """Refuse settings no request could succeed with, naming the setting."""
    if base_url is not None:
        problem = base_url_problem(base_url)
        if problem:
            raise ConfigurationError(f"{provider}(base_url=...): {problem}")
    if timeout is not None:
        number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
        if not (number and math.isfinite(timeout) and timeout > 0):
            raise ConfigurationError(
                f"{provider}(timeout={timeout!r}): give the seconds to wait, a number above 0"
            )
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError(
            f"{provider}(retry={retry!r}): give a promptlib.RetryPolicy, e.g. "
            "RetryPolicy(attempts=3)"
        )


def base_url_problem(url: object) -> str | None:
    """What is wrong with ``url`` as an API base URL, shown without its password."""
    if not isinstance(url, str):
        return f"give a URL such as 'http://localhost:8000/v1', not {type(url).__name__}"
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"{shown!r} is not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"{shown!r} needs http:// or https:// in front, e.g. 'http://{shown}'"
    if not parts.hostname:
        return f"{shown!r} has no host name"
    if port is not None and not 0 < port < 65536:
        return f"{shown!r} has no valid port"
    return None


_AUTH_HEADER = ("authorization", "api-key", "x-api-key", "proxy-authorization")


def client_secrets(client: Any) -> list[str]:
    """The credentials an SDK client holds: its key, token, and auth-like headers."""
    found = []
    for attribute in ("api_key", "auth_token"):
        value = getattr(client, attribute, None)
        if isinstance(value, str) and value and value != "<missing API key>":
            found.append(value)
    headers = getattr(client, "_custom_headers", None) or {}
    for name, value in dict(headers).items():
        lowered = str(name).lower()
        if isinstance(value, str) and (lowered in _AUTH_HEADER or "token" in lowered):
            found.append(value.split(" ", 1)[-1])
    return found


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", CompletionStream)
