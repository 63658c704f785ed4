"""Following a batch job: where it stands, waiting for it (and submitting again the lines
that expired or failed with a retryable error), cancelling it."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from promptlib._errors import (
    ConfigurationError,
    ProviderError,
    RequestRejectedError,
    WaitTimeoutError,
)
from promptlib._secrets import redact_in_use
from promptlib.batch._backends import BatchAPI, Line
from promptlib.batch._handle import BatchHandle, BatchRequest, ProviderBatch
from promptlib.batch._job import _api_of, _created, _plan, _resume

__all__ = ["BatchStatus", "cancel", "status", "wait"]

_log = logging.getLogger("promptlib.batch")


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
                    _log.warning(
                        "batch %s: %s; marked cancelled", chunk.tag, redact_in_use(str(exc))
                    )
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


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.batch", BatchStatus, cancel, status, wait)
