"""A provider for tests: scripted replies, served through the real adapters.

``MockProvider`` is the real :class:`~promptlib.OpenAIProvider` or
:class:`~promptlib.AnthropicProvider` (whichever the model belongs to) whose HTTP transport
answers from a script instead of the network. Everything else is the code production runs:
the official SDK reads the reply, the one retry policy retries, the send-parse-repair flow
repairs, streams are read event by event. A test that passes against the mock therefore
fails where production would: the same attempts, usage, errors and exception types.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from typing_extensions import TypeVar

from promptlib._errors import ConfigurationError, StreamStateError, UsageError
from promptlib._messages import Message, Prompt
from promptlib._parts import TextPart, ToolCall
from promptlib._providers.anthropic import AnthropicProvider
from promptlib._providers.base import SDKProvider
from promptlib._providers.completion import Completion
from promptlib._providers.openai import OpenAIProvider
from promptlib._providers.retry import RetryPolicy
from promptlib._providers.sdk_http import http_module
from promptlib._tokens.catalog import Catalog

if TYPE_CHECKING:
    from promptlib.testing._batch_emulator import BatchEmulator
from promptlib._tokens.encodings import get_encoding
from promptlib.testing._guard import as_sdk_error
from promptlib.testing._script import (
    Failure,
    Script,
    ScriptedReply,
    checked_reply,
    fake_reply,
    fake_text,
    native_blocks,
    reply_text,
    tool_calls_of,
)
from promptlib.testing._wire import (
    ERROR_KINDS,
    ErrorReply,
    Reply,
    error_event,
    error_reply,
    reply_body,
    reply_events,
    unfinished,
)

__all__ = ["MockCall", "MockProvider", "MockStream"]

OutputT = TypeVar("OutputT")


@dataclass(frozen=True)
class MockCall:
    """One HTTP request the mock answered (retries and repairs are requests too).

    Attributes:
        prompt: the prompt being sent.
        request: the adapter's request for this attempt, as ``build_request`` (or a repair)
            made it: the keyword arguments the SDK received.
        model: the model asked.
        text: the reply's text (``""`` for a failure without one).
        failure: the scripted failure's kind, if this request failed.
        input_tokens, output_tokens: the usage this reply reported (0 for an error).
        body: the JSON body as it went over the wire.
    """

    prompt: Prompt[Any]
    request: dict[str, Any]
    model: str
    text: str
    failure: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    body: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def template(self) -> str | None:
        return self.prompt.meta.template

    @property
    def version(self) -> str | None:
        return self.prompt.meta.version

    @property
    def inputs(self) -> Mapping[str, Any]:
        return self.prompt.meta.inputs


@dataclass
class _Call:
    """The call in flight: what the transport needs to answer its requests."""

    prompt: Prompt[Any]
    model: str
    family: str
    request: dict[str, Any] = field(default_factory=dict)
    first_messages: int | None = None


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "promptlib_mock_call", default=None
)


class _Wired(SDKProvider):
    """An adapter whose SDK clients talk to the mock's transport."""

    mock: MockProvider

    def _sync_http_client(self) -> Any:
        http = http_module(self._sdk())
        return http.Client(transport=http.MockTransport(self.mock._handle))

    def _async_client_class(self) -> Any:
        http = http_module(self._sdk())

        async def handle(request: Any) -> Any:
            return self.mock._handle(request)

        transport = http.MockTransport(handle)
        return functools.partial(
            super()._async_client_class(), http_client=http.AsyncClient(transport=transport)
        )

    def _create(self, client: Any, request: dict[str, Any]) -> Any:
        call = _current.get()
        if call is not None:
            call.request = request
        return super()._create(client, request)


class _MockOpenAI(_Wired, OpenAIProvider):
    name: ClassVar[str] = "mock"


class _Batched(SDKProvider):
    """An adapter whose SDK client talks to the mock's in-memory batch API."""

    mock: MockProvider

    def _sync_http_client(self) -> Any:
        http = http_module(self._sdk())
        return http.Client(transport=http.MockTransport(self.mock._batch_emulator().handle))


class _BatchedOpenAI(_Batched, OpenAIProvider):
    name: ClassVar[str] = "mock"


class _BatchedAnthropic(_Batched, AnthropicProvider):
    name: ClassVar[str] = "mock"


class _MockAnthropic(_Wired, AnthropicProvider):
    name: ClassVar[str] = "mock"


def _no_sleep(waits: list[float]) -> RetryPolicy:
    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)

    return RetryPolicy(sleep=waits.append, async_sleep=async_sleep)


@dataclass
class MockProvider:
    """Answers prompts from a script, through the real adapters.

    Args:
        replies: what to answer, one reply per HTTP request (retries and repairs take
            the next one): a list (used in order; the last one repeats), a mapping from
            template name to a reply or a list of them, a function of the Prompt, or
            ``None`` (default) for a schema-valid fake output generated from the prompt's
            output schema (plain text ``"mock reply"`` without one; a schema-valid tool call
            when the prompt's ``tool_choice`` requires one). A reply is text, a dict (sent
            as JSON), a :class:`~promptlib.ToolCall`, an assistant
            :class:`~promptlib.Message` (its text and tool calls), or a :class:`Failure`;
            one of these alone answers every request.
        model: the model to report and price (default: the prompt's, else
            ``gpt-4o-mini``). Claude models are answered through the Anthropic adapter,
            the rest through the OpenAI adapter.
        output_tokens: fixed output tokens to report; by default they are counted.
        catalog: the model catalog, for costs.
        retry: the retry policy, as for a real adapter. By default the real defaults
            (3 attempts, 2 repairs) without sleeping: the waits asked are kept in
            ``waits``.
        server: for OpenAI models, the server profile (see
            :class:`~promptlib.ServerProfile`).

    Attributes:
        calls: every request answered, in order (:class:`MockCall`).
        waits: the seconds the retry policy waited (or would have), in order.
    """

    replies: Script | str | Failure | ToolCall | Message = None
    model: str | None = None
    output_tokens: int | None = None
    catalog: Catalog | None = None
    retry: RetryPolicy | None = None
    server: Any = None
    calls: list[MockCall] = field(default_factory=list, init=False)
    waits: list[float] = field(default_factory=list, init=False)
    name: str = "mock"
    _cursor: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _adapters: dict[str, SDKProvider] = field(default_factory=dict, init=False, repr=False)
    _warm: bool = field(default=False, init=False, repr=False, compare=False)
    _batches: BatchEmulator | None = field(default=None, init=False, repr=False, compare=False)
    _batch_prompts: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    # --- the adapters ----------------------------------------------------------------------

    def _model(self, prompt: Prompt[Any], model: str | None) -> str:
        name = model or self.model or prompt.model or "gpt-4o-mini"
        return name.split(":", 1)[1] if name.startswith(("mock:", "openai:")) else name

    def _family(self, model: str) -> str:
        if model.startswith(("anthropic:", "claude")):
            return "anthropic"
        try:
            provider = (self.catalog or Catalog.default()).get(model).provider
        except ConfigurationError:
            provider = "openai"
        return "anthropic" if provider == "anthropic" else "openai"

    def _adapter(self, family: str, *, batched: bool = False) -> SDKProvider:
        """The real adapter for ``family``, its SDK client wired to the mock's transport
        (``batched``: to its in-memory batch API)."""
        key = f"batch-{family}" if batched else family
        adapter = self._adapters.get(key)
        if adapter is None:
            retry = self.retry or _no_sleep(self.waits)
            kinds: dict[str, type[_Wired | _Batched]] = (
                {"anthropic": _BatchedAnthropic, "openai": _BatchedOpenAI}
                if batched
                else {"anthropic": _MockAnthropic, "openai": _MockOpenAI}
            )
            options: dict[str, Any] = {"server": self.server} if family == "openai" else {}
            made = kinds[family](api_key="mock-key", retry=retry, catalog=self.catalog, **options)
            made.mock = self
            adapter = self._adapters[key] = made
        return adapter

    def _call(self, prompt: Prompt[Any], model: str | None) -> tuple[SDKProvider, _Call]:
        name = self._model(prompt, model)
        family = self._family(name)
        # Only a provider prefix goes: a fine-tuned name (ft:base:org::id) keeps its colons.
        bare = name.split(":", 1)[1] if name.startswith("anthropic:") else name
        call = _Call(prompt, bare, family)
        if not self._warm:
            # The scripted server counts tokens with tiktoken: load its data before the
            # request is timed, so a first call's latency is not the tokenizer's loading.
            self._warm = True
            with contextlib.suppress(Exception):  # a warm-up: the call reports any error
                self._input_tokens(call, {})
        return self._adapter(family), call

    # --- sending ---------------------------------------------------------------------------

    def build_request(self, prompt: Prompt[Any], model: str | None = None) -> dict[str, Any]:
        """The request the model's real adapter builds for ``prompt``."""
        adapter, call = self._call(prompt, model)
        return adapter.build_request(prompt, call.model)

    def complete(self, prompt: Prompt[OutputT], model: str | None = None) -> Completion[OutputT]:
        """Answer ``prompt`` from the script, through the model's real adapter."""
        adapter, call = self._call(prompt, model)
        token = _current.set(call)
        try:
            return adapter.complete(prompt, call.model)
        finally:
            _current.reset(token)

    async def acomplete(
        self, prompt: Prompt[OutputT], model: str | None = None
    ) -> Completion[OutputT]:
        """The async twin of :meth:`complete`."""
        adapter, call = self._call(prompt, model)
        token = _current.set(call)
        try:
            return await adapter.acomplete(prompt, call.model)
        finally:
            _current.reset(token)

    def stream(self, prompt: Prompt[OutputT], model: str | None = None) -> MockStream[OutputT]:
        """Stream the scripted reply, event by event, as the real adapter streams."""
        adapter, call = self._call(prompt, model)
        return MockStream(adapter, prompt, call)

    def astream(self, prompt: Prompt[OutputT], model: str | None = None) -> MockStream[OutputT]:
        """The async twin of :meth:`stream` (``async for`` works on the same object)."""
        return self.stream(prompt, model)

    # --- batches ---------------------------------------------------------------------------

    def batch_api(self, model: str, limits: Any = None) -> Any:
        """The batch API :mod:`promptlib.batch` uses for this mock: the real batch code and
        SDK calls, answered in memory (``batch_emulator`` holds the batches)."""
        from promptlib.batch._backends import api_for

        name = self._model(Prompt(messages=()), model)
        api = api_for(self._adapter(self._family(name), batched=True), limits)
        api.on_create = self._remember_prompts
        return api

    @property
    def batch_emulator(self) -> BatchEmulator:
        """The in-memory batch API (:class:`BatchEmulator`): set ``expire``,
        ``lose_answers``, ... on it to test how your code copes."""
        return self._batch_emulator()

    def _batch_emulator(self) -> BatchEmulator:
        if self._batches is None:
            from promptlib.testing._batch_emulator import BatchEmulator

            self._batches = BatchEmulator(self._batch_answer)
        return self._batches

    def _remember_prompts(self, requests: Sequence[Any]) -> None:
        for request in requests:
            self._batch_prompts[_line_key(request.sent_id, request.body)] = request.prompt

    def _batch_answer(
        self, family: str, custom_id: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        kept = self._batch_prompts.get(_line_key(custom_id, body))
        prompt: Prompt[Any] = Prompt.from_dict(kept) if kept else Prompt(messages=())
        call = _Call(prompt, str(body.get("model", "")), family, request=body)
        adapter = self._adapters[f"batch-{family}"]
        http = http_module(adapter._sdk())
        token = _current.set(call)
        try:
            response = self._handle(http.Request("POST", "https://mock.invalid/v1", json=body))
            return response.status_code, response.json()
        except (http.HTTPError, ValueError):  # a dropped connection or a page that is not JSON
            return 500, {"error": {"message": "server error", "type": "server_error"}}
        finally:
            _current.reset(token)

    # --- the transport ---------------------------------------------------------------------

    def _handle(self, request: Any) -> Any:
        http = _http_of(request)
        call = _current.get()
        if call is None:
            raise UsageError("the mock's HTTP client was used outside MockProvider's calls")
        body = json.loads(request.content) if request.content else {}
        if call.first_messages is None:
            call.first_messages = len(body.get("messages", ()))
        reply = self._reply_for(call.prompt)
        number = len(self.calls) + 1
        request_id = f"mock-{number}"
        headers = {"x-request-id": request_id, "request-id": request_id}
        failure = reply.kind if isinstance(reply, Failure) else None
        if isinstance(reply, Failure) and reply.kind in ERROR_KINDS:
            self._record(call, body, "", failure)
            error: ErrorReply = error_reply(reply.kind, call.family, request_id, reply.retry_after)
            return http.Response(
                error.status, json=error.body, headers={**headers, **error.headers}
            )
        streamed = bool(body.get("stream"))
        dropped = ("connection_reset", "stream_error", "stream_unfinished")
        if isinstance(reply, Failure) and (
            reply.kind == "timeout" or (reply.kind in dropped and not streamed)
        ):
            self._record(call, body, "", failure)
            if reply.kind == "timeout":
                raise http.ReadTimeout("simulated timeout", request=request)
            raise http.ReadError(
                "[Errno 104] Connection reset by peer (simulated)", request=request
            )
        if isinstance(reply, Failure) and reply.kind == "malformed":
            self._record(call, body, "", failure)
            page = b"<html><body>502 Bad Gateway (simulated)</body></html>"
            kind = {"content-type": "application/json"}
            return http.Response(200, content=page, headers={**headers, **kind})
        text, finish = self._text_of(call, reply)
        try:  # raised inside the SDK's transport: an SDK error, so it is not retried
            calls = tool_calls_of(reply, call.prompt, call.family)
        except ConfigurationError as exc:
            raise as_sdk_error(ConfigurationError, str(exc)) from None
        try:
            blocks = native_blocks(reply, call.family)
        except ConfigurationError as exc:
            raise as_sdk_error(ConfigurationError, str(exc)) from None
        said = text + "".join(c.name + c.arguments for c in calls)
        wire = Reply(
            family=call.family,
            model=str(body.get("model", call.model)),
            text=text,
            input_tokens=self._input_tokens(call, body),
            output_tokens=self._output_tokens(said, finish, body),
            finish=finish,
            request_id=request_id,
            tool=_forced_tool(body),
            tool_calls=tuple((c.id, c.name, c.arguments) for c in calls),
            blocks=blocks,
        )
        self._record(call, body, text, failure, wire)
        cut = isinstance(reply, Failure) and reply.kind == "stream_cut"
        if streamed:
            include_usage = bool(body.get("stream_options", {}).get("include_usage"))
            events = reply_events(wire, include_usage)
            if failure == "stream_error":
                events = [*events[: max(1, len(events) // 2)], error_event(call.family, request_id)]
            elif failure == "stream_unfinished":
                events = unfinished(events, call.family)
            if cut:
                return http.Response(
                    200, headers={**headers, "content-type": "text/event-stream"},
                    stream=_cut_stream_class(http)(events[: max(1, len(events) // 2)], request),
                )  # fmt: skip
            content = b"".join(events)
            return http.Response(
                200, headers={**headers, "content-type": "text/event-stream"}, content=content
            )
        if cut:
            raise http.RemoteProtocolError(
                "peer closed connection without sending complete message body (simulated)",
                request=request,
            )
        return http.Response(200, json=reply_body(wire), headers=headers)

    def _record(
        self,
        call: _Call,
        body: dict[str, Any],
        text: str,
        failure: str | None,
        reply: Reply | None = None,
    ) -> None:
        tokens = (reply.input_tokens, reply.output_tokens) if reply else (0, 0)
        request = dict(call.request) or body
        self.calls.append(
            MockCall(call.prompt, request, call.model, text, failure, *tokens, body=body)
        )

    def _text_of(self, call: _Call, reply: ScriptedReply) -> tuple[str, str]:
        if isinstance(reply, ToolCall):
            return "", "stop"
        if isinstance(reply, Message):
            return reply.text if any(isinstance(p, TextPart) for p in reply.content) else "", "stop"
        if not isinstance(reply, Failure):
            return reply_text(reply), "stop"
        if reply.kind == "refusal":
            return reply.text or "I can't help with that.", "refusal"
        if reply.kind == "content_filter":
            return reply.text or "", "content_filter"
        if reply.kind in ("stream_error", "stream_unfinished"):
            return fake_text(call.prompt), "stop"
        if reply.kind == "truncation":
            whole = fake_text(call.prompt)
            return reply.text if reply.text is not None else whole[: len(whole) // 2], "length"
        if reply.kind == "stream_cut":
            return fake_text(call.prompt) if reply.text is None else reply.text, "stop"
        return reply.text or "this is not the JSON you asked for", "stop"

    def _input_tokens(self, call: _Call, body: dict[str, Any]) -> int:
        from promptlib._tokens.counting import count_tokens

        try:
            tokens = count_tokens(call.prompt, call.model, catalog=self.catalog).total
        except ConfigurationError:
            tokens = count_tokens(call.prompt, "gpt-4o-mini").total
        # A repair sends the conversation so far: count the turns it added.
        encoding = get_encoding("o200k_base")
        for message in body.get("messages", ())[call.first_messages or 0 :]:
            tokens += 4 + len(encoding.encode_ordinary(_message_text(message)))
        return tokens

    def _output_tokens(self, text: str, finish: str, body: dict[str, Any]) -> int:
        if self.output_tokens is not None:
            return self.output_tokens
        counted = len(get_encoding("o200k_base").encode_ordinary(text))
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        if finish == "length" and isinstance(limit, int):
            return limit
        return counted

    # --- scripting -------------------------------------------------------------------------

    def _reply_for(self, prompt: Prompt[Any]) -> ScriptedReply:
        script = self.replies
        if script is None:
            return fake_reply(prompt)
        if isinstance(script, str | Failure | ToolCall | Message):
            return script  # one reply, for every request
        if callable(script):
            return checked_reply(script(prompt))
        if isinstance(script, Mapping):
            template = prompt.meta.template or ""
            if template not in script:
                raise ConfigurationError(
                    f"MockProvider has no reply for template {template!r} (scripted: "
                    f"{', '.join(map(repr, script)) or 'none'})"
                )
            entry = script[template]
            if isinstance(entry, str | Mapping | Failure | ToolCall | Message):
                return entry
            return self._next(template, entry)
        return self._next("", script)

    def _next(self, key: str, replies: Sequence[ScriptedReply]) -> ScriptedReply:
        if not replies:
            raise ConfigurationError("MockProvider was given an empty list of replies")
        index = self._cursor.get(key, 0)
        self._cursor[key] = index + 1
        return replies[min(index, len(replies) - 1)]

    # --- assertions ------------------------------------------------------------------------

    def assert_called(self, times: int | None = None) -> None:
        """Fail unless the mock was called (exactly ``times`` requests, if given)."""
        if times is None and not self.calls:
            raise AssertionError("MockProvider was never called")
        if times is not None and len(self.calls) != times:
            raise AssertionError(f"MockProvider was called {len(self.calls)} times, not {times}")

    def assert_called_with(
        self, template: str, version: str | None = None, **inputs: Any
    ) -> MockCall:
        """Fail unless some call rendered ``template`` (at ``version``) with these inputs."""
        for call in self.calls:
            if call.template != template or (version is not None and call.version != version):
                continue
            if all(call.inputs.get(key) == value for key, value in inputs.items()):
                return call
        seen = "\n".join(f"  - {c.template}@{c.version} {dict(c.inputs)}" for c in self.calls)
        wanted = f"{template}@{version or '*'} {inputs or ''}"
        raise AssertionError(f"no call matched {wanted}; calls made:\n{seen or '  (none)'}")


class MockStream(Generic[OutputT]):
    """The real adapter's stream over the mock: iterate (or ``async for``) for the deltas,
    then read ``.completion``."""

    def __init__(self, adapter: SDKProvider, prompt: Prompt[OutputT], call: _Call) -> None:
        self._adapter, self._prompt, self._call = adapter, prompt, call
        self._used: Any = None

    def __repr__(self) -> str:
        state = "unread" if self._used is None else self._used._progress()
        return f"MockStream(mock, model={self._call.model!r}, {state})"

    def __iter__(self) -> Iterator[str]:
        self._used = self._adapter.stream(self._prompt, self._call.model)
        pieces = iter(self._used)
        token = _current.set(self._call)
        try:  # the request is made when the first piece is asked for
            first = next(pieces, None)
        finally:
            _current.reset(token)
        if first is not None:
            yield first
            yield from pieces

    async def __aiter__(self) -> AsyncIterator[str]:
        self._used = self._adapter.astream(self._prompt, self._call.model)
        pieces = aiter(self._used)
        token = _current.set(self._call)
        try:
            first = await anext(pieces, None)
        finally:
            _current.reset(token)
        if first is not None:
            yield first
            async for piece in pieces:
                yield piece

    @property
    def completion(self) -> Completion[OutputT]:
        """The full completion, once the stream has been read to its end."""
        if self._used is None:
            raise StreamStateError("read the stream to its end before asking for its completion")
        completion: Completion[OutputT] = self._used.completion
        return completion


@functools.cache
def _cut_stream_class(http: Any) -> Any:
    class CutStream(http.SyncByteStream, http.AsyncByteStream):  # type: ignore[misc]
        """A response body that delivers some events, then loses the connection."""

        def __init__(self, events: list[bytes], request: Any) -> None:
            self._events, self._request = events, request

        def _error(self) -> Exception:
            error: Exception = http.RemoteProtocolError(
                "peer closed connection without sending complete message body (simulated)",
                request=self._request,
            )
            return error

        def __iter__(self) -> Iterator[bytes]:
            yield from self._events
            raise self._error()

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for event in self._events:
                yield event
            raise self._error()

    return CutStream


def _line_key(custom_id: str, body: Any) -> str:
    """A batch line by its id and its body: two jobs may use the same ids."""
    return custom_id + "\n" + json.dumps(body, sort_keys=True, ensure_ascii=False)


def _http_of(request: Any) -> Any:
    import importlib

    return importlib.import_module(type(request).__module__.split(".")[0])


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        name = choice.get("name")
        return name if isinstance(name, str) else None
    return None


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.testing", MockCall, MockProvider, MockStream)
