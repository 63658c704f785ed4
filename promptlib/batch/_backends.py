"""The provider batch APIs through the official SDKs: OpenAI's Batch API and Anthropic's
Message Batches.

A backend turns requests into its provider's batch format and creates, finds, follows,
cancels and reads batches; the job logic (``promptlib.batch._job``, ``follow``,
``results``) is the same for both. Calls that only read are made under the adapter's
retry policy; ``create`` is made once (it is not idempotent at either provider), and the
job looks for a batch whose answer was lost before creating it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from promptlib._errors import (
    ConfigurationError,
    PromptlibError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
)
from promptlib._providers.base import SDKProvider
from promptlib._providers.retry import (
    call_with_retries,
    is_transport_error,
    line_failure,
    translate,
)
from promptlib.batch._handle import BatchRequest, ProviderBatch

__all__ = ["ANTHROPIC_LIMITS", "OPENAI_LIMITS", "BatchAPI", "BatchLimits", "Line", "Remote"]

_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# Keyword arguments of an SDK call that are not part of the request body.
_CALL_OPTIONS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
_ENDPOINT = "/v1/chat/completions"
# How far back to look for a batch whose create answer was lost (clock skew included).
_LOOKBACK = 600.0


@dataclass(frozen=True)
class BatchLimits:
    """How much one provider batch may hold; a job is split into batches within them."""

    max_requests: int
    max_bytes: int

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.max_bytes < 1:
            raise ConfigurationError(
                f"BatchLimits(max_requests={self.max_requests}, max_bytes={self.max_bytes}): "
                "both must be at least 1"
            )


OPENAI_LIMITS = BatchLimits(max_requests=50_000, max_bytes=200 * 1024 * 1024)
ANTHROPIC_LIMITS = BatchLimits(max_requests=100_000, max_bytes=256 * 1024 * 1024)


@dataclass(frozen=True)
class Remote:
    """A provider batch as the provider last described it."""

    batch_id: str
    status: str
    ended: bool
    created_at: float | None = None
    ended_at: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Line:
    """One line of a batch's results: the SDK's response object, or why there is none."""

    custom_id: str
    response: Any = None
    kind: str = "succeeded"  # or errored, expired, canceled
    error: PromptlibError | None = None
    retryable: bool = False
    request_id: str | None = None


class CreateFailed(Exception):
    """A create call failed; ``uncertain`` when the batch may exist anyway."""

    def __init__(self, error: PromptlibError, uncertain: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.uncertain = uncertain


def wire_body(request: dict[str, Any]) -> dict[str, Any]:
    """The HTTP body the SDK sends for ``request`` (the adapter's keyword arguments)."""
    headers = request.get("extra_headers") or {}
    if "files-api" in str(headers.get("anthropic-beta", "")):
        raise ConfigurationError(
            "a batch line carries only a request body, and documents by file id need the "
            "Files API beta header: send those prompts live, or the documents inline "
            "(DocumentPart.from_bytes)"
        )
    for option in ("extra_headers", "extra_query"):
        if request.get(option):
            raise ConfigurationError(
                f"a batch line carries only a request body: the template's params set "
                f"{option}, which cannot be sent in a batch; remove it, or send live"
            )
    body = {key: value for key, value in request.items() if key not in _CALL_OPTIONS}
    body.update(request.get("extra_body") or {})
    if body.get("stream"):
        raise ConfigurationError("a batch request cannot stream: remove stream from params")
    return body


def _expired(custom_id: str, provider: str) -> Line:
    error = ProviderError("the batch's window closed before this request ran", provider=provider)
    return Line(custom_id, kind="expired", error=error, retryable=True)


def _canceled(custom_id: str, provider: str) -> Line:
    error = ProviderError("the batch was cancelled before this request ran", provider=provider)
    return Line(custom_id, kind="canceled", error=error)


def _retryable(error: PromptlibError) -> bool:
    if isinstance(error, QuotaExceededError):
        return False
    return isinstance(error, RateLimitError | ProviderUnavailableError | ProviderTimeoutError)


def _stamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class BatchAPI:
    """What the job logic needs from a provider's batch API."""

    family: ClassVar[str]
    default_limits: ClassVar[BatchLimits]
    # Bytes a batch adds around its lines (Anthropic's {"requests":[...]}).
    envelope: ClassVar[int] = 0
    # Whether each line needs an id unique to the job (a provider with no batch tags).
    job_ids: ClassVar[bool] = False

    def __init__(self, adapter: SDKProvider, limits: BatchLimits | None = None) -> None:
        self.adapter: SDKProvider = adapter
        self.limits: BatchLimits = limits or self.default_limits
        # Told the requests of each batch before it is created (the mock answers from them).
        self.on_create: Callable[[list[BatchRequest]], None] | None = None

    @property
    def name(self) -> str:
        return self.adapter.name

    def client(self) -> Any:
        """The SDK client (made, and its key checked, on first use)."""
        return self.adapter._checked_client(self.adapter._sync())

    def _call(self, fn: Callable[[Any], Any]) -> Any:
        """An idempotent call, under the adapter's retry policy."""
        client = self.client()
        try:
            result, _ = call_with_retries(
                lambda: fn(client),
                policy=self.adapter.retry,
                sdk=self.adapter._sdk(),
                provider=self.adapter.name,
            )
        except Exception as exc:
            self.adapter._redacted(exc)
            raise
        return result

    def _create_once(self, fn: Callable[[Any], Any]) -> Any:
        """A call that is not idempotent: made once; its failure says whether it may
        have taken effect anyway (no answer, or a 409/5xx)."""
        client = self.client()
        sdk = self.adapter._sdk()
        try:
            return fn(client)
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            lost = isinstance(exc, sdk.APIConnectionError) or is_transport_error(exc)
            uncertain = lost or (isinstance(status, int) and (status >= 500 or status == 409))
            if not isinstance(exc, sdk.APIError) and not lost:
                raise
            error = translate(exc, sdk, self.adapter.name, 1, self.adapter.retry)
            self.adapter._redacted(error)
            raise CreateFailed(error, uncertain) from exc

    # --- per provider ------------------------------------------------------------------------

    def line(self, request: BatchRequest) -> bytes:
        """The request as one line of the batch (its size counts against the limits)."""
        raise NotImplementedError

    def upload(self, chunk: ProviderBatch, requests: list[BatchRequest]) -> str | None:
        """Upload the batch's input where the provider needs a file; its id."""
        return None

    def watermark(self) -> str | None:
        """Where batches carry no tag: the id of the provider's newest batch ("" for
        none), taken before a create, so that only newer ones are looked at to find it."""
        return None

    def create(self, chunk: ProviderBatch, requests: list[BatchRequest], job: str) -> Remote:
        raise NotImplementedError

    def find(self, chunk: ProviderBatch, size: int, claimed: set[str], job: str) -> Remote | None:
        """The batch a lost create made, if the provider has it."""
        raise NotImplementedError

    def retrieve(self, batch_id: str) -> Remote:
        raise NotImplementedError

    def cancel(self, batch_id: str) -> Remote:
        raise NotImplementedError

    def results(self, batch_id: str) -> Iterator[Line]:
        raise NotImplementedError


class OpenAIBatches(BatchAPI):
    """OpenAI's Batch API: a JSONL file uploaded with ``purpose="batch"``, then a batch on
    ``/v1/chat/completions`` tagged in its metadata."""

    family: ClassVar[str] = "openai"
    default_limits: ClassVar[BatchLimits] = OPENAI_LIMITS

    def line(self, request: BatchRequest) -> bytes:
        entry = {
            "custom_id": request.custom_id,
            "method": "POST",
            "url": _ENDPOINT,
            "body": request.body,
        }
        return _to_json(entry).encode("utf-8") + b"\n"

    def upload(self, chunk: ProviderBatch, requests: list[BatchRequest]) -> str | None:
        data = b"".join(self.line(r) for r in requests)
        # Named: the SDK would call raw bytes "upload", and the API wants a .jsonl file.
        sent = (f"{chunk.tag}.jsonl", data, "application/jsonl")
        made = self._call(lambda client: client.files.create(file=sent, purpose="batch"))
        return str(made.id)

    def create(self, chunk: ProviderBatch, requests: list[BatchRequest], job: str) -> Remote:
        made = self._create_once(
            lambda client: client.batches.create(
                input_file_id=chunk.file_id,
                endpoint=_ENDPOINT,
                completion_window="24h",
                metadata={"promptlib_job": job, "promptlib_batch": chunk.tag},
            )
        )
        return self._remote(made)

    def find(self, chunk: ProviderBatch, size: int, claimed: set[str], job: str) -> Remote | None:
        since = (chunk.started or 0.0) - _LOOKBACK

        def look(client: Any) -> Any:
            for batch in client.batches.list(limit=100):
                if batch.created_at < since:
                    return None
                if (batch.metadata or {}).get("promptlib_batch") == chunk.tag:
                    return batch
            return None

        found = self._call(look)
        return None if found is None else self._remote(found)

    def retrieve(self, batch_id: str) -> Remote:
        return self._remote(self._call(lambda client: client.batches.retrieve(batch_id)))

    def cancel(self, batch_id: str) -> Remote:
        return self._remote(self._call(lambda client: client.batches.cancel(batch_id)))

    def results(self, batch_id: str) -> Iterator[Line]:
        batch = self._call(lambda client: client.batches.retrieve(batch_id))
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = self._call(_file_content(str(file_id)))
            for raw in bytes(content).splitlines():
                if raw.strip():
                    yield self._line(json.loads(raw))

    def _line(self, entry: dict[str, Any]) -> Line:
        custom_id = str(entry.get("custom_id"))
        response = entry.get("response") or {}
        status = response.get("status_code")
        request_id = response.get("request_id")
        if status == 200 and not entry.get("error"):
            completion = self.adapter._sdk().types.chat.ChatCompletion.construct(**response["body"])
            return Line(custom_id, completion, request_id=request_id)
        body = response.get("body")
        error = (body or {}).get("error") if isinstance(body, dict) else None
        error = error or entry.get("error") or {"message": "the line has no response"}
        code = error.get("code")
        if code == "batch_expired":
            return _expired(custom_id, self.name)
        if code == "batch_cancelled":
            return _canceled(custom_id, self.name)
        failure = self.adapter._redacted(line_failure(error, status, self.name, request_id))
        assert isinstance(failure, PromptlibError)
        return Line(custom_id, kind="errored", error=failure, retryable=_retryable(failure))

    @staticmethod
    def _remote(batch: Any) -> Remote:
        status = str(batch.status)
        counts = batch.request_counts
        errors = getattr(batch, "errors", None)
        messages = [
            f"line {e.line}: {e.message}" if getattr(e, "line", None) else str(e.message)
            for e in (getattr(errors, "data", None) or [])
        ]
        ended_at = next(
            (
                _stamp(getattr(batch, key, None))
                for key in ("completed_at", "failed_at", "expired_at", "cancelled_at")
                if getattr(batch, key, None)
            ),
            None,
        )
        return Remote(
            batch_id=str(batch.id),
            status=status,
            ended=status in ("completed", "failed", "expired", "cancelled"),
            created_at=_stamp(batch.created_at),
            ended_at=ended_at,
            counts={
                "total": counts.total,
                "succeeded": counts.completed,
                "errored": counts.failed,
            }
            if counts is not None
            else {},
            error="; ".join(messages) or None,
        )


def _file_content(file_id: str) -> Callable[[Any], Any]:
    return lambda client: client.files.content(file_id).content


class AnthropicBatches(BatchAPI):
    """Anthropic's Message Batches: requests sent inline as ``{custom_id, params}``.

    Its batches carry no metadata: a batch whose create answer was lost is recognised
    by its creation time and its number of requests.
    """

    family: ClassVar[str] = "anthropic"
    default_limits: ClassVar[BatchLimits] = ANTHROPIC_LIMITS
    # The body is {"requests":[line,line]}: the lines are measured with a comma each.
    envelope: ClassVar[int] = len('{"requests":[]}') - 1
    job_ids: ClassVar[bool] = True

    def line(self, request: BatchRequest) -> bytes:
        entry = {"custom_id": request.sent_id, "params": request.body}
        return _to_json(entry).encode("utf-8") + b","

    def create(self, chunk: ProviderBatch, requests: list[BatchRequest], job: str) -> Remote:
        sent = [{"custom_id": r.sent_id, "params": r.body} for r in requests]
        made = self._create_once(lambda client: client.messages.batches.create(requests=sent))
        return self._remote(made)

    def watermark(self) -> str | None:
        page = self._call(lambda client: client.messages.batches.list(limit=1))
        return str(page.data[0].id) if page.data else ""

    def find(self, chunk: ProviderBatch, size: int, claimed: set[str], job: str) -> Remote | None:
        # Newest first, down to the newest batch before this one's first create call (or,
        # without that mark, a minute before it); the job checks the ids in its results
        # before it trusts what it adopts.
        since = (chunk.started or 0.0) - 60.0

        def look(client: Any) -> list[Any]:
            found = []
            for batch in client.messages.batches.list(limit=100):
                if batch.id == chunk.mark or (
                    chunk.mark is None and batch.created_at.timestamp() < since
                ):
                    break
                counts = batch.request_counts
                total = (
                    counts.processing
                    + counts.succeeded
                    + counts.errored
                    + counts.canceled
                    + counts.expired
                )
                if total == size and batch.id not in claimed:
                    found.append(batch)
            return found

        candidates = self._ours(self._call(look), job)
        if len(candidates) > 1:
            raise ProviderError(
                f"the answer to creating batch {chunk.tag} was lost, and {len(candidates)} "
                f"running batches of {size} requests were created since "
                f"({', '.join(b.id for b in candidates)}): promptlib cannot tell which is "
                "this job's until they end. Wait and resume, or cancel the ones that are "
                "not yours",
                provider=self.name,
            )
        return self._remote(candidates[0]) if candidates else None

    def _ours(self, candidates: list[Any], job: str) -> list[Any]:
        """Tell candidates apart by their results' line ids, which carry the job, where
        they have ended (another job's ended batch is never taken for this one); those
        still running stay candidates, to be checked when they end."""
        mark = f"-{job[4:12]}"
        kept = []
        for batch in candidates:
            if batch.processing_status != "ended":
                kept.append(batch)
                continue
            ids = [line.custom_id for line in self.results(batch.id)]
            if any(i[-11:-2] == mark for i in ids):
                return [batch]  # ended, and its lines are this job's
        return kept

    def retrieve(self, batch_id: str) -> Remote:
        return self._remote(self._call(lambda client: client.messages.batches.retrieve(batch_id)))

    def cancel(self, batch_id: str) -> Remote:
        return self._remote(self._call(lambda client: client.messages.batches.cancel(batch_id)))

    def results(self, batch_id: str) -> Iterator[Line]:
        for entry in self._call(lambda client: list(client.messages.batches.results(batch_id))):
            yield self._line(entry)

    def _line(self, entry: Any) -> Line:
        custom_id = str(entry.custom_id)
        result = entry.result
        if result.type == "succeeded":
            return Line(custom_id, result.message)
        if result.type == "expired":
            return _expired(custom_id, self.name)
        if result.type == "canceled":
            return _canceled(custom_id, self.name)
        inner = getattr(result.error, "error", None) or result.error
        error = {"type": getattr(inner, "type", None), "message": getattr(inner, "message", "")}
        request_id = getattr(result.error, "request_id", None)
        failure = self.adapter._redacted(line_failure(error, None, self.name, request_id))
        assert isinstance(failure, PromptlibError)
        return Line(custom_id, kind="errored", error=failure, retryable=_retryable(failure))

    @staticmethod
    def _remote(batch: Any) -> Remote:
        counts = batch.request_counts
        return Remote(
            batch_id=str(batch.id),
            status=str(batch.processing_status),
            ended=batch.processing_status == "ended",
            created_at=_stamp(batch.created_at),
            ended_at=_stamp(batch.ended_at),
            counts={
                "processing": counts.processing,
                "succeeded": counts.succeeded,
                "errored": counts.errored,
                "canceled": counts.canceled,
                "expired": counts.expired,
            },
        )


def api_for(adapter: SDKProvider, limits: BatchLimits | None = None) -> BatchAPI:
    """The batch API of an adapter's provider."""
    from promptlib._providers.anthropic import AnthropicProvider
    from promptlib._providers.openai import OpenAIProvider

    if isinstance(adapter, AnthropicProvider):
        return AnthropicBatches(adapter, limits)
    if isinstance(adapter, OpenAIProvider):
        return OpenAIBatches(adapter, limits)
    raise ConfigurationError(f"{type(adapter).__name__} has no batch API")


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.batch", BatchLimits)
