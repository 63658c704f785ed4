"""A stand-in for OpenAI's fine-tuning API, served over real HTTP on 127.0.0.1.

:func:`serving` starts a ``ThreadingHTTPServer`` (ephemeral port, daemon thread) whose
every request is answered by a :class:`FineTuneAPI` (an in-memory emulator of the Files
and fine-tuning endpoints), and yields it; its ``url`` is the server's base URL (OpenAI
clients want ``f"{api.url}/v1"``).

What it serves, in the shapes of the installed SDK's types (``FileObject``,
``FineTuningJob``, ``FineTuningJobEvent``, cursor pages):

- ``POST /v1/files`` (multipart): purpose ``fine-tune`` files must be named ``*.jsonl``
  (400 otherwise, as the real API answers); the bytes are kept.
- ``POST /v1/fine_tuning/jobs``: the files must exist and have purpose ``fine-tune``, the
  model must be one that can be fine-tuned, the suffix at most 64 characters and
  ``n_epochs`` 1 to 50 (400 otherwise).
- ``GET /v1/fine_tuning/jobs/{id}``: each look advances the job one state:
  ``validating_files`` -> ``queued`` -> ``running`` (for ``running_looks`` looks) ->
  ``succeeded`` with ``fine_tuned_model`` (``ft:<model>:<org>:<suffix>:<id>``) and
  ``trained_tokens``; or, for a job created while ``failure`` is set,
  ``validating_files`` -> ``failed`` with ``error {code, message, param}``.
- ``GET /v1/fine_tuning/jobs?limit=&after=`` (newest first) and
  ``GET /v1/fine_tuning/jobs/{id}/events?limit=&after=`` (newest first).
- ``POST /v1/fine_tuning/jobs/{id}/cancel``.

Fault switches (counters count down one per create or list): ``lose_creates`` (the job is
created, the answer is a 500), ``refuse_creates`` (a 500, nothing created),
``fail_lists`` (listing jobs answers 500), ``failure`` (new jobs fail validation),
``hold`` (jobs stay ``running``). ``require_key`` answers 401 to any other bearer key;
``echo_key`` quotes the bearer key in error messages, as a careless proxy does.

Every request is recorded (``requests``: method, path, query, lower-cased headers, JSON
body, status). Use it from tests marked ``@pytest.mark.allow_provider_requests``: the
offline guard refuses SDK requests even to 127.0.0.1 otherwise.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests import local_http
from tests.local_http import KeepAliveHandler

__all__ = ["FINE_TUNABLE", "FineTuneAPI", "Seen", "serving"]

# The snapshots OpenAI's API fine-tunes (aliases such as gpt-4o-mini are refused).
FINE_TUNABLE = frozenset(
    {
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-2024-08-06",
        "gpt-4.1-2025-04-14",
        "gpt-4.1-mini-2025-04-14",
        "gpt-4.1-nano-2025-04-14",
        "gpt-3.5-turbo-0125",
    }
)
INVALID_TRAINING_FILE = {
    "code": "invalid_training_file",
    "message": (
        "The job failed due to an invalid training file. Invalid file format. Example 3, "
        "message 2: 'content' field is required."
    ),
    "param": "training_file",
}
_SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"


@dataclass
class Seen:
    """One HTTP request the stand-in answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int


def _error(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _multipart(content_type: str, content: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The parts of a multipart/form-data body: name -> (filename, bytes)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + content)
    parts: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            parts[name] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return parts


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


@dataclass
class FineTuneAPI:
    """The fine-tuning API behind the server (thread-safe through the server's lock).

    Attributes:
        url: the server's base URL (no ``/v1``).
        files: file id -> the stored file (``FileObject`` fields and ``data``: its bytes).
        jobs: job id -> the job (``FineTuningJob`` fields), in the order created.
        events: job id -> its events, oldest first.
        looks: job id -> how many times it was retrieved.
        running_looks: looks a job stays ``running`` (its step events spread over them).
        steps: training steps a job reports (``Step N/steps: training loss=...``).
        step_every: a step event every this many steps.
        organization: the org slug in fine-tuned model names.
        failure: an ``error`` object new jobs fail validation with (``None``: they succeed).
        hold: jobs stay ``running`` (never end) while set.
        lose_creates: creates still to be lost (the job is made, the answer is a 500).
        refuse_creates: creates still to be refused with a 500 (nothing made).
        fail_lists: job listings still to be answered with a 500.
        require_key: the only bearer key accepted (``None``: any, or none).
        echo_key: error messages quote the bearer key the request sent.
        requests: every request answered, in order.
    """

    url: str = ""
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    looks: dict[str, int] = field(default_factory=dict)
    running_looks: int = 1
    steps: int = 100
    step_every: int = 10
    organization: str = "org"
    failure: dict[str, Any] | None = None
    hold: bool = False
    lose_creates: int = 0
    refuse_creates: int = 0
    fail_lists: int = 0
    require_key: str | None = None
    echo_key: bool = False
    requests: list[Seen] = field(default_factory=list)
    _counter: int = 0
    _failing: dict[str, dict[str, Any]] = field(default_factory=dict)

    # --- what tests look at ----------------------------------------------------------------

    def seen(self, method: str, path: str) -> list[Seen]:
        """The requests answered with this method to this path (no query)."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def uploads(self) -> list[dict[str, Any]]:
        return list(self.files.values())

    # --- routing ---------------------------------------------------------------------------

    def route(
        self, method: str, path: str, query: str, headers: dict[str, str], content: bytes
    ) -> tuple[int, Any]:
        params = parse_qs(query, keep_blank_values=True)
        body: Any = None
        status, answer = self._route(method, path, params, headers, content)
        if headers.get("content-type", "").startswith("application/json") and content:
            with contextlib.suppress(ValueError):
                body = json.loads(content)
        elif headers.get("content-type", "").startswith("multipart/form-data"):
            parts = _multipart(headers["content-type"], content)
            body = {
                "purpose": parts.get("purpose", (None, b""))[1].decode(),
                "filename": parts.get("file", (None, b""))[0],
            }
        self.requests.append(Seen(method, path, params, headers, body, status))
        if status >= 400 and self.echo_key and isinstance(answer, dict):
            sent = headers.get("authorization", "")
            answer["error"]["message"] += f" (request sent with authorization: {sent})"
        return status, answer

    def _route(
        self,
        method: str,
        path: str,
        params: dict[str, list[str]],
        headers: dict[str, str],
        content: bytes,
    ) -> tuple[int, Any]:
        key = headers.get("authorization", "").removeprefix("Bearer ")
        if self.require_key is not None and key != self.require_key:
            return _error(
                401,
                f"Incorrect API key provided: {key[:3]}***{key[-4:]}. You can find your API "
                "key at https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        parts = path.strip("/").split("/")
        if parts[:1] != ["v1"]:
            return _error(404, f"Invalid URL ({method} {path})")
        parts = parts[1:]
        if method == "POST" and parts == ["files"]:
            return self._upload(headers.get("content-type", ""), content)
        if parts[:2] != ["fine_tuning", "jobs"]:
            return _error(404, f"Invalid URL ({method} {path})")
        rest = parts[2:]
        if method == "POST" and not rest:
            try:
                options = json.loads(content or b"{}")
            except ValueError:
                return _error(400, "We could not parse the JSON body of your request.")
            return self._create(options)
        if method == "GET" and not rest:
            return self._list(params)
        job = self.jobs.get(rest[0]) if rest else None
        if job is None:
            return _error(404, f"Could not find fine-tune: {rest[0]}", code="fine_tune_not_found")
        if method == "GET" and len(rest) == 1:
            return 200, self._look(job)
        if method == "GET" and rest[1:] == ["events"]:
            return self._events(job["id"], params)
        if method == "POST" and rest[1:] == ["cancel"]:
            return self._cancel(job)
        return _error(404, f"Invalid URL ({method} {path})")

    # --- files -----------------------------------------------------------------------------

    def _upload(self, content_type: str, content: bytes) -> tuple[int, Any]:
        if not content_type.startswith("multipart/form-data"):
            return _error(400, "Expected a multipart/form-data body")
        parts = _multipart(content_type, content)
        purpose = parts.get("purpose", (None, b""))[1].decode()
        name, data = parts.get("file", (None, b""))
        if name is None:
            return _error(400, "'file' is a required property", param="file")
        if purpose not in ("fine-tune", "batch", "assistants", "vision", "user_data", "evals"):
            return _error(400, f"'{purpose}' is not one of the supported purposes", param="purpose")
        if purpose == "fine-tune" and not name.endswith(".jsonl"):
            return _error(400, "Invalid file format for Fine-Tuning API. Must be .jsonl")
        self._counter += 1
        file_id = f"file-{hashlib.sha256(f'file{self._counter}'.encode()).hexdigest()[:22]}"
        stored = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        self.files[file_id] = {**stored, "data": data}
        return 200, stored

    # --- jobs ------------------------------------------------------------------------------

    def _file_problem(self, options: dict[str, Any], param: str) -> tuple[int, Any] | None:
        file_id = options.get(param)
        if param == "training_file" and not file_id:
            return _error(400, "Missing required parameter: 'training_file'.", param=param)
        if file_id is None:
            return None
        stored = self.files.get(file_id)
        if stored is None:
            return _error(400, f"invalid {param}: {file_id}", param=param, code="invalid_file")
        if stored["purpose"] != "fine-tune":
            return _error(
                400,
                f"File {file_id} has purpose {stored['purpose']!r}; fine-tuning needs files "
                "uploaded with purpose 'fine-tune'",
                param=param,
            )
        return None

    def _create(self, options: dict[str, Any]) -> tuple[int, Any]:
        model = options.get("model")
        if model not in FINE_TUNABLE:
            return _error(
                400,
                f"Model {model} is not available for fine-tuning or does not exist.",
                param="model",
                code="model_not_available",
            )
        for param in ("training_file", "validation_file"):
            problem = self._file_problem(options, param)
            if problem is not None:
                return problem
        suffix = options.get("suffix")
        if suffix is not None and not (isinstance(suffix, str) and 1 <= len(suffix) <= 64):
            return _error(400, "suffix must be 1 to 64 characters", param="suffix")
        method = options.get("method") or {"type": "supervised", "supervised": {}}
        if method.get("type") != "supervised":
            return _error(400, "the stand-in fine-tunes with method supervised", param="method")
        hyper = {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"}
        hyper.update((method.get("supervised") or {}).get("hyperparameters") or {})
        epochs = hyper["n_epochs"]
        if epochs != "auto" and not (isinstance(epochs, int) and 1 <= epochs <= 50):
            return _error(400, "n_epochs must be 1 to 50", param="method")
        if self.refuse_creates > 0:
            self.refuse_creates -= 1
            return _error(500, _SERVER_ERROR, kind="server_error")
        self._counter += 1
        job_id = f"ftjob-{hashlib.sha256(f'job{self._counter}'.encode()).hexdigest()[:24]}"
        job = {
            "object": "fine_tuning.job",
            "id": job_id,
            "model": model,
            "created_at": int(time.time()),
            "finished_at": None,
            "fine_tuned_model": None,
            "organization_id": f"org-{self.organization}",
            "result_files": [],
            "status": "validating_files",
            "validation_file": options.get("validation_file"),
            "training_file": options["training_file"],
            "hyperparameters": hyper,
            "trained_tokens": None,
            "error": None,
            "estimated_finish": None,
            "integrations": [],
            "metadata": options.get("metadata"),
            "seed": options.get("seed", 1000 + self._counter),
            "user_provided_suffix": suffix,
            "method": {"type": "supervised", "supervised": {"hyperparameters": dict(hyper)}},
        }
        self.jobs[job_id] = job
        self.looks[job_id] = 0
        if self.failure is not None:
            self._failing[job_id] = dict(self.failure)
        self.events[job_id] = []
        self._event(job_id, f"Created fine-tuning job: {job_id}")
        self._event(job_id, f"Validating training file: {job['training_file']}")
        if job["validation_file"]:
            self._event(job_id, f"Validating validation file: {job['validation_file']}")
        if self.lose_creates > 0:
            self.lose_creates -= 1
            return _error(500, _SERVER_ERROR, kind="server_error")
        return 200, self._public(job)

    def _public(self, job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if k != "user_provided_suffix"}

    def _event(
        self,
        job_id: str,
        message: str,
        *,
        level: str = "info",
        kind: str = "message",
        data: dict[str, Any] | None = None,
    ) -> None:
        events = self.events[job_id]
        events.append(
            {
                "object": "fine_tuning.job.event",
                "id": f"ftevent-{job_id[6:18]}{len(events):05d}",
                "created_at": int(time.time()),
                "level": level,
                "message": message,
                "data": data or {},
                "type": kind,
            }
        )

    def _look(self, job: dict[str, Any]) -> dict[str, Any]:
        """The job, one state further along (a look at a job that ended changes nothing)."""
        job_id = job["id"]
        self.looks[job_id] += 1
        failing = self._failing.get(job_id)
        status = job["status"]
        if status == "validating_files" and failing is not None:
            self._event(
                job_id, f"Training file validation failed: {failing['message']}", level="error"
            )
            self._event(job_id, failing["message"], level="error")
            self._end(job, "failed", error=failing)
        elif status == "validating_files":
            self._event(job_id, "Files validated, moving job to queued state")
            job["status"] = "queued"
        elif status == "queued":
            self._event(job_id, f"Fine-tuning job started (job {job_id})")
            job["status"] = "running"
            if job["hyperparameters"]["n_epochs"] == "auto":
                job["hyperparameters"]["n_epochs"] = 3  # resolved once running, as the API does
                job["method"]["supervised"]["hyperparameters"]["n_epochs"] = 3
            job["estimated_finish"] = int(time.time()) + 600
            job["running_for"] = 0
        elif status == "running":
            job["running_for"] += 1
            self._steps(job)
            if job["running_for"] >= self.running_looks and not self.hold:
                self._succeed(job)
        return self._public({k: v for k, v in job.items() if k != "running_for"})

    def _steps(self, job: dict[str, Any]) -> None:
        """The step events of this look's share of training."""
        share = -(-self.steps // self.running_looks)
        first = (job["running_for"] - 1) * share + 1
        for step in range(first, min(first + share, self.steps + 1)):
            if step % self.step_every == 0:
                loss = round(2.0 / (1 + step / 10), 4)
                self._event(
                    job["id"],
                    f"Step {step}/{self.steps}: training loss={loss}",
                    kind="metrics",
                    data={"step": step, "train_loss": loss, "total_steps": self.steps},
                )

    def _succeed(self, job: dict[str, Any]) -> None:
        job_id = job["id"]
        tag = hashlib.sha256(job_id.encode()).hexdigest()[:8]
        suffix = job.get("user_provided_suffix") or ""
        job["fine_tuned_model"] = f"ft:{job['model']}:{self.organization}:{suffix}:{tag}"
        data = self.files[job["training_file"]]["data"]
        job["trained_tokens"] = max(1, len(data) // 4) * int(job["hyperparameters"]["n_epochs"])
        job["result_files"] = [f"file-result{tag}"]
        self._event(job_id, f"Checkpoint created at step {self.steps // 2}")
        self._event(job_id, f"New fine-tuned model created: {job['fine_tuned_model']}")
        self._event(job_id, "The job has successfully completed")
        self._end(job, "succeeded")

    def _end(self, job: dict[str, Any], status: str, error: dict[str, Any] | None = None) -> None:
        job["status"] = status
        job["finished_at"] = int(time.time())
        job["estimated_finish"] = None
        if error is not None:
            job["error"] = {
                "code": error["code"],
                "message": error["message"],
                "param": error.get("param"),
            }

    def _cancel(self, job: dict[str, Any]) -> tuple[int, Any]:
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return _error(400, f"Job has already completed: {job['status']}", code="invalid_state")
        self._event(job["id"], "Fine-tuning job cancelled")
        self._end(job, "cancelled")
        return 200, self._public({k: v for k, v in job.items() if k != "running_for"})

    def _page(
        self, items: list[dict[str, Any]], params: dict[str, list[str]], default: int
    ) -> tuple[int, Any]:
        """A cursor page of ``items`` (newest first): ``limit`` of them after ``after``."""
        try:
            limit = int(_first(params, "limit") or default)
        except ValueError:
            return _error(400, "limit must be an integer", param="limit")
        after = _first(params, "after")
        if after is not None:
            ids = [item["id"] for item in items]
            if after not in ids:
                return _error(400, f"No such object: {after}", param="after")
            items = items[ids.index(after) + 1 :]
        return 200, {"object": "list", "data": items[:limit], "has_more": len(items) > limit}

    def _list(self, params: dict[str, list[str]]) -> tuple[int, Any]:
        if self.fail_lists > 0:
            self.fail_lists -= 1
            return _error(500, _SERVER_ERROR, kind="server_error")
        wanted = {
            key[len("metadata[") : -1]: values[0]
            for key, values in params.items()
            if key.startswith("metadata[") and key.endswith("]")
        }
        jobs = [
            self._public({k: v for k, v in job.items() if k != "running_for"})
            for job in reversed(self.jobs.values())
            if all((job.get("metadata") or {}).get(k) == v for k, v in wanted.items())
        ]
        return self._page(jobs, params, 20)

    def _events(self, job_id: str, params: dict[str, list[str]]) -> tuple[int, Any]:
        return self._page(list(reversed(self.events[job_id])), params, 20)


def _handler(api: FineTuneAPI, lock: threading.Lock) -> type[KeepAliveHandler]:
    class Handler(KeepAliveHandler):
        def _answer(self) -> None:
            content = self.content()
            path, _, query = self.path.partition("?")
            headers = {k.lower(): v for k, v in self.headers.items()}
            with lock:  # the SDK may use several connections
                status, body = api.route(self.command, path, query, headers, content)
                number = len(api.requests)
            self.reply(
                status,
                json.dumps(body).encode(),
                {"content-type": "application/json", "x-request-id": f"req_ft_{number}"},
            )

        do_GET = do_POST = do_DELETE = _answer

    return Handler


@contextlib.contextmanager
def serving(**settings: Any) -> Iterator[FineTuneAPI]:
    """Serve a fresh :class:`FineTuneAPI` (``settings``: its attributes) on 127.0.0.1;
    yield it, and shut the server down after."""
    api = FineTuneAPI(**settings)

    def handler_for(url: str) -> type[KeepAliveHandler]:
        api.url = url
        return _handler(api, threading.Lock())

    with local_http.serving(handler_for):
        yield api
