"""The batch handle: everything needed to follow, resume and collect a job, as JSON.

A handle is saved (atomically) before and after every call that changes the job at the
provider, so a process killed between any two steps resumes from the file without
sending anything twice.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from promptlib.errors import ConfigurationError

__all__ = ["BatchHandle", "BatchRequest", "ProviderBatch", "load"]

FORMAT = "promptlib.batch/1"
CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

ChunkState = Literal["pending", "creating", "created", "ended"]


@dataclass
class BatchRequest:
    """One prompt of the job.

    Attributes:
        custom_id: its id in the provider's batch, and the key of its result.
        prompt: the rendered prompt (``Prompt.to_dict()``), to parse the reply with.
        body: the request body, as the live adapter would send it.
        attempts: how many times it was submitted.
        chunk: the provider batch that holds its latest attempt (an index of ``batches``).
        wire_id: the id sent in its latest attempt, where it is not ``custom_id``
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


@dataclass
class BatchHandle:
    """A batch job: its requests, the provider batches that carry them, and where it is
    saved. Serialisable (:meth:`to_json`, :meth:`save`, :func:`load`); keep it and come
    back later.

    Attributes:
        job: the job's id (it tags every provider batch of the job).
        provider: the provider's name (``"openai"``, ``"anthropic"``, ``"mock"``).
        model: the model every request goes to.
        max_resubmits: how many times a line that errored with a retryable error or
            expired is submitted again.
        requests: the job's prompts, in the order given.
        batches: the provider batches, in the order created.
        path: where the handle is saved after each step (``None``: kept in memory).
    """

    job: str
    provider: str
    model: str
    created: str
    max_resubmits: int
    requests: list[BatchRequest]
    batches: list[ProviderBatch]
    path: Path | None = field(default=None, compare=False)
    provider_object: Any = field(default=None, compare=False, repr=False)

    def __repr__(self) -> str:
        return (
            f"BatchHandle(job={self.job!r}, provider={self.provider!r}, model={self.model!r}, "
            f"requests={len(self.requests)}, batches={len(self.batches)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "job": self.job,
            "provider": self.provider,
            "model": self.model,
            "created": self.created,
            "max_resubmits": self.max_resubmits,
            "batches": [asdict(b) for b in self.batches],
            "requests": [asdict(r) for r in self.requests],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, *, path: Path | None = None) -> BatchHandle:
        """Read a handle written by :meth:`to_json`.

        Raises:
            ConfigurationError: the text is not a promptlib batch handle.
        """
        where = f"batch handle {path}" if path else "batch handle"
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
            return cls(
                job=str(data["job"]),
                provider=str(data["provider"]),
                model=str(data["model"]),
                created=str(data["created"]),
                max_resubmits=int(data["max_resubmits"]),
                requests=[BatchRequest(**r) for r in data["requests"]],
                batches=[ProviderBatch(**b) for b in data["batches"]],
                path=path,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(
                f"{where} cannot be read ({type(exc).__name__}: {exc}); it must be a file "
                "written by promptlib.batch (submit or BatchHandle.save)"
            ) from None

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the handle to ``path`` (or where it was last saved), atomically: a crash
        mid-write leaves the previous version."""
        if path is not None:
            self.path = Path(path)
        if self.path is None:
            return
        target = self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(self.to_json())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def chunk_requests(self, index: int) -> list[BatchRequest]:
        """The requests whose latest attempt is in provider batch ``index``."""
        return [r for r in self.requests if r.chunk == index]


def load(path: str | os.PathLike[str], *, provider: Any = None) -> BatchHandle:
    """Read a saved handle. ``provider``: the provider to follow it with (by default one
    is made from the handle's provider name, with its API key from the environment).

    Raises:
        ConfigurationError: no such file, or not a batch handle.
    """
    where = Path(path)
    try:
        text = where.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"batch handle {where} cannot be read: {exc.strerror or exc}"
        ) from None
    handle = BatchHandle.from_json(text, path=where)
    handle.provider_object = provider
    return handle
