"""The batch handle: everything needed to follow, resume and collect a job.

Saved as two files: the requests (``<handle>.requests.jsonl``: each prompt and its request
body, written once, before anything is sent) and the handle itself (the job's small,
changing state: which provider batch holds each request, its attempts, each batch's id and
state). The state is saved atomically before and after every call that changes the job at
the provider, so a process killed between any two steps resumes from the files without
sending anything twice; steps take a lock on the handle and reload it first, so two
processes following one job take turns instead of paying twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from promptlib._errors import ConfigurationError

__all__ = ["BatchHandle", "BatchRequest", "ProviderBatch", "load"]

FORMAT = "promptlib.batch/2"
CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_STATES = ("pending", "creating", "created", "ended")
# Handles hold small state; their requests file may be large, not unbounded.
_MAX_STATE_BYTES = 200_000_000
_MAX_REQUESTS_BYTES = 20_000_000_000

ChunkState = Literal["pending", "creating", "created", "ended"]


@dataclass
class BatchRequest:
    """One prompt of the job.

    Attributes:
        custom_id: its id, and the key of its result.
        prompt: the rendered prompt (``Prompt.to_dict()``), to parse the reply with.
        body: the request body, as the live adapter would send it.
        attempts: how many times it was submitted.
        chunk: the provider batch that holds its latest attempt (an index of ``batches``).
        wire_id: the id its latest attempt carries, where it is not ``custom_id``
            (Anthropic batches carry no tag: ids unique to the job and attempt tell this
            job's batches from another's).
    """

    custom_id: str
    prompt: dict[str, Any]
    body: dict[str, Any]
    attempts: int = 1
    chunk: int = 0
    wire_id: str | None = None

    @property
    def sent_id(self) -> str:
        """The id its latest attempt carries on the wire."""
        return self.wire_id or self.custom_id


@dataclass
class ProviderBatch:
    """One batch at the provider (a job is split into several at the provider's limits).

    ``state`` is promptlib's view: ``pending`` (not sent), ``creating`` (the create call
    was sent and its answer not yet recorded: on resume, the batch is looked for before
    it is created again), ``created`` (running at the provider), ``ended``. ``found``: it
    was adopted after a lost create answer (its results are checked to be this job's).
    ``mark``: the provider's newest batch before the first create call, where batches
    carry no tag (only batches newer than it can be this one).
    """

    index: int
    tag: str
    state: ChunkState = "pending"
    started: float | None = None
    file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None
    created_at: float | None = None
    ended_at: float | None = None
    reviewed: bool = False
    cancelled: bool = False
    found: bool = False
    mark: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


_BATCH_FIELDS = {f.name for f in fields(ProviderBatch)}


@dataclass
class BatchHandle:
    """A batch job: its requests, the provider batches that carry them, and where it is
    saved. Keep it (:meth:`save`, :func:`load`) and come back later.

    Attributes:
        job: the job's id (it tags every provider batch of the job).
        provider: the provider's name (``"openai"``, ``"anthropic"``, ``"mock"``).
        family: whose batch API it uses (``"openai"`` or ``"anthropic"``).
        model: the model every request goes to.
        max_resubmits: how many times a line that errored with a retryable error or
            expired is submitted again.
        cancelled: the job was cancelled: nothing more is submitted.
        requests: the job's prompts, in the order given.
        batches: the provider batches, in the order created.
        path: where the handle is saved after each step (``None``: kept in memory).
    """

    job: str
    provider: str
    family: str
    model: str
    created: str
    max_resubmits: int
    requests: list[BatchRequest]
    batches: list[ProviderBatch]
    cancelled: bool = False
    generation: int = 0
    path: Path | None = field(default=None, compare=False)
    provider_object: Any = field(default=None, compare=False, repr=False)

    def __repr__(self) -> str:
        return (
            f"BatchHandle(job={self.job!r}, provider={self.provider!r}, model={self.model!r}, "
            f"requests={len(self.requests)}, batches={len(self.batches)})"
        )

    # --- what is saved ---------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "job": self.job,
            "provider": self.provider,
            "family": self.family,
            "model": self.model,
            "created": self.created,
            "max_resubmits": self.max_resubmits,
            "cancelled": self.cancelled,
            "generation": self.generation,
            "count": len(self.requests),
            "chunks": [r.chunk for r in self.requests],
            "attempts": [r.attempts for r in self.requests],
            "wire_ids": [r.wire_id for r in self.requests]
            if any(r.wire_id for r in self.requests)
            else None,
            "batches": [asdict(b) for b in self.batches],
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole handle, requests included, as JSON-ready data."""
        state = self._state()
        state["requests"] = [_request_line(r) for r in self.requests]
        return state

    def to_json(self) -> str:
        """The whole handle as one JSON document (:meth:`from_json` reads it back)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, *, path: Path | None = None) -> BatchHandle:
        """Read a handle written by :meth:`to_json` (or a saved handle, given its ``path``
        to find its requests file).

        Raises:
            ConfigurationError: the text is not a readable promptlib batch handle.
        """
        where = f"batch handle {path}" if path else "batch handle"
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ConfigurationError(f"{where} is not JSON ({exc}); {_WRITTEN_BY}") from None
        state = _checked_state(data, where)
        if "requests" in data:
            lines = data["requests"]
            if not isinstance(lines, list):
                raise ConfigurationError(f"{where}: requests must be a list; {_WRITTEN_BY}")
        elif path is not None:
            lines = _read_requests(requests_path(path), state["count"], where)
        else:
            raise ConfigurationError(f"{where} has no requests; {_WRITTEN_BY}")
        return cls._made(state, lines, path, where)

    @classmethod
    def _made(
        cls, state: dict[str, Any], lines: list[Any], path: Path | None, where: str
    ) -> BatchHandle:
        """A handle from its checked state and its request lines."""
        requests = [_request(line, i, where) for i, line in enumerate(lines)]
        ids = [r.custom_id for r in requests]
        if len(set(ids)) != len(ids):
            raise _fail(where, "two requests have the same custom_id")
        handle = cls(
            job=state["job"],
            provider=state["provider"],
            family=state["family"],
            model=state["model"],
            created=state["created"],
            max_resubmits=state["max_resubmits"],
            requests=requests,
            batches=state["batches"],
            path=path,
        )
        handle._apply(state, where)
        return handle

    def _apply(self, state: dict[str, Any], where: str) -> None:
        """Take the changing part of a saved state (after :func:`_checked_state`)."""
        if state["count"] != len(self.requests):
            raise ConfigurationError(
                f"{where} holds {state['count']} requests' state for {len(self.requests)} "
                f"requests; {_WRITTEN_BY}"
            )
        wire = state["wire_ids"] or [None] * len(self.requests)
        for request, chunk, attempts, wire_id in zip(
            self.requests, state["chunks"], state["attempts"], wire, strict=True
        ):
            request.chunk, request.attempts, request.wire_id = chunk, attempts, wire_id
        self.batches = state["batches"]
        self.cancelled = state["cancelled"]
        self.max_resubmits = state["max_resubmits"]
        self.generation = state["generation"]

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the handle to ``path`` (or where it was last saved), atomically: a crash
        mid-write leaves the previous version. A new path must not exist yet: an existing
        handle is never overwritten (load it instead)."""
        if path is not None and (self.path is None or Path(path) != self.path):
            target = Path(path)
            if target.is_dir():
                raise ConfigurationError(f"batch handle path {target} is a folder: name a file")
            _write(requests_path(target), _requests_text(self.requests), exclusive=True)
            self.generation += 1
            _write(target, self._state_text(), exclusive=True)
            self.path = target
            return
        if self.path is None:
            return
        self.generation += 1
        _write(self.path, self._state_text(), exclusive=False)

    def _state_text(self) -> str:
        return json.dumps(self._state(), ensure_ascii=False, separators=(",", ":"))

    def reload(self) -> None:
        """Take the state saved on disk if another process changed it since."""
        if self.path is None:
            return
        where = f"batch handle {self.path}"
        data = _read_state(self.path, where)
        if data["generation"] != self.generation:
            self._apply(data, where)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the handle's lock (other processes following the job wait for it) with
        the state reloaded from disk."""
        if self.path is None:
            yield
            return
        import fcntl

        lock = self.path.with_name(self.path.name + ".lock")
        try:
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot lock batch handle {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            self.reload()
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)

    def chunk_requests(self, index: int) -> list[BatchRequest]:
        """The requests whose latest attempt is in provider batch ``index``."""
        return [r for r in self.requests if r.chunk == index]


_WRITTEN_BY = "a handle is written by promptlib.batch (submit, or BatchHandle.save)"


def requests_path(handle: Path) -> Path:
    """The requests file beside a saved handle."""
    return handle.with_name(handle.name + ".requests.jsonl")


def _request_line(request: BatchRequest) -> dict[str, Any]:
    return {"custom_id": request.custom_id, "prompt": request.prompt, "body": request.body}


def _requests_text(requests: list[BatchRequest]) -> str:
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return "".join(encode(_request_line(r)) + "\n" for r in requests)


def _write(target: Path, text: str, *, exclusive: bool) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            try:
                os.link(temporary, target)  # fails if it exists: never overwrite a handle
            except FileExistsError:
                raise ConfigurationError(
                    f"{target} exists: load that job (promptlib.batch.load), or save this "
                    "one elsewhere"
                ) from None
            os.unlink(temporary)
        else:
            os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ConfigurationError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_state(path: Path, where: str) -> dict[str, Any]:
    from promptlib._files import FileProblem, read_bounded_text

    try:
        text = read_bounded_text(path, _MAX_STATE_BYTES)
    except FileProblem as problem:
        raise ConfigurationError(f"{where} cannot be read: {problem.message}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ConfigurationError(f"{where} is not JSON ({exc}); {_WRITTEN_BY}") from None
    return _checked_state(data, where)


def _read_requests(path: Path, count: int, where: str) -> list[Any]:
    from promptlib._files import FileProblem, read_bounded_text

    try:
        text = read_bounded_text(path, _MAX_REQUESTS_BYTES)
    except FileProblem as problem:
        raise ConfigurationError(
            f"{where}: its requests file {path} cannot be read: {problem.message}"
        ) from None
    lines = text.splitlines()
    if len(lines) != count:
        raise ConfigurationError(
            f"{where}: its requests file {path} has {len(lines)} requests, the handle "
            f"{count}; {_WRITTEN_BY}"
        )
    try:
        return [json.loads(line) for line in lines]
    except (ValueError, RecursionError) as exc:
        raise ConfigurationError(f"{where}: {path} is not JSON lines ({exc})") from None


def _fail(where: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"{where} cannot be used: {problem}; {_WRITTEN_BY}")


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(where, f"{key} must be text")
    return value


def _count(value: Any, key: str, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(where, f"{key} must be a whole number of at least {low}")
    return value


def _checked_state(data: Any, where: str) -> dict[str, Any]:
    """The state of a handle, every field checked (an edited file is refused, not
    followed into a crash or an endless wait)."""
    if not isinstance(data, dict):
        raise _fail(where, "it is not a JSON object")
    if data.get("format") != FORMAT:
        raise _fail(where, f"its format is {data.get('format')!r}, not {FORMAT!r}")
    state: dict[str, Any] = {
        key: _text(data, key, where) for key in ("job", "provider", "family", "model", "created")
    }
    if state["family"] not in ("openai", "anthropic"):
        raise _fail(where, f"family {state['family']!r} is not openai or anthropic")
    state["max_resubmits"] = _count(data.get("max_resubmits"), "max_resubmits", where)
    state["generation"] = _count(data.get("generation", 0), "generation", where)
    state["cancelled"] = data.get("cancelled", False) is True
    count = state["count"] = _count(data.get("count"), "count", where)
    raw = data.get("batches")
    if not isinstance(raw, list):
        raise _fail(where, "batches must be a list")
    batches = [_batch(entry, index, where) for index, entry in enumerate(raw)]
    state["batches"] = batches
    for key in ("chunks", "attempts"):
        values = data.get(key)
        if not isinstance(values, list) or len(values) != count:
            raise _fail(where, f"{key} must list one number per request")
        state[key] = [_count(v, key, where, 0 if key == "chunks" else 1) for v in values]
    if any(chunk >= len(batches) for chunk in state["chunks"]):
        raise _fail(where, "a request is in a batch the handle does not have")
    wire = data.get("wire_ids")
    if wire is not None and (
        not isinstance(wire, list)
        or len(wire) != count
        or not all(w is None or (isinstance(w, str) and CUSTOM_ID.fullmatch(w)) for w in wire)
    ):
        raise _fail(where, "wire_ids must list one id (or null) per request")
    if wire is not None and state["family"] != "anthropic":
        raise _fail(where, "only Anthropic jobs carry wire_ids")
    state["wire_ids"] = wire
    return state


def _batch(entry: Any, index: int, where: str) -> ProviderBatch:
    if not isinstance(entry, dict) or set(entry) - _BATCH_FIELDS:
        raise _fail(where, f"batch {index} is not a batch record")
    try:
        batch = ProviderBatch(**entry)
    except TypeError as exc:
        raise _fail(where, f"batch {index}: {exc}") from None
    if (
        isinstance(batch.index, bool)
        or batch.index != index
        or batch.state not in _STATES
        or not isinstance(batch.tag, str)
        or not batch.tag
    ):
        raise _fail(where, f"batch {index} has a bad index, tag or state")
    if batch.state in ("created", "ended") and batch.batch_id is None and not batch.cancelled:
        raise _fail(where, f"batch {index} is {batch.state} without a batch id")
    if batch.state in ("pending", "creating") and batch.batch_id is not None:
        raise _fail(where, f"batch {index} is {batch.state} but has a batch id")
    for name in ("reviewed", "cancelled", "found"):
        if not isinstance(getattr(batch, name), bool):
            raise _fail(where, f"batch {index}: {name} must be true or false")
    if not isinstance(batch.counts, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in batch.counts.items()
    ):
        raise _fail(where, f"batch {index} has bad counts")
    for name in ("file_id", "batch_id", "status", "error", "mark"):
        if getattr(batch, name) is not None and not isinstance(getattr(batch, name), str):
            raise _fail(where, f"batch {index}: {name} must be text")
    for name in ("started", "created_at", "ended_at"):
        value = getattr(batch, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise _fail(where, f"batch {index}: {name} must be a time")
    return batch


def _request(line: Any, index: int, where: str) -> BatchRequest:
    if not isinstance(line, dict):
        raise _fail(where, f"request {index} is not an object")
    custom_id, prompt, body = line.get("custom_id"), line.get("prompt"), line.get("body")
    if not isinstance(custom_id, str) or not CUSTOM_ID.fullmatch(custom_id):
        raise _fail(where, f"request {index} has no valid custom_id")
    if not isinstance(prompt, dict) or not isinstance(body, dict):
        raise _fail(where, f"request {custom_id!r} needs a prompt and a body")
    return BatchRequest(custom_id, prompt, body)


def load(path: str | os.PathLike[str], *, provider: Any = None) -> BatchHandle:
    """Read a saved handle. ``provider``: the provider to follow it with (by default one
    is made from the handle's provider name, with its API key from the environment; a
    ``MockProvider``'s batches live only in that mock, so give it).

    Raises:
        ConfigurationError: no such file, not a batch handle, or a provider of another
            family than the one the job was submitted to.
    """
    where = Path(path)
    state = _read_state(where, f"batch handle {where}")
    lines = _read_requests(requests_path(where), state["count"], f"batch handle {where}")
    handle = BatchHandle._made(state, lines, where, f"batch handle {where}")
    handle.provider_object = provider
    return handle


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.batch", BatchHandle, BatchRequest, ProviderBatch, load)
