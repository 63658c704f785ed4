"""A stand-in for OpenAI's and Anthropic's batch APIs, served over real HTTP on 127.0.0.1.

:func:`serving` starts a ``ThreadingHTTPServer`` (ephemeral port, daemon thread) whose
every request is answered by a :class:`~promptlib.testing._batch_emulator.BatchEmulator`
(its ``route`` method), and yields a :class:`StandIn` that unpacks as
``(emulator, base_url)``. The emulator's ``base_url`` is the server's own, so Anthropic's
``results_url`` points back at it.

Each request line is answered by :class:`Replies`: a realistic reply built with
:class:`promptlib.testing._wire.Reply` and ``reply_body`` (JSON matching the request's
schema when it asks for JSON, the user's text echoed otherwise), or, for chosen custom
ids, the error the provider would send (``promptlib.testing._wire.error_reply``).

Use it from tests marked ``@pytest.mark.allow_provider_requests``: the offline guard
refuses SDK requests even to 127.0.0.1 otherwise.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptlib.testing._batch_emulator import BatchEmulator
from promptlib.testing._fake import fake_from_schema
from promptlib.testing._wire import Reply, error_reply, reply_body
from tests import local_http
from tests.local_http import KeepAliveHandler

__all__ = [
    "ANTHROPIC_KEY",
    "OPENAI_KEY",
    "Replies",
    "StandIn",
    "logical",
    "serving",
    "user_text",
]

# Test keys: plain ASCII without whitespace is all promptlib's key check asks for.
OPENAI_KEY = "sk-test-batch-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-batch-0123456789abcdef"

# Hand-written error bodies, as the providers send them, for kinds error_reply lacks.
_HAND_WRITTEN: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {
    "context_length": {
        "openai": (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 128000 tokens.",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            },
        ),
        "anthropic": (
            400,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "prompt is too long: 210000 tokens > 200000 maximum",
                },
            },
        ),
    },
}


_WIRE_SUFFIX = re.compile(r"-[0-9a-f]{8}[0-9]{2}$")


def logical(custom_id: str) -> str:
    """The prompt's own id in a line id: Anthropic lines carry the job and attempt after
    it (``c0-1a2b3c4d01``), OpenAI lines the id alone."""
    return _WIRE_SUFFIX.sub("", custom_id)


def user_text(body: Mapping[str, Any]) -> str:
    """The text of the last user message of a request body (either provider's)."""
    for message in reversed(body.get("messages") or ()):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _schema(family: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the request asks the answer to match (``{}``: any JSON object)."""
    if family == "openai":
        wanted = body.get("response_format") or {}
        if wanted.get("type") == "json_schema":
            return dict(wanted["json_schema"].get("schema") or {})
        return {} if wanted.get("type") == "json_object" else None
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "tool":
        for tool in body.get("tools") or ():
            if tool.get("name") == choice.get("name"):
                return dict(tool.get("input_schema") or {})
    return None


def _tool(family: str, body: Mapping[str, Any]) -> str | None:
    choice = body.get("tool_choice") or {}
    if family == "anthropic" and choice.get("type") == "tool":
        return str(choice.get("name"))
    return None


def json_answer(schema: Mapping[str, Any], text: str) -> dict[str, Any]:
    """A value for ``schema`` that carries ``text``: string properties are ``text``,
    integer ones its length, the rest a schema-valid fake."""
    value = fake_from_schema(dict(schema)) if schema else {}
    if not isinstance(value, dict):
        value = {}
    for name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind == "string" and "enum" not in spec:
            value[name] = text
        elif kind == "integer":
            value[name] = len(text)
    if not schema:
        value = {"text": text}
    return value


Scripted = str | Sequence[str]


@dataclass
class Replies:
    """Answers each batch line as the provider would: ``(family, custom_id, body) ->
    (status, body)``.

    Attributes:
        errors: custom id -> an error kind (one of ``promptlib.testing._wire``'s kinds, or
            ``context_length``) answered every time, or a list of kinds answered in turn,
            one per attempt (``"ok"`` for a normal reply; after the list, normal replies).
        answered: how many times each custom id was answered.
        given: the last successful :class:`Reply` per custom id.
    """

    errors: dict[str, Scripted] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)
    given: dict[str, Reply] = field(default_factory=dict)

    def __call__(
        self, family: str, custom_id: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        custom_id = logical(custom_id)
        attempt = self.answered.get(custom_id, 0)
        self.answered[custom_id] = attempt + 1
        request_id = f"req_{custom_id}_{attempt + 1}"
        kind = self._kind(custom_id, attempt)
        if kind is not None and kind != "ok":
            if kind in _HAND_WRITTEN:
                return _HAND_WRITTEN[kind][family]
            error = error_reply(kind, family, request_id)
            return error.status, error.body
        text = user_text(body)
        schema = _schema(family, body)
        reply_text = (
            json.dumps(json_answer(schema, text), ensure_ascii=False)
            if schema is not None
            else f"echo: {text}"
        )
        reply = Reply(
            family=family,
            model=str(body.get("model", "")),
            text=reply_text,
            input_tokens=10 + len(text),
            output_tokens=1 + len(reply_text) // 4,
            finish="stop",
            request_id=request_id,
            tool=_tool(family, body),
        )
        self.given[custom_id] = reply
        return 200, reply_body(reply)

    def _kind(self, custom_id: str, attempt: int) -> str | None:
        scripted = self.errors.get(custom_id)
        if scripted is None or isinstance(scripted, str):
            return scripted
        return scripted[attempt] if attempt < len(scripted) else None


@dataclass
class Seen:
    """One HTTP request the stand-in answered."""

    method: str
    path: str
    headers: dict[str, str]
    status: int


@dataclass
class StandIn:
    """A running stand-in: unpacks as ``(emulator, base_url)``.

    Attributes:
        emulator: the batch API behind the server.
        url: the server's base URL (no ``/v1``: OpenAI clients want ``f"{url}/v1"``).
        replies: how lines are answered (``emulator.answer``).
        requests: every HTTP request answered, in order.
    """

    emulator: BatchEmulator
    url: str
    replies: Replies
    requests: list[Seen] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.emulator, self.url))


def _handler(stand_in: StandIn, lock: threading.Lock) -> type[KeepAliveHandler]:
    class Handler(KeepAliveHandler):
        def _answer(self) -> None:
            content = self.content()
            path, _, query = self.path.partition("?")
            with lock:  # the emulator is not thread-safe; the SDKs may use several connections
                status, body = stand_in.emulator.route(
                    self.command, path, query, self.headers.get("content-type", ""), content
                )
                stand_in.requests.append(
                    Seen(
                        self.command, path, {k.lower(): v for k, v in self.headers.items()}, status
                    )
                )
            if isinstance(body, bytes):
                data, kind = body, "application/x-jsonl"
                if "/files/" in path:
                    kind = "application/octet-stream"
            else:
                data, kind = json.dumps(body).encode(), "application/json"
            number = f"req_http_{len(stand_in.requests)}"
            self.reply(
                status, data, {"content-type": kind, "x-request-id": number, "request-id": number}
            )

        do_GET = do_POST = do_DELETE = _answer

    return Handler


@contextlib.contextmanager
def serving(
    replies: Replies | None = None, *, polls: int = 1, seed: int | None = None
) -> Iterator[StandIn]:
    """Serve a fresh :class:`BatchEmulator` on 127.0.0.1; yield the :class:`StandIn`
    (``emulator, url = stand_in``) and shut the server down after."""
    replies = replies or Replies()
    emulator = BatchEmulator(replies, polls=polls, seed=seed)
    stand_in = StandIn(emulator, "", replies)

    def handler_for(url: str) -> type[KeepAliveHandler]:
        # Anthropic's results_url points back here
        emulator.base_url = stand_in.url = url
        return _handler(stand_in, threading.Lock())

    with local_http.serving(handler_for):
        yield stand_in
