"""Submitting a batch job: many prompts, one logical job, on the provider's batch API.

Every step that changes the job at the provider is bracketed by saves of the handle:
a chunk is marked ``creating`` (saved) before its create call and ``created`` (saved)
after it, so a process killed anywhere resumes without paying for a batch twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from promptlib._errors import (
    ConfigurationError,
    ProviderError,
)
from promptlib._messages import Prompt
from promptlib._providers.base import SDKProvider
from promptlib.batch._backends import BatchAPI, BatchLimits, CreateFailed, Remote, api_for
from promptlib.batch._handle import CUSTOM_ID, BatchHandle, BatchRequest, ProviderBatch

__all__ = ["resume", "submit"]

_log = logging.getLogger("promptlib.batch")
_SUFFIX = len("-1a2b3c4d02")
_WIRE_SUFFIX = re.compile(r"-[0-9a-f]{8}[0-9]{2}$")


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
    from promptlib.batch._backends import wire_body

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
    return _resumed(handle, api)


def _api_of(handle: BatchHandle) -> BatchAPI:
    provider = handle.provider_object
    if provider is None:
        if handle.provider == "mock":
            raise ConfigurationError(
                f"batch job {handle.job} was made with a MockProvider, whose batches live "
                "only in that mock: follow it with the same one (load(path, provider=mock))"
            )
        from promptlib._providers.registry import get_provider

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


def resume(handle: BatchHandle) -> BatchHandle:
    """Create the job's provider batches not created yet (after a crash, or lines to
    submit again). A batch whose create answer was lost is looked for first, so none is
    created twice."""
    return _resumed(handle, _api_of(handle))


def _resumed(handle: BatchHandle, api: BatchAPI) -> BatchHandle:
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


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.batch", resume, submit)
