"""Starting and following a fine-tune with the official ``openai`` SDK, and registering
the resulting model in your catalog.

A job is created once and tagged in its metadata; if the answer to creating it is lost,
the job is looked for before another is started (a second job would be paid twice).
Uploaded files are kept and named in every error, so nothing has to be uploaded again.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from promptlib._errors import ConfigurationError, PromptlibError, WaitTimeoutError
from promptlib._providers.base import SDKProvider
from promptlib._providers.retry import call_with_retries, is_transport_error, translate
from promptlib._tokens.catalog import Catalog

__all__ = ["FineTuneJob", "failed_job_message", "follow", "register_model", "start", "status"]

_ENDED = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class FineTuneJob:
    """A fine-tuning job as the provider last described it.

    Attributes:
        id: the provider's job id (``ftjob-...``).
        base_model: the model being fine-tuned.
        status: ``validating_files``, ``queued``, ``running``, ``succeeded``, ``failed``
            or ``cancelled``.
        training_file, validation_file: the uploaded files' ids (kept: start again with
            them rather than upload again).
        fine_tuned_model: the new model's name, once it succeeded.
        trained_tokens: the tokens billed, once known.
        error: the provider's reason, when it failed.
        events: progress messages seen while following it, oldest first.
    """

    id: str
    base_model: str
    status: str
    training_file: str
    validation_file: str | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: str | None = None
    events: tuple[str, ...] = field(default=())

    @property
    def ended(self) -> bool:
        return self.status in _ENDED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "base_model": self.base_model,
            "status": self.status,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "fine_tuned_model": self.fine_tuned_model,
            "trained_tokens": self.trained_tokens,
            "error": self.error,
            "events": list(self.events),
        }


def _adapter(provider: Any) -> SDKProvider:
    from promptlib._providers.openai import OpenAIProvider

    if not isinstance(provider, OpenAIProvider):
        raise ConfigurationError(
            f"fine-tuning jobs are started through OpenAI's API: give an OpenAIProvider, not "
            f"{type(provider).__name__} (Claude fine-tunes run on Amazon Bedrock: export "
            "and check the file with promptlib, then start the job there)"
        )
    return provider


def _call(adapter: SDKProvider, fn: Callable[[Any], Any]) -> Any:
    client = adapter._checked_client(adapter._sync())
    try:
        result, _ = call_with_retries(
            lambda: fn(client), policy=adapter.retry, sdk=adapter._sdk(), provider=adapter.name
        )
    except Exception as exc:
        adapter._redacted(exc)
        raise
    return result


def _job(made: Any, events: tuple[str, ...] = ()) -> FineTuneJob:
    error = getattr(made, "error", None)
    reason = None
    if error is not None and (getattr(error, "message", None) or getattr(error, "code", None)):
        reason = f"{error.code}: {error.message}" if error.code else str(error.message)
    return FineTuneJob(
        id=str(made.id),
        base_model=str(made.model),
        status=str(made.status),
        training_file=str(made.training_file),
        validation_file=made.validation_file,
        fine_tuned_model=made.fine_tuned_model,
        trained_tokens=made.trained_tokens,
        error=reason,
        events=events,
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None


def _upload(adapter: SDKProvider, path: Path, data: bytes) -> str:
    name = path.name if path.suffix == ".jsonl" else f"{path.stem}.jsonl"
    made = _call(adapter, lambda c: c.files.create(file=(name, data), purpose="fine-tune"))
    return str(made.id)


def start(
    provider: Any,
    training_file: str | Path,
    model: str,
    *,
    validation_file: str | Path | None = None,
    suffix: str | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    training_file_id: str | None = None,
    validation_file_id: str | None = None,
) -> FineTuneJob:
    """Upload the files and start a fine-tune of ``model``.

    Args:
        provider: an :class:`~promptlib.OpenAIProvider`.
        training_file, validation_file: JSONL files (check them first:
            :func:`~promptlib.finetune.check_file`).
        suffix: up to 64 characters in the new model's name.
        epochs: training epochs (default: the provider's choice for the file's size).
        training_file_id, validation_file_id: files uploaded before (after a failure): used
            instead of uploading again.

    Raises:
        ConfigurationError: not an OpenAI provider, an unreadable file, bad settings.
        ProviderError: the provider refused the job; the message names the uploaded files.
    """
    adapter = _adapter(provider)
    if suffix is not None and not 1 <= len(suffix) <= 64:
        raise ConfigurationError("suffix= takes 1 to 64 characters")
    if epochs is not None and not 1 <= epochs <= 50:
        raise ConfigurationError(f"epochs={epochs}: use 1 to 50")
    # Both files are read before either is uploaded: a typo must not orphan an upload.
    data = {}
    for role, given, known in (
        ("training", training_file, training_file_id),
        ("validation", validation_file, validation_file_id),
    ):
        if given is not None and known is None:
            data[role] = _read(Path(given))
    training = training_file_id or _upload(adapter, Path(training_file), data["training"])
    validation = validation_file_id
    if validation is None and "validation" in data:
        try:
            validation = _upload(adapter, Path(str(validation_file)), data["validation"])
        except PromptlibError as exc:
            exc.args = (f"{exc} — kept: training file {training} (uploaded)",)
            raise
    kept = f"training file {training}" + (f", validation file {validation}" if validation else "")
    kept += " (uploaded)"
    tag = "plft_" + uuid.uuid4().hex[:16]
    options: dict[str, Any] = {
        "model": model.split(":", 1)[1] if model.startswith("openai:") else model,
        "training_file": training,
        "metadata": {"promptlib_job": tag},
    }
    for key, value in (("validation_file", validation), ("suffix", suffix), ("seed", seed)):
        if value is not None:
            options[key] = value
    if epochs is not None:
        options["method"] = {
            "type": "supervised",
            "supervised": {"hyperparameters": {"n_epochs": epochs}},
        }
    client = adapter._checked_client(adapter._sync())
    sdk = adapter._sdk()
    started = time.time()
    try:
        return _job(client.fine_tuning.jobs.create(**options))
    except Exception as exc:
        status = getattr(exc, "status_code", None)
        lost = isinstance(exc, sdk.APIConnectionError) or is_transport_error(exc)
        if not isinstance(exc, sdk.APIError) and not lost:
            raise
        unsure = False
        if lost or (isinstance(status, int) and (status >= 500 or status == 409)):
            try:
                found = _find(adapter, tag, started)
            except PromptlibError:
                found, unsure = None, True
            if found is not None:
                return found
        error: PromptlibError = translate(exc, sdk, adapter.name, 1, adapter.retry)
        error.__cause__ = exc
        adapter._redacted(error)
        # The files stay uploaded: the error says how to start again without uploading.
        again = f"--training-file-id {training}" + (
            f" --validation-file-id {validation}" if validation else ""
        )
        maybe = (
            f"; the job may have been made (metadata promptlib_job={tag}): look for it "
            "(promptlib finetune follow, or the provider's dashboard) before starting again"
            if unsure
            else ""
        )
        error.args = (f"{error} — kept: {kept}; start again with {again}{maybe}",)
        raise error from exc


def _find(adapter: SDKProvider, tag: str, since: float) -> FineTuneJob | None:
    def look(client: Any) -> Any:
        for job in client.fine_tuning.jobs.list(limit=50):
            if job.created_at < since - 600:
                return None
            if (job.metadata or {}).get("promptlib_job") == tag:
                return job
        return None

    found = _call(adapter, look)
    return None if found is None else _job(found)


def status(provider: Any, job_id: str) -> FineTuneJob:
    """The job as the provider describes it now."""
    adapter = _adapter(provider)
    return _job(_call(adapter, lambda c: c.fine_tuning.jobs.retrieve(job_id)))


def follow(
    provider: Any,
    job_id: str,
    *,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    progress: TextIO | bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FineTuneJob:
    """Follow a job until it ends, writing its events as they come.

    Returns the ended job: check ``status`` (``succeeded``: ``fine_tuned_model`` is the
    new model; ``failed``: ``error`` says why).

    Raises:
        WaitTimeoutError: ``timeout`` passed first (the job goes on; follow it again).
    """
    adapter = _adapter(provider)
    stream = sys.stderr if progress is True else progress or None
    seen: set[str] = set()
    events: list[str] = []
    began = time.monotonic()
    slept = 0.0  # what was asked of sleep (a test's sleep may not take any time)
    while True:
        job = _call(adapter, lambda c: c.fine_tuning.jobs.retrieve(job_id))
        for event in _new_events(adapter, job_id, seen):
            seen.add(event.id)
            events.append(str(event.message))
            if stream is not None:
                stream.write(f"{job_id}: {event.message}\n")
                stream.flush()
        current = _job(job, tuple(events))
        if current.ended:
            return current
        waited = max(time.monotonic() - began, slept)
        if timeout is not None and waited >= timeout:
            raise WaitTimeoutError(
                f"fine-tune {job_id} still {current.status} after {timeout:g} s; it goes on at "
                f"the provider: follow it again later (promptlib finetune follow {job_id})"
            )
        pause = poll_interval if timeout is None else min(poll_interval, timeout - waited)
        sleep(pause)
        slept += pause


def _new_events(adapter: SDKProvider, job_id: str, seen: set[str]) -> list[Any]:
    """The events not seen yet, oldest first (the API lists newest first, 100 a page)."""
    fresh: list[Any] = []
    after: str | None = None
    while True:
        options: dict[str, Any] = {"limit": 100}
        if after is not None:
            options["after"] = after
        page = _call(adapter, _events_page(job_id, options))
        data = list(page.data)
        new = [event for event in data if event.id not in seen]
        fresh.extend(new)
        if len(new) < len(data) or not data or not getattr(page, "has_more", False):
            return list(reversed(fresh))
        after = data[-1].id


def _events_page(job_id: str, options: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda c: c.fine_tuning.jobs.list_events(job_id, **options)


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a TOML basic string: the same escapes


def register_model(
    job: FineTuneJob, catalog_file: str | Path, *, catalog: Catalog | None = None
) -> str:
    """Add the fine-tuned model to your catalog file, priced from the catalog's ``ft:``
    entry for its base model when there is one (otherwise its prices stay unknown: they
    are never made up). Returns the model name.

    Raises:
        ConfigurationError: the job has not succeeded, or the model is already there.
    """
    if job.status != "succeeded" or not job.fine_tuned_model:
        raise ConfigurationError(
            f"fine-tune {job.id} is {job.status}: only a succeeded job has a model to register"
        )
    name = job.fine_tuned_model
    path = Path(catalog_file)
    if path.is_dir():
        raise ConfigurationError(f"--register {path} is a folder: name the catalog file")
    known = catalog or Catalog.default()
    existing = Catalog.from_file(path) if path.is_file() else None
    if existing is not None and name in existing.names():
        if job.id in existing.get(name).source:
            return name  # this job's model, registered before: nothing to do
        raise ConfigurationError(f"{name} is already in {path}")
    lines = [f"\n[models.{_toml_string(name)}]", 'provider = "openai"']
    try:
        base = known.get(name)  # ft:<base>:... resolves to the ft: entry, or the base's tokenizer
    except ConfigurationError:
        base = None
    priced_from = "none known: its prices are unknown until you add them"
    if base is not None:
        for key in ("encoding", "context_window", "max_output_tokens", "count"):
            value = getattr(base, key)
            if value is not None:
                lines.append(f"{key} = {_toml_string(value) if isinstance(value, str) else value}")
        prices = ("input", "output", "cached_input", "batch_input", "batch_output")
        given = [(key, getattr(base, key)) for key in prices if getattr(base, key) is not None]
        lines += [f"{key} = {value}" for key, value in given]
        if given:
            entry = name if name in known.names() else _ft_entry(name)
            priced_from = f"the catalog's {entry} entry ({base.source}, {base.as_of})"
    origin = f"fine-tuned from {job.base_model} by job {job.id}; prices: {priced_from}"
    lines.append(f"source = {_toml_string(origin)}")
    lines.append(f"as_of = {_toml_string(time.strftime('%Y-%m-%d'))}")
    before = path.read_text(encoding="utf-8") if path.is_file() else ""
    after = before.rstrip("\n") + ("\n" if before else "") + "\n".join(lines) + "\n"
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(after)
        try:
            Catalog.from_file(temporary)  # the new file must read back before it replaces
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"{path} cannot take the new model as a [models.NAME] table ({exc}); add it "
                f"by hand:\n" + "\n".join(lines)
            ) from None
        os.replace(temporary, path)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if "temporary" in locals():
            Path(temporary).unlink(missing_ok=True)
    return name


def _ft_entry(name: str) -> str:
    """The catalog entry a fine-tuned model's prices come from: ``ft:<base>``."""
    import re

    base = name.split(":")[1] if name.startswith("ft:") else name
    return "ft:" + re.sub(r"-\d{4}-\d{2}-\d{2}$", "", base)


def failed_job_message(job: FineTuneJob) -> str:
    """What to tell the user about a job that did not succeed."""
    files = f"training file {job.training_file}" + (
        f", validation file {job.validation_file}" if job.validation_file else ""
    )
    bad_file = "file" in (job.error or "").lower()
    again = (
        "fix the file and start again (it is uploaded anew)"
        if bad_file
        else f"fix the cause, then start again with --training-file-id {job.training_file}"
    )
    return (
        f"fine-tune {job.id} {job.status}: {job.error or 'no reason given'}. Kept: {files} "
        f"(uploaded); {again}"
    )


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.finetune", FineTuneJob, follow, register_model, start, status)
