"""The cassette file: reading and checking it, and how requests and responses are stored."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from pathlib import Path
from typing import Any

from promptlib._context import repeat_index
from promptlib._errors import UsageError
from promptlib._secrets import secret_pattern, secret_pattern_bytes

__all__ = ["MASK", "CassetteError", "canonical", "key", "load", "masked", "restored", "stored"]

FORMAT = "promptlib.cassette/1"
_KEPT_HEADERS = ("content-type", "x-request-id", "request-id", "retry-after")
# OpenAI (sk-, sk-proj-) and Anthropic (sk-ant-) key shapes.
_KEY_SHAPE = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")
_KEY_SHAPE_BYTES = re.compile(rb"\bsk-[A-Za-z0-9_-]{8,}")
MASK = "sk-***"
_RERECORD = "Delete it and record it again (PROMPTLIB_RECORD=1 PROMPTLIB_ALLOW_REQUESTS=1)"


class CassetteError(UsageError):
    """A cassette file cannot be read: the message names the file, the problem and the fix."""


def _broken(path: Path, problem: str, fix: str = _RERECORD) -> CassetteError:
    return CassetteError(f"cassette {path} cannot be read: {problem}. {fix}.")


def load(path: Path) -> list[dict[str, Any]]:
    """The exchanges stored in ``path``, checked."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _broken(path, f"it is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise _broken(path, f"{type(exc).__name__}: {exc.strerror}") from None
    if not text.strip():
        raise _broken(path, "the file is empty")
    if re.search(r"^(<{7}|>{7}|={7})( |$)", text, re.MULTILINE):
        raise _broken(
            path,
            "it has git merge conflict markers",
            "Keep one side of the conflict, or delete the file and record it again",
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _broken(path, f"it is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _broken(path, f'it is not a {FORMAT} file (no "format": "{FORMAT}" at the top)')
    exchanges = data.get("exchanges")
    if not isinstance(exchanges, list):
        raise _broken(path, 'it has no "exchanges" list')
    for number, exchange in enumerate(exchanges, 1):
        problem = _exchange_problem(exchange)
        if problem:
            raise _broken(path, f"exchange {number} {problem}")
    return exchanges


def _exchange_problem(exchange: Any) -> str | None:
    if not isinstance(exchange, dict):
        return "is not an object"
    request, response = exchange.get("request"), exchange.get("response")
    if (
        not isinstance(request, dict)
        or not {"method", "path", "body"} <= request.keys()
        or not all(isinstance(request[name], str) for name in ("method", "path"))
    ):
        return 'has no "request" with "method", "path" and "body"'
    if not isinstance(response, dict) or type(response.get("status")) is not int:
        return 'has no "response" with a numeric "status"'
    headers = response.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return 'has response "headers" that are not an object of strings'
    try:
        restored(response)
    except (KeyError, TypeError, ValueError, AttributeError):
        return 'has a response whose "body", "events" or "body_base64" cannot be read'
    return None


def dump(exchanges: list[dict[str, Any]]) -> str:
    """The file's text: readable and deterministic."""
    return json.dumps({"format": FORMAT, "exchanges": exchanges}, indent=2, ensure_ascii=False)


# --- requests ----------------------------------------------------------------------------


def masked(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` with every key-shaped string and every secret (also URL-encoded, escaped,
    base64 or hex) replaced by ``MASK``."""
    if isinstance(value, str):
        for secret in secrets:
            value = secret_pattern(secret).sub(MASK, value)
        return _KEY_SHAPE.sub(MASK, value)
    if isinstance(value, list):
        return [masked(item, secrets) for item in value]
    if isinstance(value, dict):
        return {name: masked(item, secrets) for name, item in value.items()}
    return value


def _masked_bytes(content: bytes, secrets: tuple[str, ...]) -> bytes:
    for secret in secrets:
        content = secret_pattern_bytes(secret).sub(MASK.encode(), content)
    return _KEY_SHAPE_BYTES.sub(MASK.encode(), content)


def canonical(request: Any, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """What identifies a request: method, path, and JSON body with sorted keys; and, for
    an evaluation's repeats after the first, which repeat it is."""
    body: Any = request.content.decode("utf-8", "replace") if request.content else None
    if body:
        with contextlib.suppress(json.JSONDecodeError):
            body = _sorted(json.loads(body))
    found = {"method": request.method, "path": request.url.path, "body": masked(body, secrets)}
    repeat = repeat_index.get()
    if repeat:
        found["repeat"] = repeat
    return found


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _sorted(value[name]) for name in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def key(canonical: dict[str, Any]) -> str:
    return json.dumps(canonical, sort_keys=True, ensure_ascii=False)


# --- responses ---------------------------------------------------------------------------


def stored(response: Any, secrets: tuple[str, ...]) -> dict[str, Any]:
    """How a response is kept: status, a few headers, and its body (a stream as events, a
    body that is not UTF-8 as base64)."""
    headers = {
        k.lower(): v for k, v in sorted(response.headers.items()) if k.lower() in _KEPT_HEADERS
    }
    recorded: dict[str, Any] = {"status": response.status_code, "headers": headers}
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        content = _masked_bytes(response.content, secrets)
        recorded["body_base64"] = base64.b64encode(content).decode("ascii")
        return masked(recorded, secrets)  # type: ignore[no-any-return]
    parsed = _events(text) if "event-stream" in headers.get("content-type", "") else None
    if parsed is not None:
        recorded["events"], newline = parsed
        if newline != "\n":
            recorded["newline"] = newline
    else:
        body: Any = text
        with contextlib.suppress(json.JSONDecodeError):
            body = json.loads(text)
        recorded["body"] = body
    return masked(recorded, secrets)  # type: ignore[no-any-return]


def restored(recorded: dict[str, Any]) -> bytes:
    """The body of a stored response, byte for byte as it was received (keys masked)."""
    if "events" in recorded:
        events, newline = recorded["events"], recorded.get("newline", "\n")
        if newline not in ("\n", "\r\n", "\r"):
            raise ValueError(f"not a line ending: {newline!r}")
        if not isinstance(events, list) or not all(isinstance(e, list) for e in events):
            raise ValueError("events must be a list of lists of lines")
        return _event_text(events, newline).encode()
    if "body_base64" in recorded:
        return base64.b64decode(recorded["body_base64"], validate=True)
    body = recorded["body"]
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


# Server-sent events end at a blank line; lines end with \r\n, \n or \r (sse-starlette,
# behind llama-cpp-python, sends \r\n).
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _events(text: str) -> tuple[list[list[Any]], str] | None:
    """A server-sent-event body as a list of events, each a list of its lines (a JSON
    ``data:`` line as ``{"data": <object>}``), and its line ending; ``None`` when that
    would not restore ``text`` exactly."""
    endings = set(_NEWLINE.findall(text))
    if len(endings) != 1:
        return None
    newline = endings.pop()
    if not text.endswith(newline * 2):
        return None
    blocks = text[: -2 * len(newline)].split(newline * 2)
    events = [[_line(line) for line in block.split(newline)] for block in blocks]
    return (events, newline) if _event_text(events, newline) == text else None


def _line(line: str) -> Any:
    if line.startswith("data: "):
        with contextlib.suppress(json.JSONDecodeError):
            data = json.loads(line[6:])
            if isinstance(data, dict) and _compact(data) == line[6:]:
                return {"data": data}
    return line


def _compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _event_text(events: list[list[Any]], newline: str) -> str:
    return "".join(
        newline.join(
            f"data: {_compact(line['data'])}" if isinstance(line, dict) else line for line in event
        )
        + newline * 2
        for event in events
    )


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.testing", CassetteError)
