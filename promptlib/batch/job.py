"""A batch job: many prompts, one logical job, run on the provider's batch API.

Every step that changes the job at the provider is bracketed by saves of the handle:
a chunk is marked ``creating`` (saved) before its create call and ``created`` (saved)
after it, so a process killed anywhere resumes without paying for a batch twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal, TextIO

from promptlib.batch.backends import BatchAPI, BatchLimits, CreateFailed, Line, Remote, api_for
from promptlib.batch.handle import CUSTOM_ID, BatchHandle, BatchRequest, ProviderBatch
from promptlib.errors import (
    ConfigurationError,
    ModelOutputError,
    PromptlibError,
    ProviderError,
    RequestRejectedError,
    UsageError,
    WaitTimeoutError,
)
from promptlib.messages import Prompt
from promptlib.providers.base import SDKProvider
from promptlib.providers.completion import Completion, checked_output, completion_of, unreadable

__all__ = [
    "BatchFailure",
    "BatchResult",
    "BatchStatus",
    "cancel",
    "collect",
    "resume",
    "status",
    "submit",
    "wait",
]

_log = logging.getLogger("promptlib.batch")
_SUFFIX = len("-1a2b3c4d02")
_WIRE_SUFFIX = re.compile(r"-[0-9a-f]{8}[0-9]{2}$")

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


@dataclass(frozen=True)
class BatchStatus:
    """Where a job stands.

    Attributes:
        job: the job's id.
        total: prompts in the job.
        finished: prompts whose final answer (or failure) is in.
        pending: prompts waiting to be submitted (a resume submits them).
        ended: every provider batch has ended and no line is to be submitted again.
        batches: each provider batch: its id, the provider's status, and its counts.
    """

    job: str
    total: int
    finished: int
    pending: int
    ended: bool
    batches: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "total": self.total,
            "finished": self.finished,
            "pending": self.pending,
            "ended": self.ended,
            "batches": list(self.batches),
        }


# --- submitting -------------------------------------------------------------------------------


def _identified(
    prompts: Mapping[str, Prompt[Any]] | Iterable[Prompt[Any]],
) -> list[tuple[str, Prompt[Any]]]:
    given: object = prompts
    if isinstance(given, Prompt | str | bytes) or not isinstance(given, Mapping | Iterable):
        raise ConfigurationError(
            f"prompts must be a list of Prompts or a mapping {{id: Prompt}}, not "
            f"{type(given).__name__} (one prompt: [prompt])"
        )
    if isinstance(prompts, Mapping):
        items = [(str(key), prompt) for key, prompt in prompts.items()]
        for key, _ in items:
            if not CUSTOM_ID.fullmatch(key):
                raise ConfigurationError(
                    f"batch id {key[:80]!r} is not accepted by the providers: use 1-64 "
                    "letters, digits, '_' or '-'"
                )
    else:
        items = []
        first: dict[str, int] = {}
        for number, prompt in enumerate(prompts):
            if not isinstance(prompt, Prompt):
                raise ConfigurationError(
                    f"prompt {number} is a {type(prompt).__name__}, not a Prompt: render "
                    "templates first (template.render(...))"
                )
            key = "p" + prompt.hash.removeprefix("sha256:")[:24]
            if key in first:
                raise ConfigurationError(
                    f"prompts {first[key]} and {number} are the same request (hash "
                    f"{prompt.hash[:19]}…): a batch answers each id once. Send it once, or "
                    "pass a mapping {your_id: prompt} to send it twice"
                )
            first[key] = number
            items.append((key, prompt))
    if not items:
        raise ConfigurationError("no prompts to submit")
    counts = Counter(key for key, _ in items)
    twice = [key for key, count in counts.items() if count > 1]
    if twice:
        raise ConfigurationError(
            f"batch id {twice[0]!r} is given twice (keys that read the same as text): give "
            "each prompt its own id"
        )
    for key, prompt in items:
        if not isinstance(prompt, Prompt):
            raise ConfigurationError(
                f"batch item {key!r} is a {type(prompt).__name__}, not a Prompt: render it"
            )
    return items


def batch_api(provider: Any, model: str, limits: BatchLimits | None) -> BatchAPI:
    """The batch API behind ``provider`` (an adapter, or anything with ``batch_api``)."""
    hook = getattr(provider, "batch_api", None)
    if callable(hook):
        made: BatchAPI = hook(model, limits)
        return made
    if isinstance(provider, SDKProvider):
        return api_for(provider, limits)
    raise ConfigurationError(
        f"{type(provider).__name__} has no batch API: use OpenAIProvider, "
        "AnthropicProvider or MockProvider"
    )


def own_id(line_id: str) -> str:
    """The prompt's id in a line id made by :func:`wire_id` (or the id itself)."""
    return _WIRE_SUFFIX.sub("", line_id)


def wire_id(job: str, request: BatchRequest) -> str:
    """The line id of a request's attempt where batches carry no tag: its own id, then
    the job's and the attempt's (``c42-1a2b3c4d02``), so that another job's batch, or
    another attempt's, is never taken for this one. An id too long for that is hashed."""
    mine = request.custom_id
    if len(mine) > 64 - _SUFFIX:
        mine = "h" + hashlib.sha256(mine.encode("utf-8")).hexdigest()[: 63 - _SUFFIX]
    return f"{mine}-{job[4:12]}{request.attempts:02d}"


def _plan(handle: BatchHandle, api: BatchAPI, requests: list[BatchRequest]) -> None:
    """Put ``requests`` into new provider batches within the limits."""
    limits = api.limits
    current: list[BatchRequest] = []
    size = api.envelope

    def close() -> None:
        index = len(handle.batches)
        handle.batches.append(ProviderBatch(index=index, tag=f"{handle.job}-{index}"))
        for request in current:
            request.chunk = index

    for request in requests:
        if api.job_ids:
            request.wire_id = wire_id(handle.job, request)
        line = len(api.line(request))
        if line + api.envelope > limits.max_bytes:
            raise ConfigurationError(
                f"prompt {request.custom_id!r} alone is {line:,} bytes, over the "
                f"provider's {limits.max_bytes:,}-byte batch limit: send it live"
            )
        if current and (len(current) >= limits.max_requests or size + line > limits.max_bytes):
            close()
            current, size = [], api.envelope
        current.append(request)
        size += line
    if current:
        close()
    if api.job_ids:
        seen: dict[str, str] = {}
        for request in handle.requests:
            other = seen.setdefault(request.sent_id, request.custom_id)
            if other != request.custom_id:
                raise ConfigurationError(
                    f"batch ids {other!r} and {request.custom_id!r} would carry the same line "
                    "id (a long id is shortened by a hash): rename one of them"
                )


def submit(
    prompts: Mapping[str, Prompt[Any]] | Iterable[Prompt[Any]],
    provider: Any,
    model: str | None = None,
    *,
    path: str | Any = None,
    max_resubmits: int = 2,
    limits: BatchLimits | None = None,
) -> BatchHandle:
    """Submit prompts as one batch job; return its handle.

    Args:
        prompts: rendered prompts, any mix of templates and inputs: a mapping
            ``{id: prompt}`` (ids of 1-64 letters, digits, ``_``, ``-``) or a sequence,
            whose ids are derived from each prompt's hash (the same prompt twice is
            refused: give ids to send it twice).
        provider: an :class:`~promptlib.OpenAIProvider`, :class:`~promptlib.AnthropicProvider`
            or :class:`~promptlib.testing.MockProvider`.
        model: the model for every prompt (default: the prompts' own, which must agree).
        path: where to save the handle; it is saved after every step, so a crash loses
            nothing. Without it, the handle lives in memory (``handle.save(path)`` later).
        max_resubmits: how many times a line that errored with a retryable error, or
            expired, is submitted again by :func:`wait`.
        limits: the most one provider batch may hold (default: the provider's own);
            the job is split into batches within them.

    Raises:
        ConfigurationError: no prompts, a duplicate or malformed id, mixed models, a
            prompt too large for a batch, or a provider without a batch API.
    """
    items = _identified(prompts)
    if isinstance(max_resubmits, bool) or not isinstance(max_resubmits, int):
        raise ConfigurationError(f"max_resubmits={max_resubmits!r}: give a whole number, 0 to 20")
    if not 0 <= max_resubmits <= 20:
        raise ConfigurationError(f"max_resubmits={max_resubmits}: use 0 to 20")
    if limits is not None and not isinstance(limits, BatchLimits):
        raise ConfigurationError(
            f"limits= takes BatchLimits(max_requests=..., max_bytes=...), not "
            f"{type(limits).__name__}"
        )
    if model is not None and (not isinstance(model, str) or not model):
        raise ConfigurationError(f"model={model!r}: give the model's name, e.g. 'gpt-4o-mini'")
    # As for live calls, a provider's own model (a MockProvider(model=...)) comes first.
    chosen = model or getattr(provider, "model", None)
    name = chosen or items[0][1].model
    if not name:
        raise ConfigurationError(
            "no model to send to: pass model='gpt-4o-mini', or set model= on the templates"
        )
    others = {p.model for _, p in items if p.model and p.model != name} if not chosen else set()
    if others:
        raise ConfigurationError(
            f"the prompts name different models ({name!r}, {sorted(others)[0]!r}): a batch "
            "goes to one model; pass model=, or submit one job per model"
        )
    api = batch_api(provider, name, limits)
    api.client()  # no key, or a key that cannot be right: said now, before anything is saved
    from promptlib.batch.backends import wire_body

    built = [
        BatchRequest(
            custom_id, prompt.to_dict(), wire_body(api.adapter.build_request(prompt, name))
        )
        for custom_id, prompt in items
    ]
    handle = BatchHandle(
        job="plb_" + uuid.uuid4().hex[:16],
        provider=str(provider.name),
        family=api.family,
        model=str(built[0].body.get("model", name)),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        max_resubmits=max_resubmits,
        requests=built,
        batches=[],
        provider_object=provider,
    )
    _plan(handle, api, built)
    if path is not None:
        handle.save(path)  # before anything is sent; an existing handle is never overwritten
    _log.info(
        "batch job %s: %d prompts in %d batch(es) to %s:%s",
        handle.job,
        len(built),
        len(handle.batches),
        handle.provider,
        handle.model,
    )
    return resume(handle, _api=api)


def _api_of(handle: BatchHandle) -> BatchAPI:
    provider = handle.provider_object
    if provider is None:
        if handle.provider == "mock":
            raise ConfigurationError(
                f"batch job {handle.job} was made with a MockProvider, whose batches live "
                "only in that mock: follow it with the same one (load(path, provider=mock))"
            )
        from promptlib.providers.registry import get_provider

        try:
            provider, _ = get_provider(f"{handle.provider}:{handle.model}")
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"batch job {handle.job}: no provider to follow it with ({exc}); pass "
                "provider= to promptlib.batch.load"
            ) from None
        handle.provider_object = provider
    api = batch_api(provider, handle.model, None)
    if api.family != handle.family or str(getattr(provider, "name", "")) != handle.provider:
        raise ConfigurationError(
            f"batch job {handle.job} was submitted to {handle.provider} ({handle.family}'s "
            f"batch API); {type(provider).__name__} cannot follow it: load it with the "
            "provider it was submitted with"
        )
    return api


def resume(handle: BatchHandle, *, _api: BatchAPI | None = None) -> BatchHandle:
    """Create the job's provider batches not created yet (after a crash, or lines to
    submit again). A batch whose create answer was lost is looked for first, so none is
    created twice."""
    api = _api or _api_of(handle)
    with handle.locked():
        _resume(handle, api)
    return handle


def _resume(handle: BatchHandle, api: BatchAPI) -> None:
    claimed = {b.batch_id for b in handle.batches if b.batch_id}
    for chunk in handle.batches:
        if chunk.state not in ("pending", "creating"):
            continue
        requests = handle.chunk_requests(chunk.index)
        if chunk.state == "creating":
            found = api.find(chunk, len(requests), claimed, handle.job)
            if found is not None:
                chunk.found = True
                _created(handle, chunk, found)
                claimed.add(found.batch_id)
                continue
        if chunk.file_id is None:
            chunk.file_id = api.upload(chunk, requests)
            handle.save()
        remote = _create(handle, api, chunk, requests, claimed)
        claimed.add(remote.batch_id)


def _create(
    handle: BatchHandle,
    api: BatchAPI,
    chunk: ProviderBatch,
    requests: list[BatchRequest],
    claimed: set[str],
) -> Remote:
    policy = api.adapter.retry
    for attempt in range(1, policy.attempts + 1):
        if chunk.state == "pending":
            chunk.mark = api.watermark()
        chunk.state = "creating"
        chunk.started = chunk.started or time.time()
        handle.save()
        if api.on_create is not None:
            api.on_create(requests)
        try:
            remote = api.create(chunk, requests, handle.job)
        except CreateFailed as failed:
            found = (
                api.find(chunk, len(requests), claimed, handle.job) if failed.uncertain else None
            )
            if found is not None:
                _log.info(
                    "batch %s: its create answer was lost; found it as %s",
                    chunk.tag,
                    found.batch_id,
                )
                _created(handle, chunk, found)
                return found
            if not failed.uncertain and not isinstance(failed.error, ProviderError):
                raise failed.error from None
            retry = failed.uncertain or getattr(failed.error, "status", None) == 429
            if not retry or attempt == policy.attempts:
                # Left as "creating": a resume looks for it before creating it again.
                raise failed.error from None
            wait = min(policy.max_wait, policy.initial_wait * 2 ** (attempt - 1))
            _log.warning(
                "batch %s: create failed (%s); no such batch at the provider; creating "
                "again in %.1f s",
                chunk.tag,
                failed.error,
                wait,
            )
            policy.sleep(wait)
            continue
        _created(handle, chunk, remote)
        return remote
    raise AssertionError("unreachable")


def _created(handle: BatchHandle, chunk: ProviderBatch, remote: Remote) -> None:
    chunk.batch_id = remote.batch_id
    chunk.state = "ended" if remote.ended else "created"
    chunk.status = remote.status
    chunk.created_at = remote.created_at
    chunk.ended_at = remote.ended_at
    chunk.error = remote.error
    chunk.counts = dict(remote.counts)
    handle.save()
    _log.info("batch %s created at %s as %s", chunk.tag, handle.provider, remote.batch_id)


# --- following -------------------------------------------------------------------------------


def _refresh(handle: BatchHandle, api: BatchAPI) -> None:
    """Ask the provider about the running batches."""
    changed = False
    for chunk in handle.batches:
        if chunk.batch_id is None or chunk.state != "created":
            continue
        remote = api.retrieve(chunk.batch_id)
        if remote.counts != chunk.counts:
            chunk.counts, changed = dict(remote.counts), True
        if remote.status != chunk.status or remote.ended:
            chunk.status = remote.status
            chunk.ended_at = remote.ended_at
            chunk.error = remote.error
            if remote.ended:
                chunk.state = "ended"
            changed = True
    if changed:
        handle.save()


def _status(handle: BatchHandle) -> BatchStatus:
    pending = sum(
        1 for r in handle.requests if handle.batches[r.chunk].state in ("pending", "creating")
    )
    finished = 0
    for chunk in handle.batches:
        size = len(handle.chunk_requests(chunk.index))
        if chunk.state == "ended":
            finished += size
        elif chunk.state == "created":  # lines the provider has answered so far
            done = sum(v for k, v in chunk.counts.items() if k not in ("total", "processing"))
            finished += min(size, done)
    batches = tuple(
        {
            "tag": chunk.tag,
            "batch_id": chunk.batch_id,
            "status": chunk.status or chunk.state,
            "requests": len(handle.chunk_requests(chunk.index)),
            "counts": dict(chunk.counts),
        }
        for chunk in handle.batches
    )
    ended = all(b.state == "ended" and b.reviewed for b in handle.batches)
    return BatchStatus(handle.job, len(handle.requests), finished, pending, ended, batches)


def status(handle: BatchHandle) -> BatchStatus:
    """Ask the provider where each batch of the job stands. Lines of ended batches that
    are to be submitted again are planned (``pending``), not sent: :func:`wait` or
    :func:`resume` sends them."""
    with handle.locked():
        if all(b.state == "ended" and b.reviewed for b in handle.batches):
            return _status(handle)  # nothing to ask the provider
        api = _api_of(handle)
        _refresh(handle, api)
        _review(handle, api)
        return _status(handle)


def _review(handle: BatchHandle, api: BatchAPI) -> None:
    """Resubmit the retryable failures of the newly ended batches, within the budget."""
    again: list[BatchRequest] = []
    reviewed = []
    for chunk in list(handle.batches):
        if chunk.state != "ended" or chunk.reviewed:
            continue
        requests = handle.chunk_requests(chunk.index)
        lines, foreign = _lines(api, chunk, requests)
        if chunk.found and (foreign or not lines):
            # Adopted after a lost create answer, but its results are another job's: this
            # chunk was never created. Create it now.
            _log.warning(
                "batch %s: %s, adopted after a lost create answer, is not this job's "
                "(its results carry other ids); creating the batch",
                chunk.tag,
                chunk.batch_id,
            )
            chunk.state, chunk.batch_id, chunk.found, chunk.status = "pending", None, False, None
            chunk.started = chunk.mark = None
            handle.save()
            continue
        for request in requests:
            line = lines.get(request.custom_id)
            retryable = line is None or (line.kind != "succeeded" and line.retryable)
            if line is None and (chunk.error or _cancelled(chunk)):
                retryable = False  # refused as a whole (the same again), or cancelled
            if retryable and request.attempts <= handle.max_resubmits and not handle.cancelled:
                again.append(request)
        reviewed.append(chunk)
    if again:
        for request in again:
            request.attempts += 1
        _plan(handle, api, again)
        _log.info("%d line(s) failed or expired and are submitted again", len(again))
    for chunk in reviewed:
        chunk.reviewed = True
    if again or reviewed:
        handle.save()


def _cancelled(chunk: ProviderBatch) -> bool:
    return chunk.status in ("cancelled", "canceled", "canceling", "cancelling") or chunk.cancelled


def _lines(
    api: BatchAPI, chunk: ProviderBatch, requests: list[BatchRequest]
) -> tuple[dict[str, Line], int]:
    """The chunk's result lines by custom id, and how many carry ids it never sent."""
    if chunk.batch_id is None:
        return {}, 0
    ours = {r.sent_id: r.custom_id for r in requests}
    lines: dict[str, Line] = {}
    foreign = 0
    for line in api.results(chunk.batch_id):
        custom_id = ours.get(line.custom_id)
        if custom_id is None:
            foreign += 1
        else:
            lines[custom_id] = replace(line, custom_id=custom_id)
    return lines, foreign


def wait(
    handle: BatchHandle,
    *,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    progress: bool | TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchStatus:
    """Follow the job until every batch has ended, resubmitting lines that errored with a
    retryable error or expired (up to the handle's ``max_resubmits``).

    Each step holds the handle's lock with its state reloaded, so two processes following
    one job take turns and never submit a line twice.

    Args:
        poll_interval: seconds between looks at the provider.
        timeout: give up after this many seconds (the job goes on at the provider; wait
            again, or collect later).
        progress: show a progress line (``True``: on stderr, when it is a terminal; or a
            stream to write to).
        sleep: how to wait between looks (tests pass a no-op).

    Raises:
        ProviderError: the provider failed (after the retry policy's attempts).
        WaitTimeoutError: ``timeout`` passed first (also a ``TimeoutError``).
    """
    for name, value in (("poll_interval", poll_interval), ("timeout", timeout)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        ):
            raise ConfigurationError(f"{name}={value!r}: give seconds, 0 or more")
    api = _api_of(handle)
    stream = _progress_stream(progress)
    started = time.monotonic()
    slept = 0.0  # what was asked of sleep (a test's sleep may take no time)
    while True:
        with handle.locked():
            while True:
                _resume(handle, api)
                _refresh(handle, api)
                _review(handle, api)
                if not any(b.state == "pending" for b in handle.batches):
                    break  # else: lines to submit again, submitted now
            now = _status(handle)
        if stream is not None:
            stream.write(f"\rbatch {handle.job}: {now.finished:,}/{now.total:,} done")
            stream.flush()
        if now.ended:
            if stream is not None:
                stream.write("\n")
            return now
        waited = max(time.monotonic() - started, slept)
        if timeout is not None and waited >= timeout:
            raise WaitTimeoutError(
                f"batch job {handle.job} still running after {timeout:g} s "
                f"({now.finished:,}/{now.total:,} done); it goes on at the provider: wait "
                "again, or collect later"
            )
        pause = poll_interval if timeout is None else min(poll_interval, timeout - waited)
        sleep(pause)
        slept += pause


def _progress_stream(progress: bool | TextIO | None) -> TextIO | None:
    if progress is None or progress is False:
        return None
    if progress is True:
        return sys.stderr if sys.stderr.isatty() else None
    return progress


def cancel(handle: BatchHandle) -> BatchStatus:
    """Cancel the job's running batches (lines already answered stay collectable) and
    submit nothing more."""
    api = _api_of(handle)
    with handle.locked():
        handle.cancelled = True
        claimed = {b.batch_id for b in handle.batches if b.batch_id}
        for chunk in handle.batches:
            if chunk.state == "creating":  # its create may have taken effect: find it first
                try:
                    found = api.find(
                        chunk, len(handle.chunk_requests(chunk.index)), claimed, handle.job
                    )
                except ProviderError as exc:
                    _log.warning("batch %s: %s; marked cancelled", chunk.tag, exc)
                    found = None
                if found is not None:
                    chunk.found = True
                    _created(handle, chunk, found)
                    claimed.add(found.batch_id)
                else:
                    chunk.state = "pending"
            if chunk.state == "created" and chunk.batch_id is not None:
                try:
                    remote = api.cancel(chunk.batch_id)
                except RequestRejectedError:  # it ended meanwhile: nothing to cancel
                    remote = api.retrieve(chunk.batch_id)
                chunk.status, chunk.cancelled = remote.status, True
            elif chunk.state == "pending":
                chunk.state, chunk.status, chunk.reviewed = "ended", "cancelled", True
                chunk.cancelled = True
        handle.save()
        _refresh(handle, api)
        return _status(handle)


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
        exchange = adapter.parse_response(line.response)
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
    )
    turnaround = (
        chunk.ended_at - chunk.created_at
        if chunk.ended_at is not None and chunk.created_at is not None
        else 0.0
    )
    return replace(made, latency=max(0.0, turnaround))
