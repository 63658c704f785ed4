"""What a provider returns: :class:`Completion`, and the exchange flow every adapter shares.

The flow (send, parse, repair when the reply does not validate) is written once, as a
generator that yields the request to send and receives the response. A synchronous and an
asynchronous driver run it, so ``complete`` and ``acomplete`` cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol

from typing_extensions import TypeVar

from promptlib._errors import (
    ConfigurationError,
    ModelRefusalError,
    OutputParseError,
    OutputTruncatedError,
    OutputValidationError,
    PromptlibError,
    ProviderError,
)
from promptlib._messages import Message, Prompt
from promptlib._parts import Part, ToolCall
from promptlib._providers.retry import RetryPolicy
from promptlib._pydantic_fields import json_form
from promptlib._secrets import redact_in_use
from promptlib._tokens.catalog import Catalog
from promptlib._tokens.cost import Cost, Usage, cost_of
from promptlib._tools import Tool

__all__ = ["Completion", "Exchange"]

_log = logging.getLogger("promptlib.providers")

OutputT = TypeVar("OutputT", default=str)


def _json_form(completion: Completion[Any]) -> dict[str, Any]:
    """What a completion says, as JSON values (its prompt by hash, its raw response not)."""
    output = completion.output
    dumped = output.model_dump(mode="json") if hasattr(output, "model_dump") else output
    return {
        "text": completion.text,
        "output": dumped,
        "provider": completion.provider,
        "model": completion.model,
        "usage": dataclasses.asdict(completion.usage),
        "cost": completion.cost.to_dict(),
        "latency": completion.latency,
        "attempts": completion.attempts,
        "repairs": completion.repairs,
        "request_id": completion.request_id,
        "finish_reason": completion.finish_reason,
        "reasoning": completion.reasoning,
        "template": completion.template,
        "version": completion.version,
        "template_hash": completion.template_hash,
        "prompt_hash": completion.prompt_hash,
        "tool_calls": [call.to_dict() for call in completion.tool_calls],
    }


@json_form("a model's reply, parsed, with what it cost", _json_form)
@dataclass(frozen=True)
class Completion(Generic[OutputT]):
    """A model's reply, parsed, with what it cost.

    Attributes:
        text: the reply's text.
        output: the parsed output: an instance of the template's output model, a ``dict``
            for a raw schema, the final answer of a chain-of-thought prompt, or the text.
        provider, model: who answered.
        usage: tokens used, over every attempt (retries and repairs included).
        cost: what those tokens cost (unknown when the catalog lacks a price).
        latency: seconds from the first request to the parsed reply.
        attempts: HTTP requests made, retries and repairs included.
        repairs: re-asks after a reply that did not validate.
        request_id: the provider's id of the last request.
        finish_reason: why the model stopped (``stop``, ``length``, ``end_turn``, ...).
        reasoning: the reasoning of a chain-of-thought reply, kept apart from the output.
        tool_calls: the tools the model asked to call, in order, each parsed into its
            tool's model by ``call.args``. When there are calls, ``output`` is ``None``:
            send the results back with :meth:`Prompt.with_tool_results` for the answer.
        template, version, template_hash, prompt_hash: where the prompt came from.
        raw: the SDK's last response object.
    """

    text: str
    output: OutputT
    provider: str
    model: str
    usage: Usage
    cost: Cost
    latency: float
    attempts: int
    repairs: int = 0
    request_id: str | None = None
    finish_reason: str | None = None
    reasoning: str | None = None
    template: str | None = None
    version: str | None = None
    template_hash: str | None = None
    raw: Any = field(default=None, repr=False, compare=False)
    prompt: Prompt[Any] | None = field(default=None, repr=False, compare=False)
    tool_calls: tuple[ToolCall, ...] = ()
    content: tuple[Part, ...] = field(default=(), repr=False)

    @property
    def prompt_hash(self) -> str | None:
        """The hash of the prompt sent (see :attr:`Prompt.hash`)."""
        return self.prompt.hash if self.prompt is not None else None

    @property
    def message(self) -> Message:
        """The reply as an assistant :class:`~promptlib.Message`, what a conversation's
        history keeps: its blocks in order (Anthropic thinking and server-tool blocks
        included, as the API needs them back), else its text, then its tool calls."""
        if self.content:
            models = {c.id: c for c in self.tool_calls}
            parts = tuple(
                models.get(p.id, p) if isinstance(p, ToolCall) else p for p in self.content
            )
            return Message("assistant", parts)
        return Message.assistant(self.text, tool_calls=self.tool_calls)


@dataclass(frozen=True)
class Exchange:
    """What an adapter reads from one response."""

    text: str
    usage: Usage
    request_id: str | None
    finish_reason: str | None
    raw: Any
    refusal: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    content: tuple[Part, ...] = ()  # the reply's blocks in order, when they are more than text


class _Adapter(Protocol):
    @property
    def name(self) -> str: ...

    def parse_response(self, response: Any) -> Exchange: ...

    def answered(self, prompt: Prompt[Any], exchange: Exchange) -> Exchange: ...

    def parse_output(self, prompt: Prompt[Any], exchange: Exchange) -> Any: ...

    def repair_request(
        self, request: dict[str, Any], exchange: Exchange, problem: str
    ) -> dict[str, Any]: ...

    def max_tokens(self, request: dict[str, Any]) -> int | None: ...


# Finish reasons meaning "stopped at the token limit" (OpenAI, Anthropic).
TRUNCATED = frozenset({"length", "max_tokens", "model_context_window_exceeded"})


def checked_output(
    adapter: _Adapter,
    prompt: Prompt[Any],
    exchange: Exchange,
    request: dict[str, Any],
    usage: Usage,
) -> Any:
    """The reply's parsed output.

    Raises:
        ModelRefusalError: the model refused (never repaired).
        OutputTruncatedError: the reply stopped at the token limit before it could be
            parsed (never repaired: the same limit would cut it off again).
        OutputParseError: the reply does not parse or validate (repairable).
    """
    if exchange.refusal:
        _log.info("%s: the model refused: %s", adapter.name, redact_in_use(exchange.refusal[:200]))
        raise ModelRefusalError(
            f"{adapter.name}: the model refused: {exchange.refusal}",
            text=exchange.refusal,
            usage=usage,
        )
    if exchange.tool_calls:
        return None  # the model asks for tools first; the answer comes after their results
    try:
        return adapter.parse_output(prompt, exchange)
    except OutputParseError as problem:
        if exchange.finish_reason not in TRUNCATED:
            raise
        limit = adapter.max_tokens(request)
        setting = f"max_tokens={limit}" if limit is not None else "the model's output limit"
        _log.warning(
            "%s: the reply was cut off at %s after %d output tokens (not repaired: the same "
            "limit would cut it off again)",
            adapter.name,
            setting,
            usage.output_tokens,
        )
        raise OutputTruncatedError(
            f"{adapter.name}: the reply was cut off at {setting} after "
            f"{usage.output_tokens} output tokens, before it was complete ({problem}); raise "
            "max_tokens in the template's params, or ask for a shorter answer",
            text=exchange.text,
            max_tokens=limit,
            usage=usage,
        ) from problem


def reported_tokens(value: Any) -> int:
    """A token count as a provider reported it, or 0 when it is missing or not a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def unreadable(provider: str, response: Any, exc: Exception, attempts: int) -> PromptlibError:
    """The error for a 200 response of the wrong shape: an error a proxy sent as a 200,
    or a body that is not a reply at all."""
    from promptlib._providers.retry import error_in_body

    body = getattr(response, "model_extra", None) or {}
    if isinstance(response, dict):
        body = response
    if isinstance(body.get("error"), dict) or body.get("type") == "error":
        return error_in_body(body, provider, attempts, getattr(response, "_request_id", None))
    return ProviderError(
        f"the response could not be read ({type(exc).__name__}: {exc}); the server may not "
        "speak this provider's API",
        provider=provider,
        attempts=attempts,
    )


def price(usage: Usage, model: str, catalog: Catalog | None, *, batch: bool = False) -> Cost:
    """The cost of ``usage`` (at batch prices with ``batch=True``), or an unknown cost for
    a model the catalog does not list, or when the server reported no usage at all (some
    compatible servers' streams): zero tokens would otherwise pass for a known, free reply."""
    if usage.input_tokens == 0 and usage.output_tokens == 0:
        return Cost(model, False, None, None, None, ("usage",), "the server reported no usage")
    try:
        return cost_of(usage, model, batch=batch, catalog=catalog)
    except ConfigurationError:
        return Cost(model, False, None, None, None, ("model",), "model not in the catalog")


def completion_of(
    prompt: Prompt[Any],
    *,
    text: str,
    output: Any,
    provider: str,
    model: str,
    usage: Usage,
    catalog: Catalog | None,
    started: float,
    attempts: int,
    repairs: int = 0,
    request_id: str | None = None,
    finish_reason: str | None = None,
    raw: Any = None,
    batch: bool = False,
    tool_calls: tuple[ToolCall, ...] = (),
    content: tuple[Part, ...] = (),
) -> Completion[Any]:
    """The :class:`Completion` of a parsed reply; cost, latency, reasoning and the prompt's
    provenance are derived here, for every provider alike."""
    return Completion(
        text=text,
        output=output,
        provider=provider,
        model=model,
        usage=usage,
        cost=price(usage, model, catalog, batch=batch),
        latency=time.perf_counter() - started,
        attempts=attempts,
        repairs=repairs,
        request_id=request_id,
        finish_reason=finish_reason,
        reasoning=_reasoning(prompt, text, tool_calls),
        template=prompt.meta.template,
        version=prompt.meta.version,
        template_hash=prompt.meta.template_hash,
        raw=raw,
        prompt=prompt,
        tool_calls=_with_models(prompt, tool_calls) if tool_calls else (),
        content=content if len(content) > 1 or tool_calls else (),
    )


def _reasoning(prompt: Prompt[Any], text: str, tool_calls: tuple[ToolCall, ...]) -> str | None:
    """A chain-of-thought reply's reasoning; a reply that calls tools has no final answer
    yet, so all its text is reasoning."""
    if prompt.reasoning is None:
        return None
    if tool_calls:
        return text or None
    return prompt.split_reasoning(text).reasoning


def _with_models(prompt: Prompt[Any], calls: tuple[ToolCall, ...]) -> tuple[ToolCall, ...]:
    """The calls, each knowing its tool's argument model (for ``call.args``)."""
    models = {t.name: t.model for t in prompt.tools if isinstance(t, Tool) and t.model}
    return tuple(replace(c, model=models[c.name]) if c.name in models else c for c in calls)


_NO_USAGE = Usage(0, 0)

Flow = Generator[dict[str, Any], tuple[Any, int], "Completion[Any]"]


def completion_flow(
    adapter: _Adapter,
    prompt: Prompt[Any],
    request: dict[str, Any],
    policy: RetryPolicy,
    catalog: Catalog | None,
) -> Flow:
    """Send, parse, and repair up to ``policy.repairs`` times; the drivers do the I/O."""
    started = time.perf_counter()
    usage = _NO_USAGE
    attempts = 0
    problems: list[tuple[str, str]] = []
    exchange: Exchange | None = None
    for repair in range(policy.repairs + 1):
        response, tries = yield request
        attempts += tries
        try:
            exchange = adapter.answered(prompt, adapter.parse_response(response))
        except (AttributeError, TypeError, IndexError, KeyError, ValueError) as exc:
            raise unreadable(adapter.name, response, exc, attempts) from exc
        usage = exchange.usage if repair == 0 else usage + exchange.usage
        try:
            output = checked_output(adapter, prompt, exchange, request, usage)
        except OutputParseError as problem:
            problems.append((exchange.text, str(problem)))
            if repair < policy.repairs:
                _log.info(
                    "%s: the reply did not match the expected output; asking again (repair "
                    "%d of %d): %s",
                    adapter.name,
                    repair + 1,
                    policy.repairs,
                    redact_in_use(str(problem)),
                )
            request = adapter.repair_request(request, exchange, str(problem))
            continue
        return completion_of(
            prompt,
            text=exchange.text,
            output=output,
            provider=adapter.name,
            model=str(request["model"]),
            usage=usage,
            catalog=catalog,
            started=started,
            attempts=attempts,
            repairs=repair,
            request_id=exchange.request_id,
            finish_reason=exchange.finish_reason,
            raw=exchange.raw,
            tool_calls=exchange.tool_calls,
            content=exchange.content,
        )
    assert exchange is not None
    _log.warning(
        "%s: giving up after %d repair(s): the reply still did not match the expected output: %s",
        adapter.name,
        policy.repairs,
        redact_in_use(problems[-1][1][:300]),
    )
    raise OutputValidationError(
        f"{adapter.name}: the reply still did not match the expected output after "
        f"{policy.repairs} repair(s): {problems[-1][1]}",
        text=exchange.text,
        attempts=problems,
        usage=usage,
        last_response=exchange.raw,
    )


def drive(flow: Flow, send: Callable[[dict[str, Any]], tuple[Any, int]]) -> Completion[Any]:
    """Run a flow synchronously."""
    request = next(flow)
    while True:
        try:
            request = flow.send(send(request))
        except StopIteration as done:
            result: Completion[Any] = done.value
            return result


async def adrive(
    flow: Flow, send: Callable[[dict[str, Any]], Awaitable[tuple[Any, int]]]
) -> Completion[Any]:
    """Run a flow asynchronously."""
    request = next(flow)
    while True:
        response = await send(request)
        try:
            request = flow.send(response)
        except StopIteration as done:
            result: Completion[Any] = done.value
            return result


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", Completion)
