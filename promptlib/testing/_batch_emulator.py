"""The batch endpoints of OpenAI and Anthropic, in memory.

:class:`BatchEmulator` answers the HTTP requests the official SDKs make for batches
(OpenAI: ``/v1/files``, ``/v1/batches``; Anthropic: ``/v1/messages/batches``) with the
providers' shapes and state changes: validation, progress over polls, results with
errored and expired lines in any order, cancellation, listing. MockProvider's batches
run on it, through the real SDKs; served over HTTP, it is a stand-in provider for tests.

Each request line is answered by a function ``answer(family, custom_id, body)`` returning
the HTTP status and JSON body a live call would have got.
"""

from __future__ import annotations

import email.message
import email.parser
import json
import random
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

__all__ = ["BatchEmulator"]


def own_id(line_id: str) -> str:
    """A prompt's own id in a line id (Anthropic lines carry the job and attempt after
    it: ``c0-1a2b3c4d01``)."""
    from promptlib.batch._job import own_id as strip

    return strip(line_id)


Answer = Callable[[str, str, dict[str, Any]], tuple[int, dict[str, Any]]]

_EXPIRED = "This request could not be executed before the completion window expired."
_ANTHROPIC_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_ENDPOINTS = ("/v1/chat/completions",)
_DAY = 24 * 3600


def _rfc3339(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat().replace("+00:00", "Z")


def _error(status: int, message: str, kind: str = "invalid_request_error") -> tuple[int, Any]:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": None}}


class BatchEmulator:
    """OpenAI's and Anthropic's batch APIs, in memory.

    Args:
        answer: answers one request line: ``(family, custom_id, body) -> (status, body)``.
        polls: how many looks at a running batch before it ends.
        seed: shuffle result lines with this seed (providers do not keep the input
            order); ``None`` keeps the order.
        base_url: the server's URL, for Anthropic's ``results_url``.

    Attributes:
        expire: ids of prompts whose lines expire (their batch ends ``expired``).
        fail_validation: the next OpenAI batch fails validation.
        lose_answers: the next creates succeed but answer 500, as if the reply was lost.
        refuse_creates: the next creates fail with a 500 and create nothing.
        creates: how many create calls arrived; ``batches``: every batch made, by id.
    """

    def __init__(
        self,
        answer: Answer,
        *,
        polls: int = 1,
        seed: int | None = None,
        base_url: str = "http://127.0.0.1",
    ) -> None:
        self.answer: Answer = answer
        self.polls: int = polls
        self.seed: int | None = seed
        self.base_url: str = base_url.rstrip("/")
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.expire: set[str] = set()
        self.fail_validation: bool = False
        self.lose_answers: int = 0
        self.refuse_creates: int = 0
        self.creates: int = 0
        self.clock: Callable[[], float] = time.time

    def __repr__(self) -> str:
        return f"BatchEmulator(batches={len(self.batches)}, files={len(self.files)})"

    # --- HTTP ------------------------------------------------------------------------------

    def handle(self, request: Any) -> Any:
        """Answer one SDK request (an ``httpx``/``httpx2`` request) with a response."""
        http = __import__(type(request).__module__.split(".")[0])
        status, body = self.route(
            request.method,
            request.url.path,
            request.url.query.decode() if isinstance(request.url.query, bytes) else "",
            request.headers.get("content-type", ""),
            request.read(),
        )
        if isinstance(body, bytes):
            return http.Response(
                status, content=body, headers={"content-type": "application/x-jsonl"}
            )
        return http.Response(status, json=body)

    def route(
        self, method: str, path: str, query: str, content_type: str, content: bytes
    ) -> tuple[int, Any]:
        """Answer a request given as its parts: the status and a JSON value or bytes."""
        args = {key: values[-1] for key, values in parse_qs(query).items()}
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["v1"]:
            parts = parts[1:]
        try:
            if parts == ["files"] and method == "POST":
                return self._upload(content_type, content)
            if len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
                stored = self.files.get(parts[1])
                return (200, stored["data"]) if stored else _error(404, "No such file")
            if parts == ["batches"]:
                if method == "POST":
                    return self._openai_create(json.loads(content))
                return 200, self._page("openai", args)
            if parts[:1] == ["batches"] and len(parts) >= 2:
                batch = self.batches.get(parts[1])
                if batch is None or batch["family"] != "openai":
                    return _error(404, f"No batch found with id '{parts[1]}'.")
                if parts[2:] == ["cancel"]:
                    if batch.get("ended_at") is not None:
                        return _error(
                            400, f"Cannot cancel a batch with status '{batch['status']}'."
                        )
                    batch["cancel"] = True
                    batch["status"] = "cancelling"
                    batch["cancelling_at"] = self.clock()
                    return 200, self._openai_view(batch)
                self._advance(batch)
                return 200, self._openai_view(batch)
            if parts[:2] == ["messages", "batches"]:
                return self._anthropic(method, parts[2:], args, content)
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, f"malformed request: {exc}")
        return _error(404, f"no route for {method} {path}")

    # --- OpenAI ----------------------------------------------------------------------------

    def _upload(self, content_type: str, content: bytes) -> tuple[int, Any]:
        message = email.parser.BytesParser().parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + content
        )
        fields: dict[str, Any] = {}
        filename = None
        for part in message.get_payload():
            assert isinstance(part, email.message.Message)
            name = part.get_param("name", header="content-disposition")
            if name == "file":
                filename = part.get_filename()
            fields[str(name)] = part.get_payload(decode=True)
        purpose = (fields.get("purpose") or b"").decode()
        if purpose == "batch" and not (filename or "").endswith(".jsonl"):
            return _error(400, "Invalid file format for Batch API. Must be .jsonl")
        file_id = "file-" + uuid.uuid4().hex[:24]
        data = fields.get("file") or b""
        self.files[file_id] = {"data": data, "filename": filename, "purpose": purpose}
        return 200, {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(self.clock()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
        }

    def _made(self) -> tuple[int, Any] | None:
        """A fault injected into a create call, if one is due."""
        self.creates += 1
        if self.refuse_creates:
            self.refuse_creates -= 1
            return _error(
                500, "The server had an error while processing your request.", "server_error"
            )
        return None

    def _openai_create(self, body: dict[str, Any]) -> tuple[int, Any]:
        fault = self._made()
        if fault:
            return fault
        stored = self.files.get(body.get("input_file_id", ""))
        if stored is None:
            return _error(400, f"Invalid 'input_file_id': '{body.get('input_file_id')}'.")
        if body.get("endpoint") not in _ENDPOINTS or body.get("completion_window") != "24h":
            return _error(400, "Invalid endpoint or completion_window")
        lines, errors = [], []
        seen: set[str] = set()
        for number, raw in enumerate(stored["data"].splitlines(), 1):
            try:
                entry = json.loads(raw)
            except ValueError:
                errors.append(
                    ("invalid_json_line", number, "This line is not parseable as valid JSON.")
                )
                continue
            custom_id = entry.get("custom_id")
            if custom_id in seen:
                errors.append(
                    (
                        "duplicate_custom_id",
                        number,
                        "The custom_id for this request is a duplicate of another request.",
                    )
                )
            if entry.get("url") != body["endpoint"]:
                errors.append(
                    ("url_mismatch", number, "The provided URL does not match the batch endpoint.")
                )
            seen.add(custom_id)
            lines.append((custom_id, entry.get("body") or {}))
        if self.fail_validation:
            self.fail_validation = False
            errors.append(("invalid_request", 1, "The batch failed validation (simulated)."))
        now = self.clock()
        batch = {
            "family": "openai",
            "id": "batch_" + uuid.uuid4().hex[:24],
            "status": "validating",
            "created_at": now,
            "lines": lines,
            "errors": errors,
            "metadata": body.get("metadata"),
            "input_file_id": body["input_file_id"],
            "looks": 0,
            "cancel": False,
        }
        self.batches[batch["id"]] = batch
        return self._lost_or(batch, self._openai_view(batch))

    def _lost_or(self, batch: dict[str, Any], view: dict[str, Any]) -> tuple[int, Any]:
        if self.lose_answers:
            self.lose_answers -= 1
            return _error(
                500, "The server had an error while processing your request.", "server_error"
            )
        return 200, view

    def _openai_view(self, batch: dict[str, Any]) -> dict[str, Any]:
        created = batch["created_at"]
        results = batch.get("results")
        done = {"completed": 0, "failed": 0}
        if results is not None:
            done["completed"] = sum(1 for r in results if r[1] == 200)
            done["failed"] = len(results) - done["completed"]
        status = batch["status"]
        ended = batch.get("ended_at")
        errors = batch["errors"] if status == "failed" else []
        return {
            "id": batch["id"],
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": {
                "object": "list",
                "data": [
                    {"code": code, "line": line, "message": message, "param": None}
                    for code, line, message in errors
                ],
            }
            if errors
            else None,
            "input_file_id": batch["input_file_id"],
            "completion_window": "24h",
            "status": status,
            "output_file_id": batch.get("output_file_id"),
            "error_file_id": batch.get("error_file_id"),
            "created_at": int(created),
            "in_progress_at": int(created) if status != "validating" else None,
            "expires_at": int(created) + _DAY,
            "finalizing_at": None,
            "completed_at": int(ended) if ended and status == "completed" else None,
            "failed_at": int(ended) if ended and status == "failed" else None,
            "expired_at": int(ended) if ended and status == "expired" else None,
            "cancelling_at": int(batch["cancelling_at"]) if batch.get("cancelling_at") else None,
            "cancelled_at": int(ended) if ended and status == "cancelled" else None,
            "request_counts": {
                "total": len(batch["lines"]) if status != "validating" else 0,
                **done,
            },
            "metadata": batch["metadata"],
        }

    # --- both ------------------------------------------------------------------------------

    def _advance(self, batch: dict[str, Any]) -> None:
        """One look at a batch moves it on, as time would."""
        if batch.get("ended_at") is not None:
            return
        if batch["family"] == "openai" and batch["status"] == "validating":
            if batch["errors"]:
                batch["status"], batch["ended_at"] = "failed", self.clock()
                return
            batch["status"] = "in_progress"
        if batch["cancel"]:
            self._finish(batch, cancelled=True)
            return
        batch["looks"] += 1
        if batch["looks"] >= self.polls:
            self._finish(batch, cancelled=False)

    def _finish(self, batch: dict[str, Any], *, cancelled: bool) -> None:
        results: list[tuple[str, int, Any]] = []  # custom_id, status (0: expired/canceled), body
        expired = False
        for custom_id, body in batch["lines"]:
            if cancelled:
                results.append((custom_id, -1, None))
            elif custom_id in self.expire or (
                batch["family"] == "anthropic" and own_id(custom_id) in self.expire
            ):
                expired = True
                results.append((custom_id, 0, None))
            else:
                status, answer = self.answer(batch["family"], custom_id, body)
                results.append((custom_id, status, answer))
        if self.seed is not None:
            random.Random(self.seed).shuffle(results)
        batch["results"] = results
        batch["ended_at"] = self.clock()
        if batch["family"] == "anthropic":
            batch["status"] = "ended"
            return
        batch["status"] = "cancelled" if cancelled else "expired" if expired else "completed"
        output: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for custom_id, status, answer in results:
            line: dict[str, Any] = {
                "id": "batch_req_" + uuid.uuid4().hex[:24],
                "custom_id": custom_id,
            }
            if status == -1:
                continue  # not run: a cancelled batch has no line for it
            if status == 0:
                line["response"] = None
                line["error"] = {
                    "code": "batch_expired",
                    "message": _EXPIRED,
                }
                errors.append(line)
                continue
            line["response"] = {
                "status_code": status,
                "request_id": "req_" + uuid.uuid4().hex[:16],
                "body": answer,
            }
            line["error"] = None
            (output if status == 200 else errors).append(line)
        for key, kept in (("output_file_id", output), ("error_file_id", errors)):
            if kept:
                file_id = "file-" + uuid.uuid4().hex[:24]
                data = b"".join(json.dumps(line).encode() + b"\n" for line in kept)
                self.files[file_id] = {
                    "data": data,
                    "filename": "batch_output.jsonl",
                    "purpose": "batch_output",
                }
                batch[key] = file_id

    def _page(self, family: str, args: dict[str, str]) -> dict[str, Any]:
        newest = [b for b in reversed(self.batches.values()) if b["family"] == family]
        after = args.get("after") or args.get("after_id")
        if after:
            ids = [b["id"] for b in newest]
            newest = newest[ids.index(after) + 1 :] if after in ids else []
        limit = int(args.get("limit", 20))
        page = newest[:limit]
        view = self._openai_view if family == "openai" else self._anthropic_view
        data = [view(b) for b in page]
        out = {
            "data": data,
            "has_more": len(newest) > limit,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
        return {"object": "list", **out} if family == "openai" else out

    # --- Anthropic -------------------------------------------------------------------------

    def _anthropic(
        self, method: str, rest: list[str], args: dict[str, str], content: bytes
    ) -> tuple[int, Any]:
        if not rest:
            if method == "POST":
                return self._anthropic_create(json.loads(content))
            return 200, self._page("anthropic", args)
        batch = self.batches.get(rest[0])
        if batch is None or batch["family"] != "anthropic":
            return 404, {
                "type": "error",
                "error": {"type": "not_found_error", "message": "Not found"},
            }
        if rest[1:] == ["cancel"]:
            if batch.get("ended_at") is not None:
                return 200, self._anthropic_view(batch)  # ended: nothing to cancel
            batch["cancel"] = True
            batch["status"] = "canceling"
            batch["cancelling_at"] = self.clock()
            return 200, self._anthropic_view(batch)
        if rest[1:] == ["results"]:
            if batch.get("results") is None:
                return 400, {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "Batch has not ended"},
                }
            return 200, b"".join(self._anthropic_line(r) for r in batch["results"])
        self._advance(batch)
        return 200, self._anthropic_view(batch)

    def _anthropic_create(self, body: dict[str, Any]) -> tuple[int, Any]:
        fault = self._made()
        if fault:
            return 500, {
                "type": "error",
                "error": {"type": "api_error", "message": "Internal server error"},
            }
        requests = body.get("requests")
        if not isinstance(requests, list) or not 1 <= len(requests) <= 100_000:
            return 400, {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "requests: 1 to 100000 items",
                },
            }
        seen: set[str] = set()
        lines = []
        for number, entry in enumerate(requests):
            custom_id = entry.get("custom_id")
            if (
                not isinstance(custom_id, str)
                or not _ANTHROPIC_ID.fullmatch(custom_id)
                or custom_id in seen
            ):
                message = (
                    f"requests.{number}.custom_id: must be unique and match ^[a-zA-Z0-9_-]{{1,64}}$"
                )
                return 400, {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": message},
                }
            seen.add(custom_id)
            lines.append((custom_id, entry.get("params") or {}))
        batch: dict[str, Any] = {
            "family": "anthropic",
            "id": "msgbatch_" + uuid.uuid4().hex[:24],
            "status": "in_progress",
            "created_at": self.clock(),
            "lines": lines,
            "errors": [],
            "looks": 0,
            "cancel": False,
        }
        self.batches[batch["id"]] = batch
        if self.lose_answers:
            self.lose_answers -= 1
            return 500, {
                "type": "error",
                "error": {"type": "api_error", "message": "Internal server error"},
            }
        return 200, self._anthropic_view(batch)

    def _anthropic_view(self, batch: dict[str, Any]) -> dict[str, Any]:
        counts = {
            "processing": len(batch["lines"]),
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        results = batch.get("results")
        if results is not None:
            counts["processing"] = 0
            for _, status, _answer in results:
                kind = {-1: "canceled", 0: "expired", 200: "succeeded"}.get(status, "errored")
                counts[kind] += 1
        ended = results is not None
        return {
            "id": batch["id"],
            "type": "message_batch",
            "processing_status": batch["status"],
            "request_counts": counts,
            "created_at": _rfc3339(batch["created_at"]),
            "expires_at": _rfc3339(batch["created_at"] + _DAY),
            "ended_at": _rfc3339(batch.get("ended_at")),
            "archived_at": None,
            "cancel_initiated_at": _rfc3339(batch.get("cancelling_at")),
            "results_url": f"{self.base_url}/v1/messages/batches/{batch['id']}/results"
            if ended
            else None,
        }

    @staticmethod
    def _anthropic_line(result: tuple[str, int, Any]) -> bytes:
        custom_id, status, answer = result
        if status == -1:
            outcome: dict[str, Any] = {"type": "canceled"}
        elif status == 0:
            outcome = {"type": "expired"}
        elif status == 200:
            outcome = {"type": "succeeded", "message": answer}
        else:
            inner = (answer or {}).get("error") or {"type": "api_error", "message": "error"}
            outcome = {
                "type": "errored",
                "error": {"type": "error", "error": inner, "request_id": None},
            }
        return json.dumps({"custom_id": custom_id, "result": outcome}).encode() + b"\n"


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.testing", BatchEmulator)
