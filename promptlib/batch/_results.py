"""Collecting a batch job: one typed result per prompt, a Completion or a BatchFailure."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from promptlib._errors import (
    ConfigurationError,
    ModelOutputError,
    PromptlibError,
    ProviderError,
    UsageError,
)
from promptlib._messages import Prompt
from promptlib._providers.completion import Completion, checked_output, completion_of, unreadable
from promptlib.batch._backends import BatchAPI, Line
from promptlib.batch._follow import _cancelled, _lines, _refresh, _review
from promptlib.batch._handle import BatchHandle, BatchRequest, ProviderBatch
from promptlib.batch._job import _api_of, _identified

__all__ = ["BatchFailure", "BatchResult", "collect"]

FailureKind = Literal["errored", "expired", "canceled", "failed", "output", "missing"]


@dataclass(frozen=True)
class BatchFailure:
    """A prompt of the job that got no usable reply.

    Attributes:
        custom_id: the prompt's id.
        kind: ``errored`` (the provider answered the line with an error), ``expired``
            (the batch's window closed first), ``canceled``, ``failed`` (the provider
            refused the whole batch, e.g. in validation), ``output`` (a reply that does
            not parse or validate, a refusal, or a reply cut at the token limit; a batch
            does not repair), ``missing`` (the provider returned no line for it).
        error: the promptlib error, as a live call would raise it.
        retryable: asking again may help (rate limits, overload, expiry).
        attempts: how many times it was submitted.
    """

    custom_id: str
    kind: FailureKind
    error: PromptlibError
    retryable: bool = False
    attempts: int = 1


BatchResult = Completion[Any] | BatchFailure


# --- collecting ------------------------------------------------------------------------------


def collect(
    handle: BatchHandle,
    prompts: Mapping[str, Prompt[Any]] | Sequence[Prompt[Any]] | None = None,
) -> dict[str, BatchResult]:
    """One result per prompt, in the order submitted: a :class:`~promptlib.Completion`
    (output parsed, cost at batch prices) or a :class:`BatchFailure`, never a gap.

    Args:
        prompts: the prompts as submitted, to parse outputs into their pydantic models
            (without them, structured outputs are ``dict``s, as read back from the handle).

    Raises:
        UsageError: a batch of the job has not ended yet (``wait`` first).
    """
    api = _api_of(handle)
    given = dict(_identified(prompts)) if prompts else {}
    with handle.locked():
        _refresh(handle, api)
        _review(handle, api)  # lines to submit again are not final results
        running = [b.tag for b in handle.batches if b.state != "ended"]
        if running:
            raise UsageError(
                f"batch job {handle.job} has not ended ({', '.join(running[:3])} still "
                "running, or lines to submit again): wait for it first "
                "(promptlib.batch.wait, or promptlib batch wait)"
            )
        lines: dict[int, dict[str, Line]] = {}
        results: dict[str, BatchResult] = {}
        for request in handle.requests:
            chunk = handle.batches[request.chunk]
            if chunk.index not in lines:
                lines[chunk.index] = _lines(api, chunk, handle.chunk_requests(chunk.index))[0]
            prompt = _prompt_of(request, given)
            line = lines[chunk.index].get(request.custom_id)
            results[request.custom_id] = _result(api, handle, chunk, request, prompt, line)
        return results


def _prompt_of(request: BatchRequest, given: Mapping[str, Prompt[Any]]) -> Prompt[Any]:
    prompt = given.get(request.custom_id)
    if prompt is not None:
        if prompt.hash != request.prompt.get("hash"):
            raise ConfigurationError(
                f"prompt {request.custom_id!r} is not the one submitted (its hash differs): "
                "pass the prompts exactly as submitted, or none"
            )
        return prompt
    return Prompt.from_dict(request.prompt)


def _result(
    api: BatchAPI,
    handle: BatchHandle,
    chunk: ProviderBatch,
    request: BatchRequest,
    prompt: Prompt[Any],
    line: Line | None,
) -> BatchResult:
    def failure(kind: FailureKind, error: PromptlibError, retryable: bool = False) -> BatchFailure:
        return BatchFailure(request.custom_id, kind, error, retryable, request.attempts)

    if line is None:
        if chunk.error:
            return failure(
                "failed",
                ProviderError(f"the provider refused the batch: {chunk.error}", provider=api.name),
            )
        if _cancelled(chunk):
            return failure("canceled", ProviderError("the batch was cancelled", provider=api.name))
        return failure(
            "missing",
            ProviderError(
                f"batch {chunk.batch_id} ended without a result for this request",
                provider=api.name,
            ),
            retryable=True,
        )
    if line.kind != "succeeded" or line.response is None:
        assert line.error is not None
        kind: FailureKind = "expired" if line.kind == "expired" else "errored"
        if line.kind == "canceled":
            kind = "canceled"
        return failure(kind, line.error, line.retryable)
    adapter = api.adapter
    try:
        exchange = adapter.answered(prompt, adapter.parse_response(line.response))
    except (AttributeError, TypeError, IndexError, KeyError, ValueError) as exc:
        return failure("errored", unreadable(adapter.name, line.response, exc, request.attempts))
    if line.request_id and not exchange.request_id:
        exchange = replace(exchange, request_id=line.request_id)
    try:
        output = checked_output(adapter, prompt, exchange, request.body, exchange.usage)
    except ModelOutputError as problem:
        return failure("output", problem)
    made = completion_of(
        prompt,
        text=exchange.text,
        output=output,
        provider=adapter.name,
        model=str(request.body.get("model", handle.model)),
        usage=exchange.usage,
        catalog=adapter.catalog,
        started=time.perf_counter(),
        attempts=request.attempts,
        request_id=exchange.request_id,
        finish_reason=exchange.finish_reason,
        raw=exchange.raw,
        batch=True,
        tool_calls=exchange.tool_calls,
        content=exchange.content,
    )
    turnaround = (
        chunk.ended_at - chunk.created_at
        if chunk.ended_at is not None and chunk.created_at is not None
        else 0.0
    )
    return replace(made, latency=max(0.0, turnaround))


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.batch", BatchFailure, collect)
